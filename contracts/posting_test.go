package contracts_test

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
)

// Four approved runs of one legal entity (two invoices each) posted at
// once take numbers 1-8: no gap, no duplicate, each run's numbers
// consecutive, and every invoice chained to the one before.
func TestConcurrentPostsGiveConsecutiveNumbers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	other := b.customer(t, s, "Other Ltd", "")
	for _, cu := range []uuid.UUID{s.customer, other} {
		b.contract(t, s, cu, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	}
	var runs []uuid.UUID
	for m := time.January; m <= time.April; m++ {
		run := b.prepared(t, s, date(2025, m, 1))
		eq(t, "invoices per run", run.InvoiceCount, 2)
		_, err := b.svc.ApproveRun(b.ctx, run.ID)
		must(t, err)
		runs = append(runs, run.ID)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(runs))
	for i, id := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.svc.PostRun(b.ctx, id)
		}()
	}
	wg.Wait()
	var all []contracts.Invoice
	for i, id := range runs {
		must(t, errs[i])
		invs, err := b.svc.RunInvoices(b.ctx, id)
		must(t, err)
		eq(t, "invoices", len(invs), 2)
		eq(t, "a run's numbers are consecutive", invs[1].Seq, invs[0].Seq+1)
		all = append(all, invs...)
	}
	slices.SortFunc(all, func(a, b contracts.Invoice) int { return int(a.Seq - b.Seq) })
	var prev []byte
	for i, inv := range all {
		eq(t, "seq", inv.Seq, int64(i+1))
		eq(t, "number", inv.Number, fmt.Sprintf("MUK-2025-%06d", i+1))
		eq(t, "prev hash", string(inv.PrevHash), string(prev))
		h := sha256.Sum256(append(append([]byte{}, prev...), inv.ContentHash...))
		eq(t, "chain hash", string(inv.ChainHash), string(h[:]))
		prev = inv.ChainHash
	}
	eq(t, "series", b.count(t, `SELECT last_seq FROM billing.number_series WHERE legal_entity_id = $1 AND kind = 'invoice'`, s.entity), 8)
}

// An error injected after the first invoice of a run is numbered rolls
// the whole post back: no number consumed, no invoice posted. The next
// post starts at 1.
func TestFailedPostConsumesNoNumber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	other := b.customer(t, s, "Other Ltd", "")
	for _, cu := range []uuid.UUID{s.customer, other} {
		b.contract(t, s, cu, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	}
	run := b.prepared(t, s, date(2025, 1, 1))
	_, err := b.svc.ApproveRun(b.ctx, run.ID)
	must(t, err)
	b.ownerExec(t, `CREATE FUNCTION public.fail_second_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'injected failure numbering %', NEW.number; END $$`)
	b.ownerExec(t, `CREATE TRIGGER fail_second_invoice BEFORE UPDATE ON billing.invoice
		FOR EACH ROW WHEN (NEW.seq = 2) EXECUTE FUNCTION public.fail_second_invoice()`)

	_, err = b.svc.PostRun(b.ctx, run.ID)
	if err == nil {
		t.Fatal("the post succeeded despite the injected failure")
	}
	got, err := b.svc.Run(b.ctx, run.ID)
	must(t, err)
	eq(t, "run status", got.Status, contracts.RunApproved)
	eq(t, "numbered invoices", b.count(t, `SELECT count(*) FROM billing.invoice WHERE number IS NOT NULL OR status <> 'draft'`), 0)
	eq(t, "series rows", b.count(t, `SELECT count(*) FROM billing.number_series`), 0)

	b.ownerExec(t, `DROP TRIGGER fail_second_invoice ON billing.invoice`)
	_, err = b.svc.PostRun(b.ctx, run.ID)
	must(t, err)
	invs, err := b.svc.RunInvoices(b.ctx, run.ID)
	must(t, err)
	eq(t, "first number", invs[0].Number, "MUK-2025-000001")
	eq(t, "second number", invs[1].Number, "MUK-2025-000002")
}

// Invoices record their parties at posting, for good, and EN 16931
// documents need both addresses: a run with a party lacking one is neither
// approved nor posted (an address removed after approval), naming it;
// given the address, it goes through and the invoices carry it.
func TestRunsNeedThePartiesPostalAddresses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	bare := b.customer(t, s, "Bare Ltd", "")
	for _, cu := range []uuid.UUID{s.customer, bare} {
		b.contract(t, s, cu, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	}
	run := b.prepared(t, s, date(2025, 1, 1))
	refused := func(step string, err error, want string) {
		t.Helper()
		if contracts.ErrorCode(err) != "validation_failed" || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want a validation error naming %s", step, err, want)
		}
	}
	b.ownerExec(t, `UPDATE core.customer SET address_street = NULL, address_city = NULL, address_postcode = NULL, address_country = NULL WHERE id = $1`, bare)
	_, err := b.svc.ApproveRun(b.ctx, run.ID)
	refused("approve", err, "customer Bare Ltd")

	b.ownerExec(t, `UPDATE core.customer SET address_street = '3 New Road', address_city = 'York', address_postcode = 'YO1 1AA', address_country = 'GB' WHERE id = $1`, bare)
	_, err = b.svc.ApproveRun(b.ctx, run.ID)
	must(t, err)
	b.ownerExec(t, `UPDATE core.legal_entity SET address_street = NULL, address_city = NULL, address_postcode = NULL, address_country = NULL WHERE id = $1`, s.entity)
	_, err = b.svc.PostRun(b.ctx, run.ID)
	refused("post", err, "legal entity UK entity")
	eq(t, "numbered invoices", b.count(t, `SELECT count(*) FROM billing.invoice WHERE number IS NOT NULL`), 0)

	b.ownerExec(t, `UPDATE core.legal_entity SET address_street = '1 Main Street', address_city = 'Capital', address_postcode = '1000', address_country = 'GB' WHERE id = $1`, s.entity)
	_, err = b.svc.PostRun(b.ctx, run.ID)
	must(t, err)
	invs, err := b.svc.RunInvoices(b.ctx, run.ID)
	must(t, err)
	for _, inv := range invs {
		if inv.Seller == nil || inv.Seller.Address == nil || inv.Buyer == nil || inv.Buyer.Address == nil {
			t.Fatalf("invoice %s posted with parties %+v, %+v", inv.Number, inv.Seller, inv.Buyer)
		}
	}
}

// A preview is prepare_run itself, rolled back: it shows the amounts and
// leaves nothing behind, not even in the audit log.
func TestPreviewLeavesNoTrace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "2", "100"})
	run, err := b.svc.PlanRun(b.ctx, s.id, date(2025, 1, 1))
	must(t, err)
	auditBefore := b.count(t, `SELECT count(*) FROM audit.log`)

	preview, err := b.svc.PreviewRun(b.ctx, run.ID)
	must(t, err)
	eq(t, "invoices", len(preview), 1)
	// 2 x 100 = 200.00, tax 40.00, total 240.00.
	eqDec(t, "net", preview[0].Net, "200.00")
	eqDec(t, "tax", preview[0].Tax, "40.00")
	eqDec(t, "total", preview[0].Total, "240.00")
	eqDate(t, "period", preview[0].Lines[0].PeriodEnd, date(2025, 1, 31))

	got, err := b.svc.Run(b.ctx, run.ID)
	must(t, err)
	eq(t, "run status", got.Status, contracts.RunPlanned)
	eq(t, "invoices stored", b.count(t, `SELECT count(*) FROM billing.invoice`), 0)
	eq(t, "lines stored", b.count(t, `SELECT count(*) FROM billing.invoice_line`), 0)
	eq(t, "series", b.count(t, `SELECT count(*) FROM billing.number_series`), 0)
	// The preview's own transaction logs nothing that survives.
	eq(t, "audit rows", b.count(t, `SELECT count(*) FROM audit.log`), auditBefore)
	cc, err := b.svc.Contract(b.ctx, c.ID)
	must(t, err)
	eqDate(t, "billed through", cc.Lines[0].BilledThrough, date(2024, 12, 31))

	// Preparing gives what the preview showed.
	_, err = b.svc.PrepareRun(b.ctx, run.ID)
	must(t, err)
	invs, err := b.svc.RunInvoices(b.ctx, run.ID)
	must(t, err)
	eqDec(t, "prepared total", invs[0].Total, "240.00")
}

// The same period is never billed twice: not by preparing a run again, not
// by a second run of the same date, not by two runs prepared at once; a
// discarded run's periods become due again and take no number.
func TestPeriodsAreBilledOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	janLines := `SELECT count(*) FROM billing.invoice_line WHERE period_start = '2025-01-01'`

	run1 := b.prepared(t, s, date(2025, 1, 1))
	eq(t, "lines of the first run", run1.LineCount, 1)
	again, err := b.svc.PrepareRun(b.ctx, run1.ID)
	must(t, err)
	eq(t, "lines after preparing again", again.LineCount, 1)
	run2 := b.prepared(t, s, date(2025, 1, 1))
	eq(t, "lines of a second run of the same date", run2.LineCount, 0)
	eq(t, "invoices of a second run of the same date", run2.InvoiceCount, 0)
	eq(t, "January lines", b.count(t, janLines), 1)

	// Two runs of February prepared at once: one bills February.
	var wg sync.WaitGroup
	feb := make([]contracts.Run, 2)
	errs := make([]error, 2)
	for i := range feb {
		r, err := b.svc.PlanRun(b.ctx, s.id, date(2025, 2, 1))
		must(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			feb[i], errs[i] = b.svc.PrepareRun(b.ctx, r.ID)
		}()
	}
	wg.Wait()
	must(t, errs[0])
	must(t, errs[1])
	eq(t, "February lines over both runs", feb[0].LineCount+feb[1].LineCount, 1)

	// The unique key holds even against a direct insert.
	err = ownerErr(b, `INSERT INTO billing.invoice_line (invoice_id, site_id, contract_id, contract_line_id, description,
			period_start, period_end, quantity, unit_price, months, net, tax_rate, tax, cost)
		SELECT invoice_id, site_id, contract_id, contract_line_id, description, period_start, period_end, quantity,
			unit_price, months, net, tax_rate, tax, cost FROM billing.invoice_line WHERE period_start = '2025-01-01'`)
	mustErr(t, err, contracts.ErrConflict, contracts.CodeAlreadyExists)

	// Discarding the January run frees January, and only January.
	_, err = b.svc.DiscardRun(b.ctx, run1.ID)
	must(t, err)
	eq(t, "January lines after the discard", b.count(t, janLines), 0)
	cc, err := b.svc.Contract(b.ctx, c.ID)
	must(t, err)
	eqDate(t, "billed through after the discard", cc.Lines[0].BilledThrough, date(2024, 12, 31))
	run3 := b.prepared(t, s, date(2025, 2, 1))
	eq(t, "lines billed again (January; February is held)", run3.LineCount, 1)
	eq(t, "January lines", b.count(t, janLines), 1)
	cc, err = b.svc.Contract(b.ctx, c.ID)
	must(t, err)
	eqDate(t, "billed through", cc.Lines[0].BilledThrough, date(2025, 2, 28))
	eq(t, "series (discards take no number)", b.count(t, `SELECT count(*) FROM billing.number_series`), 0)
}

// Posted invoices and their lines cannot change; runs move only forward.
func TestPostedInvoicesAreImmutable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "100"})
	inv := b.postRun(t, s, date(2025, 1, 1))[0]
	for _, sql := range []string{
		`UPDATE billing.invoice SET net = 0`,
		`UPDATE billing.invoice SET status = 'void', net = 0`,
		`DELETE FROM billing.invoice`,
		`UPDATE billing.invoice_line SET net = 0`,
		`DELETE FROM billing.invoice_line`,
	} {
		mustErr(t, appErr(b, sql), contracts.ErrImmutable, contracts.CodeImmutable)
		mustErr(t, ownerErr(b, sql), contracts.ErrImmutable, contracts.CodeImmutable)
	}
	_, err := b.svc.DiscardRun(b.ctx, inv.RunID)
	mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
	_, err = b.svc.PostRun(b.ctx, inv.RunID)
	mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
	run, err := b.svc.PlanRun(b.ctx, s.id, date(2025, 2, 1))
	must(t, err)
	_, err = b.svc.PostRun(b.ctx, run.ID)
	mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
	_, err = b.svc.Run(b.ctx, uuid.New())
	mustErr(t, err, contracts.ErrNotFound, contracts.CodeRunNotFound)
}
