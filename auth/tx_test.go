package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/internal/pgtest"
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
