package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/auth"
)

// TestCaptureLogsEachKindOfTable covers key resolution and what each
// operation logs, one table shape per case.
func TestCaptureLogsEachKindOfTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup []string
		dml   []string
		table string
		want  []shape
		// wantRow, when set, is what mode 'row' logs instead of want.
		wantRow []shape
	}{
		{
			name:  "composite primary key is a JSON object of its columns",
			setup: []string{`CREATE TABLE public.line (order_id int, n int, qty int, PRIMARY KEY (order_id, n))`},
			dml: []string{
				`INSERT INTO public.line VALUES (1, 1, 5)`,
				`UPDATE public.line SET qty = 6`,
				`DELETE FROM public.line`,
			},
			table: "public.line",
			want: []shape{
				{Op: audit.OpInsert, KeyKind: "pk", Key: `{"order_id":1,"n":1}`, New: `{"order_id":1,"n":1,"qty":5}`},
				{Op: audit.OpUpdate, KeyKind: "pk", Key: `{"order_id":1,"n":1}`, Old: `{"qty":5}`, New: `{"qty":6}`},
				{Op: audit.OpDelete, KeyKind: "pk", Key: `{"order_id":1,"n":1}`, Old: `{"order_id":1,"n":1,"qty":6}`},
			},
		},
		{
			name:  "a table without any key is keyed by its whole row",
			setup: []string{`CREATE TABLE public.nokey (a int, b text)`},
			dml: []string{
				`INSERT INTO public.nokey VALUES (1, 'x')`,
				`UPDATE public.nokey SET b = 'y'`,
				`DELETE FROM public.nokey`,
			},
			table: "public.nokey",
			want: []shape{
				{Op: audit.OpInsert, KeyKind: "row", Key: `{"a":1,"b":"x"}`, New: `{"a":1,"b":"x"}`},
				{Op: audit.OpUpdate, KeyKind: "row", Key: `{"a":1,"b":"x"}`, NewKey: `{"a":1,"b":"y"}`, Old: `{"b":"x"}`, New: `{"b":"y"}`},
				{Op: audit.OpDelete, KeyKind: "row", Key: `{"a":1,"b":"y"}`, Old: `{"a":1,"b":"y"}`},
			},
		},
		{
			name: "a unique index on NOT NULL columns is the key when there is no primary key",
			setup: []string{
				`CREATE TABLE public.uq (code text NOT NULL, other int UNIQUE, v int)`,
				`CREATE UNIQUE INDEX uq_code ON public.uq (code)`,
			},
			dml: []string{
				`INSERT INTO public.uq VALUES ('A', 1, 1)`,
				`UPDATE public.uq SET v = 2`,
			},
			table: "public.uq",
			want: []shape{
				{Op: audit.OpInsert, KeyKind: "unique", Key: `{"code":"A"}`, New: `{"code":"A","other":1,"v":1}`},
				{Op: audit.OpUpdate, KeyKind: "unique", Key: `{"code":"A"}`, Old: `{"v":1}`, New: `{"v":2}`},
			},
		},
		{
			name: "the replica identity index wins over another unique index",
			setup: []string{
				`CREATE TABLE public.ri (a int NOT NULL, b int NOT NULL, v int)`,
				`CREATE UNIQUE INDEX ri_a ON public.ri (a)`,
				`CREATE UNIQUE INDEX ri_b ON public.ri (b)`,
				`ALTER TABLE public.ri REPLICA IDENTITY USING INDEX ri_b`,
			},
			dml:   []string{`INSERT INTO public.ri VALUES (1, 2, 3)`},
			table: "public.ri",
			want:  []shape{{Op: audit.OpInsert, KeyKind: "replica", Key: `{"b":2}`, New: `{"a":1,"b":2,"v":3}`}},
		},
		{
			name: "quoted mixed-case names in another schema",
			setup: []string{
				`CREATE SCHEMA "Sales Dept"`,
				`CREATE TABLE "Sales Dept"."Order Line" ("Line Id" int PRIMARY KEY, "Qty" int)`,
			},
			dml: []string{
				`INSERT INTO "Sales Dept"."Order Line" VALUES (7, 1)`,
				`UPDATE "Sales Dept"."Order Line" SET "Qty" = 2`,
			},
			table: `"Sales Dept"."Order Line"`,
			want: []shape{
				{Op: audit.OpInsert, KeyKind: "pk", Key: `{"Line Id":7}`, New: `{"Line Id":7,"Qty":1}`},
				{Op: audit.OpUpdate, KeyKind: "pk", Key: `{"Line Id":7}`, Old: `{"Qty":1}`, New: `{"Qty":2}`},
			},
		},
		{
			name: "partitioned table: changes through the parent and a partition, and a row moving partition",
			setup: []string{
				`CREATE TABLE public.pt (id int, d date, v int, PRIMARY KEY (id, d)) PARTITION BY RANGE (d)`,
				`CREATE TABLE public.pt_a PARTITION OF public.pt FOR VALUES FROM ('2020-01-01') TO ('2030-01-01')`,
			},
			dml: []string{
				`INSERT INTO public.pt VALUES (1, '2021-01-01', 1)`,
				`UPDATE public.pt_a SET v = 2`,
				// A partition created after enable is audited too.
				`CREATE TABLE public.pt_b PARTITION OF public.pt FOR VALUES FROM ('2030-01-01') TO ('2040-01-01')`,
				`UPDATE public.pt SET d = '2031-01-01'`,
				`UPDATE public.pt_b SET v = 3`,
			},
			table: "public.pt",
			want: []shape{
				{Op: audit.OpInsert, KeyKind: "pk", Key: `{"id":1,"d":"2021-01-01"}`, New: `{"id":1,"d":"2021-01-01","v":1}`},
				{Op: audit.OpUpdate, Key: `{"id":1,"d":"2021-01-01"}`, Old: `{"v":1}`, New: `{"v":2}`},
				{Op: audit.OpUpdate, Key: `{"id":1,"d":"2021-01-01"}`, NewKey: `{"id":1,"d":"2031-01-01"}`, Old: `{"d":"2021-01-01"}`, New: `{"d":"2031-01-01"}`},
				{Op: audit.OpUpdate, Key: `{"id":1,"d":"2031-01-01"}`, Old: `{"v":2}`, New: `{"v":3}`},
			},
			// Row triggers see a move between partitions as a delete and
			// an insert (PostgreSQL runs it that way).
			wantRow: []shape{
				{Op: audit.OpInsert, KeyKind: "pk", Key: `{"id":1,"d":"2021-01-01"}`, New: `{"id":1,"d":"2021-01-01","v":1}`},
				{Op: audit.OpUpdate, Key: `{"id":1,"d":"2021-01-01"}`, Old: `{"v":1}`, New: `{"v":2}`},
				{Op: audit.OpDelete, Key: `{"id":1,"d":"2021-01-01"}`, Old: `{"id":1,"d":"2021-01-01","v":2}`},
				{Op: audit.OpInsert, Key: `{"id":1,"d":"2031-01-01"}`, New: `{"id":1,"d":"2031-01-01","v":2}`},
				{Op: audit.OpUpdate, Key: `{"id":1,"d":"2031-01-01"}`, Old: `{"v":2}`, New: `{"v":3}`},
			},
		},
		{
			name:  "generated columns are logged with the values PostgreSQL computed",
			setup: []string{`CREATE TABLE public.gen (id int PRIMARY KEY, a int, twice int GENERATED ALWAYS AS (a * 2) STORED)`},
			dml: []string{
				`INSERT INTO public.gen (id, a) VALUES (1, 1)`,
				`UPDATE public.gen SET a = 5`,
			},
			table: "public.gen",
			want: []shape{
				{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"a":1,"twice":2}`},
				{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"a":1,"twice":2}`, New: `{"a":5,"twice":10}`},
			},
		},
		{
			name:  "an update that changes nothing is not logged, a change of numeric scale is",
			setup: []string{`CREATE TABLE public.noop (id int PRIMARY KEY, amount numeric, note text)`},
			dml: []string{
				`INSERT INTO public.noop VALUES (1, 1.0, NULL)`,
				`UPDATE public.noop SET note = NULL, amount = 1.0`,
				`UPDATE public.noop SET amount = 1.00`,
				`UPDATE public.noop SET id = id`,
			},
			table: "public.noop",
			want: []shape{
				{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"amount":1.0,"note":null}`},
				{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"amount":1.0}`, New: `{"amount":1.00}`},
			},
		},
		{
			name:  "a key change logs the old and the new key",
			setup: []string{`CREATE TABLE public.kc (id int PRIMARY KEY, v text)`},
			dml: []string{
				`INSERT INTO public.kc VALUES (1, 'a')`,
				`UPDATE public.kc SET id = 2, v = 'b'`,
			},
			table: "public.kc",
			want: []shape{
				{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"v":"a"}`},
				{Op: audit.OpUpdate, Key: `{"id":1}`, NewKey: `{"id":2}`, Old: `{"id":1,"v":"a"}`, New: `{"id":2,"v":"b"}`},
			},
		},
		{
			name:  "TRUNCATE is one statement event",
			setup: []string{`CREATE TABLE public.tr (id int PRIMARY KEY)`},
			dml: []string{
				`INSERT INTO public.tr SELECT generate_series(1, 3)`,
				`TRUNCATE public.tr`,
			},
			table: "public.tr",
			want: []shape{
				{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1}`},
				{Op: audit.OpInsert, Key: `{"id":2}`, New: `{"id":2}`},
				{Op: audit.OpInsert, Key: `{"id":3}`, New: `{"id":3}`},
				{Op: audit.OpTruncate, KeyKind: "pk"},
			},
		},
	}
	for _, mode := range []string{"row", "statement"} {
		for _, tc := range cases {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				exec(t, b.db.Owner, tc.setup...)
				tbl, err := audit.ParseTable(tc.table)
				if err != nil {
					t.Fatal(err)
				}
				exec(t, b.db.Owner, "SELECT audit.enable("+quoteLiteral(pgx.Identifier{tbl.Schema, tbl.Name}.Sanitize())+", '{}', '"+mode+"')")
				exec(t, b.db.Owner, tc.dml...)
				got := events(t, b, tc.table)
				want := tc.want
				if mode == "row" && tc.wantRow != nil {
					want = tc.wantRow
				}
				requireShapes(t, got, want)
				for _, e := range got {
					if e.Table != tbl {
						t.Fatalf("event %d logged table %s, want %s", e.ID, e.Table, tbl)
					}
				}
			})
		}
	}
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func TestExcludedColumnsAreNeverLoggedNorCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.acct (id int PRIMARY KEY, name text, password_hash text, seen_at int)`,
		`SELECT audit.enable('public.acct', '{password_hash,seen_at}')`,
		`INSERT INTO public.acct VALUES (1, 'ana', 'secret', 1)`,
		`UPDATE public.acct SET password_hash = 'other', seen_at = 2`,
		`UPDATE public.acct SET name = 'eva', seen_at = 3`,
		// A renamed excluded column stays excluded.
		`ALTER TABLE public.acct RENAME COLUMN password_hash TO pw`,
		`UPDATE public.acct SET pw = 'x', name = 'zoe'`,
		`DELETE FROM public.acct`,
	)
	requireShapes(t, events(t, b, "public.acct"), []shape{
		{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"name":"ana"}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"name":"ana"}`, New: `{"name":"eva"}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"name":"eva"}`, New: `{"name":"zoe"}`},
		{Op: audit.OpDelete, Key: `{"id":1}`, Old: `{"id":1,"name":"zoe"}`},
	})

	t.Run("enable refuses unknown and key columns", func(t *testing.T) {
		for _, stmt := range []string{
			`SELECT audit.enable('public.acct', '{nope}')`,
			`SELECT audit.enable('public.acct', '{id}')`,
		} {
			if _, err := b.db.Owner.Exec(b.ctx, stmt); err == nil {
				t.Fatalf("%s succeeded", stmt)
			}
		}
	})
}

func TestSeveralChangesInOneTransactionAreAllRecordedInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.ctr (id int PRIMARY KEY, n int)`,
		`SELECT audit.enable('public.ctr')`,
	)
	tx, err := b.db.Owner.Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(b.ctx) //nolint:errcheck
	for _, s := range []string{
		`INSERT INTO public.ctr VALUES (1, 0)`,
		`UPDATE public.ctr SET n = 1`,
		`UPDATE public.ctr SET n = 2`,
		`UPDATE public.ctr SET n = 3`,
		`DELETE FROM public.ctr`,
		`INSERT INTO public.ctr VALUES (1, 9)`,
	} {
		if _, err := tx.Exec(b.ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(b.ctx); err != nil {
		t.Fatal(err)
	}
	got := events(t, b, "public.ctr")
	requireShapes(t, got, []shape{
		{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"n":0}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"n":0}`, New: `{"n":1}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"n":1}`, New: `{"n":2}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"n":2}`, New: `{"n":3}`},
		{Op: audit.OpDelete, Key: `{"id":1}`, Old: `{"id":1,"n":3}`},
		{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"n":9}`},
	})
	for _, e := range got[1:] {
		if e.TxID != got[0].TxID {
			t.Fatalf("event %d has txid %d, want %d (one transaction)", e.ID, e.TxID, got[0].TxID)
		}
	}
}

func TestActorAndRequestIDFromTheServiceLandInTheLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Tables created by the owner in core get the application's rights
	// by default privileges.
	exec(t, b.db.Owner,
		`CREATE TABLE core.audit_probe (id int PRIMARY KEY, v text)`,
		`SELECT audit.enable('core.audit_probe')`,
	)
	reqID := uuid.NewString()
	ctx := auth.WithPrincipal(b.ctx, auth.Principal{Actor: "user:ana@example.com", Role: auth.RoleStaff, RequestID: reqID})
	if err := auth.InTx(ctx, b.db.App, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO core.audit_probe VALUES (1, 'a')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := events(t, b, "core.audit_probe")
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
	e := got[0]
	if e.Actor != "user:ana@example.com" || e.RequestID != reqID {
		t.Fatalf("actor %q request id %q, want %q %q", e.Actor, e.RequestID, "user:ana@example.com", reqID)
	}
	if e.DBUser != "messina_app" {
		t.Fatalf("db user %q, want messina_app", e.DBUser)
	}
	if e.ClientAddr == "" || e.TxID == 0 || e.At.IsZero() || e.TableVersion == 0 {
		t.Fatalf("context missing: %+v", e)
	}
}

func TestTheApplicationCannotChangeTheLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE core.audit_probe (id int PRIMARY KEY)`,
		`SELECT audit.enable('core.audit_probe')`,
		`INSERT INTO core.audit_probe VALUES (1)`,
	)
	cases := []struct {
		name string
		pool string
		sql  string
	}{
		{"app update", "app", `UPDATE audit.log SET actor = 'me'`},
		{"app delete", "app", `DELETE FROM audit.log`},
		{"app truncate", "app", `TRUNCATE audit.log`},
		{"app insert", "app", `INSERT INTO audit.log (table_version, table_schema, table_name, op, key_kind) VALUES (1, 'x', 'y', 'I', 'pk')`},
		{"app update of a partition", "app", `UPDATE audit.log_default SET actor = 'me'`},
		{"app seal tampering", "app", `DELETE FROM audit.seal`},
		{"owner update", "owner", `UPDATE audit.log SET actor = 'me'`},
		{"owner delete", "owner", `DELETE FROM audit.log`},
		{"owner truncate", "owner", `TRUNCATE audit.log`},
		{"owner truncate of the default partition", "owner", `TRUNCATE audit.log_default`},
		{"owner update of table versions", "owner", `UPDATE audit.table_version SET key_kind = 'row'`},
	}
	for _, tc := range cases {
		pool := b.db.App
		if tc.pool == "owner" {
			pool = b.db.Owner
		}
		_, err := pool.Exec(b.ctx, tc.sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("%s: %q got %v, want insufficient_privilege (42501)", tc.name, tc.sql, err)
		}
	}
	if n := len(events(t, b, "core.audit_probe")); n != 1 {
		t.Fatalf("log has %d events, want 1", n)
	}
	// The application may read the log (the auditor API runs as it).
	if _, err := audit.List(b.ctx, b.db.App, audit.Filter{}); err != nil {
		t.Fatalf("app cannot read the log: %v", err)
	}
}

func TestStaleKeyMetadataFailsClosed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.fc (id int PRIMARY KEY, v int)`,
		`SELECT audit.enable('public.fc')`,
		`INSERT INTO public.fc VALUES (1, 1)`,
	)
	super, err := pgx.Connect(b.ctx, superURL(t, b.db.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(context.Background())
	if _, err := super.Exec(b.ctx, `ALTER EVENT TRIGGER audit_ddl_end DISABLE`); err != nil {
		t.Fatal(err)
	}
	exec(t, b.db.Owner, `ALTER TABLE public.fc RENAME COLUMN id TO ident`)
	if _, err := b.db.Owner.Exec(b.ctx, `UPDATE public.fc SET v = 2`); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("update with stale key metadata: %v, want a stale-metadata error", err)
	}
	exec(t, b.db.Owner, `SELECT audit.refresh('public.fc')`, `UPDATE public.fc SET v = 2`)
	requireShapes(t, events(t, b, "public.fc"), []shape{
		{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"v":1}`},
		{Op: audit.OpUpdate, Key: `{"ident":1}`, Old: `{"v":1}`, New: `{"v":2}`},
	})

	t.Run("a renamed excluded column is never logged under its new name", func(t *testing.T) {
		exec(t, b.db.Owner,
			`CREATE TABLE public.fx (id int PRIMARY KEY, secret text)`,
			`SELECT audit.enable('public.fx', '{secret}')`,
			`ALTER TABLE public.fx RENAME COLUMN secret TO pin`,
		)
		for _, stmt := range []string{`INSERT INTO public.fx VALUES (1, 'x')`} {
			if _, err := b.db.Owner.Exec(b.ctx, stmt); err == nil || !strings.Contains(err.Error(), "stale") {
				t.Fatalf("%s with stale exclusions: %v, want a stale-metadata error", stmt, err)
			}
		}
		if n := len(events(t, b, "public.fx")); n != 0 {
			t.Fatalf("%d events logged with stale exclusions", n)
		}
	})
	rep, err := audit.Verify(b.ctx, b.db.Owner)
	if err != nil {
		t.Fatal(err)
	}
	if rep.EventTriggers {
		t.Fatal("verify reports event triggers installed while one is disabled")
	}
}

func TestDisableStopsLoggingAndKeepsHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.d (id int PRIMARY KEY)`,
		`SELECT audit.enable('public.d')`,
		`INSERT INTO public.d VALUES (1)`,
		`SELECT audit.disable('public.d')`,
		`INSERT INTO public.d VALUES (2)`,
	)
	requireShapes(t, events(t, b, "public.d"), []shape{{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1}`}})
}

func TestAccessTablesAreAuditedByMigration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('LIS', 'Lisbon', 'PT', 'EUR', 'Europe/Lisbon')`,
		`INSERT INTO core.api_token (name, hash, prefix, role, created_by) VALUES ('ci', decode(repeat('ab', 32), 'hex'), 'msn_abcdef', 'api', 'test')`,
		`UPDATE core.api_token SET last_used_at = now()`,
	)
	if n := len(events(t, b, "core.site")); n != 1 {
		t.Fatalf("core.site: %d events, want 1", n)
	}
	toks := events(t, b, "core.api_token")
	if len(toks) != 1 {
		t.Fatalf("core.api_token: %d events, want 1 (last_used_at is excluded)", len(toks))
	}
	if strings.Contains(string(toks[0].New), `"hash"`) {
		t.Fatalf("token hash logged: %s", toks[0].New)
	}
	if _, err := audit.List(b.ctx, b.db.Owner, audit.Filter{Table: audit.Table{Schema: "core", Name: "app_user"}}); err != nil {
		t.Fatalf("core.app_user not audited: %v", err)
	}
}
