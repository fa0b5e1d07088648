package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tmpPrefix starts the names of files being written; List skips them.
const tmpPrefix = ".tmp-"

// DiskStore keeps objects as files under a root directory, one file per
// key. Writes are atomic and durable: a temporary file in the target
// directory, fsync, rename, fsync of the directory.
type DiskStore struct {
	root string
}

// NewDiskStore returns a store rooted at dir, creating it when missing.
func NewDiskStore(dir string) (*DiskStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk store %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	return &DiskStore{root: abs}, nil
}

// Root is the directory the store keeps its objects in.
func (d *DiskStore) Root() string { return d.root }

func (d *DiskStore) path(key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (d *DiskStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (PutResult, error) {
	p, err := d.path(key)
	if err != nil {
		return PutResult{}, err
	}
	dir := filepath.Dir(p)
	if err := d.mkdirAll(dir); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	hr := newHashingReader(ctx, r, size, opts.SHA256)
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(onlyWriter{f}, hr, buf); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", key, err)
	}
	res, err := hr.finish()
	if err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return PutResult{}, fmt.Errorf("put %s: sync: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return PutResult{}, fmt.Errorf("put %s: close: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return PutResult{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// GC removed the temporary file: the write outlived the pin
			// TTL.
			return PutResult{}, fmt.Errorf("put %s: %w: temporary file removed", key, ErrConflict)
		}
		return PutResult{}, fmt.Errorf("put %s: rename: %w", key, err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return PutResult{}, fmt.Errorf("put %s: sync dir: %w", key, err)
	}
	return res, nil
}

// onlyWriter hides ReadFrom so io.CopyBuffer uses our bounded buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// mkdirAll creates dir and, for each directory it creates, fsyncs the
// parent so the new entry survives a crash.
func (d *DiskStore) mkdirAll(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir && strings.HasPrefix(parent, d.root) {
		if err := d.mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Get implements Store.
func (d *DiskStore) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, ObjectInfo, error) {
	if err := rng.validate(); err != nil {
		return nil, ObjectInfo{}, err
	}
	p, err := d.path(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, ObjectInfo{}, d.fsErr("get", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ObjectInfo{}, d.fsErr("get", key, err)
	}
	info := ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()}
	if rng == nil {
		return f, info, nil
	}
	if rng.Offset >= info.Size {
		f.Close()
		return nil, ObjectInfo{}, fmt.Errorf("get %s: %w: offset %d of %d bytes", key, ErrRangeNotSatisfiable, rng.Offset, info.Size)
	}
	n := info.Size - rng.Offset
	if rng.Length > 0 && rng.Length < n {
		n = rng.Length
	}
	return readCloser{io.NewSectionReader(f, rng.Offset, n), f}, info, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat implements Store.
func (d *DiskStore) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	p, err := d.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, d.fsErr("stat", key, err)
	}
	if !st.Mode().IsRegular() {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
	}
	return ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete implements Store.
func (d *DiskStore) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// List implements Store.
func (d *DiskStore) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	// Walk the deepest directory the prefix names completely, then filter.
	start := d.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(d.root, filepath.FromSlash(prefix[:i]))
	}
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), tmpPrefix) || !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		st, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		return fn(ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}

// RemoveStale deletes the temporary files, left behind by a process
// killed mid-write, that keep does not keep. GC calls it through the
// staleCleaner capability.
func (d *DiskStore) RemoveStale(ctx context.Context, keep func(ObjectInfo) bool) (int, error) {
	removed := 0
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || !strings.HasPrefix(e.Name(), tmpPrefix) {
			return nil
		}
		st, err := e.Info()
		if err != nil {
			return nil
		}
		if keep(ObjectInfo{Key: p, Size: st.Size(), ModTime: st.ModTime()}) {
			return nil
		}
		if os.Remove(p) == nil {
			removed++
		}
		return nil
	})
	return removed, err
}

// Ping implements Store: the root must be a writable directory.
func (d *DiskStore) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(d.root, tmpPrefix+"ping-*")
	if err != nil {
		return fmt.Errorf("%w: disk store %s: %v", ErrUnavailable, d.root, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func (d *DiskStore) fsErr(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}
