package contracts_test

import (
	"testing"
	"time"

	"github.com/messina-oms/messina/contracts"
)

// The contract of these tests runs Jan 1 - Dec 31, 2025, renews for 12
// months, and needs 30 days' notice: a notice must arrive before
// Dec 31 - 30 days = Dec 1, so Nov 30 is the last day on time.
func TestRenewals(t *testing.T) {
	t.Parallel()
	type step struct {
		asOf        time.Time
		renewed     int
		termNo      int
		termEnd     time.Time
		status      contracts.Status
		price       string
		unchangedOK bool // a repeat of the previous as_of: nothing may change
	}
	tests := []struct {
		name      string
		terms     contracts.Terms
		price     string
		notice    *time.Time
		onTime    bool
		noticeEnd time.Time
		steps     []step
	}{
		{
			// 99.99 x 1.035 = 103.48965 -> 103.4897 (the price's 4 places).
			name: "without notice the contract renews with its uplift, once", price: "99.99",
			terms: contracts.Terms{UpliftPct: ptr(dec("3.5"))},
			steps: []step{
				{asOf: date(2025, 12, 30), renewed: 0, termNo: 1, termEnd: date(2025, 12, 31), status: contracts.StatusActive, price: "99.99"},
				{asOf: date(2025, 12, 31), renewed: 1, termNo: 2, termEnd: date(2026, 12, 31), status: contracts.StatusActive, price: "103.4897"},
				{asOf: date(2025, 12, 31), renewed: 0, termNo: 2, termEnd: date(2026, 12, 31), status: contracts.StatusActive, price: "103.4897", unchangedOK: true},
			},
		},
		{
			// 100 -> 110 -> 121: two terms ended by mid-2027.
			name: "a late call catches up every term", price: "100",
			terms: contracts.Terms{UpliftPct: ptr(dec("10"))},
			steps: []step{
				{asOf: date(2027, 6, 30), renewed: 2, termNo: 3, termEnd: date(2027, 12, 31), status: contracts.StatusActive, price: "121"},
			},
		},
		{
			name: "a notice on time ends the contract at its term end", price: "100",
			terms:  contracts.Terms{UpliftPct: ptr(dec("5"))},
			notice: ptr(date(2025, 11, 30)), onTime: true, noticeEnd: date(2025, 12, 31),
			steps: []step{
				{asOf: date(2025, 12, 31), renewed: 0, termNo: 1, termEnd: date(2025, 12, 31), status: contracts.StatusEnded, price: "100"},
				{asOf: date(2025, 12, 31), renewed: 0, termNo: 1, termEnd: date(2025, 12, 31), status: contracts.StatusEnded, price: "100", unchangedOK: true},
			},
		},
		{
			// Dec 1 is one day late: the contract renews (with uplift) and
			// the notice ends it at the end of the next term.
			name: "a notice one day late still renews", price: "100",
			terms:  contracts.Terms{UpliftPct: ptr(dec("5"))},
			notice: ptr(date(2025, 12, 1)), onTime: false, noticeEnd: date(2026, 12, 31),
			steps: []step{
				{asOf: date(2025, 12, 31), renewed: 1, termNo: 2, termEnd: date(2026, 12, 31), status: contracts.StatusNoticeGiven, price: "105"},
				{asOf: date(2026, 12, 31), renewed: 0, termNo: 2, termEnd: date(2026, 12, 31), status: contracts.StatusEnded, price: "105"},
			},
		},
		{
			name: "without auto-renew the contract ends at its term end", price: "100",
			terms: contracts.Terms{AutoRenew: ptr(false)},
			steps: []step{
				{asOf: date(2025, 12, 31), renewed: 0, termNo: 1, termEnd: date(2025, 12, 31), status: contracts.StatusEnded, price: "100"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := b.site(t, "UK", "GBP", ukRules())
			c := b.contract(t, s, s.customer, date(2025, 1, 1), tt.terms, line{b.monthly, "1", tt.price})
			if tt.notice != nil {
				n, err := b.svc.GiveNotice(b.ctx, c.ID, *tt.notice)
				must(t, err)
				eq(t, "on time", n.OnTime, tt.onTime)
				eqDate(t, "effective end", n.EffectiveEnd, tt.noticeEnd)
			}
			prev, err := b.svc.Contract(b.ctx, c.ID)
			must(t, err)
			for _, st := range tt.steps {
				n, err := b.svc.ProcessRenewals(b.ctx, st.asOf)
				must(t, err)
				eq(t, "renewed", n, st.renewed)
				got, err := b.svc.Contract(b.ctx, c.ID)
				must(t, err)
				eq(t, "term no", got.TermNo, st.termNo)
				eqDate(t, "term end", got.TermEnd, st.termEnd)
				eq(t, "status", got.Status, st.status)
				eqDec(t, "price", got.Lines[0].UnitPrice, st.price)
				if st.unchangedOK {
					eq(t, "version after a repeat", got.Version, prev.Version)
				}
				prev = got
			}
		})
	}
}

// The uplifted price reaches the invoices of the new term, and every
// change left an immutable version.
func TestRenewalUpliftIsInvoiced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{UpliftPct: ptr(dec("3.5"))}, line{b.monthly, "1", "99.99"})
	b.postRun(t, s, date(2025, 12, 1)) // Jan-Dec 2025 at 99.99
	// Run before the renewal: billing stops at the term end.
	eq(t, "invoices before the renewal", len(b.postRun(t, s, date(2026, 1, 1))), 0)
	n, err := b.svc.ProcessRenewals(b.ctx, date(2025, 12, 31))
	must(t, err)
	eq(t, "renewed", n, 1)
	inv := b.postRun(t, s, date(2026, 1, 1))
	eq(t, "invoices", len(inv), 1)
	// 103.4897 a month -> 103.49; tax 20.698 -> 20.70.
	eqDate(t, "period", inv[0].Lines[0].PeriodStart, date(2026, 1, 1))
	eqDec(t, "net", inv[0].Net, "103.49")
	eqDec(t, "tax", inv[0].Tax, "20.70")

	am, err := b.svc.Amendments(b.ctx, c.ID)
	must(t, err)
	eq(t, "versions", len(am), 2)
	eq(t, "first", am[0].Kind, "created")
	eq(t, "second", am[1].Kind, "renewed")
	eq(t, "second version", am[1].Version, 2)
	mustErr(t, ownerErr(b, `UPDATE contracts.amendment SET kind = 'terms'`), contracts.ErrImmutable, contracts.CodeImmutable)
	mustErr(t, appErr(b, `DELETE FROM contracts.amendment`), contracts.ErrForbidden, contracts.CodeForbidden)
}
