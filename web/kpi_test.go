package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

// bookedAt books an order of c by salesperson with lines and dates its
// booking at: the service books now, and the reports need past months.
func (b *testBundle) bookedAt(t *testing.T, c orders.Customer, at time.Time, salesperson string, lines ...orders.LineInput) orders.Order {
	t.Helper()
	o := b.bookedBy(t, c, salesperson, lines...)
	b.ownerExec(t, `UPDATE orders.order_transition SET at = $2 WHERE order_id = $1 AND to_status = 'booked'`, o.ID, at)
	return o
}

func (b *testBundle) ownerExec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.db.Owner.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// reportRows are the KPI table's rows.
func reportRows(t *testing.T, p *page) [][]string {
	t.Helper()
	return p.rows(t, "report")
}

// kpiFixture: in March 2025 Acme (UK) books 2 fibre links (120 GBP a
// month, cost 70, 12 months) and an installation (500, cost 200), in
// service from 1 March and invoiced for March; Dupont (FR) books one
// fibre link (120 EUR, cost 70) in service from 1 April, not invoiced.
func kpiFixture(t *testing.T, b *testBundle) {
	t.Helper()
	acme := b.bookedAt(t, b.ukCustomer, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC), "ana",
		b.fibreLine("2"), orders.LineInput{ProductID: b.install.ID, Quantity: dec("1")})
	_, err := b.contracts.CreateFromOrder(b.admin, acme.ID, startingOn(date(2025, 3, 1)))
	must(t, err)
	dupont := b.bookedAt(t, b.frCustomer, time.Date(2025, 3, 12, 9, 0, 0, 0, time.UTC), "ana", b.fibreLine("1"))
	_, err = b.contracts.CreateFromOrder(b.admin, dupont.ID, startingOn(date(2025, 4, 1)))
	must(t, err)
	b.postedRun(t, "UK", date(2025, 3, 31))
	_, err = b.kpi.RefreshMRR(b.admin)
	must(t, err)
}

func TestKPIReportsShowHandComputedFiguresNeverAddedAcrossCurrencies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	kpiFixture(t, b)
	br := b.signedIn(t, b.token(t, auth.RoleAuditor))

	if loc := br.get("/kpi?from=2025-03").wantStatus(t, http.StatusSeeOther).location(t); loc != "/kpi/bookings?from=2025-03" {
		t.Fatalf("/kpi sends to %q", loc)
	}
	cases := []struct {
		name  string
		path  string
		query url.Values
		want  [][]string
		// anyOrder: rows come in product id order, which is random.
		anyOrder bool
	}{
		{
			// Amount: 2 x 120 x 12 + 500 = 3380, cost 2 x 70 x 12 + 200 =
			// 1880, margin 1500 (44.38 %), MRR 240; FR: 1440, 840, 600
			// (41.67 %), 120. Rows per month, site and currency.
			name: "bookings per site and month", path: "/kpi/bookings", query: url.Values{"from": {"2025-03"}, "to": {"2025-03"}},
			want: [][]string{
				{"2025-03", "FR", "1", "0", "1440.00 EUR", "840.00 EUR", "600.00 EUR", "41.67 %", "120.00 EUR"},
				{"2025-03", "UK", "1", "0", "3380.00 GBP", "1880.00 GBP", "1500.00 GBP", "44.38 %", "240.00 GBP"},
			},
		},
		{
			// Grouped by nothing: one row per currency, never one total.
			name: "bookings per currency only", path: "/kpi/bookings", query: url.Values{"grouped": {"1"}},
			want: [][]string{
				{"1", "0", "1440.00 EUR", "840.00 EUR", "600.00 EUR", "41.67 %", "120.00 EUR"},
				{"1", "0", "3380.00 GBP", "1880.00 GBP", "1500.00 GBP", "44.38 %", "240.00 GBP"},
			},
		},
		{
			name: "bookings per product in GBP", path: "/kpi/bookings", query: url.Values{"grouped": {"1"}, "group_by": {"product"}, "currency": {"GBP"}},
			want: [][]string{
				{"FIBRE-1G", "1", "0", "2880.00 GBP", "1680.00 GBP", "1200.00 GBP", "41.67 %", "240.00 GBP"},
				{"INSTALL", "1", "0", "500.00 GBP", "200.00 GBP", "300.00 GBP", "60.00 %", "0.00 GBP"},
			},
			anyOrder: true,
		},
		{
			// March's invoice: 2 x 120 net, cost 2 x 70.
			name: "margin per site and month", path: "/kpi/margin", query: url.Values{"from": {"2025-01"}},
			want: [][]string{{"2025-03", "UK", "240.00 GBP", "0.00 GBP", "240.00 GBP", "140.00 GBP", "100.00 GBP", "41.67 %"}},
		},
		{
			// Acme is new in March (240); Dupont in April (120).
			name: "MRR per site and month", path: "/kpi/mrr", query: url.Values{"from": {"2025-03"}, "to": {"2025-04"}},
			want: [][]string{
				{"2025-03", "UK", "0.00 GBP", "240.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP", "240.00 GBP", "1"},
				{"2025-04", "FR", "0.00 EUR", "120.00 EUR", "0.00 EUR", "0.00 EUR", "0.00 EUR", "0.00 EUR", "120.00 EUR", "1"},
				{"2025-04", "UK", "240.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP", "240.00 GBP", "1"},
			},
		},
		{
			name: "MRR per customer over the range", path: "/kpi/mrr",
			query: url.Values{"from": {"2025-03"}, "to": {"2025-04"}, "grouped": {"1"}, "group_by": {"customer"}, "site": {"UK"}},
			want:  [][]string{{"Acme Ltd", "0.00 GBP", "240.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP", "0.00 GBP", "240.00 GBP", "1"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := br.get(tc.path+"?"+tc.query.Encode()).wantStatus(t, http.StatusOK)
			got := reportRows(t, p)
			if tc.anyOrder {
				slices.SortFunc(got, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d: %q", len(got), len(tc.want), got)
			}
			for i := range got {
				if !slices.Equal(got[i], tc.want[i]) {
					t.Errorf("row %d:\n got  %q\n want %q", i, got[i], tc.want[i])
				}
			}
			// Every figure is right-aligned.
			for _, td := range findAll(p.mustID(t, "report"), tag("td")) {
				if v := text(td); strings.HasSuffix(v, " GBP") || strings.HasSuffix(v, " EUR") || strings.HasSuffix(v, " %") {
					if !strings.Contains(attr(td, "class"), "num") {
						t.Errorf("%q is not right-aligned", v)
					}
				}
			}
			if got := p.postActions(); len(got) != 0 {
				t.Errorf("the KPI page posts to %v", got)
			}
		})
	}

	// The filter form keeps what was asked, and the tabs carry the
	// filters the reports share.
	p := br.get("/kpi/margin?from=2025-01&to=2025-06&site=UK&grouped=1&group_by=month&group_by=product")
	f := formValues(t, p, "kpi-filters")
	if f.Get("from") != "2025-01" || f.Get("to") != "2025-06" || f.Get("site") != "UK" || !slices.Equal(f["group_by"], []string{"month", "product"}) {
		t.Fatalf("form %v", f)
	}
	if !slices.Contains(p.links(), "/kpi/mrr?from=2025-01&site=UK&to=2025-06") {
		t.Fatalf("tabs %v", p.links())
	}
	if mrr := text(br.get("/kpi/mrr").Doc); !strings.Contains(mrr, "As of ") || strings.Contains(mrr, "As of —") {
		t.Fatalf("the MRR report does not say how fresh it is: %q", mrr)
	}
}

func TestKPIReportsPageAndNameBadFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := 1; i <= 51; i++ {
		b.bookedAt(t, b.ukCustomer, time.Date(2025, 5, 2, 10, 0, 0, 0, time.UTC), fmt.Sprintf("seller %02d", i), b.fibreLine("1"))
	}
	br := b.signedIn(t, b.token(t, auth.RoleStaff))
	first := br.get("/kpi/bookings?grouped=1&group_by=salesperson").wantStatus(t, http.StatusOK)
	rows := reportRows(t, first)
	if len(rows) != 50 || rows[0][0] != "seller 01" || rows[49][0] != "seller 50" {
		t.Fatalf("page 1: %d rows from %q", len(rows), rows[0])
	}
	next := nextLink(first)
	if !strings.Contains(next, "group_by=salesperson") || !strings.Contains(next, "grouped=1") {
		t.Fatalf("next %q loses the grouping", next)
	}
	second := br.get(next).wantStatus(t, http.StatusOK)
	if rows := reportRows(t, second); len(rows) != 1 || !slices.Equal(rows[0], []string{"seller 51", "1", "0", "1440.00 GBP", "840.00 GBP", "600.00 GBP", "41.67 %", "120.00 GBP"}) || nextLink(second) != "" {
		t.Fatalf("page 2: %q", rows)
	}

	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/kpi/bookings?from=2025-13&to=2025-01", []string{"from: must be a month, YYYY-MM, e.g. 2026-03"}},
		{"/kpi/margin?from=2025-06&to=2025-01", []string{"to: must not be before from"}},
		{"/kpi/mrr?grouped=1&group_by=contract", []string{"group_by: contract rows need level=contract: per customer, a contract's changes are not classified on their own"}},
		{"/kpi/bookings?grouped=1&group_by=customer&cursor=nope", []string{`group_by: "customer" is not a dimension of this report; use [site month currency salesperson product]`, "cursor: is not a cursor this report returned"}},
	} {
		if got := fieldErrors(br.get(tc.path).wantStatus(t, http.StatusUnprocessableEntity)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v", tc.path, got)
		}
	}
	br.get("/kpi/revenue").wantStatus(t, http.StatusNotFound)
}
