package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/internal/pgtest"
	"github.com/messina-oms/messina/queries"
)

func seedSites(t *testing.T, db *pgtest.DB) {
	t.Helper()
	if _, err := db.Owner.Exec(context.Background(), `INSERT INTO core.site (id, name, country, currency, timezone) VALUES
		('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London'), ('FR', 'France', 'FR', 'EUR', 'Europe/Paris')`); err != nil {
		t.Fatal(err)
	}
}

// A handler that forgets to filter by site still cannot see or write
// another site's rows: PostgreSQL's row-level security answers for it.
func TestRowLevelSecurityHidesOtherSites(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seedSites(t, db)
	cases := []struct {
		name  string
		sites []string
		want  []string
	}{
		{"limited to FR", []string{"FR"}, []string{"FR"}},
		{"limited to UK", []string{"UK"}, []string{"UK"}},
		{"all sites", nil, []string{"FR", "UK"}},
		{"unknown site", []string{"ZZ"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "test", Role: auth.RoleStaff, Sites: tc.sites})
			var got []string
			err := auth.InTx(ctx, db.App, func(tx pgx.Tx) error {
				// The query a buggy handler would run: no site filter at all.
				rows, err := tx.Query(ctx, "SELECT id FROM core.site ORDER BY id")
				if err != nil {
					return err
				}
				got, err = pgx.CollectRows(rows, pgx.RowTo[string])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Fatalf("want %v, got %v", tc.want, got)
			}
		})
	}

	fr := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "test", Role: auth.RoleStaff, Sites: []string{"FR"}})
	err := auth.InTx(fr, db.App, func(tx pgx.Tx) error {
		_, err := tx.Exec(fr, "INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('DE', 'Germany', 'DE', 'EUR', 'Europe/Berlin')")
		return err
	})
	if err == nil {
		t.Fatal("a FR-only principal created a DE site")
	}
	var n int64
	err = auth.InTx(fr, db.App, func(tx pgx.Tx) error {
		tag, err := tx.Exec(fr, "UPDATE core.site SET name = 'changed' WHERE id = 'UK'")
		n = tag.RowsAffected()
		return err
	})
	if err != nil || n != 0 {
		t.Fatalf("a FR-only principal updated %d UK rows (err %v)", n, err)
	}
}

func TestWithoutSitesSettingNothingIsVisible(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seedSites(t, db)
	var n int
	// A plain connection of the application role that never set
	// messina.sites: fail closed.
	if err := db.App.QueryRow(context.Background(), "SELECT count(*) FROM core.site").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the application role sees %d sites without messina.sites", n)
	}
}

func TestBeginNeedsAPrincipal(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	if _, err := auth.Begin(context.Background(), db.App); !errors.Is(err, auth.ErrNoPrincipal) {
		t.Fatalf("want ErrNoPrincipal, got %v", err)
	}
}

// The settings reach PostgreSQL exactly as given, whatever characters the
// actor (a token or user name) holds: they are literals, never SQL.
func TestBeginSetsTheContextVerbatim(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	actors := []string{
		"token:plain:ab12",
		`token:it's:x`,
		`user:back\slash\'@example.com`,
		`token:'); SELECT set_config('messina.sites', '*', true); --:x`,
		"user:zoë\t\n€@example.com",
		`\\''\'`,
	}
	for _, actor := range actors {
		ctx := auth.WithPrincipal(context.Background(), auth.Principal{Actor: actor, RequestID: "req-1", Role: auth.RoleStaff, Sites: []string{"UK", "FR"}})
		var gotActor, gotRequest, gotSites string
		err := auth.InTx(ctx, db.App, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT current_setting('messina.actor'), current_setting('messina.request_id'), current_setting('messina.sites')").
				Scan(&gotActor, &gotRequest, &gotSites)
		})
		if err != nil {
			t.Fatalf("actor %q: %v", actor, err)
		}
		if gotActor != actor || gotRequest != "req-1" || gotSites != "UK,FR" {
			t.Fatalf("actor %q: got actor %q, request id %q, sites %q", actor, gotActor, gotRequest, gotSites)
		}
	}
	// The settings are local to the transaction.
	var after string
	if err := db.App.QueryRow(context.Background(), "SELECT coalesce(current_setting('messina.sites', true), '')").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != "" {
		t.Fatalf("messina.sites outlived its transaction: %q", after)
	}
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "nul\x00byte", Role: auth.RoleStaff})
	if _, err := auth.Begin(ctx, db.App); err == nil {
		t.Fatal("an actor with a NUL byte began a transaction")
	}
	// The pool is still usable after the refusal.
	if err := auth.InTx(auth.WithPrincipal(context.Background(), auth.Principal{Actor: "ok", Role: auth.RoleStaff}), db.App, func(pgx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// Single sends the principal's settings and the statement in one
// pipeline: row-level security and the audit actor see the settings, and
// they end with the statement's implicit transaction.
func TestSingleStatementCarriesTheContext(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seedSites(t, db)
	// One connection, so every call below runs on the same session.
	cfg, err := pgxpool.ParseConfig(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	fr := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "test:fr", RequestID: "req-1", Role: auth.RoleStaff, Sites: []string{"FR"}})
	q, err := auth.Single(fr, pool)
	if err != nil {
		t.Fatal(err)
	}
	sites, err := q.SiteList(fr)
	if err != nil || len(sites) != 1 || sites[0].ID != "FR" {
		t.Fatalf("a FR-only principal listed %v (err %v), want FR alone", sites, err)
	}
	if _, err := q.SiteGet(fr, "UK"); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("a FR-only principal read UK: %v", err)
	}
	// A refused write fails and leaves nothing, and the connection is
	// usable afterwards.
	if _, err := q.SiteCreate(fr, queries.SiteCreateParams{ID: "DE", Name: "Germany", Country: "DE", Currency: "EUR", Timezone: "Europe/Berlin"}); err == nil {
		t.Fatal("a FR-only principal created a DE site")
	}

	admin := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "test:admin", RequestID: "req-2", Role: auth.RoleAdmin})
	qa, err := auth.Single(admin, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qa.SiteCreate(admin, queries.SiteCreateParams{ID: "DE", Name: "Germany", Country: "DE", Currency: "EUR", Timezone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	var actor, requestID string
	if err := db.Owner.QueryRow(context.Background(),
		`SELECT actor, request_id FROM audit.log WHERE table_name = 'site' AND key->>'id' = 'DE'`).Scan(&actor, &requestID); err != nil {
		t.Fatal(err)
	}
	if actor != "test:admin" || requestID != "req-2" {
		t.Fatalf("audit says %q, request %q; want test:admin, req-2", actor, requestID)
	}
	var n int
	if err := db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM core.site WHERE id = 'DE'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d DE sites (err %v), want the admin's one", n, err)
	}

	// The settings lasted for their statement only.
	var left *string
	if err := pool.QueryRow(context.Background(), `SELECT nullif(current_setting('messina.sites', true), '')`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != nil {
		t.Fatalf("messina.sites = %q after the statement, want unset", *left)
	}
	if _, err := auth.Single(context.Background(), pool); !errors.Is(err, auth.ErrNoPrincipal) {
		t.Fatalf("Single without a principal: %v", err)
	}
}
