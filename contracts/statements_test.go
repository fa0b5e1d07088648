package contracts_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/internal/pgpool"
)

// statementLog records every statement a pool sends, batched or not, so
// that a test can see a list read query once per element.
type statementLog struct {
	mu  sync.Mutex
	sql []string
}

func (l *statementLog) add(sql string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql = append(l.sql, strings.Join(strings.Fields(sql), " "))
}

// take returns the statements recorded since the last take.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.sql
	l.sql = nil
	return out
}

// TraceQueryStart records a statement sent on its own.
func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.add(d.SQL)
	return ctx
}

// TraceQueryEnd is required by pgx.QueryTracer; the end adds nothing to count.
func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart is required by pgx.BatchTracer; a batch counts by its statements.
func (l *statementLog) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery records a statement sent in a batch (auth.Single sends two).
func (l *statementLog) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	l.add(d.SQL)
}

// TraceBatchEnd is required by pgx.BatchTracer; the end adds nothing to count.
func (l *statementLog) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// tracedService is a Service on its own application-role pool whose
// statements log records.
func (b *testBundle) tracedService(t *testing.T) (*contracts.Service, *statementLog) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(b.db.AppURL)
	must(t, err)
	pgpool.Configure(cfg)
	log := &statementLog{}
	cfg.ConnConfig.Tracer = log
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	must(t, err)
	t.Cleanup(pool.Close)
	return contracts.New(pool, nil), log
}

// The lists that carry their items' lines read them in one query for the
// whole list: the statements a read sends do not grow with the number of
// items, and each item has the lines it has when read alone.
func TestListsReadLinesOfAllItemsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.site(t, "UK", "GBP", ukRules())

	// Six customers, each with a contract of one to three lines: a run of
	// six invoices whose lines must not be mixed up.
	const customers = 6
	products := []line{{b.monthly, "1", "100"}, {b.quarterly, "2", "50"}, {b.annual, "3", "10"}}
	var first contracts.Contract
	for i := range customers {
		cust := b.customer(t, uk, fmt.Sprintf("Customer %d", i), "")
		c := b.contract(t, uk, cust, date(2025, 1, 1), contracts.Terms{}, products[:3-i%3]...)
		if i == 0 {
			first = c
		}
	}
	invs := b.postRun(t, uk, date(2025, 1, 1))
	eq(t, "invoices", len(invs), customers)
	inv := invoiceOf(t, invs, first.CustomerID)
	// Four credit notes of the first contract, of one or two lines; the
	// last credits what is left, which voids the invoice.
	for _, lines := range [][]contracts.CreditLine{
		{{InvoiceLineID: inv.Lines[0].ID, Amount: dec("1.00")}},
		{{InvoiceLineID: inv.Lines[0].ID, Amount: dec("2.00")}, {InvoiceLineID: inv.Lines[1].ID, Amount: dec("3.00")}},
		{{InvoiceLineID: inv.Lines[1].ID, Amount: dec("4.00")}},
		nil,
	} {
		_, err := b.svc.CreditInvoice(b.ctx, inv.ID, date(2025, 1, 10), "goodwill", lines)
		must(t, err)
	}
	frOnly := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:fr@example.com", Role: auth.RoleStaff, Sites: []string{"FR"}})

	svc, log := b.tracedService(t)
	invoiceLines := func(t *testing.T, got []contracts.Invoice) {
		t.Helper()
		for _, g := range got {
			alone, err := b.svc.Invoice(b.ctx, g.ID)
			must(t, err)
			if len(g.Lines) == 0 || !reflect.DeepEqual(g.Lines, alone.Lines) {
				t.Fatalf("invoice %s listed with lines %+v, read alone %+v", g.Number, g.Lines, alone.Lines)
			}
		}
	}
	creditNoteLines := func(t *testing.T, got []contracts.CreditNote) {
		t.Helper()
		for _, g := range got {
			alone, err := b.svc.CreditNote(b.ctx, g.ID)
			must(t, err)
			if len(g.Lines) == 0 || !reflect.DeepEqual(g.Lines, alone.Lines) {
				t.Fatalf("credit note %s listed with lines %+v, read alone %+v", g.Number, g.Lines, alone.Lines)
			}
		}
	}
	contractLines := func(t *testing.T, got []contracts.Contract) {
		t.Helper()
		for _, g := range got {
			alone, err := b.svc.Contract(b.ctx, g.ID)
			must(t, err)
			if len(g.Lines) == 0 || !reflect.DeepEqual(g.Lines, alone.Lines) {
				t.Fatalf("contract %s listed with lines %+v, read alone %+v", g.Number, g.Lines, alone.Lines)
			}
		}
	}

	// statements is the transaction's BEGIN (with the principal's
	// settings) and COMMIT, the list, its lines and, for a list of one
	// parent's, the check that the parent is visible: however long the
	// list. One query per item's lines would send 3 + items or more.
	tests := []struct {
		name       string
		ctx        context.Context
		items      int
		statements int
		read       func(t *testing.T, ctx context.Context) int
	}{
		{name: "a run's invoices", ctx: b.ctx, items: customers, statements: 4, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.RunInvoices(ctx, inv.RunID)
			must(t, err)
			invoiceLines(t, got)
			return len(got)
		}},
		{name: "a page of a run's invoices", ctx: b.ctx, items: customers, statements: 5, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.RunInvoicePage(ctx, inv.RunID, "", 100)
			must(t, err)
			invoiceLines(t, got.Items)
			return len(got.Items)
		}},
		{name: "a page of invoices", ctx: b.ctx, items: customers, statements: 4, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.ListInvoices(ctx, contracts.InvoiceFilter{SiteID: "UK"})
			must(t, err)
			invoiceLines(t, got.Items)
			return len(got.Items)
		}},
		{name: "a page of contracts", ctx: b.ctx, items: customers, statements: 4, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.ListContracts(ctx, contracts.ContractFilter{SiteID: "UK"})
			must(t, err)
			contractLines(t, got.Items)
			return len(got.Items)
		}},
		{name: "a contract's credit notes", ctx: b.ctx, items: 4, statements: 4, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.ContractCreditNotes(ctx, first.ID)
			must(t, err)
			creditNoteLines(t, got)
			for i := 1; i < len(got); i++ {
				if got[i].Seq <= got[i-1].Seq {
					t.Fatalf("credit notes out of number order: %d after %d", got[i].Seq, got[i-1].Seq)
				}
			}
			return len(got)
		}},
		{name: "a page of an invoice's credit notes", ctx: b.ctx, items: 4, statements: 5, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.InvoiceCreditNotes(ctx, inv.ID, "", 100)
			must(t, err)
			creditNoteLines(t, got.Items)
			return len(got.Items)
		}},
		// Row-level security still decides what is listed: another
		// site's principal sees none of them.
		{name: "a run's invoices, seen from another site", ctx: frOnly, items: 0, statements: 3, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.RunInvoices(ctx, inv.RunID)
			must(t, err)
			if got != nil {
				t.Fatalf("FR sees %+v", got)
			}
			return len(got)
		}},
		{name: "a contract's credit notes, seen from another site", ctx: frOnly, items: 0, statements: 3, read: func(t *testing.T, ctx context.Context) int {
			got, err := svc.ContractCreditNotes(ctx, first.ID)
			must(t, err)
			if got != nil {
				t.Fatalf("FR sees %+v", got)
			}
			return len(got)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log.take()
			n := tt.read(t, tt.ctx)
			sent := log.take()
			eq(t, "items", n, tt.items)
			t.Logf("%d items, %d statements", n, len(sent))
			if len(sent) > tt.statements {
				t.Fatalf("%d items read in %d statements, want at most %d:\n%s", n, len(sent), tt.statements, strings.Join(sent, "\n"))
			}
		})
	}
}
