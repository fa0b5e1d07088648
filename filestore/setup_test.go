package filestore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/pgtest"
)

// testBundle is what a service test works with: its own database, a store
// (MinIO under a key prefix no other test uses, or a private directory)
// and a service over both.
type testBundle struct {
	db    *pgtest.DB
	store filestore.Store
	svc   *filestore.Service
	ctx   context.Context // carries a staff principal that sees all sites
	owner filestore.Owner // an order of site UK
}

type setupOpts struct {
	disk   bool
	config func(*filestore.Config)
	store  filestore.Store
}

func setup(t *testing.T, opts ...func(*setupOpts)) *testBundle {
	t.Helper()
	var o setupOpts
	for _, f := range opts {
		f(&o)
	}
	db := pgtest.New(t)
	ctx := context.Background()
	t.Cleanup(func() { waitAppSessionsGone(t, db) })
	_, err := db.Owner.Exec(ctx, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES
		('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London'),
		('FR', 'France', 'FR', 'EUR', 'Europe/Paris')`)
	require.NoError(t, err)

	store := o.store
	switch {
	case store != nil:
	case o.disk:
		store, err = filestore.NewDiskStore(t.TempDir())
		require.NoError(t, err)
	default:
		store = s3Store(t, os.Getenv("MESSINA_BLOB_URL")+"&prefix=svctest/"+randomHex(6)+"/")
	}
	cfg := filestore.Config{Pool: db.App, Store: store, MaxUploadBytes: 64 << 20,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if o.config != nil {
		o.config(&cfg)
	}
	svc, err := filestore.New(cfg)
	require.NoError(t, err)
	return &testBundle{
		db: db, store: store, svc: svc,
		ctx:   auth.WithPrincipal(ctx, auth.Principal{Actor: "user:tester@example.com", Role: auth.RoleStaff, RequestID: "req-1"}),
		owner: filestore.Owner{Type: filestore.OwnerOrder, ID: uuid.New(), Site: "UK"},
	}
}

func withDisk(o *setupOpts) { o.disk = true }
func withConfig(f func(*filestore.Config)) func(*setupOpts) {
	return func(o *setupOpts) { o.config = f }
}
func withStore(s filestore.Store) func(*setupOpts) { return func(o *setupOpts) { o.store = s } }

func s3Store(t *testing.T, blobURL string) filestore.Store {
	t.Helper()
	require.NotEmpty(t, os.Getenv("MESSINA_BLOB_URL"), "run the tests under cmd/devenv (make test)")
	s, err := filestore.OpenStore(context.Background(), blobURL, filestore.StoreConfig{
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	})
	require.NoError(t, err)
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// plain hides bytes.Reader's extra methods, as a network body would.
type plain struct{ r io.Reader }

func (p plain) Read(b []byte) (int, error) { return p.r.Read(b) }

func body(b []byte) io.Reader { return plain{bytes.NewReader(b)} }

// upload is a text upload of content with known size and no digest.
func textUpload(content string) filestore.Upload {
	return filestore.Upload{Body: body([]byte(content)), Size: int64(len(content)), ContentType: "text/plain", Filename: "notes.txt"}
}

// count returns a row count as the schema owner (RLS does not apply).
func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Owner.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// readAll opens and reads a whole revision.
func (b *testBundle) readAll(t *testing.T, rev filestore.Revision) []byte {
	t.Helper()
	rc, err := b.svc.Open(b.ctx, rev, nil)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	return got
}

// objects lists the keys under prefix.
func (b *testBundle) objects(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	require.NoError(t, b.store.List(context.Background(), prefix, func(oi filestore.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}))
	return keys
}

// removeAll deletes a disk store's directory so it cannot be used.
func removeAll(t *testing.T, s *filestore.DiskStore) error {
	t.Helper()
	return os.RemoveAll(s.Root())
}

// waitAppSessionsGone closes the application pool and waits until its
// server sessions have ended. pgtest drops the database as the schema
// owner, which may not terminate sessions of messina_app, and a closed
// client connection's backend lingers for a moment. (Runs before pgtest's
// own cleanup: cleanups run last-registered first.)
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
