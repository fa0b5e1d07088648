package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/messina-oms/messina/filestore"
)

// LockFile, in a directory of backups, is locked shared by every backup
// being made and exclusively by Prune.
const LockFile = ".lock"

// ErrBusy: Prune found a backup being made in the directory.
var ErrBusy = errors.New("a backup is being made in this directory")

// PruneOptions says what Prune keeps.
type PruneOptions struct {
	// Keep, when positive, is how many of the newest complete backups are
	// kept; older ones are removed. Zero keeps every complete backup.
	Keep int
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
}

// PruneResult says what Prune removed, or would remove with DryRun.
type PruneResult struct {
	// Kept are the complete backups left, newest first.
	Kept []string
	// Removed are the complete backups older than the Keep newest.
	Removed []string
	// Incomplete are backup directories without a manifest: backups that
	// failed or were killed (none is running while Prune holds the lock).
	Incomplete []string
	// BlobsRemoved and BytesRemoved count blob files no kept backup
	// references.
	BlobsRemoved int
	BytesRemoved int64
	// TempFilesRemoved counts files a killed backup left half-written.
	TempFilesRemoved int
}

// backupDirName matches the directories makeBackupDir creates.
var backupDirName = regexp.MustCompile(`^\d{8}T\d{6}Z(-\d+)?$`)

// compareBackupNames orders backup directories by start time, and those of
// one second by their "-N" suffix (numerically: "-10" after "-9").
func compareBackupNames(a, b string) int {
	const n = len(dirTimeLayout)
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	suffix := func(s string) int {
		i, _ := strconv.Atoi(strings.TrimPrefix(s[n:], "-"))
		return i // 0 for the first of the second, which has none
	}
	return suffix(a) - suffix(b)
}

// Prune removes from the directory of backups root the complete backups
// older than opts.Keep newest ones, the directories of backups that never
// completed, and every blob file no remaining backup references. Blobs are
// shared, so they can go only when the last backup listing them has gone;
// backups removed by hand leave theirs behind until Prune runs.
//
// It holds root's LockFile exclusively and fails with ErrBusy while a
// backup is being made (Create holds it shared): a running backup's blobs
// are listed in no manifest yet. A manifest it cannot read stops it before
// it removes anything. A complete backup loses its manifest first, so a
// removal cut short leaves an incomplete backup, never one that claims
// blobs it no longer has.
func Prune(ctx context.Context, root string, opts PruneOptions) (*PruneResult, error) {
	if opts.Keep < 0 {
		return nil, fmt.Errorf("prune: keep %d", opts.Keep)
	}
	unlock, err := lockDir(ctx, root, true)
	if err != nil {
		return nil, err
	}
	defer unlock()

	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	res := &PruneResult{}
	var complete []string
	referenced := map[string]bool{}
	manifests := map[string]*Manifest{}
	for _, e := range entries {
		if !e.IsDir() || !backupDirName.MatchString(e.Name()) {
			continue
		}
		m, err := ReadManifest(filepath.Join(root, e.Name()))
		switch {
		case errors.Is(err, ErrIncomplete):
			res.Incomplete = append(res.Incomplete, e.Name())
		case err != nil:
			return nil, fmt.Errorf("prune: nothing removed: %w", err)
		default:
			complete = append(complete, e.Name())
			manifests[e.Name()] = m
		}
	}
	slices.SortFunc(complete, func(a, b string) int { return -compareBackupNames(a, b) })
	res.Kept = complete
	if opts.Keep > 0 && len(complete) > opts.Keep {
		res.Kept, res.Removed = complete[:opts.Keep], complete[opts.Keep:]
	}
	for _, name := range res.Kept {
		for _, b := range manifests[name].Blobs {
			referenced[b.SHA256] = true
		}
	}

	if !opts.DryRun {
		for _, name := range res.Removed {
			if err := removeBackup(filepath.Join(root, name), true); err != nil {
				return res, err
			}
		}
		for _, name := range res.Incomplete {
			if err := removeBackup(filepath.Join(root, name), false); err != nil {
				return res, err
			}
		}
	}

	blobs, err := filestore.NewDiskStore(filepath.Join(root, BlobsDir))
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	var unreferenced []filestore.ObjectInfo
	err = blobs.List(ctx, "sha256/", func(o filestore.ObjectInfo) error {
		name := path.Base(o.Key)
		if sum, err := decodeSum(name); err == nil && filestore.ContentKey(sum) == o.Key && !referenced[name] {
			unreferenced = append(unreferenced, o)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	for _, o := range unreferenced {
		if !opts.DryRun {
			if err := blobs.Delete(ctx, o.Key); err != nil {
				return res, fmt.Errorf("prune: %w", err)
			}
		}
		res.BlobsRemoved++
		res.BytesRemoved += o.Size
	}
	// No backup is writing (the lock), so every temporary file is a
	// killed one's; a dry run counts them and keeps them.
	n, err := blobs.RemoveStale(ctx, func(filestore.ObjectInfo) bool {
		if opts.DryRun {
			res.TempFilesRemoved++
		}
		return opts.DryRun
	})
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	res.TempFilesRemoved += n
	return res, nil
}

// removeBackup removes a backup directory; a complete one loses its
// manifest first, durably.
func removeBackup(dir string, complete bool) error {
	if complete {
		if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

// lockDir takes root's LockFile, exclusively for Prune (failing with
// ErrBusy when a backup holds it) or shared for Create (waiting, until
// ctx ends, while a prune holds it). unlock releases it.
func lockDir(ctx context.Context, root string, exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(root, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", root, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", root, err)
		}
		if exclusive {
			f.Close()
			return nil, fmt.Errorf("prune %s: %w", root, ErrBusy)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", root, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
