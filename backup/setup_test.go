package backup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/backup"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/pgtest"
)

// system is one Messina installation under test: its database, its blob
// store (MinIO under a key prefix of its own) and a filestore service on
// both.
type system struct {
	db    *pgtest.DB
	store filestore.Store
	files *filestore.Service
	super *pgxpool.Pool
}

// testBundle is a source system with documents and audit history, and a
// directory for its backups.
type testBundle struct {
	ctx   context.Context // a staff principal that sees all sites
	src   *system
	root  string
	owner filestore.Owner
	// docs maps each attachment to the content of its revisions, in order.
	docs map[uuid.UUID][][]byte
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:tester@example.com", Role: auth.RoleStaff, RequestID: "req-backup"})
	src := newSystem(t, pgtest.New(t))
	_, err := src.db.Owner.Exec(ctx, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES
		('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London'),
		('FR', 'France', 'FR', 'EUR', 'Europe/Paris')`)
	require.NoError(t, err)
	return &testBundle{
		ctx: ctx, src: src, root: t.TempDir(),
		owner: filestore.Owner{Type: filestore.OwnerOrder, ID: uuid.New(), Site: "UK"},
		docs:  map[uuid.UUID][][]byte{},
	}
}

// newSystem puts a blob store with a fresh prefix and a filestore service
// next to db.
func newSystem(t *testing.T, db *pgtest.DB) *system {
	t.Helper()
	require.NotEmpty(t, os.Getenv("MESSINA_BLOB_URL"), "run the tests under cmd/devenv (make test)")
	store, err := filestore.OpenStore(context.Background(), os.Getenv("MESSINA_BLOB_URL")+"&prefix=backuptest/"+randomHex(6)+"/",
		filestore.StoreConfig{AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")})
	require.NoError(t, err)
	files, err := filestore.New(filestore.Config{Pool: db.App, Store: store, MaxUploadBytes: 64 << 20})
	require.NoError(t, err)
	s := &system{db: db, store: store, files: files}
	if db.SuperURL != "" {
		s.super, err = pgxpool.New(context.Background(), db.SuperURL)
		require.NoError(t, err)
		t.Cleanup(s.super.Close)
	}
	t.Cleanup(func() { waitAppSessionsGone(t, db) })
	return s
}

// config is the backup configuration of the system.
func (s *system) config(t *testing.T) backup.Config {
	t.Helper()
	bindir := os.Getenv("MESSINA_PG_BINDIR")
	require.NotEmpty(t, bindir, "MESSINA_PG_BINDIR is not set: run the tests under cmd/devenv")
	return backup.Config{Pool: s.db.Owner, DatabaseURL: s.db.OwnerURL, SuperPool: s.super, Store: s.store, PGBinDir: bindir, Concurrency: 3}
}

// attach creates an attachment with one revision of content; withDigest
// sends the content's SHA-256, which stores it at its content key (else
// it stays under an upload key).
func (b *testBundle) attach(t *testing.T, name string, content []byte, withDigest bool) uuid.UUID {
	t.Helper()
	a, _, err := b.src.files.CreateAttachment(b.ctx, b.owner, name, upload(content, withDigest))
	require.NoError(t, err)
	b.docs[a.ID] = append(b.docs[a.ID], content)
	return a.ID
}

// revise adds a revision of content to the attachment.
func (b *testBundle) revise(t *testing.T, id uuid.UUID, content []byte, withDigest bool) {
	t.Helper()
	_, err := b.src.files.AddRevision(b.ctx, id, upload(content, withDigest))
	require.NoError(t, err)
	b.docs[id] = append(b.docs[id], content)
}

func upload(content []byte, withDigest bool) filestore.Upload {
	up := filestore.Upload{Body: plain{bytes.NewReader(content)}, Size: int64(len(content)), ContentType: "application/octet-stream", Filename: "doc.bin"}
	if withDigest {
		up.Digest = sum(content)
	}
	return up
}

// backup makes a backup of the source that must succeed.
func (b *testBundle) backup(t *testing.T) *backup.Result {
	t.Helper()
	res, err := backup.Create(b.ctx, b.src.config(t), b.root, backup.CreateOptions{Seal: true})
	require.NoError(t, err)
	return res
}

// requireSameDocuments checks that every revision of every attachment of
// the source reads back byte-identical from sys, with intact history.
func (b *testBundle) requireSameDocuments(t *testing.T, sys *system) {
	t.Helper()
	for id, want := range b.docs {
		revs, err := sys.files.ListRevisions(b.ctx, id, 0, 1000)
		require.NoError(t, err)
		require.Len(t, revs, len(want), "revisions of %s", id)
		for i, rev := range revs {
			rc, err := sys.files.Open(b.ctx, rev, nil)
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err, "read revision %d of %s", rev.Number, id)
			require.True(t, bytes.Equal(want[i], got), "revision %d of %s differs", rev.Number, id)
		}
		require.NoError(t, sys.files.VerifyHistory(b.ctx, id))
	}
}

// requireEmpty checks that nothing was restored into db.
func requireEmpty(t *testing.T, db *pgtest.DB) {
	t.Helper()
	var n int
	require.NoError(t, db.Owner.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'`).Scan(&n))
	require.Zero(t, n, "schemas in the database that should be empty")
}

type plain struct{ r io.Reader }

func (p plain) Read(b []byte) (int, error) { return p.r.Read(b) }

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// waitAppSessionsGone closes the application pool and waits until its
// sessions have ended, so that pgtest can drop the database as the owner.
func waitAppSessionsGone(t *testing.T, db *pgtest.DB) {
	db.App.Close()
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		var n int
		if err := db.Owner.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = 'messina_app'").Scan(&n); err != nil || n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Log("application sessions still open after 2s")
}
