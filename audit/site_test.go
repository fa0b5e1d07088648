package audit_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/audit"
)

// Events carry the changed row's site once the table's site column is
// named, in row and statement mode; a reader limited to sites sees its
// sites' events and those of tables without a site, never an event of a
// site table whose site is unknown; seals cover the site.
func TestEventsCarryTheirSiteForSiteLimitedReaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.ledger (id int PRIMARY KEY, site_id text NOT NULL, amount int)`,
		`SELECT audit.enable('public.ledger')`,
		`INSERT INTO public.ledger VALUES (1, 'UK', 10)`, // before the site column is named
		`SELECT audit.set_site_column('public.ledger', 'site_id')`,
		`INSERT INTO public.ledger VALUES (2, 'UK', 20), (3, 'FR', 30)`,
		`UPDATE public.ledger SET amount = amount + 1`,
		`DELETE FROM public.ledger WHERE id = 3`,
		`CREATE TABLE public.bulk (id int PRIMARY KEY, site_id text NOT NULL, amount int)`,
		`SELECT audit.enable('public.bulk', '{}', 'statement')`,
		`SELECT audit.set_site_column('public.bulk', 'site_id')`,
		`INSERT INTO public.bulk VALUES (1, 'UK', 1), (2, 'FR', 2)`,
		`UPDATE public.bulk SET amount = 0`,
		`CREATE TABLE public.catalogue (id int PRIMARY KEY, name text)`,
		`SELECT audit.enable('public.catalogue')`,
		`INSERT INTO public.catalogue VALUES (1, 'fibre')`,
	)
	read := func(sites, table string) map[string]int {
		t.Helper()
		tbl, err := audit.ParseTable(table)
		if err != nil {
			t.Fatal(err)
		}
		bySite := map[string]int{}
		err = pgx.BeginFunc(b.ctx, b.db.App, func(tx pgx.Tx) error {
			if _, err := tx.Exec(b.ctx, `SELECT set_config('messina.sites', $1, true)`, sites); err != nil {
				return err
			}
			p, err := audit.List(b.ctx, tx, audit.Filter{Table: tbl, Limit: 100})
			for _, e := range p.Events {
				bySite[e.Site]++
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return bySite
	}
	for _, tc := range []struct {
		sites, table string
		want         map[string]int
	}{
		// I1 (no site), I2 UK, I3 FR, U1 UK, U2 UK, U3 FR, D3 FR.
		{"*", "public.ledger", map[string]int{"": 1, "UK": 3, "FR": 3}},
		{"UK", "public.ledger", map[string]int{"UK": 3}},
		{"FR", "public.ledger", map[string]int{"FR": 3}},
		{"", "public.ledger", map[string]int{}},
		{"*", "public.bulk", map[string]int{"UK": 2, "FR": 2}},
		{"UK", "public.bulk", map[string]int{"UK": 2}},
		{"UK", "public.catalogue", map[string]int{"": 1}},
	} {
		got := read(tc.sites, tc.table)
		if len(got) != len(tc.want) {
			t.Errorf("%s as %q: %v, want %v", tc.table, tc.sites, got, tc.want)
			continue
		}
		for site, n := range tc.want {
			if got[site] != n {
				t.Errorf("%s as %q: %v, want %v", tc.table, tc.sites, got, tc.want)
			}
		}
	}
	if _, err := audit.Seal(b.ctx, b.db.App); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(b.ctx, b.db.Owner)
	if err != nil || !rep.OK || rep.SealedRows == 0 {
		t.Fatalf("verify after sealing rows with sites: %+v, %v", rep, err)
	}
	// The site is sealed like every other field: the owner switching off
	// the guard to move an event to another site is found.
	rows, err := b.db.Owner.Query(b.ctx, `SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'audit.log'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		exec(t, b.db.Owner, `ALTER TABLE `+p+` DISABLE TRIGGER log_append_only`)
	}
	exec(t, b.db.Owner, `UPDATE audit.log SET site = 'FR' WHERE site = 'UK' AND table_name = 'ledger' AND op = 'I'`)
	if rep, err := audit.Verify(b.ctx, b.db.Owner); err != nil || rep.OK || rep.FirstBadRow == 0 {
		t.Fatalf("verify after moving an event to another site: %+v, %v", rep, err)
	}
}
