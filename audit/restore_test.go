package audit_test

import (
	"context"
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/audit"
)

// TestDumpAndRestoreKeepAuditingWorking dumps a database with history and
// a seal, restores it into a new database and checks that the history,
// the seal chain, capture and DDL following all still work: nothing in the
// audit data depends on OIDs.
func TestDumpAndRestoreKeepAuditingWorking(t *testing.T) {
	t.Parallel()
	bindir := os.Getenv("MESSINA_PG_BINDIR")
	if bindir == "" {
		t.Fatal("MESSINA_PG_BINDIR is not set: run the tests under cmd/devenv")
	}
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.inv (id int PRIMARY KEY, total numeric, memo text)`,
		`SELECT audit.enable('public.inv', '{memo}')`,
		`INSERT INTO public.inv VALUES (1, 100, 'x')`,
		`ALTER TABLE public.inv RENAME COLUMN total TO amount`,
		`UPDATE public.inv SET amount = 110`,
	)
	if _, err := audit.Seal(b.ctx, b.db.Owner); err != nil {
		t.Fatal(err)
	}

	dump := filepath.Join(t.TempDir(), "db.dump")
	run(t, filepath.Join(bindir, "pg_dump"), "-Fc", "-f", dump, "--dbname", superURL(t, b.db.Name))
	restored := b.db.Name + "_r"
	admin, err := pgx.Connect(b.ctx, superURL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(b.ctx, "CREATE DATABASE "+pgx.Identifier{restored}.Sanitize()+" OWNER messina_owner"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{restored}.Sanitize()+" WITH (FORCE)")
	})
	run(t, filepath.Join(bindir, "pg_restore"), "--exit-on-error", "--dbname", superURL(t, restored), dump)

	pool, err := pgxpool.New(b.ctx, withDB(t, b.db.OwnerURL, restored))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	exec(t, pool,
		`UPDATE public.inv SET amount = 120, memo = 'y'`,
		`ALTER TABLE public.inv RENAME COLUMN amount TO grand_total`,
		`UPDATE public.inv SET grand_total = 130`,
	)
	rep, err := audit.Verify(b.ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.SealedRows != 2 || rep.UnsealedRows != 2 || !rep.EventTriggers {
		t.Fatalf("verify after restore: %+v", rep)
	}
	p, err := audit.History(b.ctx, pool, tbl(t, "public.inv"), json.RawMessage(`{"id":1}`), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	requireShapes(t, p.Events, []shape{
		{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"total":100}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"amount":100}`, New: `{"amount":110}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"amount":110}`, New: `{"amount":120}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"grand_total":120}`, New: `{"grand_total":130}`},
	})
	changes, err := audit.Diff(b.ctx, pool, tbl(t, "public.inv"), json.RawMessage(`{"id":1}`),
		audit.AtTime(p.Events[0].At), audit.AtTime(p.Events[3].At))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Field != "grand_total" || string(changes[0].Old) != "100" || string(changes[0].New) != "130" {
		t.Fatalf("diff across restore and renames = %+v", changes)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := osexec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(name), err, out)
	}
}
