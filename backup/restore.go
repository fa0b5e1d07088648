package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/migrations"
	"github.com/messina-oms/messina/queries"
)

// RestoreOptions are the choices of one restore.
type RestoreOptions struct {
	// Resume finishes a restore that failed after pg_restore (its
	// *RestoreError has Stage StageFinish or StageVerify): the database
	// already holds the backup, so the empty-database check and pg_restore
	// are skipped and every later step runs again (they are idempotent).
	Resume bool
}

// RestoreReport says what Restore did and found.
type RestoreReport struct {
	Manifest *Manifest
	// Database is the name of the database restored into.
	Database string
	// BlobsUploaded were written to the store; BlobsPresent were there
	// already with the right size.
	BlobsUploaded int
	BlobsPresent  int
	BytesUploaded int64
	// UnreferencedBlobsRemoved and UploadPinsRemoved are rows of the
	// source's garbage and in-flight uploads; ContentKeysAdopted are blob
	// rows that now point at their content key instead of an upload key.
	UnreferencedBlobsRemoved int64
	UploadPinsRemoved        int64
	ContentKeysAdopted       int64
	// AuditTables is how many audited tables audit.refresh_all refreshed.
	AuditTables int
	// EventTriggers reports whether the audit's event triggers are
	// installed (they need SuperPool).
	EventTriggers bool
	Audit         audit.Report
	// BlobsVerified is how many revision blobs were found in the store at
	// the end.
	BlobsVerified int
	// SchemaVersion is the restored database's; when LatestSchemaVersion
	// (this binary's) is newer, `messina migrate` brings it up to date.
	SchemaVersion       int64
	LatestSchemaVersion int64
}

// Stage is how far a restore got when it failed, which says what state it
// left behind.
type Stage int

// The stages of a restore, in order.
const (
	// StageCheck: checking the backup and the target; nothing was written.
	StageCheck Stage = iota + 1
	// StageBlobs: uploading blobs; the database is unchanged, blobs
	// uploaded so far stay in the store.
	StageBlobs
	// StageDatabase: pg_restore failed; its single transaction rolled
	// back, so the database is unchanged.
	StageDatabase
	// StageFinish: the database holds the backup, but the fix-ups after
	// pg_restore or the event triggers are not done: resume.
	StageFinish
	// StageVerify: everything is restored but does not verify.
	StageVerify
)

// State says in words what a failure at the stage left behind, and how to
// go on.
func (s Stage) State() string {
	switch s {
	case StageCheck:
		return "nothing was changed"
	case StageBlobs, StageDatabase:
		return "the database is unchanged; blobs uploaded so far stay in the store and are skipped when the restore runs again"
	case StageFinish:
		return "the database holds the backup but the restore is not finished: run it again with --resume"
	case StageVerify:
		return "the restore finished but does not verify: do not use the database before finding out why"
	}
	return "unknown state"
}

// RestoreError is a failed restore: the error and the stage it failed in.
type RestoreError struct {
	Stage Stage
	Err   error
}

// Error is the cause followed by the state the restore left.
func (e *RestoreError) Error() string { return e.Err.Error() + " (" + e.Stage.State() + ")" }

// Unwrap returns the cause.
func (e *RestoreError) Unwrap() error { return e.Err }

// AppRole is the application role the migrations grant rights to; it must
// exist before a restore.
const AppRole = "messina_app"

// Restore restores the backup in dir (DIR/<time>, with DIR/blobs next to
// it) into the database of cfg.Pool, which must be empty unless
// opts.Resume, and into cfg.Store. See the package doc for the steps.
// Errors are *RestoreError.
func Restore(ctx context.Context, cfg Config, dir string, opts RestoreOptions) (*RestoreReport, error) {
	cfg.defaults()
	if cfg.Pool == nil || cfg.DatabaseURL == "" || cfg.Store == nil {
		return nil, errors.New("restore: Config needs Pool, DatabaseURL and Store")
	}
	r := &restorer{cfg: cfg, opts: opts, rep: &RestoreReport{}}
	if err := r.run(ctx, dir); err != nil {
		return r.rep, &RestoreError{Stage: r.stage, Err: err}
	}
	return r.rep, nil
}

type restorer struct {
	cfg   Config
	opts  RestoreOptions
	rep   *RestoreReport
	stage Stage
	tools *pgTools
	m     *Manifest
	root  string
}

func (r *restorer) run(ctx context.Context, dir string) error {
	log := r.cfg.Logger
	r.stage = StageCheck
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	r.root = filepath.Dir(dir)
	if r.m, err = ReadManifest(dir); err != nil {
		return err
	}
	r.rep.Manifest = r.m
	if r.rep.LatestSchemaVersion, err = migrations.Latest(); err != nil {
		return err
	}
	if r.m.SchemaVersion > r.rep.LatestSchemaVersion {
		return fmt.Errorf("the backup has schema version %d but this messina knows only up to %d: restore with a newer messina", r.m.SchemaVersion, r.rep.LatestSchemaVersion)
	}
	if r.tools, err = newPGTools(r.cfg.PGBinDir, r.cfg.DatabaseURL, "messina-restore"); err != nil {
		return err
	}
	if _, _, err := r.tools.version(ctx, "pg_restore"); err != nil {
		return err
	}
	if err := r.checkTarget(ctx); err != nil {
		return err
	}
	dumpPath := filepath.Join(dir, DumpFile)
	if err := verifyDump(dumpPath, r.m); err != nil {
		return err
	}
	list, err := r.restoreList(ctx, dumpPath)
	if err != nil {
		return err
	}
	defer os.Remove(list)
	if err := statBlobFiles(r.root, r.m); err != nil {
		return err
	}
	log.Debug("backup checked", "dir", dir)

	r.stage = StageBlobs
	if err := r.uploadBlobs(ctx); err != nil {
		return err
	}
	if !r.opts.Resume {
		r.stage = StageDatabase
		args := []string{"--exit-on-error", "--single-transaction", "--no-password",
			"--use-list=" + list, "--dbname=" + r.tools.conn, dumpPath}
		if err := r.tools.run(ctx, "pg_restore", args, io.Discard); err != nil {
			return err
		}
		log.Debug("database restored")
	}

	r.stage = StageFinish
	if err := r.finish(ctx); err != nil {
		return err
	}
	r.stage = StageVerify
	return r.verify(ctx)
}

// checkTarget refuses a database that is not empty (unless resuming),
// roles that are missing, and a superuser connection to another database.
func (r *restorer) checkTarget(ctx context.Context) error {
	q := queries.New(r.cfg.Pool)
	cur, err := q.DatabaseCurrent(ctx)
	if err != nil {
		return fmt.Errorf("target database: %w", err)
	}
	r.rep.Database = cur.Database
	if r.cfg.SuperPool != nil {
		super, err := queries.New(r.cfg.SuperPool).DatabaseCurrent(ctx)
		if err != nil {
			return fmt.Errorf("superuser connection: %w", err)
		}
		if super.Database != cur.Database {
			return fmt.Errorf("the superuser connection is to database %s, the restore goes to %s: point both at the same database", super.Database, cur.Database)
		}
	}
	found, err := q.DatabaseObjectList(ctx, 4)
	if err != nil {
		return fmt.Errorf("target database: %w", err)
	}
	if r.opts.Resume {
		return r.checkResumable(ctx, q, cur.Database, len(found) > 0)
	}
	if len(found) > 0 {
		more := ""
		if len(found) > 3 {
			found, more = found[:3], ", …"
		}
		return fmt.Errorf("database %s is not empty (%s%s): restore needs an empty database (CREATE DATABASE %s OWNER %s TEMPLATE template0), or --resume when an earlier restore of this backup got past pg_restore",
			cur.Database, strings.Join(found, ", "), more, cur.Database, r.m.Database.OwnerRole)
	}
	app, err := q.RoleCheck(ctx, AppRole)
	if err != nil {
		return fmt.Errorf("roles: %w", err)
	}
	if !cur.CanCreate {
		return fmt.Errorf("%s may not create schemas in database %s: create the database with OWNER %s", cur.Role, cur.Database, r.m.Database.OwnerRole)
	}
	if !app.RoleExists {
		return fmt.Errorf("role %s does not exist: create it first (CREATE ROLE %s LOGIN PASSWORD '…')", AppRole, AppRole)
	}
	owner, err := q.RoleCheck(ctx, r.m.Database.OwnerRole)
	if err != nil {
		return fmt.Errorf("roles: %w", err)
	}
	if !owner.RoleExists {
		return fmt.Errorf("role %s, which owns the backup's objects, does not exist: create it first (CREATE ROLE %s LOGIN PASSWORD '…')", r.m.Database.OwnerRole, r.m.Database.OwnerRole)
	}
	if !owner.IsMember {
		return fmt.Errorf("connected as %s, which cannot act as %s, the owner of the backup's objects: connect as %s", cur.Role, r.m.Database.OwnerRole, r.m.Database.OwnerRole)
	}
	return nil
}

// checkResumable makes sure the database holds this backup: its audit
// seal chain must end where the backup's does (the log is append-only, so
// it cannot have moved backwards).
func (r *restorer) checkResumable(ctx context.Context, q *queries.Queries, database string, notEmpty bool) error {
	if !notEmpty {
		return fmt.Errorf("database %s is empty: there is no restore to resume (run it without --resume)", database)
	}
	head, err := q.AuditSealLast(ctx)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("database %s does not hold a Messina backup: %v", database, err)
	}
	if got := headOf(head); got != r.m.Audit {
		return fmt.Errorf("database %s does not hold this backup: its audit seal chain ends at seal %d, the backup's at seal %d", database, got.LastSealID, r.m.Audit.LastSealID)
	}
	return nil
}

// restoreList writes the dump's table of contents without the event
// triggers (only a superuser may create them; finish installs them) to a
// temporary file for pg_restore --use-list, and returns its path.
func (r *restorer) restoreList(ctx context.Context, dumpPath string) (string, error) {
	var toc bytes.Buffer
	if err := r.tools.run(ctx, "pg_restore", []string{"--list", dumpPath}, &toc); err != nil {
		return "", fmt.Errorf("read the dump: %w", err)
	}
	f, err := os.CreateTemp("", "messina-restore-*.list")
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	sc := bufio.NewScanner(&toc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if !isEventTrigger(sc.Text()) {
			w.WriteString(sc.Text())
			w.WriteByte('\n')
		}
	}
	err = errors.Join(sc.Err(), w.Flush(), f.Close())
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("restore list: %w", err)
	}
	return f.Name(), nil
}

// isEventTrigger tells a table-of-contents line of pg_restore --list
// ("3630; 3466 17810 EVENT TRIGGER - audit_ddl_end postgres") that
// creates an event trigger.
func isEventTrigger(line string) bool {
	_, rest, ok := strings.Cut(line, "; ")
	if !ok || strings.HasPrefix(line, ";") {
		return false
	}
	f := strings.Fields(rest)
	return len(f) >= 4 && f[2] == "EVENT" && f[3] == "TRIGGER"
}

// uploadBlobs puts every blob of the backup under its content key,
// verified against its address on the way, unless an object of the right
// size is there.
func (r *restorer) uploadBlobs(ctx context.Context) error {
	refs, err := manifestRefs(r.m)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	return forEach(ctx, r.cfg.Concurrency, refs, func(ctx context.Context, _ []byte, ref blobRef) error {
		key := filestore.ContentKey(ref.sum[:])
		info, err := r.cfg.Store.Stat(ctx, key)
		if err == nil && info.Size == ref.size {
			mu.Lock()
			r.rep.BlobsPresent++
			mu.Unlock()
			return nil
		}
		if err != nil && !errors.Is(err, filestore.ErrNotFound) {
			return fmt.Errorf("blob %s: %w", ref.hex(), err)
		}
		f, err := os.Open(blobPath(r.root, ref.sum[:]))
		if err != nil {
			return fmt.Errorf("blob %s: %w", ref.hex(), err)
		}
		defer f.Close()
		_, err = r.cfg.Store.Put(ctx, key, f, ref.size, filestore.PutOptions{SHA256: ref.sum[:]})
		if errors.Is(err, filestore.ErrDigestMismatch) || errors.Is(err, filestore.ErrSizeMismatch) {
			return fmt.Errorf("blob file %s of the backup is damaged: %v", f.Name(), err)
		}
		if err != nil {
			return fmt.Errorf("upload blob %s: %w", ref.hex(), err)
		}
		mu.Lock()
		r.rep.BlobsUploaded++
		r.rep.BytesUploaded += ref.size
		mu.Unlock()
		return nil
	})
}

// finish makes the restored rows fit the restored store, in one
// transaction, and installs the event triggers when it can. Every step is
// idempotent, so a resumed restore runs them again.
func (r *restorer) finish(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, r.cfg.Pool, func(tx pgx.Tx) error {
		q := queries.New(tx)
		var err error
		if r.rep.UnreferencedBlobsRemoved, err = q.BlobDeleteUnreferenced(ctx); err != nil {
			return fmt.Errorf("remove unreferenced blob rows: %w", err)
		}
		if r.rep.UploadPinsRemoved, err = q.UploadDeleteAll(ctx); err != nil {
			return fmt.Errorf("remove upload pins: %w", err)
		}
		if r.rep.ContentKeysAdopted, err = q.BlobAdoptContentKeys(ctx); err != nil {
			return fmt.Errorf("point blob rows at content keys: %w", err)
		}
		n, err := q.AuditRefreshAll(ctx)
		if err != nil {
			return fmt.Errorf("audit.refresh_all: %w", err)
		}
		r.rep.AuditTables = int(n)
		return nil
	})
	if err != nil {
		return err
	}
	if r.cfg.SuperPool != nil {
		if err := queries.New(r.cfg.SuperPool).AuditInstallEventTriggers(ctx); err != nil {
			return fmt.Errorf("install the audit's event triggers as superuser: %w", err)
		}
	}
	installed, err := queries.New(r.cfg.Pool).AuditEventTriggersInstalled(ctx)
	if err != nil {
		return fmt.Errorf("audit event triggers: %w", err)
	}
	r.rep.EventTriggers = installed
	return nil
}

// verify proves the restore: schema version, the audit seal chain up to
// the backup's head, and every revision's blob in the store.
func (r *restorer) verify(ctx context.Context) error {
	var err error
	if r.rep.SchemaVersion, _, err = migrations.Version(ctx, r.cfg.DatabaseURL); err != nil {
		return fmt.Errorf("schema version: %s", oneLine(err))
	}
	if r.rep.SchemaVersion != r.m.SchemaVersion {
		return fmt.Errorf("the restored database has schema version %d, the backup %d", r.rep.SchemaVersion, r.m.SchemaVersion)
	}
	if r.rep.Audit, err = audit.Verify(ctx, r.cfg.Pool); err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if !r.rep.Audit.OK {
		return fmt.Errorf("audit verify: %s", r.rep.Audit.String())
	}
	head, err := queries.New(r.cfg.Pool).AuditSealLast(ctx)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("audit seal head: %w", err)
	}
	if got := headOf(head); got != r.m.Audit {
		return fmt.Errorf("the audit seal chain ends at seal %d (hash %s), the backup's at seal %d (hash %s)",
			got.LastSealID, got.LastSealHash, r.m.Audit.LastSealID, r.m.Audit.LastSealHash)
	}

	rows, err := queries.New(r.cfg.Pool).BlobReferencedList(ctx)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	refs := make([]blobRef, 0, len(rows))
	for _, row := range rows {
		e, ok := r.m.blob(hex.EncodeToString(row.Sha256))
		if !ok || row.Size == nil || *row.Size != e.Size {
			return fmt.Errorf("the database references blob %x, which the backup does not hold", row.Sha256)
		}
		if row.ObjectKey != nil {
			return fmt.Errorf("blob %x still points at object %s", row.Sha256, *row.ObjectKey)
		}
		ref := blobRef{size: e.Size}
		copy(ref.sum[:], row.Sha256)
		refs = append(refs, ref)
	}
	var mu sync.Mutex
	var bad []BadBlob
	err = forEach(ctx, r.cfg.Concurrency, refs, func(ctx context.Context, _ []byte, ref blobRef) error {
		info, err := r.cfg.Store.Stat(ctx, filestore.ContentKey(ref.sum[:]))
		problem := ""
		switch {
		case errors.Is(err, filestore.ErrNotFound):
			problem = "missing"
		case err != nil:
			return fmt.Errorf("blob %s: %w", ref.hex(), err)
		case info.Size != ref.size:
			problem = fmt.Sprintf("%d bytes, want %d", info.Size, ref.size)
		}
		mu.Lock()
		defer mu.Unlock()
		if problem != "" {
			bad = append(bad, BadBlob{SHA256: ref.hex(), Problem: problem})
		} else {
			r.rep.BlobsVerified++
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

// headOf is the audit head of the newest seal (zero when there is none).
func headOf(s queries.AuditSealLastRow) AuditHead {
	if s.ID == 0 {
		return AuditHead{}
	}
	return AuditHead{LastSealID: s.ID, SealedUpto: s.UptoID, LastSealHash: hex.EncodeToString(s.Hash)}
}

// blob finds the manifest's entry of the hex SHA-256 h.
func (m *Manifest) blob(h string) (BlobEntry, bool) {
	i := sort.Search(len(m.Blobs), func(i int) bool { return m.Blobs[i].SHA256 >= h })
	if i < len(m.Blobs) && m.Blobs[i].SHA256 == h {
		return m.Blobs[i], true
	}
	return BlobEntry{}, false
}

func manifestRefs(m *Manifest) ([]blobRef, error) {
	refs := make([]blobRef, len(m.Blobs))
	for i, b := range m.Blobs {
		sum, err := decodeSum(b.SHA256)
		if err != nil {
			return nil, err
		}
		copy(refs[i].sum[:], sum)
		refs[i].size = b.Size
	}
	return refs, nil
}

// verifyDump checks the dump's size and SHA-256 against the manifest.
func verifyDump(path string, m *Manifest) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("database dump: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, copyBufSize))
	if err != nil {
		return fmt.Errorf("database dump: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != m.Database.Size || got != m.Database.SHA256 {
		return fmt.Errorf("database dump %s does not match the manifest (%d bytes with SHA-256 %s, want %d bytes with %s): the backup is damaged",
			path, n, got, m.Database.Size, m.Database.SHA256)
	}
	return nil
}

// statBlobFiles checks that every blob of the manifest has a file of the
// right size, before anything is written.
func statBlobFiles(root string, m *Manifest) error {
	var bad []BadBlob
	for _, b := range m.Blobs {
		sum, err := decodeSum(b.SHA256)
		if err != nil {
			return err
		}
		st, err := os.Stat(blobPath(root, sum))
		switch {
		case err != nil:
			bad = append(bad, BadBlob{SHA256: b.SHA256, Problem: "no file"})
		case st.Size() != b.Size:
			bad = append(bad, BadBlob{SHA256: b.SHA256, Problem: fmt.Sprintf("file is %d bytes, want %d", st.Size(), b.Size)})
		}
	}
	if len(bad) > 0 {
		return newBlobsError("the backup", bad, len(m.Blobs))
	}
	return nil
}

// CheckReport is what Check verified.
type CheckReport struct {
	Manifest     *Manifest
	BlobsChecked int
	BytesChecked int64
}

// Check verifies the backup in dir without a database or blob store: the
// manifest, the dump's size and SHA-256, that pg_restore can read the
// dump, and every blob file's size and SHA-256. It reads every byte of
// the backup. A *BlobsError names damaged or missing blob files.
func Check(ctx context.Context, cfg Config, dir string) (*CheckReport, error) {
	cfg.defaults()
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	rep := &CheckReport{Manifest: m}
	tools, err := newPGTools(cfg.PGBinDir, "", "")
	if err != nil {
		return nil, err
	}
	dumpPath := filepath.Join(dir, DumpFile)
	if err := verifyDump(dumpPath, m); err != nil {
		return nil, err
	}
	if err := tools.run(ctx, "pg_restore", []string{"--list", dumpPath}, io.Discard); err != nil {
		return nil, fmt.Errorf("read the dump: %w", err)
	}
	refs, err := manifestRefs(m)
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(dir)
	var mu sync.Mutex
	var bad []BadBlob
	err = forEach(ctx, cfg.Concurrency, refs, func(ctx context.Context, buf []byte, ref blobRef) error {
		problem, err := checkBlobFile(ctx, blobPath(root, ref.sum[:]), ref, buf)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if problem != "" {
			bad = append(bad, BadBlob{SHA256: ref.hex(), Problem: problem})
		} else {
			rep.BlobsChecked++
			rep.BytesChecked += ref.size
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, newBlobsError("the backup", bad, len(refs))
	}
	return rep, nil
}

func checkBlobFile(ctx context.Context, path string, ref blobRef, buf []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "no file", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, buf)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if n != ref.size {
		return fmt.Sprintf("file is %d bytes, want %d", n, ref.size), nil
	}
	if got := h.Sum(nil); !bytes.Equal(got, ref.sum[:]) {
		return fmt.Sprintf("file hashes to %x", got), nil
	}
	return "", nil
}
