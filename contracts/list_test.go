package contracts_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
)

// collect pages through a list with pages of size n and returns every
// item, checking no page is larger than n.
func collect[T any](t *testing.T, n int, list func(cursor string) (contracts.Page[T], error)) []T {
	t.Helper()
	var all []T
	cursor := ""
	for range 100 {
		p, err := list(cursor)
		must(t, err)
		if len(p.Items) > n {
			t.Fatalf("a page of %d items, limit %d", len(p.Items), n)
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
	t.Fatal("the list never ends")
	return nil
}

func TestListsPageThroughEverythingVisibleOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.site(t, "UK", "GBP", ukRules())
	fr := b.site(t, "FR", "EUR", ukRules())
	other := b.customer(t, uk, "Other Ltd", "")
	var ukContracts []uuid.UUID
	for i := range 5 {
		cust := uk.customer
		if i%2 == 1 {
			cust = other
		}
		ukContracts = append(ukContracts, b.contract(t, uk, cust, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"}).ID)
	}
	frContract := b.contract(t, fr, fr.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	_, err := b.svc.Cancel(b.ctx, ukContracts[4], contracts.Cancellation{Policy: contracts.PolicyImmediate, ReceivedOn: date(2025, 1, 20)})
	must(t, err)
	ukInvs := b.postRun(t, uk, date(2025, 1, 1))
	b.postRun(t, uk, date(2025, 2, 1))
	b.postRun(t, fr, date(2025, 1, 1))
	planned, err := b.svc.PlanRun(b.ctx, "UK", date(2025, 3, 1))
	must(t, err)

	t.Run("contracts, newest first, filtered by status and customer", func(t *testing.T) {
		all := collect(t, 2, func(c string) (contracts.Page[contracts.Contract], error) {
			return b.svc.ListContracts(b.ctx, contracts.ContractFilter{Limit: 2, Cursor: c})
		})
		eq(t, "contracts", len(all), 6)
		eq(t, "newest first", all[0].ID, frContract.ID)
		for _, c := range all {
			if len(c.Lines) != 1 {
				t.Fatalf("contract %s listed with %d lines", c.Number, len(c.Lines))
			}
		}
		mine := collect(t, 1, func(c string) (contracts.Page[contracts.Contract], error) {
			return b.svc.ListContracts(b.ctx, contracts.ContractFilter{SiteID: "UK", CustomerID: &other, Limit: 1, Cursor: c})
		})
		eq(t, "contracts of the other customer", len(mine), 2)
		cancelled, err := b.svc.ListContracts(b.ctx, contracts.ContractFilter{Status: contracts.StatusCancelled})
		must(t, err)
		if len(cancelled.Items) != 1 || cancelled.Items[0].ID != ukContracts[4] {
			t.Fatalf("cancelled %+v", cancelled.Items)
		}
		_, err = b.svc.ListContracts(b.ctx, contracts.ContractFilter{Status: "paused"})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
		_, err = b.svc.ListContracts(b.ctx, contracts.ContractFilter{Cursor: "bm9wZQ"})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})

	t.Run("a principal of one site lists only that site", func(t *testing.T) {
		frOnly := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:fr@example.com", Role: auth.RoleStaff, Sites: []string{"FR"}})
		cs, err := b.svc.ListContracts(frOnly, contracts.ContractFilter{})
		must(t, err)
		if len(cs.Items) != 1 || cs.Items[0].ID != frContract.ID {
			t.Fatalf("FR sees %+v", cs.Items)
		}
		runs, err := b.svc.ListRuns(frOnly, contracts.RunFilter{})
		must(t, err)
		eq(t, "FR runs", len(runs.Items), 1)
		invs, err := b.svc.ListInvoices(frOnly, contracts.InvoiceFilter{SiteID: "UK"})
		must(t, err)
		eq(t, "UK invoices seen from FR", len(invs.Items), 0)
		_, err = b.svc.RunInvoicePage(frOnly, ukInvs[0].RunID, "", 10)
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeRunNotFound)
		_, err = b.svc.InvoiceCreditNotes(frOnly, ukInvs[0].ID, "", 10)
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeInvoiceNotFound)
		_, err = b.svc.AmendmentPage(frOnly, ukContracts[0], "", 10)
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeContractNotFound)
	})

	t.Run("runs, newest first, filtered by site and status", func(t *testing.T) {
		all := collect(t, 2, func(c string) (contracts.Page[contracts.Run], error) {
			return b.svc.ListRuns(b.ctx, contracts.RunFilter{SiteID: "UK", Limit: 2, Cursor: c})
		})
		eq(t, "UK runs", len(all), 3)
		eq(t, "newest first", all[0].ID, planned.ID)
		posted, err := b.svc.ListRuns(b.ctx, contracts.RunFilter{Status: contracts.RunPosted})
		must(t, err)
		eq(t, "posted runs", len(posted.Items), 3)
		_, err = b.svc.ListRuns(b.ctx, contracts.RunFilter{Status: "late"})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})

	t.Run("invoices, newest first, filtered by customer, status and date", func(t *testing.T) {
		all := collect(t, 1, func(c string) (contracts.Page[contracts.Invoice], error) {
			return b.svc.ListInvoices(b.ctx, contracts.InvoiceFilter{SiteID: "UK", Limit: 1, Cursor: c})
		})
		eq(t, "UK invoices", len(all), 4) // two customers, two runs
		eqDate(t, "newest first", all[0].IssueDate, date(2025, 2, 1))
		for _, inv := range all {
			if len(inv.Lines) == 0 {
				t.Fatalf("invoice %s listed without lines", inv.Number)
			}
		}
		jan, err := b.svc.ListInvoices(b.ctx, contracts.InvoiceFilter{CustomerID: &other, From: ptr(date(2025, 1, 1)), To: ptr(date(2025, 1, 31))})
		must(t, err)
		if len(jan.Items) != 1 || jan.Items[0].CustomerID != other || !jan.Items[0].IssueDate.Equal(date(2025, 1, 1)) {
			t.Fatalf("January invoices of the other customer %+v", jan.Items)
		}
		_, err = b.svc.ListInvoices(b.ctx, contracts.InvoiceFilter{From: ptr(date(2025, 2, 1)), To: ptr(date(2025, 1, 1))})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
		_, err = b.svc.ListInvoices(b.ctx, contracts.InvoiceFilter{Status: "paid"})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)

		// Voiding one moves it from posted to void.
		_, err = b.svc.CreditInvoice(b.ctx, all[0].ID, date(2025, 2, 2), "wrong customer", nil)
		must(t, err)
		void, err := b.svc.ListInvoices(b.ctx, contracts.InvoiceFilter{Status: contracts.InvoiceVoid})
		must(t, err)
		if len(void.Items) != 1 || void.Items[0].ID != all[0].ID {
			t.Fatalf("void invoices %+v", void.Items)
		}
	})

	t.Run("a run's invoices in number order, paged", func(t *testing.T) {
		all := collect(t, 1, func(c string) (contracts.Page[contracts.Invoice], error) {
			return b.svc.RunInvoicePage(b.ctx, ukInvs[0].RunID, c, 1)
		})
		eq(t, "invoices of the run", len(all), len(ukInvs))
		for i := range all {
			eq(t, "number order", all[i].Seq, int64(i+1))
			eq(t, "lines", len(all[i].Lines), len(invoiceOf(t, ukInvs, all[i].CustomerID).Lines))
		}
	})

	t.Run("credit notes of an invoice, and one by id", func(t *testing.T) {
		inv := ukInvs[0]
		first, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 5), "goodwill", []contracts.CreditLine{{InvoiceLineID: inv.Lines[0].ID, Amount: dec("1.00")}})
		must(t, err)
		second, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 6), "goodwill again", []contracts.CreditLine{{InvoiceLineID: inv.Lines[0].ID, Amount: dec("2.00")}})
		must(t, err)
		all := collect(t, 1, func(c string) (contracts.Page[contracts.CreditNote], error) {
			return b.svc.InvoiceCreditNotes(b.ctx, inv.ID, c, 1)
		})
		if len(all) != 2 || all[0].ID != first.ID || all[1].ID != second.ID || len(all[1].Lines) != 1 {
			t.Fatalf("credit notes %+v", all)
		}
		got, err := b.svc.CreditNote(b.ctx, second.ID)
		must(t, err)
		if got.Number != second.Number || !got.Total.Equal(second.Total) || len(got.Lines) != 1 {
			t.Fatalf("credit note %+v, issued %+v", got, second)
		}
		_, err = b.svc.CreditNote(b.ctx, uuid.New())
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeCreditNoteNotFound)
	})
}
