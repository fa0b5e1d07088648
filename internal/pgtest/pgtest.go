// Package pgtest gives each test its own PostgreSQL database, cloned from a
// migrated template (the pgtestdb idea): migrations run once per schema
// version, a clone takes milliseconds, tests run in parallel and never see
// each other's rows. It needs the environment that `make test` (devenv)
// exports; without it a test fails and says how to get one.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/internal/pgpool"
	"github.com/messina-oms/messina/migrations"
)

// DB is one test's database, reachable as the schema owner and as the
// application role.
type DB struct {
	Name string
	// OwnerURL connects as the role that owns the schema (bypasses RLS).
	OwnerURL string
	// AppURL connects as the application role, as the service does.
	AppURL string
	// Owner is a pool for OwnerURL, for arranging test data.
	Owner *pgxpool.Pool
	// App is a pool for AppURL.
	App *pgxpool.Pool
	// SuperURL connects to this database as a superuser; "" when
	// MESSINA_SUPER_DATABASE_URL is not set.
	SuperURL string
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// New returns a fresh migrated database for t, dropped when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	ownerURL := os.Getenv("MESSINA_OWNER_DATABASE_URL")
	appURL := os.Getenv("MESSINA_DATABASE_URL")
	if ownerURL == "" || appURL == "" {
		t.Fatal("pgtest: MESSINA_OWNER_DATABASE_URL and MESSINA_DATABASE_URL are not set: run the tests with `make test` (or go run ./cmd/devenv -temp -fast -- go test ./...)")
	}
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, ownerURL) })
	if templateErr != nil {
		t.Fatalf("pgtest: template: %v", templateErr)
	}

	name := "test_" + randomHex(8)
	admin, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if err := createDatabase(ctx, admin, name, templateName); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return open(t, name, ownerURL, appURL)
}

// Empty returns a new database for t with nothing in it (made from
// template0, owned by the schema owner role), dropped when t ends: the
// target of a restore.
func Empty(t testing.TB) *DB {
	t.Helper()
	ownerURL := os.Getenv("MESSINA_OWNER_DATABASE_URL")
	appURL := os.Getenv("MESSINA_DATABASE_URL")
	if ownerURL == "" || appURL == "" {
		t.Fatal("pgtest: MESSINA_OWNER_DATABASE_URL and MESSINA_DATABASE_URL are not set: run the tests with `make test` (or go run ./cmd/devenv -temp -fast -- go test ./...)")
	}
	ctx := context.Background()
	name := "empty_" + randomHex(8)
	admin, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	if err := createDatabase(ctx, admin, name, "template0"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return open(t, name, ownerURL, appURL)
}

// open connects to the new database name and drops it when t ends.
func open(t testing.TB, name, ownerURL, appURL string) *DB {
	t.Helper()
	ctx := context.Background()
	db := &DB{Name: name, OwnerURL: withDatabase(ownerURL, name), AppURL: withDatabase(appURL, name)}
	if super := os.Getenv("MESSINA_SUPER_DATABASE_URL"); super != "" {
		db.SuperURL = withDatabase(super, name)
	}
	t.Cleanup(func() { dropDatabase(t, ownerURL, db) })
	var err error
	if db.Owner, err = newPool(ctx, db.OwnerURL); err != nil {
		t.Fatalf("pgtest: owner pool: %v", err)
	}
	if db.App, err = newPool(ctx, db.AppURL); err != nil {
		t.Fatalf("pgtest: app pool: %v", err)
	}
	return db
}

// newPool connects like the service does (types registered).
func newPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	pgpool.Configure(cfg)
	return pgxpool.NewWithConfig(ctx, cfg)
}

// createDatabase clones template. PostgreSQL refuses a clone while another
// session is connected to the template (another package migrating it), so
// it retries briefly.
func createDatabase(ctx context.Context, conn *pgx.Conn, name, template string) error {
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize())
	var err error
	for i := 0; i < 100; i++ {
		if _, err = conn.Exec(ctx, sql); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("create database %s: %w", name, err)
}

func dropDatabase(t testing.TB, ownerURL string, db *DB) {
	if db.Owner != nil {
		db.Owner.Close()
	}
	if db.App != nil {
		db.App.Close()
	}
	ctx := context.Background()
	// Only a superuser may end the application role's sessions that a
	// test left open; the owner suffices when there are none.
	url := ownerURL
	if super := os.Getenv("MESSINA_SUPER_DATABASE_URL"); super != "" {
		url = super
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("pgtest: drop %s: %v", db.Name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop %s: %v", db.Name, err)
	}
}

// ensureTemplate creates a migrated template named by the hash of the
// migration files, once per cluster: test packages run as parallel
// processes, so creation is serialized by an advisory lock and a template
// is renamed into place only when complete.
func ensureTemplate(ctx context.Context, ownerURL string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "tmpl_" + sum
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7270001)"); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(7270001)") //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", err
	}
	if _, err := migrations.Up(ctx, withDatabase(ownerURL, building)); err != nil {
		return "", err
	}
	// Event triggers (the audit's DDL tracking) need a superuser, as in
	// production where an operator installs them once; clones inherit them.
	if super := os.Getenv("MESSINA_SUPER_DATABASE_URL"); super != "" {
		sc, err := pgx.Connect(ctx, withDatabase(super, building))
		if err != nil {
			return "", err
		}
		_, err = sc.Exec(ctx, "SELECT audit.install_event_triggers()")
		sc.Close(ctx)
		if err != nil {
			return "", fmt.Errorf("install audit event triggers: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", pgx.Identifier{building}.Sanitize(), pgx.Identifier{name}.Sanitize())); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	var names []string
	if err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	}); err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("pgtest: bad database url: %v", err))
	}
	u.Path = "/" + db
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
