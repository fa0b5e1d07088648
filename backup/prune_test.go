package backup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/backup"
	"github.com/messina-oms/messina/filestore"
)

// Prune removes what no remaining backup needs (old backups beyond
// --keep, failed backups, blob files no manifest lists, half-written
// files) and nothing any remaining backup needs.
func TestPruneRemovesOnlyWhatNoBackupNeeds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	contentA, contentB := randomBytes(10<<10), randomBytes(20<<10)
	b.attach(t, "a.bin", contentA, true)
	first := b.backup(t)
	b.attach(t, "b.bin", contentB, false)
	second := b.backup(t)

	blobFile := func(content []byte) string {
		return filepath.Join(b.root, backup.BlobsDir, filepath.FromSlash(filestore.ContentKey(sum(content))))
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	// What killed or removed backups leave: a blob file only a removed
	// backup listed, a backup directory without manifest, a temporary file.
	orphan := []byte("listed by a backup removed by hand")
	blobs, err := filestore.NewDiskStore(filepath.Join(b.root, backup.BlobsDir))
	require.NoError(t, err)
	_, err = blobs.Put(ctx, filestore.ContentKey(sum(orphan)), strings.NewReader(string(orphan)), int64(len(orphan)), filestore.PutOptions{})
	require.NoError(t, err)
	failed := filepath.Join(b.root, "20000101T000000Z")
	require.NoError(t, os.Mkdir(failed, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(failed, backup.DumpFile), []byte("half a dump"), 0o600))
	tmp := filepath.Join(filepath.Dir(blobFile(contentA)), ".tmp-killed")
	require.NoError(t, os.WriteFile(tmp, []byte("half a blob"), 0o600))
	// Not ours: a file that is not a blob, a directory not named as a backup.
	notBlob := filepath.Join(b.root, backup.BlobsDir, "README")
	require.NoError(t, os.WriteFile(notBlob, []byte("operator's note"), 0o600))
	other := filepath.Join(b.root, "keep-me")
	require.NoError(t, os.Mkdir(other, 0o700))

	// A dry run says what would go and removes nothing.
	dry, err := backup.Prune(ctx, b.root, backup.PruneOptions{Keep: 1, DryRun: true})
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Base(second.Dir)}, dry.Kept)
	require.Equal(t, []string{filepath.Base(first.Dir)}, dry.Removed)
	require.Equal(t, []string{"20000101T000000Z"}, dry.Incomplete)
	require.Equal(t, 1, dry.BlobsRemoved, "only the orphan: the kept backup lists both others")
	require.Equal(t, 1, dry.TempFilesRemoved)
	for _, p := range []string{first.Dir, failed, tmp, blobFile(orphan)} {
		require.True(t, exists(p), "dry run removed %s", p)
	}

	res, err := backup.Prune(ctx, b.root, backup.PruneOptions{Keep: 1})
	require.NoError(t, err)
	require.Equal(t, dry.Removed, res.Removed)
	require.Equal(t, 1, res.BlobsRemoved)
	require.EqualValues(t, len(orphan), res.BytesRemoved)
	require.Equal(t, 1, res.TempFilesRemoved)
	for _, p := range []string{first.Dir, failed, tmp, blobFile(orphan)} {
		require.False(t, exists(p), "%s is still there", p)
	}
	for _, p := range []string{second.Dir, blobFile(contentA), blobFile(contentB), notBlob, other} {
		require.True(t, exists(p), "%s was removed", p)
	}
	checked, err := backup.Check(b.ctx, b.src.config(t), second.Dir)
	require.NoError(t, err, "the kept backup is still whole")
	require.Equal(t, 2, checked.BlobsChecked)

	// A backup removed by hand leaves its blobs until the next prune.
	require.NoError(t, os.RemoveAll(second.Dir))
	res, err = backup.Prune(ctx, b.root, backup.PruneOptions{})
	require.NoError(t, err)
	require.Empty(t, res.Kept)
	require.Equal(t, 2, res.BlobsRemoved)
	require.False(t, exists(blobFile(contentA)))
	require.False(t, exists(blobFile(contentB)))
}

// Prune refuses to run beside a backup being made (it would take the
// blobs of a backup whose manifest is not written yet) and removes
// nothing when a manifest cannot be read.
func TestPruneRefusesWhenUnsure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	content := randomBytes(1 << 10)
	b.attach(t, "a.bin", content, true)
	res := b.backup(t)
	keep := filepath.Join(b.root, backup.BlobsDir, filepath.FromSlash(filestore.ContentKey(sum(content))))

	// A backup in another process holds the directory's lock shared.
	f, err := os.OpenFile(filepath.Join(b.root, backup.LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_SH))
	require.NoError(t, os.RemoveAll(res.Dir))
	_, err = backup.Prune(ctx, b.root, backup.PruneOptions{})
	require.True(t, errors.Is(err, backup.ErrBusy), "prune beside a backup: %v", err)
	require.FileExists(t, keep)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
	require.NoError(t, f.Close())

	// A damaged manifest: prune cannot know what that backup needs.
	damaged := filepath.Join(b.root, "20300101T000000Z")
	require.NoError(t, os.Mkdir(damaged, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(damaged, backup.ManifestFile), []byte("{not json"), 0o600))
	_, err = backup.Prune(ctx, b.root, backup.PruneOptions{})
	require.ErrorContains(t, err, "nothing removed")
	require.FileExists(t, keep)
}
