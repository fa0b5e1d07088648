package kpi_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
)

func marginRow(r kpi.Margin) string {
	sku := r.ProductSKU
	if r.ProductID == nil {
		sku = "-"
	}
	return fmt.Sprintf("%s %s %s %s %s invoiced=%s credited=%s revenue=%s cost=%s margin=%s pct=%s",
		r.Month, r.Site, r.Currency, r.Salesperson, sku,
		text(r.Invoiced), text(r.Credited), text(r.Revenue), text(r.Cost), text(r.Margin), pct(r.MarginPct))
}

// A UK contract from an order of ana's (fibre 2 x 100, cost 60, 25 % to
// bob; support 1 x 50 billed yearly, cost 20; early-termination fee 300)
// starts 2025-01-01 and is billed in advance, prorated by day:
//
//	I1 2025-01-01 fibre Jan 200.00 (cost 120.00), support 2025 600.00 (240.00)
//	I2 2025-02-01 fibre Feb 200.00 (120.00)
//	CN1 2025-02-15 credits 33.33 of I2's fibre: takes back
//	    round(120 x 33.33 / 200, 2) = 20.00 of cost
//	I3 2025-03-01 fibre Mar 200.00 (120.00)
//	CN2 2025-03-03 credits the rest of I2, 166.67: takes back
//	    round(120 x 200 / 200, 2) - 20.00 = 100.00 (I2 is now void)
//	cancelled on 2025-03-20 to end on 2025-03-31: CN3 2025-03-20 credits
//	    support for April to December, 600.00 - round(50 x 12 x 90/365, 2)
//	    = 600.00 - 147.95 = 452.05, taking back round(240 x 452.05 / 600, 2)
//	    = 180.82; the fee is a charge
//	I4 2025-04-01 the fee, 300.00, cost 0, no product, credited to ana
func TestMargin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.site(t, "UK", "GBP", "Europe/London", "per_order",
		price{b.fibre, "100", "60"}, price{b.support, "50", "20"}, price{b.install, "500", "200"})
	acme := b.customer(t, uk, "Acme")
	o := b.booked(t, b.order(t, uk, acme, "ana", "",
		line{product: b.fibre, qty: "2", splits: []orders.Split{{Salesperson: "bob", SharePct: dec("25")}}},
		line{product: b.support, qty: "1"}), date(2024, 12, 20))
	c := b.contract(t, o, date(2025, 1, 1), contracts.Terms{ETFRule: ptr(contracts.ETFRule("fixed")), ETFValue: ptr(dec("300"))})

	b.postRun(t, uk, date(2025, 1, 1))
	i2 := b.postRun(t, uk, date(2025, 2, 1))[0]
	_, err := b.contracts.CreditInvoice(b.ctx, i2.ID, date(2025, 2, 15), "outage",
		[]contracts.CreditLine{{InvoiceLineID: i2.Lines[0].ID, Amount: dec("33.33")}})
	must(t, err)
	b.postRun(t, uk, date(2025, 3, 1))
	_, err = b.contracts.CreditInvoice(b.ctx, i2.ID, date(2025, 3, 3), "wrong month", nil)
	must(t, err)
	_, err = b.contracts.Cancel(b.ctx, c.ID, contracts.Cancellation{Policy: "on_date", ReceivedOn: date(2025, 3, 20), EndDate: ptr(date(2025, 3, 31))})
	must(t, err)

	// A run that is prepared but not posted is not revenue.
	run, err := b.contracts.PlanRun(b.ctx, uk.id, date(2025, 4, 1))
	must(t, err)
	run, err = b.contracts.PrepareRun(b.ctx, run.ID)
	must(t, err)
	if page, err := b.kpi.Margin(b.ctx, kpi.Filter{From: month("2025-04")}); err != nil || len(page.Items) != 0 {
		t.Fatalf("a draft invoice counts: %v %v", page.Items, err)
	}
	b.post(t, run)

	cases := []struct {
		name   string
		filter kpi.Filter
		sorted bool
		want   []string
	}{
		{
			name:   "per site and month by default",
			filter: kpi.Filter{},
			want: []string{
				"2025-01 UK GBP  - invoiced=800.00 credited=0.00 revenue=800.00 cost=360.00 margin=440.00 pct=55.00",
				"2025-02 UK GBP  - invoiced=200.00 credited=33.33 revenue=166.67 cost=100.00 margin=66.67 pct=40.00",
				"2025-03 UK GBP  - invoiced=200.00 credited=618.72 revenue=-418.72 cost=-160.82 margin=-257.90 pct=null",
				"2025-04 UK GBP  - invoiced=300.00 credited=0.00 revenue=300.00 cost=0.00 margin=300.00 pct=100.00",
			},
		},
		{
			name:   "a range in one row per currency",
			filter: kpi.Filter{From: month("2025-01"), To: month("2025-12"), GroupBy: []kpi.Dimension{kpi.ByCurrency}},
			want: []string{
				"  GBP  - invoiced=1500.00 credited=652.05 revenue=847.95 cost=299.18 margin=548.77 pct=64.72",
			},
		},
		{
			// Fibre: 600.00 invoiced, 200.00 credited, cost 360.00 - 120.00,
			// shared 75/25; the fee has no product and no split.
			name:   "per salesperson and product",
			filter: kpi.Filter{GroupBy: []kpi.Dimension{kpi.BySalesperson, kpi.ByProduct}},
			sorted: true,
			want: []string{
				"  GBP ana - invoiced=300.00 credited=0.00 revenue=300.00 cost=0.00 margin=300.00 pct=100.00",
				"  GBP ana FIBRE invoiced=450.00 credited=150.00 revenue=300.00 cost=180.00 margin=120.00 pct=40.00",
				"  GBP ana SUPPORT invoiced=600.00 credited=452.05 revenue=147.95 cost=59.18 margin=88.77 pct=60.00",
				"  GBP bob FIBRE invoiced=150.00 credited=50.00 revenue=100.00 cost=60.00 margin=40.00 pct=40.00",
			},
		},
		{
			// bob's share of CN1 is 25 % of 33.33 = 8.3325: shares are not
			// rounded, so they add up to the whole.
			name:   "one salesperson in one month",
			filter: kpi.Filter{Salesperson: "bob", From: month("2025-02"), To: month("2025-02"), GroupBy: []kpi.Dimension{kpi.BySalesperson}},
			want: []string{
				"  GBP bob - invoiced=50.00 credited=8.3325 revenue=41.6675 cost=25.00 margin=16.6675 pct=40.00",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := b.kpi.Margin(b.ctx, tc.filter)
			must(t, err)
			var got []string
			for _, r := range page.Items {
				got = append(got, marginRow(r))
			}
			if tc.sorted {
				slices.Sort(got)
			}
			eqRows(t, tc.name, got, tc.want)
		})
	}
}
