package contracts

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/keyset"
	"github.com/messina-oms/messina/queries"
)

// List limits: a page holds DefaultLimit items unless asked otherwise, and
// never more than MaxLimit.
const (
	DefaultLimit = keyset.DefaultLimit
	MaxLimit     = keyset.MaxLimit
)

// Page is one page of a list. NextCursor, passed back as a filter's
// Cursor, gives the next page; it is "" on the last one.
type Page[T any] = keyset.Page[T]

// ContractFilter selects contracts for ListContracts; zero fields select
// everything visible.
type ContractFilter struct {
	SiteID     string
	Status     Status
	CustomerID *uuid.UUID
	Limit      int    // 0 = DefaultLimit; at most MaxLimit
	Cursor     string // NextCursor of the previous page
}

// RunFilter selects invoice runs for ListRuns.
type RunFilter struct {
	SiteID string
	Status RunStatus
	Limit  int
	Cursor string
}

// InvoiceFilter selects invoices for ListInvoices; From and To bound the
// issue date, both inclusive.
type InvoiceFilter struct {
	SiteID     string
	CustomerID *uuid.UUID
	Status     InvoiceStatus
	From, To   *time.Time
	Limit      int
	Cursor     string
}

func badCursor() error { return validation("cursor", "is not a cursor this list returned") }

func decodeCursor(cursor string, n int) ([]string, error) {
	if key, ok := keyset.Decode(cursor, n); ok {
		return key, nil
	}
	return nil, badCursor()
}

func decodeTimeIDCursor(cursor string) (*time.Time, *uuid.UUID, error) {
	if t, id, ok := keyset.DecodeTimeID(cursor); ok {
		return t, id, nil
	}
	return nil, nil, badCursor()
}

// decodeIntCursor reads a cursor of one integer key (a version, a seq);
// "" is 0, before the first.
func decodeIntCursor(cursor string) (int64, error) {
	if n, ok := keyset.DecodeInt(cursor); ok {
		return n, nil
	}
	return 0, badCursor()
}

// ListContracts returns a page of the visible contracts, newest first,
// with their lines. ErrValidation for an unknown status or a bad cursor.
func (s *Service) ListContracts(ctx context.Context, f ContractFilter) (Page[Contract], error) {
	p := queries.ContractListParams{SiteID: strPtr(f.SiteID), CustomerID: f.CustomerID}
	if f.Status != "" {
		st := queries.ContractsContractStatus(f.Status)
		if !st.Valid() {
			return Page[Contract]{}, validation("status", "is not a contract status")
		}
		p.Status = &st
	}
	var err error
	if p.AfterCreatedAt, p.AfterID, err = decodeTimeIDCursor(f.Cursor); err != nil {
		return Page[Contract]{}, err
	}
	n := keyset.Limit(f.Limit)
	p.MaxRows = n + 1
	var out Page[Contract]
	err = s.inTx(ctx, func(q *queries.Queries) error {
		rows, err := q.ContractList(ctx, p)
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		out = keyset.Cut(rows, int(n), contractFrom, func(r queries.ContractsContract) string { return keyset.TimeID(r.CreatedAt, r.ID) })
		return addContractLines(ctx, q, out.Items)
	})
	return out, err
}

// AmendmentPage returns a page of a contract's versions, oldest first; the
// cursor is the last version listed. ErrNotFound (CodeContractNotFound)
// when the contract is not visible, so that another site's contract is
// not an empty list.
func (s *Service) AmendmentPage(ctx context.Context, contractID uuid.UUID, cursor string, lim int) (Page[Amendment], error) {
	after, err := decodeIntCursor(cursor)
	if err != nil || after > int64(^uint32(0)>>1) {
		return Page[Amendment]{}, badCursor()
	}
	n := keyset.Limit(lim)
	var out Page[Amendment]
	err = s.inTx(ctx, func(q *queries.Queries) error {
		if _, err := q.ContractGet(ctx, contractID); err != nil {
			return translate(err, CodeContractNotFound)
		}
		rows, err := q.AmendmentPage(ctx, queries.AmendmentPageParams{ContractID: contractID, AfterVersion: int32(after), MaxRows: n + 1})
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		out = keyset.Cut(rows, int(n), amendmentFrom, func(r queries.ContractsAmendment) string {
			return keyset.Encode(strconv.Itoa(int(r.Version)))
		})
		return nil
	})
	return out, err
}

// ListRuns returns a page of the visible invoice runs, newest first.
// ErrValidation for an unknown status or a bad cursor.
func (s *Service) ListRuns(ctx context.Context, f RunFilter) (Page[Run], error) {
	p := queries.RunListParams{SiteID: strPtr(f.SiteID)}
	if f.Status != "" {
		st := queries.BillingRunStatus(f.Status)
		if !st.Valid() {
			return Page[Run]{}, validation("status", "is not an invoice run status")
		}
		p.Status = &st
	}
	var err error
	if p.AfterCreatedAt, p.AfterID, err = decodeTimeIDCursor(f.Cursor); err != nil {
		return Page[Run]{}, err
	}
	n := keyset.Limit(f.Limit)
	p.MaxRows = n + 1
	var out Page[Run]
	err = s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.RunList(ctx, p)
		if err != nil {
			return translate(err, CodeRunNotFound)
		}
		out = keyset.Cut(rows, int(n), runFrom, func(r queries.BillingInvoiceRun) string { return keyset.TimeID(r.CreatedAt, r.ID) })
		return nil
	})
	return out, err
}

// ListInvoices returns a page of the visible invoices with their lines,
// newest issue date first. ErrValidation for an unknown status, a range
// that ends before it starts, or a bad cursor.
func (s *Service) ListInvoices(ctx context.Context, f InvoiceFilter) (Page[Invoice], error) {
	p := queries.InvoiceListParams{SiteID: strPtr(f.SiteID), CustomerID: f.CustomerID, DateFrom: f.From, DateTo: f.To}
	if f.Status != "" {
		st := queries.BillingInvoiceStatus(f.Status)
		if !st.Valid() {
			return Page[Invoice]{}, validation("status", "is not an invoice status")
		}
		p.Status = &st
	}
	if f.From != nil && f.To != nil && f.To.Before(*f.From) {
		return Page[Invoice]{}, validation("to", "must not be before from")
	}
	if f.Cursor != "" {
		parts, err := decodeCursor(f.Cursor, 2)
		if err != nil {
			return Page[Invoice]{}, err
		}
		d, derr := time.Parse(time.DateOnly, parts[0])
		id, ierr := uuid.Parse(parts[1])
		if derr != nil || ierr != nil {
			return Page[Invoice]{}, badCursor()
		}
		p.AfterIssueDate, p.AfterID = &d, &id
	}
	n := keyset.Limit(f.Limit)
	p.MaxRows = n + 1
	var out Page[Invoice]
	err := s.inTx(ctx, func(q *queries.Queries) error {
		rows, err := q.InvoiceList(ctx, p)
		if err != nil {
			return translate(err, CodeInvoiceNotFound)
		}
		out = keyset.Cut(rows, int(n), invoiceFrom, func(r queries.BillingInvoice) string {
			return keyset.Encode(r.IssueDate.Format(time.DateOnly), r.ID.String())
		})
		return addInvoiceLines(ctx, q, out.Items)
	})
	return out, err
}

// RunInvoicePage returns a page of a run's invoices with their lines,
// numbered ones in number order. ErrNotFound (CodeRunNotFound) when the
// run is not visible, so that another site's run is not an empty list.
func (s *Service) RunInvoicePage(ctx context.Context, runID uuid.UUID, cursor string, lim int) (Page[Invoice], error) {
	p := queries.InvoicePageByRunParams{RunID: runID}
	if cursor != "" {
		parts, err := decodeCursor(cursor, 2)
		if err != nil {
			return Page[Invoice]{}, err
		}
		seq, serr := strconv.ParseInt(parts[0], 10, 64)
		id, ierr := uuid.Parse(parts[1])
		if serr != nil || ierr != nil {
			return Page[Invoice]{}, badCursor()
		}
		p.AfterSeq, p.AfterID = &seq, &id
	}
	n := keyset.Limit(lim)
	p.MaxRows = n + 1
	var out Page[Invoice]
	err := s.inTx(ctx, func(q *queries.Queries) error {
		if _, err := q.RunGet(ctx, runID); err != nil {
			return translate(err, CodeRunNotFound)
		}
		rows, err := q.InvoicePageByRun(ctx, p)
		if err != nil {
			return translate(err, CodeRunNotFound)
		}
		out = keyset.Cut(rows, int(n), invoiceFrom, func(r queries.BillingInvoice) string {
			var seq int64
			if r.Seq != nil {
				seq = *r.Seq
			}
			return keyset.Encode(strconv.FormatInt(seq, 10), r.ID.String())
		})
		return addInvoiceLines(ctx, q, out.Items)
	})
	return out, err
}

// byID indexes items by id, so that the children fetched for all of them
// in one query can be appended to their parent in the query's order.
func byID[T any](items []T, id func(*T) uuid.UUID) ([]uuid.UUID, map[uuid.UUID]*T) {
	ids := make([]uuid.UUID, len(items))
	m := make(map[uuid.UUID]*T, len(items))
	for i := range items {
		ids[i] = id(&items[i])
		m[ids[i]] = &items[i]
	}
	return ids, m
}

// addContractLines loads the lines of cs in one query (not one per
// contract), in the order ContractLineList gives one contract's. An item
// without lines keeps nil Lines, as a contract read alone does.
func addContractLines(ctx context.Context, q *queries.Queries, cs []Contract) error {
	if len(cs) == 0 {
		return nil
	}
	ids, m := byID(cs, func(c *Contract) uuid.UUID { return c.ID })
	lines, err := q.ContractLineListByContracts(ctx, ids)
	if err != nil {
		return fmt.Errorf("lines of %d contracts: %w", len(ids), translate(err, CodeContractNotFound))
	}
	for _, l := range lines {
		c := m[l.ContractID]
		c.Lines = append(c.Lines, lineFrom(l))
	}
	return nil
}

// addInvoiceLines loads the lines of invs in one query (not one per
// invoice), in the order InvoiceLineList gives one invoice's.
func addInvoiceLines(ctx context.Context, q *queries.Queries, invs []Invoice) error {
	if len(invs) == 0 {
		return nil
	}
	ids, m := byID(invs, func(inv *Invoice) uuid.UUID { return inv.ID })
	lines, err := q.InvoiceLineListByInvoices(ctx, ids)
	if err != nil {
		return fmt.Errorf("lines of %d invoices: %w", len(ids), translate(err, CodeInvoiceNotFound))
	}
	for _, l := range lines {
		inv := m[l.InvoiceID]
		inv.Lines = append(inv.Lines, invoiceLineFrom(l))
	}
	return nil
}

// addCreditNoteLines loads the lines of cns in one query (not one per
// credit note), in the order CreditNoteLineList gives one note's.
func addCreditNoteLines(ctx context.Context, q *queries.Queries, cns []CreditNote) error {
	if len(cns) == 0 {
		return nil
	}
	ids, m := byID(cns, func(cn *CreditNote) uuid.UUID { return cn.ID })
	lines, err := q.CreditNoteLineListByNotes(ctx, ids)
	if err != nil {
		return fmt.Errorf("lines of %d credit notes: %w", len(ids), translate(err, CodeCreditNoteNotFound))
	}
	for _, l := range lines {
		cn := m[l.CreditNoteID]
		cn.Lines = append(cn.Lines, creditNoteLineFrom(l))
	}
	return nil
}

// CreditNote returns a credit note with its lines; ErrNotFound
// (CodeCreditNoteNotFound) when it does not exist or is not visible.
func (s *Service) CreditNote(ctx context.Context, id uuid.UUID) (CreditNote, error) {
	var cn CreditNote
	err := s.inTx(ctx, func(q *queries.Queries) error {
		r, err := q.CreditNoteGet(ctx, id)
		if err != nil {
			return translate(err, CodeCreditNoteNotFound)
		}
		cn, err = creditNoteWithLines(ctx, q, r)
		return err
	})
	return cn, err
}

// InvoiceCreditNotes returns a page of the credit notes of an invoice,
// with their lines, in number order. ErrNotFound (CodeInvoiceNotFound)
// when the invoice is not visible.
func (s *Service) InvoiceCreditNotes(ctx context.Context, invoiceID uuid.UUID, cursor string, lim int) (Page[CreditNote], error) {
	after, err := decodeIntCursor(cursor)
	if err != nil {
		return Page[CreditNote]{}, err
	}
	n := keyset.Limit(lim)
	var out Page[CreditNote]
	err = s.inTx(ctx, func(q *queries.Queries) error {
		if _, err := q.InvoiceGet(ctx, invoiceID); err != nil {
			return translate(err, CodeInvoiceNotFound)
		}
		rows, err := q.CreditNotePageByInvoice(ctx, queries.CreditNotePageByInvoiceParams{InvoiceID: invoiceID, AfterSeq: after, MaxRows: n + 1})
		if err != nil {
			return translate(err, CodeInvoiceNotFound)
		}
		out = keyset.Cut(rows, int(n), creditNoteFrom, func(r queries.BillingCreditNote) string {
			return keyset.Encode(strconv.FormatInt(r.Seq, 10))
		})
		return addCreditNoteLines(ctx, q, out.Items)
	})
	return out, err
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
