package audit_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/internal/pgtest"
)

type testBundle struct {
	ctx context.Context
	db  *pgtest.DB
}

// setup gives a test its own migrated database; pgtest's template has the
// audit event triggers installed (creating them needs a superuser, which
// the migration role is not).
func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{ctx: context.Background(), db: pgtest.New(t)}
}

func superURL(t *testing.T, dbName string) string {
	t.Helper()
	raw := os.Getenv("MESSINA_SUPER_DATABASE_URL")
	if raw == "" {
		t.Fatal("MESSINA_SUPER_DATABASE_URL is not set: run the tests under cmd/devenv")
	}
	return withDB(t, raw, dbName)
}

// withDB returns the database URL raw pointing at database dbName.
func withDB(t *testing.T, raw, dbName string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse database url: %v", err)
	}
	u.Path = "/" + dbName
	return u.String()
}

// exec runs each statement on pool, failing the test on the first error.
func exec(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := pool.Exec(context.Background(), s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// events returns every event of table (all pages).
func events(t *testing.T, b *testBundle, table string) []audit.Event {
	t.Helper()
	tbl, err := audit.ParseTable(table)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	cursor := ""
	for {
		p, err := audit.List(b.ctx, b.db.Owner, audit.Filter{Table: tbl, Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatalf("list %s: %v", table, err)
		}
		out = append(out, p.Events...)
		if p.NextCursor == "" {
			return out
		}
		cursor = p.NextCursor
	}
}

// jsonIs fails unless got and want are the same JSON value.
func jsonIs(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	if want == "" {
		if got != nil {
			t.Fatalf("%s = %s, want null", what, got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s = %q: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("%s = %s, want %s", what, gb, wb)
	}
}

// shape is an event reduced to what most tests compare.
type shape struct {
	Op       audit.Op
	KeyKind  string
	Key      string
	NewKey   string
	Old, New string
}

func requireShapes(t *testing.T, got []audit.Event, want []shape) {
	t.Helper()
	if len(got) != len(want) {
		for _, e := range got {
			t.Logf("event %d %s key=%s new_key=%s old=%s new=%s", e.ID, e.Op, e.Key, e.NewKey, e.Old, e.New)
		}
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		e := got[i]
		if e.Op != w.Op {
			t.Fatalf("event %d: op %s, want %s", i, e.Op, w.Op)
		}
		if w.KeyKind != "" && e.KeyKind != w.KeyKind {
			t.Fatalf("event %d: key kind %s, want %s", i, e.KeyKind, w.KeyKind)
		}
		jsonIs(t, "key", e.Key, w.Key)
		jsonIs(t, "new_key", e.NewKey, w.NewKey)
		jsonIs(t, "old", e.Old, w.Old)
		jsonIs(t, "new", e.New, w.New)
	}
}
