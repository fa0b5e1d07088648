package kpi_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/kpi"
)

// mrrFixture makes these contracts (prices a month, 12-month terms):
//
//	UK (one contract per customer), GBP:
//	  Acme  C1 from 2025-01-15: fibre 100, uplift 10 % at renewal;
//	        2025-03-01 an upgrade adds support 50 (billed yearly, counted
//	        monthly) to C1; renewed 2026-01-15 (110 + 55 = 165);
//	        cancelled at once on 2026-04-10
//	  Beta  C2 from 2025-02-01: fibre 80, does not renew, ends 2026-01-31;
//	        C3 from 2026-03-01: fibre 80 (C2 has ended: a new contract)
//	FR (one contract per order), EUR:
//	  Dupont C4 from 2025-06-01: fibre 2 x 110, ends 2025-09-30 on notice;
//	         C5 from 2025-06-01: fibre 110, renews (not processed yet)
func mrrFixture(t *testing.T, b *testBundle) (uk, fr site, c1, c2, c3 contracts.Contract) {
	t.Helper()
	uk = b.site(t, "UK", "GBP", "Europe/London", "per_customer", price{b.fibre, "100", "60"}, price{b.support, "50", "20"})
	fr = b.site(t, "FR", "EUR", "Europe/Paris", "per_order", price{b.fibre, "110", "65"})
	acme, beta, dupont := b.customer(t, uk, "Acme"), b.customer(t, uk, "Beta"), b.customer(t, fr, "Dupont")
	c1 = b.contract(t, b.booked(t, b.order(t, uk, acme, "ana", "", line{product: b.fibre, qty: "1"}), date(2025, 1, 10)),
		date(2025, 1, 15), contracts.Terms{UpliftPct: ptr(dec("10"))})
	c2 = b.contract(t, b.booked(t, b.order(t, uk, beta, "bob", "", line{product: b.fibre, qty: "1", price: "80"}), date(2025, 1, 20)),
		date(2025, 2, 1), contracts.Terms{AutoRenew: ptr(false)})
	up := b.contract(t, b.booked(t, b.order(t, uk, acme, "ana", "", line{product: b.support, qty: "1"}), date(2025, 2, 20)),
		date(2025, 3, 1), contracts.Terms{})
	if up.ID != c1.ID {
		t.Fatalf("the upgrade made contract %s, want lines added to %s", up.Number, c1.Number)
	}
	c4 := b.contract(t, b.booked(t, b.order(t, fr, dupont, "carla", "", line{product: b.fibre, qty: "2"}), date(2025, 5, 20)),
		date(2025, 6, 1), contracts.Terms{})
	b.contract(t, b.booked(t, b.order(t, fr, dupont, "carla", "", line{product: b.fibre, qty: "1"}), date(2025, 5, 21)),
		date(2025, 6, 1), contracts.Terms{})
	_, err := b.contracts.Cancel(b.ctx, c4.ID, contracts.Cancellation{Policy: "on_date", ReceivedOn: date(2025, 9, 1), EndDate: ptr(date(2025, 9, 30))})
	must(t, err)
	_, err = b.contracts.ProcessRenewals(b.ctx, date(2026, 1, 20))
	must(t, err)
	_, err = b.contracts.ProcessRenewals(b.ctx, date(2026, 2, 1))
	must(t, err)
	c3 = b.contract(t, b.booked(t, b.order(t, uk, beta, "bob", "", line{product: b.fibre, qty: "1", price: "80"}), date(2026, 2, 20)),
		date(2026, 3, 1), contracts.Terms{})
	if c3.ID == c2.ID {
		t.Fatal("Beta's new order joined its ended contract")
	}
	_, err = b.contracts.Cancel(b.ctx, c1.ID, contracts.Cancellation{Policy: "immediate", ReceivedOn: date(2026, 4, 10)})
	must(t, err)
	b.refresh(t)
	return uk, fr, c1, c2, c3
}

func mrrRow(r kpi.MRRMovement) string {
	who := r.CustomerName
	if r.ContractNumber != "" {
		who += "/" + r.ContractNumber
	}
	return fmt.Sprintf("%s %s %s %s open=%s new=%s exp=%s contr=%s churn=%s react=%s close=%s units=%d",
		r.Month, r.Site, r.Currency, who, text(r.Opening), text(r.New), text(r.Expansion), text(r.Contraction),
		text(r.Churned), text(r.Reactivation), text(r.Closing), r.ClosingUnits)
}

func TestMRR(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, _, c1, c2, c3 := mrrFixture(t, b)
	flat := func(m string) string {
		return m + " UK GBP  open=230.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=230.00 units=2"
	}

	cases := []struct {
		name   string
		filter kpi.MRRFilter
		want   []string
	}{
		{
			// MRR is what is in service on a month's last day: Acme from
			// January, Beta from February; the upgrade in March; the
			// uplifted renewal from 15 January 2026; Beta's contract ends
			// on 31 January 2026 (churn in February) and its new one starts
			// in March (reactivation: Beta had MRR before); Acme stops on
			// 10 April 2026.
			name:   "per customer, site and month",
			filter: kpi.MRRFilter{Site: "UK", To: month("2026-05")},
			want: []string{
				"2025-01 UK GBP  open=0.00 new=100.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=100.00 units=1",
				"2025-02 UK GBP  open=100.00 new=80.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=180.00 units=2",
				"2025-03 UK GBP  open=180.00 new=0.00 exp=50.00 contr=0.00 churn=0.00 react=0.00 close=230.00 units=2",
				flat("2025-04"), flat("2025-05"), flat("2025-06"), flat("2025-07"), flat("2025-08"),
				flat("2025-09"), flat("2025-10"), flat("2025-11"), flat("2025-12"),
				"2026-01 UK GBP  open=230.00 new=0.00 exp=15.00 contr=0.00 churn=0.00 react=0.00 close=245.00 units=2",
				"2026-02 UK GBP  open=245.00 new=0.00 exp=0.00 contr=0.00 churn=-80.00 react=0.00 close=165.00 units=1",
				"2026-03 UK GBP  open=165.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=80.00 close=245.00 units=2",
				"2026-04 UK GBP  open=245.00 new=0.00 exp=0.00 contr=0.00 churn=-165.00 react=0.00 close=80.00 units=1",
				"2026-05 UK GBP  open=80.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=80.00 units=1",
			},
		},
		{
			// Per customer, Dupont's ending contract is a contraction of
			// Dupont's MRR.
			name:   "per customer in FR",
			filter: kpi.MRRFilter{Site: "FR", From: month("2025-05"), To: month("2025-11"), GroupBy: []kpi.Dimension{kpi.ByMonth, kpi.ByCustomer}},
			want: []string{
				"2025-06  EUR Dupont open=0.00 new=330.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=1",
				"2025-07  EUR Dupont open=330.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=1",
				"2025-08  EUR Dupont open=330.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=1",
				"2025-09  EUR Dupont open=330.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=1",
				"2025-10  EUR Dupont open=330.00 new=0.00 exp=0.00 contr=-220.00 churn=0.00 react=0.00 close=110.00 units=1",
				"2025-11  EUR Dupont open=110.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=110.00 units=1",
			},
		},
		{
			// Per contract, the same month is a churn, and both contracts
			// were new.
			name: "per contract in FR",
			filter: kpi.MRRFilter{Site: "FR", Level: kpi.LevelContract, From: month("2025-06"), To: month("2025-10"),
				GroupBy: []kpi.Dimension{kpi.ByMonth}},
			want: []string{
				"2025-06  EUR  open=0.00 new=330.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=2",
				"2025-07  EUR  open=330.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=2",
				"2025-08  EUR  open=330.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=2",
				"2025-09  EUR  open=330.00 new=0.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=330.00 units=2",
				"2025-10  EUR  open=330.00 new=0.00 exp=0.00 contr=0.00 churn=-220.00 react=0.00 close=110.00 units=1",
			},
		},
		{
			// Over a range (not per month), opening is the MRR before it
			// (December 2025) and closing the MRR at its end; C3 is new
			// business per contract, not a reactivation.
			name: "per contract over a range",
			filter: kpi.MRRFilter{Site: "UK", Level: kpi.LevelContract, From: month("2026-01"), To: month("2026-04"),
				GroupBy: []kpi.Dimension{kpi.ByContract}},
			want: sortedByContract([]contracts.Contract{c1, c2, c3}, map[string]string{
				c1.Number: "  GBP Acme/" + c1.Number + " open=150.00 new=0.00 exp=15.00 contr=0.00 churn=-165.00 react=0.00 close=0.00 units=0",
				c2.Number: "  GBP Beta/" + c2.Number + " open=80.00 new=0.00 exp=0.00 contr=0.00 churn=-80.00 react=0.00 close=0.00 units=0",
				c3.Number: "  GBP Beta/" + c3.Number + " open=0.00 new=80.00 exp=0.00 contr=0.00 churn=0.00 react=0.00 close=80.00 units=1",
			}),
		},
		{
			// With no range, opening is 0 and closing is today's MRR: the
			// movements of all time add up to it.
			name:   "per site of all time",
			filter: kpi.MRRFilter{Site: "UK", GroupBy: []kpi.Dimension{kpi.BySite}},
			want: []string{
				" UK GBP  open=0.00 new=180.00 exp=65.00 contr=0.00 churn=-245.00 react=80.00 close=80.00 units=1",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := b.kpi.MRR(b.ctx, tc.filter)
			must(t, err)
			var got []string
			for _, r := range page.Items {
				got = append(got, mrrRow(r))
			}
			eqRows(t, tc.name, got, tc.want)
		})
	}
}

// sortedByContract orders the rows of contracts as the report does, by
// customer id, then contract id.
func sortedByContract(cs []contracts.Contract, rows map[string]string) []string {
	slices.SortFunc(cs, func(a, b contracts.Contract) int {
		return cmp.Or(strings.Compare(a.CustomerID.String(), b.CustomerID.String()), strings.Compare(a.ID.String(), b.ID.String()))
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = rows[c.Number]
	}
	return out
}
