// Package migrations holds the numbered SQL migrations (schema, PL/pgSQL
// business rules, roles' rights) and applies them with goose. File names are
// zero-padded because sqlc reads this folder as the schema in name order.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/messina-oms/messina/queries"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var files embed.FS

// FS is the embedded migration files, for tools that read the schema.
var FS = files

// Up applies every pending migration to the database at url, connecting as
// the schema owner. A session advisory lock serializes concurrent callers,
// so two instances starting at once do not race.
func Up(ctx context.Context, url string) ([]string, error) {
	db, err := open(url)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	p, err := provider(db)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	var applied []string
	for _, r := range results {
		if r.Error == nil {
			applied = append(applied, r.Source.Path)
		}
	}
	if err != nil {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	river, err := upRiver(ctx, url)
	return append(applied, river...), err
}

// upRiver applies River's own migrations to the river schema. River runs
// each version in its own transaction (one adds an enum value that the next
// uses), so a session advisory lock of ours makes concurrent starts take
// turns.
func upRiver(ctx context.Context, url string) ([]string, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	defer pool.Close()
	lockConn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	defer lockConn.Release()
	lock := queries.New(lockConn)
	if err := lock.RiverMigrationLock(ctx); err != nil {
		return nil, fmt.Errorf("river migrate lock: %w", err)
	}
	defer lock.RiverMigrationUnlock(context.WithoutCancel(ctx)) //nolint:errcheck // the session ends with the pool anyway
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: "river"})
	if err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	var applied []string
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river/%03d_%s", v.Version, v.Name))
	}
	return applied, nil
}

// Version returns the newest applied migration and the newest known one.
func Version(ctx context.Context, url string) (current, latest int64, err error) {
	db, err := open(url)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	p, err := provider(db)
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		latest = srcs[len(srcs)-1].Version
	}
	return current, latest, nil
}

func open(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	return stdlib.OpenDB(*cfg), nil
}

func provider(db *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker),
		goose.WithTableName("public.goose_db_version"))
}

// Latest returns the version of the newest migration this binary holds
// (the number its file name starts with), without a database.
func Latest() (int64, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, n := range names {
		prefix, _, ok := strings.Cut(n, "_")
		if !ok {
			return 0, fmt.Errorf("migration %s: no version prefix", n)
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration %s: version %q: %w", n, prefix, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}
