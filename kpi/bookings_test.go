package kpi_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
)

// bookingFixture books these orders (prices a month, terms 12 months):
//
//	O1 UK GBP ana, booked 2025-03-10: fibre 2 x 100 (cost 60), 25 % to bob;
//	   install 1 x 500 (cost 200); then provisioned and completed
//	O2 UK GBP bob, booked 2025-03-31 23:30Z = 1 April 00:30 in London:
//	   support 1 x 50 less 10 % (cost 20)
//	O3 FR EUR carla, booked 2025-03-31 22:30Z = 1 April 00:30 in Paris:
//	   fibre 1 x 110 (cost 65)
//	O4 UK GBP ana, booked 2025-03-15, cancelled 2025-05-02: install 1 x 500
//	O5 UK EUR ana, booked 2025-03-20: install 1 x 450 (cost 180)
//	O6 UK GBP ana, approved then cancelled, never booked: install
//	O7 UK GBP ana, left a draft: fibre 5
//
// Line values: O1 fibre 2 x 100 x 12 = 2400.00, cost 2 x 60 x 12 = 1440.00,
// MRR 200.00, of which bob 25 %: 600.00, 360.00, 50.00 and ana the rest;
// O2 45.00 x 12 = 540.00, cost 240.00, MRR 45.00; O3 1320.00, cost 780.00,
// MRR 110.00.
func bookingFixture(t *testing.T, b *testBundle) {
	t.Helper()
	uk := b.site(t, "UK", "GBP", "Europe/London", "per_order",
		price{b.fibre, "100", "60"}, price{b.support, "50", "20"}, price{b.install, "500", "200"})
	b.priceBook(t, uk, "EUR", price{b.install, "450", "180"})
	fr := b.site(t, "FR", "EUR", "Europe/Paris", "per_order", price{b.fibre, "110", "65"})
	acme, dupont := b.customer(t, uk, "Acme"), b.customer(t, fr, "Dupont")

	o1 := b.booked(t, b.order(t, uk, acme, "ana", "",
		line{product: b.fibre, qty: "2", splits: []orders.Split{{Salesperson: "bob", SharePct: dec("25")}}},
		line{product: b.install, qty: "1"}), time.Date(2025, 3, 10, 10, 0, 0, 0, time.UTC))
	b.move(t, o1, orders.StatusProvisioning, orders.StatusCompleted)
	b.booked(t, b.order(t, uk, acme, "bob", "", line{product: b.support, qty: "1", discount: "10"}),
		time.Date(2025, 3, 31, 23, 30, 0, 0, time.UTC))
	b.booked(t, b.order(t, fr, dupont, "carla", "", line{product: b.fibre, qty: "1"}),
		time.Date(2025, 3, 31, 22, 30, 0, 0, time.UTC))
	o4 := b.booked(t, b.order(t, uk, acme, "ana", "", line{product: b.install, qty: "1"}), time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC))
	b.move(t, o4, orders.StatusCancelled)
	b.dateTransition(t, o4, orders.StatusCancelled, time.Date(2025, 5, 2, 9, 0, 0, 0, time.UTC))
	b.booked(t, b.order(t, uk, acme, "ana", "EUR", line{product: b.install, qty: "1"}), time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC))
	b.move(t, b.order(t, uk, acme, "ana", "", line{product: b.install, qty: "1"}), orders.StatusSubmitted, orders.StatusCancelled)
	b.order(t, uk, acme, "ana", "", line{product: b.fibre, qty: "5"})
}

func bookingRow(r kpi.Booking) string {
	sku := r.ProductSKU
	if r.ProductID == nil {
		sku = "-"
	}
	return fmt.Sprintf("%s %s %s %s %s orders=%d/%d amount=%s cost=%s margin=%s pct=%s mrr=%s",
		r.Month, r.Site, r.Currency, r.Salesperson, sku, r.Orders, r.CancelledOrders,
		text(r.Amount), text(r.Cost), text(r.Margin), pct(r.MarginPct), text(r.MRR))
}

func TestBookings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bookingFixture(t, b)

	cases := []struct {
		name   string
		filter kpi.Filter
		sorted bool
		want   []string
	}{
		{
			// Bookings count in the local month of the booking: O2 and O3
			// were booked on 31 March UTC, 1 April in London and Paris.
			// O4's cancellation reverses it in May; O6 and O7 were never
			// booked. EUR and GBP of the UK are never added up.
			name:   "per site and month by default",
			filter: kpi.Filter{},
			want: []string{
				"2025-03 UK EUR  - orders=1/0 amount=450.00 cost=180.00 margin=270.00 pct=60.00 mrr=0.00",
				"2025-03 UK GBP  - orders=2/0 amount=3400.00 cost=1840.00 margin=1560.00 pct=45.88 mrr=200.00",
				"2025-04 FR EUR  - orders=1/0 amount=1320.00 cost=780.00 margin=540.00 pct=40.91 mrr=110.00",
				"2025-04 UK GBP  - orders=1/0 amount=540.00 cost=240.00 margin=300.00 pct=55.56 mrr=45.00",
				"2025-05 UK GBP  - orders=0/1 amount=-500.00 cost=-200.00 margin=-300.00 pct=null mrr=0.00",
			},
		},
		{
			// ana: 75 % of O1's fibre (1800.00, cost 1080.00, MRR 150.00),
			// O1's install and O4's; bob: 25 % of O1's fibre.
			name:   "per salesperson honours the split",
			filter: kpi.Filter{Site: "UK", From: month("2025-03"), To: month("2025-03"), GroupBy: []kpi.Dimension{kpi.BySalesperson}},
			want: []string{
				"  EUR ana - orders=1/0 amount=450.00 cost=180.00 margin=270.00 pct=60.00 mrr=0.00",
				"  GBP ana - orders=2/0 amount=2800.00 cost=1480.00 margin=1320.00 pct=47.14 mrr=150.00",
				"  GBP bob - orders=1/0 amount=600.00 cost=360.00 margin=240.00 pct=40.00 mrr=50.00",
			},
		},
		{
			// Rows are in product id order; these are sorted by text.
			name:   "per product of one salesperson",
			filter: kpi.Filter{Salesperson: "bob", GroupBy: []kpi.Dimension{kpi.ByProduct}},
			sorted: true,
			want: []string{
				"  GBP  FIBRE orders=1/0 amount=600.00 cost=360.00 margin=240.00 pct=40.00 mrr=50.00",
				"  GBP  SUPPORT orders=1/0 amount=540.00 cost=240.00 margin=300.00 pct=55.56 mrr=45.00",
			},
		},
		{
			name:   "per currency only",
			filter: kpi.Filter{Currency: "EUR", GroupBy: []kpi.Dimension{kpi.ByCurrency}},
			want: []string{
				"  EUR  - orders=2/0 amount=1770.00 cost=960.00 margin=810.00 pct=45.76 mrr=110.00",
			},
		},
		{
			name:   "one product per month",
			filter: kpi.Filter{ProductID: &b.install, GroupBy: []kpi.Dimension{kpi.ByMonth, kpi.ByProduct}},
			want: []string{
				"2025-03  EUR  INSTALL orders=1/0 amount=450.00 cost=180.00 margin=270.00 pct=60.00 mrr=0.00",
				"2025-03  GBP  INSTALL orders=2/0 amount=1000.00 cost=400.00 margin=600.00 pct=60.00 mrr=0.00",
				"2025-05  GBP  INSTALL orders=0/1 amount=-500.00 cost=-200.00 margin=-300.00 pct=null mrr=0.00",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := b.kpi.Bookings(b.ctx, tc.filter)
			must(t, err)
			var got []string
			for _, r := range page.Items {
				got = append(got, bookingRow(r))
			}
			if tc.sorted {
				slices.Sort(got)
			}
			eqRows(t, tc.name, got, tc.want)
		})
	}
}

// Pages follow each other without a gap or a repeat, in report order.
func TestBookingPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bookingFixture(t, b)
	f := kpi.Filter{GroupBy: []kpi.Dimension{kpi.ByMonth, kpi.BySalesperson, kpi.ByProduct}}
	whole, err := b.kpi.Bookings(b.ctx, f)
	must(t, err)
	if len(whole.Items) < 5 || whole.NextCursor != "" {
		t.Fatalf("want one page of at least 5 rows, got %d (next %q)", len(whole.Items), whole.NextCursor)
	}
	var paged []kpi.Booking
	f.Limit = 2
	for pages := 1; ; pages++ {
		p, err := b.kpi.Bookings(b.ctx, f)
		must(t, err)
		if len(p.Items) > 2 {
			t.Fatalf("page %d has %d rows", pages, len(p.Items))
		}
		paged = append(paged, p.Items...)
		if p.NextCursor == "" {
			break
		}
		f.Cursor = p.NextCursor
	}
	var got, want []string
	for _, r := range paged {
		got = append(got, bookingRow(r))
	}
	for _, r := range whole.Items {
		want = append(want, bookingRow(r))
	}
	eqRows(t, "pages", got, want)
}
