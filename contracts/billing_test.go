package contracts_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
)

type wantLine struct {
	start, end     time.Time
	net, tax, cost string
}

// Every amount below is computed by hand in the case's comment: monthly
// price x quantity x months of the period x day-count fraction, rounded
// once per line; tax = rounded net x 20 %, rounded; cost likewise with the
// cost of 60 a month of the price book.
func TestRunAmounts(t *testing.T) {
	t.Parallel()
	type product int
	const (
		monthly product = iota
		quarterly
		annual
	)
	tests := []struct {
		name    string
		rules   func(r *siteRules)
		product product
		qty     string
		price   string
		start   time.Time
		timing  contracts.Timing
		runs    []time.Time
		want    []wantLine
	}{
		{
			// 2 x 100 x 1 month = 200.00; tax 40.00; cost 2 x 60 = 120.00.
			name: "advance bills the month on its first day", product: monthly, qty: "2", price: "100",
			start: date(2025, 1, 1), timing: contracts.Advance, runs: []time.Time{date(2025, 1, 1)},
			want: []wantLine{{date(2025, 1, 1), date(2025, 1, 31), "200.00", "40.00", "120.00"}},
		},
		{
			// The run of Jan 31 bills nothing (January is not over);
			// Feb 1 bills January: 100.00, tax 20.00, cost 60.00.
			name: "arrears bills the month after it ended", product: monthly, qty: "1", price: "100",
			start: date(2025, 1, 1), timing: contracts.Arrears, runs: []time.Time{date(2025, 1, 31), date(2025, 2, 1)},
			want: []wantLine{{date(2025, 1, 1), date(2025, 1, 31), "100.00", "20.00", "60.00"}},
		},
		{
			// Jan 15-31 is 17 of 31 days: 310 x 17/31 = 170.00, tax 34.00,
			// cost 60 x 17/31 = 32.903 -> 32.90; February in full: 310.00,
			// 62.00, 60.00.
			name: "a mid-period start is prorated by actual days", product: monthly, qty: "1", price: "310",
			start: date(2025, 1, 15), timing: contracts.Advance, runs: []time.Time{date(2025, 1, 15), date(2025, 2, 1)},
			want: []wantLine{
				{date(2025, 1, 15), date(2025, 1, 31), "170.00", "34.00", "32.90"},
				{date(2025, 2, 1), date(2025, 2, 28), "310.00", "62.00", "60.00"},
			},
		},
		{
			// Q1 has 90 days; Feb 15-Mar 31 is 45: 100 x 3 x 45/90 = 150.00,
			// tax 30.00, cost 60 x 3 x 45/90 = 90.00.
			name: "a mid-quarter start is prorated over the quarter", product: quarterly, qty: "1", price: "100",
			start: date(2025, 2, 15), timing: contracts.Advance, runs: []time.Time{date(2025, 3, 1)},
			want: []wantLine{{date(2025, 2, 15), date(2025, 3, 31), "150.00", "30.00", "90.00"}},
		},
		{
			// 2025 has 365 days; Jul 1-Dec 31 is 184: 100 x 12 x 184/365 =
			// 604.9315 -> 604.93; tax 120.986 -> 120.99; cost 60 x 12 x
			// 184/365 = 362.9589 -> 362.96.
			name: "a mid-year start of a yearly line is prorated over the year", product: annual, qty: "1", price: "100",
			start: date(2025, 7, 1), timing: contracts.Advance, runs: []time.Time{date(2025, 7, 1)},
			want: []wantLine{{date(2025, 7, 1), date(2025, 12, 31), "604.93", "120.99", "362.96"}},
		},
		{
			// 30E/360: Feb 15 to Mar 1 is 30 - 14 = 16 days of 30:
			// 300 x 16/30 = 160.00, tax 32.00, cost 60 x 16/30 = 32.00
			// (actual days would give 300 x 14/28 = 150).
			name: "the monthly day-count rule counts 30 days a month", product: monthly, qty: "1", price: "300",
			rules: func(r *siteRules) { r.proration = "monthly" },
			start: date(2025, 2, 15), timing: contracts.Advance, runs: []time.Time{date(2025, 2, 15)},
			want: []wantLine{{date(2025, 2, 15), date(2025, 2, 28), "160.00", "32.00", "32.00"}},
		},
		{
			// Proration none: the partial January is billed in full: 310.00, 62.00, 60.00.
			name: "without proration a partial period is billed in full", product: monthly, qty: "1", price: "310",
			rules: func(r *siteRules) { r.proration = "none" },
			start: date(2025, 1, 15), timing: contracts.Advance, runs: []time.Time{date(2025, 1, 15)},
			want: []wantLine{{date(2025, 1, 15), date(2025, 1, 31), "310.00", "62.00", "60.00"}},
		},
		{
			// 10.125 half-even -> 10.12 (2 is even); tax 2.024 -> 2.02.
			name: "half-even rounding rounds a half to the even cent", product: monthly, qty: "1", price: "10.125",
			rules: func(r *siteRules) { r.rounding = "half_even" },
			start: date(2025, 1, 1), timing: contracts.Advance, runs: []time.Time{date(2025, 1, 1)},
			want: []wantLine{{date(2025, 1, 1), date(2025, 1, 31), "10.12", "2.02", "60.00"}},
		},
		{
			// 10.125 half-up -> 10.13; tax 2.026 -> 2.03.
			name: "half-up rounding rounds a half away from zero", product: monthly, qty: "1", price: "10.125",
			start: date(2025, 1, 1), timing: contracts.Advance, runs: []time.Time{date(2025, 1, 1)},
			want: []wantLine{{date(2025, 1, 1), date(2025, 1, 31), "10.13", "2.03", "60.00"}},
		},
		{
			// 3 x 33.335 = 100.005 half-even -> 100.00 (0 is even); tax 20.00;
			// a rule of scale 2 rounds the line once, not the unit price.
			name: "half-even rounding applies to the line amount", product: monthly, qty: "3", price: "33.335",
			rules: func(r *siteRules) { r.rounding = "half_even" },
			start: date(2025, 1, 1), timing: contracts.Advance, runs: []time.Time{date(2025, 1, 1)},
			want: []wantLine{{date(2025, 1, 1), date(2025, 1, 31), "100.00", "20.00", "180.00"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			r := ukRules()
			if tt.rules != nil {
				tt.rules(&r)
			}
			s := b.site(t, "UK", "GBP", r)
			product := map[product]uuid.UUID{monthly: b.monthly, quarterly: b.quarterly, annual: b.annual}[tt.product]
			b.contract(t, s, s.customer, tt.start, contracts.Terms{BillingTiming: &tt.timing}, line{product, tt.qty, tt.price})
			var got []contracts.InvoiceLine
			for _, d := range tt.runs {
				for _, inv := range b.postRun(t, s, d) {
					got = append(got, inv.Lines...)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				eqDate(t, "period start", g.PeriodStart, w.start)
				eqDate(t, "period end", g.PeriodEnd, w.end)
				eqDec(t, lineDesc(g)+" net", g.Net, w.net)
				eqDec(t, lineDesc(g)+" tax", g.Tax, w.tax)
				eqDec(t, lineDesc(g)+" cost", g.Cost, w.cost)
			}
		})
	}
}

// A term that starts mid-month ends mid-month: the last period is
// prorated too, and the term is billed exactly 12 months in all.
func TestTermEndingMidPeriodIsProrated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	b.contract(t, s, s.customer, date(2025, 1, 15), contracts.Terms{AutoRenew: ptr(false)}, line{b.monthly, "1", "310"})
	// One run catches up every period from Jan 15, 2025 to the term end,
	// Jan 14, 2026: 13 lines.
	inv := b.postRun(t, s, date(2026, 1, 1))
	eq(t, "invoices", len(inv), 1)
	lines := inv[0].Lines
	eq(t, "lines", len(lines), 13)
	// First: Jan 15-31, 2025 = 310 x 17/31 = 170.00.
	eqDec(t, "first net", lines[0].Net, "170.00")
	// Last: Jan 1-14, 2026 = 310 x 14/31 = 140.00.
	last := lines[12]
	eqDate(t, "last start", last.PeriodStart, date(2026, 1, 1))
	eqDate(t, "last end", last.PeriodEnd, date(2026, 1, 14))
	eqDec(t, "last net", last.Net, "140.00")
	// 170 + 11 x 310 + 140 = 3720.00 = 12 x 310; tax 744.00; total 4464.00.
	eqDec(t, "net", inv[0].Net, "3720.00")
	eqDec(t, "tax", inv[0].Tax, "744.00")
	eqDec(t, "total", inv[0].Total, "4464.00")
	// Nothing is left to bill after the term.
	eq(t, "invoices after the term", len(b.postRun(t, s, date(2026, 3, 1))), 0)
}

// Reverse charge applies to business customers with a VAT id of another
// EU member state than the site's, and only there: 100 a month each, so
// tax is 20.00 or 0.00.
func TestReverseCharge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := ukRules()
	r.country = "FR"
	fr := b.site(t, "FR", "EUR", r)
	uk := b.site(t, "UK", "GBP", ukRules())
	tests := []struct {
		name    string
		site    site
		vat     string
		reverse bool
		tax     string
	}{
		{"a consumer pays VAT", fr, "", false, "20.00"},
		{"a business of the same country pays VAT", fr, "FR12345678901", false, "20.00"},
		{"an EU business of another country is reverse-charged", fr, "DE123456789", true, "0.00"},
		{"a business outside the EU pays VAT", fr, "GB123456789", false, "20.00"},
		{"a site outside the EU never reverse-charges", uk, "DE123456789", false, "20.00"},
	}
	customers := make([]uuid.UUID, len(tests))
	for i, tt := range tests {
		customers[i] = b.customer(t, tt.site, tt.name, tt.vat)
		b.contract(t, tt.site, customers[i], date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	}
	invs := append(b.postRun(t, fr, date(2025, 1, 1)), b.postRun(t, uk, date(2025, 1, 1))...)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := invoiceOf(t, invs, customers[i])
			eq(t, "reverse charge", inv.ReverseCharge, tt.reverse)
			eqDec(t, "net", inv.Net, "100.00")
			eqDec(t, "tax", inv.Tax, tt.tax)
			eqDec(t, "line tax", inv.Lines[0].Tax, tt.tax)
			if tt.reverse {
				eqDec(t, "tax rate", inv.Lines[0].TaxRate, "0")
			}
		})
	}
}
