package contracts_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
)

// A contract of 310 a month from Jan 1, 2025 (term to Dec 31), billed in
// advance through March, is cancelled on March 10 by each policy. March
// has 31 days, so a day is worth 10.00.
func TestCancellationPolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		proration string
		policy    contracts.Policy
		endOn     *time.Time
		end       time.Time
		status    contracts.Status
		credit    string // "" = no credit note
		creditTax string
		// Net billed for this contract by a run of June 1 (April-June).
		laterNet string
		// Status after renewals are processed on June 1.
		statusJune contracts.Status
	}{
		{
			// Ends Mar 10: keeps 10 days (100.00), credits 310 - 100 = 210.00, tax 42.00.
			name: "immediate ends today and credits the rest of the period", proration: "daily",
			policy: contracts.PolicyImmediate, end: date(2025, 3, 10), status: contracts.StatusCancelled,
			credit: "210.00", creditTax: "42.00", laterNet: "", statusJune: contracts.StatusCancelled,
		},
		{
			name: "immediate credits nothing where the site does not prorate", proration: "none",
			policy: contracts.PolicyImmediate, end: date(2025, 3, 10), status: contracts.StatusCancelled,
			laterNet: "", statusJune: contracts.StatusCancelled,
		},
		{
			name: "end of period ends with the billed month and credits nothing", proration: "daily",
			policy: contracts.PolicyEndOfPeriod, end: date(2025, 3, 31), status: contracts.StatusNoticeGiven,
			laterNet: "", statusJune: contracts.StatusCancelled,
		},
		{
			// Billing goes on: April-June 3 x 310 = 930.00.
			name: "end of term ends with the term and credits nothing", proration: "daily",
			policy: contracts.PolicyEndOfTerm, end: date(2025, 12, 31), status: contracts.StatusNoticeGiven,
			laterNet: "930.00", statusJune: contracts.StatusNoticeGiven,
		},
		{
			// Ends Mar 20: keeps 20 days (200.00), credits 110.00, tax 22.00.
			name: "a given date inside a billed period credits the days after it", proration: "daily",
			policy: contracts.PolicyOnDate, endOn: ptr(date(2025, 3, 20)), end: date(2025, 3, 20), status: contracts.StatusNoticeGiven,
			credit: "110.00", creditTax: "22.00", laterNet: "", statusJune: contracts.StatusCancelled,
		},
		{
			// Ends May 15: April 310.00 + May 1-15 = 310 x 15/31 = 150.00 -> 460.00.
			name: "a given date after the billed periods is billed up to it", proration: "daily",
			policy: contracts.PolicyOnDate, endOn: ptr(date(2025, 5, 15)), end: date(2025, 5, 15), status: contracts.StatusNoticeGiven,
			laterNet: "460.00", statusJune: contracts.StatusCancelled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			r := ukRules()
			r.proration = tt.proration
			s := b.site(t, "UK", "GBP", r)
			c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "310"})
			b.postRun(t, s, date(2025, 3, 1)) // Jan, Feb, Mar

			n, err := b.svc.Cancel(b.ctx, c.ID, contracts.Cancellation{Policy: tt.policy, ReceivedOn: date(2025, 3, 10), EndDate: tt.endOn})
			must(t, err)
			eqDate(t, "effective end", n.EffectiveEnd, tt.end)
			got, err := b.svc.Contract(b.ctx, c.ID)
			must(t, err)
			eq(t, "status", got.Status, tt.status)
			eqDate(t, "end date", *got.EndDate, tt.end)

			notes, err := b.svc.ContractCreditNotes(b.ctx, c.ID)
			must(t, err)
			if tt.credit == "" {
				eq(t, "credit notes", len(notes), 0)
			} else {
				eq(t, "credit notes", len(notes), 1)
				eqDec(t, "credit net", notes[0].Net, tt.credit)
				eqDec(t, "credit tax", notes[0].Tax, tt.creditTax)
				eqDate(t, "credited period", notes[0].Lines[0].PeriodStart, date(2025, 3, 1))
			}
			// No fee: the rule is none.
			charges, err := b.svc.Charges(b.ctx, c.ID)
			must(t, err)
			eq(t, "charges", len(charges), 0)

			later := b.postRun(t, s, date(2025, 6, 1))
			if tt.laterNet == "" {
				eq(t, "invoices after the cancellation", len(later), 0)
			} else {
				eq(t, "invoices after the cancellation", len(later), 1)
				eqDec(t, "net billed after the cancellation", later[0].Net, tt.laterNet)
			}
			_, err = b.svc.ProcessRenewals(b.ctx, date(2025, 6, 1))
			must(t, err)
			got, err = b.svc.Contract(b.ctx, c.ID)
			must(t, err)
			eq(t, "status in June", got.Status, tt.statusJune)
		})
	}
}

// A contract of 100 a month from Jan 1, 2025 to Dec 31 is cancelled on
// June 15; the early-termination fee is charged by rule and billed by the
// next run.
func TestEarlyTerminationFee(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		terms  contracts.Terms
		policy contracts.Policy
		fee    string // "" = none
	}{
		{
			name: "a fixed fee", terms: contracts.Terms{ETFRule: ptr(contracts.ETFFixed), ETFValue: ptr(dec("500"))},
			policy: contracts.PolicyEndOfPeriod, fee: "500.00",
		},
		{
			// Ends Jun 30; remaining Jul-Dec = 6 x 100 = 600; 50 % = 300.00.
			name: "a percentage of the remaining value", terms: contracts.Terms{ETFRule: ptr(contracts.ETFPct), ETFValue: ptr(dec("50"))},
			policy: contracts.PolicyEndOfPeriod, fee: "300.00",
		},
		{
			// Ends Jun 15; remaining Jun 16-30 = 100 x 15/30 = 50 plus
			// Jul-Dec 600 = 650.00.
			name: "all of the remaining value", terms: contracts.Terms{ETFRule: ptr(contracts.ETFRemaining)},
			policy: contracts.PolicyImmediate, fee: "650.00",
		},
		{
			// Ends Jun 30; remaining lines 600, but the minimum commitment
			// 2000 less the 600 served (Jan-Jun) is 1400.00, the higher.
			name:   "the minimum commitment raises the remaining value",
			terms:  contracts.Terms{ETFRule: ptr(contracts.ETFRemaining), MinimumCommitment: ptr(dec("2000"))},
			policy: contracts.PolicyEndOfPeriod, fee: "1400.00",
		},
		{
			name: "no fee when the contract ends with its term", terms: contracts.Terms{ETFRule: ptr(contracts.ETFFixed), ETFValue: ptr(dec("500"))},
			policy: contracts.PolicyEndOfTerm,
		},
		{
			name: "no fee under rule none", policy: contracts.PolicyImmediate,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := b.site(t, "UK", "GBP", ukRules())
			c := b.contract(t, s, s.customer, date(2025, 1, 1), tt.terms, line{b.monthly, "1", "100"})
			_, err := b.svc.Cancel(b.ctx, c.ID, contracts.Cancellation{Policy: tt.policy, ReceivedOn: date(2025, 6, 15)})
			must(t, err)
			charges, err := b.svc.Charges(b.ctx, c.ID)
			must(t, err)
			if tt.fee == "" {
				eq(t, "charges", len(charges), 0)
				return
			}
			eq(t, "charges", len(charges), 1)
			eqDec(t, "fee", charges[0].Amount, tt.fee)

			// The next run bills the fee once, with VAT, as a one-day line.
			inv := b.postRun(t, s, date(2025, 7, 1))
			var fee *contracts.InvoiceLine
			for i, l := range inv[0].Lines {
				if l.ChargeID != nil && *l.ChargeID == charges[0].ID {
					fee = &inv[0].Lines[i]
				}
			}
			if fee == nil {
				t.Fatalf("the fee is not on the invoice: %v", inv[0].Lines)
			}
			eqDec(t, "fee net", fee.Net, tt.fee)
			eqDec(t, "fee tax", fee.Tax, dec(tt.fee).Mul(dec("0.2")).StringFixed(2))
			eqDate(t, "fee date", fee.PeriodStart, date(2025, 6, 15))
			for _, i := range b.postRun(t, s, date(2025, 8, 1)) {
				for _, l := range i.Lines {
					if l.ChargeID != nil {
						t.Fatalf("the fee was billed twice")
					}
				}
			}
		})
	}
}

// Cancelling needs a live contract and, for on_date, an end date not
// before the day it is asked.
func TestCancellationErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	_, err := b.svc.Cancel(b.ctx, c.ID, contracts.Cancellation{Policy: contracts.PolicyOnDate, ReceivedOn: date(2025, 3, 10), EndDate: ptr(date(2025, 3, 9))})
	mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	_, err = b.svc.Cancel(b.ctx, c.ID, contracts.Cancellation{Policy: "whenever", ReceivedOn: date(2025, 3, 10)})
	mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	_, err = b.svc.Cancel(b.ctx, uuid.New(), contracts.Cancellation{Policy: contracts.PolicyImmediate, ReceivedOn: date(2025, 3, 10)})
	mustErr(t, err, contracts.ErrNotFound, contracts.CodeContractNotFound)
	_, err = b.svc.Cancel(b.ctx, c.ID, contracts.Cancellation{Policy: contracts.PolicyImmediate, ReceivedOn: date(2025, 3, 10)})
	must(t, err)
	_, err = b.svc.Cancel(b.ctx, c.ID, contracts.Cancellation{Policy: contracts.PolicyImmediate, ReceivedOn: date(2025, 3, 11)})
	mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
}

// A site changes its cancellation policy twice; requests that name no
// policy are cancelled by the one in force on the day they are received.
func TestCancelWithoutAPolicyTakesTheSitePolicyInForce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules()) // end_of_term since 2020, 30 days' notice
	now := time.Now().UTC()
	today := date(now.Year(), now.Month(), now.Day())
	noticeFrom, immediateFrom := today.AddDate(0, 0, 30), today.AddDate(0, 0, 60)
	for _, r := range []struct {
		from   time.Time
		policy string
	}{{noticeFrom, "end_of_notice"}, {immediateFrom, "immediate_with_fee"}} {
		b.ownerExec(t, `INSERT INTO core.site_setting (site_id, effective_from, billing_timing, proration, default_renewal_months,
				notice_days, cancellation_policy, invoice_number_format, tax_rate, reverse_charge, rounding, rounding_scale,
				currency, timezone, approval_amount_threshold, approval_min_margin_pct, contract_grouping)
			SELECT site_id, $2, billing_timing, proration, default_renewal_months, notice_days, $3, invoice_number_format,
				tax_rate, reverse_charge, rounding, rounding_scale, currency, timezone, approval_amount_threshold,
				approval_min_margin_pct, contract_grouping
			FROM core.site_setting WHERE site_id = $1 AND effective_from = '2020-01-01'`, s.id, r.from, r.policy)
	}
	terms := contracts.Terms{NoticeDays: ptr(45), ETFRule: ptr(contracts.ETFFixed), ETFValue: ptr(dec("100"))}
	newContract := func() contracts.Contract {
		return b.contract(t, s, s.customer, today, terms, line{b.monthly, "1", "100"})
	}
	tests := []struct {
		name       string
		receivedOn time.Time
		policy     contracts.Policy
		end        func(c contracts.Contract) time.Time
		status     contracts.Status
		fee        bool
	}{
		{"before the first change: a notice of non-renewal", noticeFrom.AddDate(0, 0, -1), contracts.PolicyEndOfTerm,
			func(c contracts.Contract) time.Time { return c.TermEnd }, contracts.StatusNoticeGiven, false},
		{"from the first change: the contract's 45 days' notice", noticeFrom.AddDate(0, 0, 5), contracts.PolicyOnDate,
			func(contracts.Contract) time.Time { return noticeFrom.AddDate(0, 0, 5+45) }, contracts.StatusNoticeGiven, true},
		{"from the second change: at once, with the fee", immediateFrom, contracts.PolicyImmediate,
			func(contracts.Contract) time.Time { return immediateFrom }, contracts.StatusCancelled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newContract()
			n, err := b.svc.Cancel(b.ctx, c.ID, contracts.Cancellation{ReceivedOn: tt.receivedOn})
			must(t, err)
			eq(t, "policy applied", n.Policy, tt.policy)
			eqDate(t, "effective end", n.EffectiveEnd, tt.end(c))
			got, err := b.svc.Contract(b.ctx, c.ID)
			must(t, err)
			eq(t, "status", got.Status, tt.status)
			charges, err := b.svc.Charges(b.ctx, c.ID)
			must(t, err)
			eq(t, "early-termination fee charged", len(charges) == 1, tt.fee)
		})
	}

	t.Run("an end date needs policy on_date", func(t *testing.T) {
		_, err := b.svc.Cancel(b.ctx, newContract().ID, contracts.Cancellation{ReceivedOn: today, EndDate: ptr(today.AddDate(0, 1, 0))})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})
	t.Run("an unknown contract is not found", func(t *testing.T) {
		_, err := b.svc.Cancel(b.ctx, uuid.New(), contracts.Cancellation{ReceivedOn: today})
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeContractNotFound)
	})
}
