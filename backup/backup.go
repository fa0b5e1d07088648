package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/migrations"
	"github.com/messina-oms/messina/queries"
)

// Config is what Create and Restore need; Check needs only PGBinDir and
// Concurrency. cmd builds it from the environment.
type Config struct {
	// Pool connects to the database as the role that owns the schema
	// (MESSINA_OWNER_DATABASE_URL).
	Pool *pgxpool.Pool
	// DatabaseURL is the postgres:// URL of the same connection, for
	// pg_dump and pg_restore. Its password is handed to them in
	// PGPASSWORD, never on their command line.
	DatabaseURL string
	// SuperPool, optional, connects to the same database as a superuser:
	// Restore installs the audit's event triggers with it.
	SuperPool *pgxpool.Pool
	// Store holds the blobs (the source of a backup, the target of a
	// restore).
	Store filestore.Store
	// PGBinDir holds pg_dump and pg_restore; "" looks them up on PATH.
	PGBinDir string
	// Concurrency is how many blobs are copied at once; default 4. Each
	// copy holds one 256 KiB buffer (an S3 upload one part, 16 MiB).
	Concurrency int
	Logger      *slog.Logger
}

func (c *Config) defaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// CreateOptions are the choices of one backup.
type CreateOptions struct {
	// Seal seals the audit log (audit.Seal) just before the snapshot, so
	// that a restore can verify every audit row of the backup. Without it
	// the rows written since the last seal are restored but not covered
	// by the seal chain.
	Seal bool
}

// Result is what Create made.
type Result struct {
	// Dir is the backup's directory, DIR/<UTC time>.
	Dir      string
	Manifest *Manifest
	// BlobsCopied were read from the store; BlobsReused were in DIR/blobs
	// already (from an earlier backup) with the right size.
	BlobsCopied int
	BlobsReused int
	BytesCopied int64
}

// BadBlob is a blob the store cannot give back intact.
type BadBlob struct {
	SHA256  string
	Problem string
}

// BlobsError fails a backup whose blobs are missing from the store or do
// not hash to their address, and a check or restore whose blob files are
// missing or damaged. Bad lists them all, in address order.
type BlobsError struct {
	// Where the blobs were looked for: "the blob store" or "the backup".
	Where string
	Bad   []BadBlob
	Total int
}

// Error names the bad blobs (the first three) and what is wrong with each.
func (e *BlobsError) Error() string {
	var parts []string
	for i, b := range e.Bad {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Bad)-3))
			break
		}
		parts = append(parts, b.SHA256+" ("+b.Problem+")")
	}
	return fmt.Sprintf("%d of %d blobs are missing or corrupt in %s: %s", len(e.Bad), e.Total, e.Where, strings.Join(parts, ", "))
}

func newBlobsError(where string, bad []BadBlob, total int) *BlobsError {
	sort.Slice(bad, func(i, j int) bool { return bad[i].SHA256 < bad[j].SHA256 })
	return &BlobsError{Where: where, Bad: bad, Total: total}
}

// blobRef is a blob to copy: its address, size and where it is.
type blobRef struct {
	sum  [32]byte
	size int64
	// key is its object key in the store (Create) or "" (Restore: the
	// content key).
	key string
}

func (b blobRef) hex() string { return hex.EncodeToString(b.sum[:]) }

// blobPath is where the blob of sum lives under a backup root.
func blobPath(root string, sum []byte) string {
	return filepath.Join(root, BlobsDir, filepath.FromSlash(filestore.ContentKey(sum)))
}

// Create makes a backup under root (created when missing): the dump in
// root/<UTC time>/, the blobs it references in root/blobs/, then the
// manifest. On error the new backup directory is removed (blob files
// already copied stay, for the next backup to reuse); a *BlobsError names
// blobs the store could not give back intact.
func Create(ctx context.Context, cfg Config, root string, opts CreateOptions) (*Result, error) {
	cfg.defaults()
	if cfg.Pool == nil || cfg.DatabaseURL == "" || cfg.Store == nil {
		return nil, errors.New("backup: Config needs Pool, DatabaseURL and Store")
	}
	log := cfg.Logger
	tools, err := newPGTools(cfg.PGBinDir, cfg.DatabaseURL, "messina-backup")
	if err != nil {
		return nil, err
	}
	dumpVersion, dumpMajor, err := tools.version(ctx, "pg_dump")
	if err != nil {
		return nil, err
	}
	if _, err := tools.path("pg_restore"); err != nil {
		return nil, err
	}
	cur, err := queries.New(cfg.Pool).DatabaseCurrent(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if cur.Role == AppRole {
		return nil, fmt.Errorf("connected as %s, which may not read everything: back up as the schema owner (MESSINA_OWNER_DATABASE_URL)", AppRole)
	}
	if opts.Seal {
		seals, err := audit.Seal(ctx, cfg.Pool)
		if err != nil {
			return nil, fmt.Errorf("seal the audit log: %w", err)
		}
		log.Debug("audit log sealed", "seals", len(seals))
	}
	schemaBefore, _, err := migrations.Version(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("schema version: %s", oneLine(err))
	}

	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := mkdirAllSynced(filepath.Join(root, BlobsDir)); err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	// Shared: backups into one directory may run side by side, a prune
	// (exclusive) may not run beside any, as it would take the blobs of
	// one whose manifest is not written yet.
	unlock, err := lockDir(ctx, root, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dir, err := makeBackupDir(root, time.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	if err := syncDir(root); err != nil {
		return nil, err
	}
	res, err := create(ctx, cfg, tools, root, dir, dumpVersion, dumpMajor, schemaBefore)
	if err != nil {
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			log.Error("remove incomplete backup", "dir", dir, "err", rmErr)
		}
		return nil, err
	}
	return res, nil
}

func create(ctx context.Context, cfg Config, tools *pgTools, root, dir, dumpVersion string, dumpMajor int, schemaVersion int64) (*Result, error) {
	log := cfg.Logger
	m := &Manifest{Format: ManifestFormat, SchemaVersion: schemaVersion}
	m.Database.File = DumpFile
	m.Database.PGDumpVersion = dumpVersion

	// The snapshot: pg_dump imports it, and the blob list and audit head
	// are read in it, so all three describe the same moment.
	tx, err := cfg.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only; ends the snapshot
	q := queries.New(tx)
	snap, err := q.BackupSnapshotExport(ctx)
	if err != nil {
		return nil, fmt.Errorf("export snapshot: %w", err)
	}
	if err := q.BackupSessionKeepOpen(ctx); err != nil {
		return nil, fmt.Errorf("snapshot session: %w", err)
	}
	if serverMajor := int(snap.ServerVersionNum / 10000); dumpMajor < serverMajor {
		return nil, fmt.Errorf("pg_dump is version %d but the server is %s: use pg_dump %d or newer (MESSINA_PG_BINDIR)", dumpMajor, snap.ServerVersion, serverMajor)
	}
	m.CreatedAt = snap.TakenAt.UTC()
	m.Database.Name, m.Database.OwnerRole, m.Database.ServerVersion = snap.Database, snap.Role, snap.ServerVersion
	rows, err := q.BlobReferencedList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	refs := make([]blobRef, 0, len(rows))
	for _, r := range rows {
		if len(r.Sha256) != 32 || r.Size == nil {
			return nil, fmt.Errorf("blob %x: its row has no size (not stored?) although a revision references it", r.Sha256)
		}
		ref := blobRef{size: *r.Size, key: filestore.ContentKey(r.Sha256)}
		copy(ref.sum[:], r.Sha256)
		if r.ObjectKey != nil {
			ref.key = *r.ObjectKey
		}
		refs = append(refs, ref)
	}
	head, err := q.AuditSealLast(ctx)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("audit seal head: %w", err)
	}
	m.Audit = headOf(head)

	dumpPath := filepath.Join(dir, DumpFile)
	log.Debug("pg_dump", "snapshot", snap.Snapshot, "file", dumpPath)
	err = writeFileAtomic(dumpPath, func(w io.Writer) error {
		h := sha256.New()
		cw := &countingWriter{w: io.MultiWriter(w, h)}
		args := []string{"--format=custom", "--no-password", "--snapshot=" + snap.Snapshot, "--dbname=" + tools.conn}
		if err := tools.run(ctx, "pg_dump", args, cw); err != nil {
			return err
		}
		m.Database.Size, m.Database.SHA256 = cw.n, hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dump the database: %w", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		return nil, fmt.Errorf("end snapshot: %w", err)
	}
	// The archive must be readable by the program that will restore it.
	if err := tools.run(ctx, "pg_restore", []string{"--list", dumpPath}, io.Discard); err != nil {
		return nil, fmt.Errorf("check the dump: %w", err)
	}
	after, _, err := migrations.Version(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("schema version: %s", oneLine(err))
	}
	if after != schemaVersion {
		return nil, fmt.Errorf("the schema changed during the backup (migration %d -> %d): run the backup again", schemaVersion, after)
	}
	log.Debug("database dumped", "bytes", m.Database.Size, "blobs", len(refs))

	res := &Result{Dir: dir, Manifest: m}
	if err := copyBlobsFromStore(ctx, cfg, root, refs, res); err != nil {
		return nil, err
	}
	m.Blobs = make([]BlobEntry, len(refs))
	for i, r := range refs {
		m.Blobs[i] = BlobEntry{SHA256: r.hex(), Size: r.size}
		m.BlobBytes += r.size
	}
	m.BlobCount = len(refs)
	m.CompletedAt = time.Now().UTC()
	if err := writeManifest(dir, m); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	log.Debug("backup complete", "dir", dir)
	return res, nil
}

// makeBackupDir creates root/<UTC time>, or root/<UTC time>-2 and so on
// when a backup started in the same second.
func makeBackupDir(root string, now time.Time) (string, error) {
	base := filepath.Join(root, now.Format(dirTimeLayout))
	for i := 1; i < 100; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s and 98 more exist already", base)
}

// copyBlobsFromStore copies every blob into root/blobs unless a file of
// the right size is there, verifying each against its address. Blobs that
// are missing or corrupt in the store are collected into a *BlobsError;
// other errors (store unavailable, disk full) stop the copy.
func copyBlobsFromStore(ctx context.Context, cfg Config, root string, refs []blobRef, res *Result) error {
	// The blob directory is laid out as a disk blob store (content keys
	// under root/blobs), so its Put does the verified, atomic write.
	dst, err := filestore.NewDiskStore(filepath.Join(root, BlobsDir))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var bad []BadBlob
	err = forEach(ctx, cfg.Concurrency, refs, func(ctx context.Context, _ []byte, ref blobRef) error {
		copied, problem, err := copyBlobFromStore(ctx, cfg.Store, dst, ref)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			return fmt.Errorf("copy blob %s: %w", ref.hex(), err)
		case problem != "":
			bad = append(bad, BadBlob{SHA256: ref.hex(), Problem: problem})
		case copied:
			res.BlobsCopied++
			res.BytesCopied += ref.size
		default:
			res.BlobsReused++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return newBlobsError("the blob store", bad, len(refs))
	}
	return nil
}

// copyBlobFromStore copies one blob into dst under its content key, unless
// a file of its size is there already; problem says what is wrong with the
// stored object when it is missing or corrupt.
func copyBlobFromStore(ctx context.Context, store filestore.Store, dst *filestore.DiskStore, ref blobRef) (copied bool, problem string, err error) {
	key := filestore.ContentKey(ref.sum[:])
	if info, err := dst.Stat(ctx, key); err == nil && info.Size == ref.size {
		return false, "", nil
	}
	rc, info, err := store.Get(ctx, ref.key, nil)
	if errors.Is(err, filestore.ErrNotFound) {
		return false, "missing: no object " + ref.key, nil
	}
	if err != nil {
		return false, "", err
	}
	defer rc.Close()
	if info.Size != ref.size {
		return false, fmt.Sprintf("corrupt: object %s is %d bytes, want %d", ref.key, info.Size, ref.size), nil
	}
	_, err = dst.Put(ctx, key, rc, ref.size, filestore.PutOptions{SHA256: ref.sum[:]})
	var mismatch *filestore.DigestMismatchError
	switch {
	case errors.As(err, &mismatch):
		return false, fmt.Sprintf("corrupt: object %s hashes to %x", ref.key, mismatch.Computed), nil
	case errors.Is(err, filestore.ErrSizeMismatch):
		return false, fmt.Sprintf("corrupt: object %s: %s", ref.key, oneLine(err)), nil
	case err != nil:
		return false, "", err
	}
	return true, "", nil
}

// copyBufSize is the buffer each blob copy streams through.
const copyBufSize = 256 << 10

// forEach calls fn for every item from n goroutines, each with its own
// buffer, and stops at the first error.
func forEach[T any](ctx context.Context, n int, items []T, fn func(ctx context.Context, buf []byte, item T) error) error {
	g, ctx := errgroup.WithContext(ctx)
	next := make(chan T)
	g.Go(func() error {
		defer close(next)
		for _, it := range items {
			select {
			case next <- it:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range min(n, max(len(items), 1)) {
		g.Go(func() error {
			buf := make([]byte, copyBufSize)
			for it := range next {
				if err := fn(ctx, buf, it); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// oneLine keeps an error message to one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
