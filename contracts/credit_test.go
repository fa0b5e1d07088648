package contracts_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
)

// An invoice of 100 + 50 (tax 20 + 10) is credited in part, then in full,
// which voids it; credit notes have their own gap-free series.
func TestCreditNotes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"}, line{b.quarterly, "1", "50"})
	invs := b.postRun(t, s, date(2025, 1, 1))
	eq(t, "invoices", len(invs), 1)
	inv := invs[0]
	// Monthly 100.00 + quarterly 50 x 3 = 150.00: net 250.00, tax 50.00.
	eqDec(t, "invoice net", inv.Net, "250.00")
	l100, l150 := inv.Lines[0].ID, inv.Lines[1].ID
	if inv.Lines[0].Net.Equal(dec("150")) {
		l100, l150 = l150, l100
	}

	t.Run("more than is left of a line is refused", func(t *testing.T) {
		_, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 20), "too much", []contracts.CreditLine{{InvoiceLineID: l150, Amount: dec("150.01")}})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})
	t.Run("a line of another invoice is refused", func(t *testing.T) {
		_, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 20), "wrong line", []contracts.CreditLine{{InvoiceLineID: uuid.New(), Amount: dec("1")}})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})
	t.Run("a reason is required", func(t *testing.T) {
		_, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 20), " ", nil)
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})

	// Partial: 40.00 of the 100 line, tax 40 x 20 % = 8.00, total 48.00.
	cn1, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 20), "service outage", []contracts.CreditLine{{InvoiceLineID: l100, Amount: dec("40")}})
	must(t, err)
	eq(t, "first number", cn1.Number, "MUKCN-2025-000001")
	eqDec(t, "partial net", cn1.Net, "40.00")
	eqDec(t, "partial tax", cn1.Tax, "8.00")
	eqDec(t, "partial total", cn1.Total, "48.00")
	got, err := b.svc.Invoice(b.ctx, inv.ID)
	must(t, err)
	eq(t, "status after a partial credit", got.Status, contracts.InvoicePosted)

	// Full: what is left, 60.00 + 150.00 = 210.00; tax is what is left
	// of each line's tax: (20.00 - 8.00) + 30.00 = 42.00; total 252.00.
	cn2, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 21), "contract void", nil)
	must(t, err)
	eq(t, "second number", cn2.Number, "MUKCN-2025-000002")
	eqDec(t, "full net", cn2.Net, "210.00")
	eqDec(t, "full tax", cn2.Tax, "42.00")
	eqDec(t, "full total", cn2.Total, "252.00")
	eq(t, "chained", string(cn2.PrevHash), string(cn1.ChainHash))
	got, err = b.svc.Invoice(b.ctx, inv.ID)
	must(t, err)
	eq(t, "status after the full credit", got.Status, contracts.InvoiceVoid)
	// The invoice's own numbers are untouched by voiding.
	eq(t, "invoice number", got.Number, inv.Number)
	eqDec(t, "invoice net", got.Net, "250.00")

	_, err = b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 22), "again", nil)
	mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
	mustErr(t, ownerErr(b, `UPDATE billing.credit_note SET net = 0`), contracts.ErrImmutable, contracts.CodeImmutable)
}

// A draft invoice (prepared, not posted) cannot be credited.
func TestCreditOfDraftIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	run := b.prepared(t, s, date(2025, 1, 1))
	invs, err := b.svc.RunInvoices(b.ctx, run.ID)
	must(t, err)
	_, err = b.svc.CreditInvoice(b.ctx, invs[0].ID, date(2025, 1, 2), "draft", nil)
	mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
}
