package kpi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/kpi"
)

// Reports add up the rows of the caller's sites only, whatever the filter:
// row-level security for bookings and revenue (security_invoker views),
// the site filter of kpi.mrr_movement for MRR.
func TestSiteLimitedPrincipalSeesOnlyItsSites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk, fr, _, _, _ := mrrFixture(t, b)
	b.postRun(t, uk, date(2025, 3, 1))
	b.postRun(t, fr, date(2025, 7, 1))
	all := kpi.Filter{GroupBy: []kpi.Dimension{kpi.BySite, kpi.ByMonth}, Limit: kpi.MaxLimit}
	allMRR := kpi.MRRFilter{GroupBy: []kpi.Dimension{kpi.BySite, kpi.ByMonth}, Limit: kpi.MaxLimit}

	// sites lists the sites of each report's rows, and counts the rows.
	sites := func(t *testing.T, ctx context.Context, site string) (map[string]int, map[string]int, map[string]int) {
		t.Helper()
		f, mf := all, allMRR
		f.Site, mf.Site = site, site
		bookings, err := b.kpi.Bookings(ctx, f)
		must(t, err)
		margin, err := b.kpi.Margin(ctx, f)
		must(t, err)
		mrr, err := b.kpi.MRR(ctx, mf)
		must(t, err)
		bs, ms, rs := map[string]int{}, map[string]int{}, map[string]int{}
		for _, r := range bookings.Items {
			bs[r.Site]++
		}
		for _, r := range margin.Items {
			ms[r.Site]++
		}
		for _, r := range mrr.Items {
			rs[r.Site]++
		}
		return bs, ms, rs
	}
	bAll, mAll, rAll := sites(t, b.ctx, "")
	for _, s := range []string{"UK", "FR"} {
		if bAll[s] == 0 || mAll[s] == 0 || rAll[s] == 0 {
			t.Fatalf("the fixture lacks %s rows: bookings %v, margin %v, mrr %v", s, bAll, mAll, rAll)
		}
	}

	cases := []struct {
		name   string
		sites  []string
		filter string
		want   string // the one site seen, "" for none
	}{
		{"limited to UK", []string{"UK"}, "", "UK"},
		{"limited to FR", []string{"FR"}, "", "FR"},
		{"limited to UK, asking for FR", []string{"UK"}, "FR", ""},
		{"limited to a site without rows", []string{"DE"}, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := principal("user:limited@example.com", tc.sites...)
			bs, ms, rs := sites(t, ctx, tc.filter)
			for report, got := range map[string]map[string]int{"bookings": bs, "margin": ms, "mrr": rs} {
				want := map[string]int{}
				if tc.want != "" {
					want[tc.want] = map[string]map[string]int{"bookings": bAll, "margin": mAll, "mrr": rAll}[report][tc.want]
				}
				if len(got) != len(want) || got[tc.want] != want[tc.want] {
					t.Errorf("%s: rows per site %v, want %v", report, got, want)
				}
			}
		})
	}
}

// The application role reads MRR through kpi.mrr_movement only, may not
// refresh the materialized view but through kpi.refresh_mrr, and may not
// write to any KPI relation.
func TestApplicationRoleCannotBypassTheKPIViews(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name, sql string
	}{
		{"read the materialized view", "SELECT count(*) FROM kpi.mrr_movement_all"},
		{"refresh it directly", "REFRESH MATERIALIZED VIEW kpi.mrr_movement_all"},
		{"backdate the refresh", "UPDATE kpi.refresh SET refreshed_at = now()"},
		{"write to a KPI table", "DELETE FROM kpi.refresh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.InTx(b.ctx, b.db.App, func(tx pgx.Tx) error {
				_, err := tx.Exec(b.ctx, tc.sql)
				return err
			})
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42501" {
				t.Fatalf("want a privilege error, got %v", err)
			}
		})
	}
	if _, err := b.kpi.RefreshMRR(b.ctx); err != nil {
		t.Fatalf("refresh through kpi.refresh_mrr: %v", err)
	}
}

// MRR shows contract changes after a refresh, and says when that was.
func TestMRRIsAsOfTheLastRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.site(t, "UK", "GBP", "Europe/London", "per_order", price{b.fibre, "100", "60"})
	before, err := b.kpi.MRR(b.ctx, kpi.MRRFilter{})
	must(t, err)
	b.contract(t, b.booked(t, b.order(t, uk, b.customer(t, uk, "Acme"), "ana", "", line{product: b.fibre, qty: "1"}), date(2025, 1, 1)),
		date(2025, 1, 1), contracts.Terms{})
	stale, err := b.kpi.MRR(b.ctx, kpi.MRRFilter{})
	must(t, err)
	if len(stale.Items) != 0 || !stale.RefreshedAt.Equal(before.RefreshedAt) {
		t.Fatalf("before a refresh: %d rows as of %s, want none as of %s", len(stale.Items), stale.RefreshedAt, before.RefreshedAt)
	}
	at, err := b.kpi.RefreshMRR(b.ctx)
	must(t, err)
	fresh, err := b.kpi.MRR(b.ctx, kpi.MRRFilter{From: month("2025-01"), To: month("2025-01")})
	must(t, err)
	if !fresh.RefreshedAt.Equal(at) || !at.After(before.RefreshedAt) {
		t.Fatalf("refreshed at %s, report says %s, previous %s", at, fresh.RefreshedAt, before.RefreshedAt)
	}
	if len(fresh.Items) != 1 || !fresh.Items[0].New.Equal(dec("100")) {
		t.Fatalf("after a refresh: %v", fresh.Items)
	}
}
