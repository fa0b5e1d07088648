package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/contracts"
)

// The lists of contracts, amendments, invoice runs, invoices and credit
// notes, and amending a contract. Lists are keyset pages: ?limit= (at
// most 500) and ?cursor= as parsePage checks them; the cursor is passed to
// package contracts, which made it and says when it is not one of its own.

// listContracts lists the visible contracts newest first, with their
// lines, filtered by site, status and customer_id.
func (s *Server) listContracts(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := contracts.ContractFilter{SiteID: q.Get("site"), Status: contracts.Status(q.Get("status")), Limit: pg.limit, Cursor: q.Get("cursor")}
	if f.CustomerID, err = queryUUID(r, "customer_id"); err != nil {
		return err
	}
	res, err := s.contracts.ListContracts(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toContractJSON))
}

// amendmentJSON is one immutable version of a contract; snapshot is the
// contract row and its lines after the change, by database column name.
type amendmentJSON struct {
	ContractID    uuid.UUID       `json:"contract_id"`
	Version       int             `json:"version"`
	Kind          string          `json:"kind"`
	EffectiveDate date            `json:"effective_date"`
	Snapshot      json.RawMessage `json:"snapshot"`
	CreatedAt     time.Time       `json:"created_at"`
	CreatedBy     string          `json:"created_by"`
}

func toAmendmentJSON(a contracts.Amendment) amendmentJSON {
	return amendmentJSON{ContractID: a.ContractID, Version: a.Version, Kind: a.Kind, EffectiveDate: date{a.EffectiveDate},
		Snapshot: a.Snapshot, CreatedAt: a.CreatedAt, CreatedBy: a.CreatedBy}
}

// listContractAmendments lists a contract's versions, oldest first.
func (s *Server) listContractAmendments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	res, err := s.contracts.AmendmentPage(r.Context(), id, r.URL.Query().Get("cursor"), pg.limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toAmendmentJSON))
}

// amendContract records one change of a contract as a new version: its
// terms, or the quantity and price of lines, from effective_date.
func (s *Server) amendContract(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		EffectiveDate *date `json:"effective_date"`
		Terms         *struct {
			AutoRenew         *bool              `json:"auto_renew"`
			RenewalTermMonths *int32             `json:"renewal_term_months"`
			NoticeDays        *int32             `json:"notice_days"`
			UpliftPct         *amount            `json:"uplift_pct"`
			MinimumCommitment *amount            `json:"minimum_commitment"`
			ETFRule           *contracts.ETFRule `json:"etf_rule"`
			ETFValue          *amount            `json:"etf_value"`
		} `json:"terms"`
		Lines []struct {
			LineID    uuid.UUID `json:"line_id"`
			Quantity  *amount   `json:"quantity"`
			UnitPrice *amount   `json:"unit_price"`
		} `json:"lines"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.EffectiveDate == nil {
		return required("effective_date")
	}
	req := contracts.AmendmentRequest{EffectiveDate: in.EffectiveDate.Time}
	if t := in.Terms; t != nil {
		req.Terms = &contracts.Terms{AutoRenew: t.AutoRenew, RenewalTermMonths: intp(t.RenewalTermMonths), NoticeDays: intp(t.NoticeDays),
			UpliftPct: amountPtr(t.UpliftPct), MinimumCommitment: amountPtr(t.MinimumCommitment), ETFRule: t.ETFRule, ETFValue: amountPtr(t.ETFValue)}
	}
	for _, l := range in.Lines {
		req.Lines = append(req.Lines, contracts.LineChange{LineID: l.LineID, Quantity: amountPtr(l.Quantity), UnitPrice: amountPtr(l.UnitPrice)})
	}
	a, err := s.contracts.Amend(r.Context(), id, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toAmendmentJSON(a))
}

// amountPtr is the decimal of an optional amount.
func amountPtr(a *amount) *decimal.Decimal {
	if a == nil {
		return nil
	}
	return &a.Decimal
}

// listInvoiceRuns lists the visible invoice runs newest first, filtered by
// site and status.
func (s *Server) listInvoiceRuns(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	res, err := s.contracts.ListRuns(r.Context(), contracts.RunFilter{SiteID: q.Get("site"), Status: contracts.RunStatus(q.Get("status")),
		Limit: pg.limit, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toRunJSON))
}

// listInvoices lists the visible invoices newest issue date first, with
// their lines, filtered by site, customer_id, status and issue date (from,
// to: inclusive).
func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := contracts.InvoiceFilter{SiteID: q.Get("site"), Status: contracts.InvoiceStatus(q.Get("status")), Limit: pg.limit, Cursor: q.Get("cursor")}
	if f.CustomerID, err = queryUUID(r, "customer_id"); err != nil {
		return err
	}
	if f.From, err = queryDate(r, "from"); err != nil {
		return err
	}
	if f.To, err = queryDate(r, "to"); err != nil {
		return err
	}
	res, err := s.contracts.ListInvoices(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toInvoiceJSON))
}

// listInvoiceCreditNotes lists an invoice's credit notes in number order;
// another site's invoice answers 404, not an empty list.
func (s *Server) listInvoiceCreditNotes(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	res, err := s.contracts.InvoiceCreditNotes(r.Context(), id, r.URL.Query().Get("cursor"), pg.limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toCreditNoteJSON))
}

func (s *Server) getCreditNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	cn, err := s.contracts.CreditNote(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toCreditNoteJSON(cn))
}
