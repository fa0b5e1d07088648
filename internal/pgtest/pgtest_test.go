package pgtest_test

import (
	"context"
	"testing"

	"github.com/messina-oms/messina/internal/pgtest"
)

func TestDatabasesAreIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := pgtest.New(t)
	b := pgtest.New(t)
	if a.Name == b.Name {
		t.Fatalf("two tests got the same database %q", a.Name)
	}
	if _, err := a.Owner.Exec(ctx, "CREATE TABLE core.pgtest_probe (v text); INSERT INTO core.pgtest_probe VALUES ('a')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.Owner.QueryRow(ctx, "SELECT count(*) FROM core.pgtest_probe").Scan(&n); err != nil || n != 1 {
		t.Fatalf("own row: n=%d err=%v", n, err)
	}
	var exists bool
	if err := b.Owner.QueryRow(ctx, "SELECT to_regclass('core.pgtest_probe') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("a table created in one test's database is visible in another's")
	}
}

func TestCloneIsMigrated(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var n int
	if err := db.App.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_namespace WHERE nspname IN ('core','orders','contracts','billing','kpi','files')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Fatalf("want the 6 schemas of the first migration, got %d", n)
	}
	var user string
	if err := db.App.QueryRow(context.Background(), "SELECT current_user").Scan(&user); err != nil || user != "messina_app" {
		t.Fatalf("app pool connects as %q (%v), want messina_app", user, err)
	}
}
