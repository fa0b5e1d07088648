package migrations_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/messina-oms/messina/migrations"
)

// freshDatabase creates an empty database (not the migrated template).
func freshDatabase(t *testing.T) string {
	t.Helper()
	owner := os.Getenv("MESSINA_OWNER_DATABASE_URL")
	if owner == "" {
		t.Fatal("MESSINA_OWNER_DATABASE_URL is not set: run the tests with `make test`")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "mig_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		super := os.Getenv("MESSINA_SUPER_DATABASE_URL")
		if super == "" {
			super = owner
		}
		c, err := pgx.Connect(context.Background(), super)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(owner)
	u.Path = "/" + name
	return u.String()
}

// Two instances starting at once must not both run a migration: the
// advisory lock makes them take turns, and both end up current.
func TestConcurrentUpAppliesEachMigrationOnce(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	ctx := context.Background()
	const n = 4
	applied := make([][]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = migrations.Up(ctx, dbURL)
		}()
	}
	wg.Wait()
	total, river := 0, 0
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		for _, a := range applied[i] {
			if strings.HasPrefix(a, "river/") {
				river++
			} else {
				total++
			}
		}
	}
	if river == 0 {
		t.Fatal("River's queue tables were not migrated")
	}
	var riverVersions int
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM river.river_migration").Scan(&riverVersions); err != nil {
		t.Fatal(err)
	}
	if river != riverVersions {
		t.Fatalf("River migrations applied %d times in all for %d versions", river, riverVersions)
	}
	current, latest, err := migrations.Version(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if current != latest || latest == 0 {
		t.Fatalf("version %d, want %d", current, latest)
	}
	files, _ := migrations.FS.ReadDir(".")
	sqlFiles := 0
	for _, f := range files {
		if len(f.Name()) > 4 && f.Name()[len(f.Name())-4:] == ".sql" {
			sqlFiles++
		}
	}
	if total != sqlFiles {
		t.Fatalf("%d migrations applied in all, want each of %d once", total, sqlFiles)
	}
	again, err := migrations.Up(ctx, dbURL)
	if err != nil || len(again) != 0 {
		t.Fatalf("a second Up applied %v (%v)", again, err)
	}
}

// Every table that holds a site_id is under row-level security with a
// policy: a table added without one would leak other sites' rows to the
// application role.
func TestEveryTableWithASiteIsIsolated(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	ctx := context.Background()
	if _, err := migrations.Up(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT c.oid::regclass::text, c.relrowsecurity,
		       EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'audit', 'river')`)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for rows.Next() {
		var table string
		var rls, policy bool
		if err := rows.Scan(&table, &rls, &policy); err != nil {
			t.Fatal(err)
		}
		checked++
		if !rls || !policy {
			t.Errorf("%s has a site_id but row-level security %v, policy %v", table, rls, policy)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d tables with a site_id found; the query is wrong", checked)
	}
}

// Two first renders at once could make two attachments of one name for an
// invoice before 00010; its unique index must still apply to such data:
// the first attachment keeps the name, the later ones keep their revisions
// under a name that says what they are.
func TestBillingRestKeepsTheFirstOfDuplicateInvoiceDocuments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, conn := migratedTo(t, 9)
	const invoice, other = "0198a1b2-0000-7000-8000-0000000000aa", "0198a1b2-0000-7000-8000-0000000000bb"
	if _, err := conn.Exec(ctx, `
		INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London');
		INSERT INTO files.attachment (id, owner_type, owner_id, site_id, name, created_by) VALUES
			('0198a1b2-0000-7000-8000-000000000001', 'invoice', '`+invoice+`', 'UK', 'invoice.xml', 'a'),
			('0198a1b2-0000-7000-8000-000000000002', 'invoice', '`+invoice+`', 'UK', 'invoice.xml', 'b'),
			('0198a1b2-0000-7000-8000-000000000003', 'invoice', '`+invoice+`', 'UK', 'invoice.pdf', 'a'),
			('0198a1b2-0000-7000-8000-000000000004', 'invoice', '`+other+`', 'UK', 'invoice.xml', 'a'),
			('0198a1b2-0000-7000-8000-000000000005', 'order', '`+invoice+`', 'UK', 'scan.pdf', 'a'),
			('0198a1b2-0000-7000-8000-000000000006', 'order', '`+invoice+`', 'UK', 'scan.pdf', 'a')`); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Up(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT right(id::text, 1), name FROM files.attachment ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var id, name string
		err := r.Scan(&id, &name)
		return id + " " + name, err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 invoice.xml", "2 invoice.xml (duplicate 0198a1b2-0000-7000-8000-000000000002)", "3 invoice.pdf",
		"4 invoice.xml", "5 scan.pdf", "6 scan.pdf"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("attachments after 00010:\n got %q\nwant %q", got, want)
	}
}

// migratedTo returns a fresh database migrated up to version, and a
// connection to it as the owner, for tests of what a later migration does
// to existing rows.
func migratedTo(t *testing.T, version int64) (string, *pgx.Conn) {
	t.Helper()
	dbURL := freshDatabase(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithTableName("public.goose_db_version"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return dbURL, conn
}

// Invoices posted before 00016 get the parties of the day of the
// migration, drafts none; the guard keeping posted invoices immutable is
// back afterwards.
func TestInvoicePartiesFillPostedInvoices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, conn := migratedTo(t, 14)
	if _, err := conn.Exec(ctx, `
		INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London');
		INSERT INTO core.legal_entity (id, site_id, name, vat_id, invoice_prefix, address_street, address_city, address_postcode, address_country)
			VALUES ('0198a1b2-0000-7000-8000-0000000000e1', 'UK', 'Messina UK Ltd', 'GB123456789', 'MUK', '1 High St', 'London', 'EC1A 1AA', 'GB');
		INSERT INTO core.customer (id, site_id, name, vat_id, currency, language, timezone)
			VALUES ('0198a1b2-0000-7000-8000-0000000000c1', 'UK', 'Acme', 'GB987654321', 'GBP', 'en', 'Europe/London');
		INSERT INTO billing.invoice_run (id, site_id, run_date, status) VALUES ('0198a1b2-0000-7000-8000-0000000000f1', 'UK', '2026-01-01', 'posted');
		INSERT INTO billing.invoice (id, run_id, site_id, legal_entity_id, customer_id, currency, status, number, seq, issue_date, due_date, reverse_charge, customer_vat_id) VALUES
			('0198a1b2-0000-7000-8000-0000000000a1', '0198a1b2-0000-7000-8000-0000000000f1', 'UK', '0198a1b2-0000-7000-8000-0000000000e1', '0198a1b2-0000-7000-8000-0000000000c1', 'GBP', 'posted', 'MUK-1', 1, '2026-01-01', '2026-01-31', false, 'GB987654321')`); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Up(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	var seller, buyer string
	if err := conn.QueryRow(ctx, `SELECT seller::text, buyer::text FROM billing.invoice`).Scan(&seller, &buyer); err != nil {
		t.Fatal(err)
	}
	wantSeller := `{"name": "Messina UK Ltd", "vat_id": "GB123456789", "address": {"city": "London", "street": "1 High St", "country": "GB", "postcode": "EC1A 1AA"}}`
	wantBuyer := `{"name": "Acme", "vat_id": "GB987654321", "address": null}`
	if seller != wantSeller || buyer != wantBuyer {
		t.Fatalf("after 00016:\nseller %s\nbuyer  %s", seller, buyer)
	}
	if _, err := conn.Exec(ctx, `UPDATE billing.invoice SET buyer = NULL`); err == nil {
		t.Fatal("a posted invoice's parties changed after the migration")
	}
}

// Views and materialized views with a site_id must not leak other sites'
// rows either: a view runs with its owner's rights, who bypasses row-level
// security, unless it is security_invoker; one that is not must filter with
// core.site_visible behind a security barrier; and a materialized view,
// which row-level security cannot cover, must be unreadable by the
// application role.
func TestEveryViewWithASiteIsIsolated(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	ctx := context.Background()
	if _, err := migrations.Up(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT c.oid::regclass::text, c.relkind::text,
		       coalesce('security_invoker=true' = ANY (c.reloptions), false),
		       coalesce('security_barrier=true' = ANY (c.reloptions), false),
		       c.relkind = 'v' AND pg_get_viewdef(c.oid) LIKE '%core.site_visible(%',
		       has_table_privilege('messina_app', c.oid, 'SELECT')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped
		WHERE c.relkind IN ('v', 'm')
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'audit', 'river')`)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for rows.Next() {
		var view, kind string
		var invoker, barrier, filtered, readable bool
		if err := rows.Scan(&view, &kind, &invoker, &barrier, &filtered, &readable); err != nil {
			t.Fatal(err)
		}
		kinds[kind]++
		switch {
		case kind == "m" && readable:
			t.Errorf("materialized view %s has a site_id and the application role may read it", view)
		case kind == "v" && !invoker && !(barrier && filtered):
			t.Errorf("view %s has a site_id but is neither security_invoker nor a security barrier filtering with core.site_visible", view)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if kinds["v"] < 5 || kinds["m"] < 1 {
		t.Fatalf("found %v views with a site_id; the query is wrong", kinds)
	}
}

// Every audited table with a site_id has it as its audit site column, so
// that auditors limited to sites see its events (and only theirs).
func TestEveryAuditedTableWithASiteHasItsSiteColumn(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	ctx := context.Background()
	if _, err := migrations.Up(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT format('%I.%I', t.table_schema, t.table_name), coalesce(t.site_column, '')
		FROM audit.audited_table t
		JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', t.table_schema, t.table_name))
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped
		WHERE t.enabled`)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		checked++
		if col != "site_id" {
			t.Errorf("%s has a site_id but its audit site column is %q: SELECT audit.set_site_column('%s', 'site_id') in its migration", table, col, table)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 15 {
		t.Fatalf("only %d audited tables with a site_id found; the query is wrong", checked)
	}
}
