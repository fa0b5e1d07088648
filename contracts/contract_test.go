package contracts_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/orders"
)

func TestCreateFromOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())

	t.Run("terms default to the site's rules", func(t *testing.T) {
		c := b.contract(t, s, s.customer, date(2025, 3, 15), contracts.Terms{}, line{b.monthly, "2", "100"}, line{b.annual, "1", "10"})
		eq(t, "status", c.Status, contracts.StatusActive)
		eqDate(t, "term start", c.TermStart, date(2025, 3, 15))
		eqDate(t, "term end", c.TermEnd, date(2026, 3, 14))
		eq(t, "renewal term", c.RenewalTermMonths, 12)
		eq(t, "notice days", c.NoticeDays, 30)
		eq(t, "auto renew", c.AutoRenew, true)
		eq(t, "lines", len(c.Lines), 2)
		eq(t, "timing", c.Lines[0].BillingTiming, contracts.Advance)
		eqDec(t, "cost snapshot", c.Lines[0].UnitCost, "60")
		eqDate(t, "billed through", c.Lines[1].BilledThrough, date(2025, 3, 14))
		eq(t, "legal entity", c.LegalEntityID, s.entity)
	})
	t.Run("the same order gives the same contract", func(t *testing.T) {
		o := b.booked(t, s, s.customer, line{b.monthly, "1", "100"})
		c1, err := b.svc.CreateFromOrder(b.ctx, o.ID, contracts.Terms{StartDate: ptr(date(2025, 1, 1))})
		must(t, err)
		c2, err := b.svc.CreateFromOrder(b.ctx, o.ID, contracts.Terms{StartDate: ptr(date(2025, 1, 1))})
		must(t, err)
		eq(t, "id", c2.ID, c1.ID)
		eq(t, "lines", len(c2.Lines), 1)
	})
	t.Run("an order not booked is refused", func(t *testing.T) {
		o, err := b.orders.CreateOrder(b.ctx, orders.OrderInput{SiteID: s.id, LegalEntityID: s.entity, CustomerID: s.customer, Salesperson: "ana",
			Lines: []orders.LineInput{{ProductID: b.monthly, Quantity: dec("1")}}})
		must(t, err)
		_, err = b.svc.CreateFromOrder(b.ctx, o.ID, contracts.Terms{})
		mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
	})
	t.Run("an unknown order is not found", func(t *testing.T) {
		_, err := b.svc.CreateFromOrder(b.ctx, uuid.New(), contracts.Terms{})
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeOrderNotFound)
	})
	t.Run("another site's contract is invisible", func(t *testing.T) {
		c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
		frOnly := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:fr@example.com", Role: auth.RoleStaff, Sites: []string{"FR"}, RequestID: "req-fr"})
		_, err := b.svc.Contract(frOnly, c.ID)
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeContractNotFound)
	})
}

// Under the per_customer rule a customer's orders make one contract, one
// version per order.
func TestContractPerCustomer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := ukRules()
	r.grouping = "per_customer"
	s := b.site(t, "UK", "GBP", r)
	c1 := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	c2 := b.contract(t, s, s.customer, date(2025, 2, 1), contracts.Terms{}, line{b.quarterly, "1", "50"})
	eq(t, "same contract", c2.ID, c1.ID)
	eq(t, "lines", len(c2.Lines), 2)
	eq(t, "line numbers", c2.Lines[1].LineNo, 2)
	eqDate(t, "second line starts with its order", c2.Lines[1].StartDate, date(2025, 2, 1))
	am, err := b.svc.Amendments(b.ctx, c1.ID)
	must(t, err)
	eq(t, "versions", len(am), 2)
	eq(t, "second version", am[1].Kind, "lines_added")
	// February: 100.00 for the monthly line, and the quarterly line from
	// Feb 1: Q1 has 90 days, Feb 1-Mar 31 is 59: 50 x 3 x 59/90 = 98.33.
	inv := b.postRun(t, s, date(2025, 2, 1))
	eq(t, "invoices", len(inv), 1)
	eqDec(t, "net (Jan + Feb 100 each + 98.33)", inv[0].Net, "298.33")

	c3, err := b.svc.AmendTerms(b.ctx, c1.ID, date(2025, 2, 2), contracts.Terms{UpliftPct: ptr(dec("4")), NoticeDays: ptr(60)})
	must(t, err)
	eqDec(t, "uplift", c3.UpliftPct, "4")
	eq(t, "notice days", c3.NoticeDays, 60)
	eq(t, "version", c3.Version, 3)
}
