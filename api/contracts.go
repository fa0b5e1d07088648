package api

import (
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
)

// billers may write invoice runs: admin and staff, not integration clients.
var billers = []auth.Role{auth.RoleAdmin, auth.RoleStaff}

// contractRoutes are contracts, their notices and cancellations, invoice
// runs, invoices and credit notes. Every rule (terms, renewal, proration,
// numbering) lives in package contracts and the database; each handler is
// parse -> one contracts.Service call -> encode.
func (s *Server) contractRoutes() []route {
	return []route{
		{name: "createContractFromOrder", method: http.MethodPost, path: "/v1/orders/{id}/contract", roles: writers, handle: s.createContractFromOrder},
		{name: "listContracts", method: http.MethodGet, path: "/v1/contracts", roles: anyRole, handle: s.listContracts},
		{name: "getContract", method: http.MethodGet, path: "/v1/contracts/{id}", roles: anyRole, handle: s.getContract},
		{name: "listContractAmendments", method: http.MethodGet, path: "/v1/contracts/{id}/amendments", roles: anyRole, handle: s.listContractAmendments},
		{name: "amendContract", method: http.MethodPost, path: "/v1/contracts/{id}/amendments", roles: writers, handle: s.amendContract},
		{name: "giveContractNotice", method: http.MethodPost, path: "/v1/contracts/{id}/notices", roles: writers, handle: s.giveContractNotice},
		{name: "cancelContract", method: http.MethodPost, path: "/v1/contracts/{id}/cancel", roles: writers, handle: s.cancelContract},

		{name: "listInvoiceRuns", method: http.MethodGet, path: "/v1/invoice-runs", roles: anyRole, handle: s.listInvoiceRuns},
		{name: "planInvoiceRun", method: http.MethodPost, path: "/v1/invoice-runs", roles: billers, handle: s.planInvoiceRun},
		{name: "getInvoiceRun", method: http.MethodGet, path: "/v1/invoice-runs/{id}", roles: anyRole, handle: s.getInvoiceRun},
		{name: "previewInvoiceRun", method: http.MethodPost, path: "/v1/invoice-runs/{id}/preview", roles: billers, handle: s.previewInvoiceRun},
		{name: "prepareInvoiceRun", method: http.MethodPost, path: "/v1/invoice-runs/{id}/prepare", roles: billers, handle: s.runStep(s.contracts.PrepareRun)},
		{name: "approveInvoiceRun", method: http.MethodPost, path: "/v1/invoice-runs/{id}/approve", roles: billers, handle: s.runStep(s.contracts.ApproveRun)},
		{name: "postInvoiceRun", method: http.MethodPost, path: "/v1/invoice-runs/{id}/post", roles: billers, handle: s.runStep(s.contracts.PostRun)},
		{name: "discardInvoiceRun", method: http.MethodPost, path: "/v1/invoice-runs/{id}/discard", roles: billers, handle: s.runStep(s.contracts.DiscardRun)},
		{name: "listRunInvoices", method: http.MethodGet, path: "/v1/invoice-runs/{id}/invoices", roles: anyRole, handle: s.listRunInvoices},

		{name: "listInvoices", method: http.MethodGet, path: "/v1/invoices", roles: anyRole, handle: s.listInvoices},
		{name: "getInvoice", method: http.MethodGet, path: "/v1/invoices/{id}", roles: anyRole, handle: s.getInvoice},
		{name: "createCreditNote", method: http.MethodPost, path: "/v1/invoices/{id}/credit-notes", roles: billers, handle: s.createCreditNote},
		{name: "listInvoiceCreditNotes", method: http.MethodGet, path: "/v1/invoices/{id}/credit-notes", roles: anyRole, handle: s.listInvoiceCreditNotes},
		{name: "getCreditNote", method: http.MethodGet, path: "/v1/credit-notes/{id}", roles: anyRole, handle: s.getCreditNote},
	}
}

// ---- JSON shapes ----------------------------------------------------------------

type contractJSON struct {
	ID                uuid.UUID          `json:"id"`
	Number            string             `json:"number"`
	Site              string             `json:"site"`
	CustomerID        uuid.UUID          `json:"customer_id"`
	LegalEntityID     uuid.UUID          `json:"legal_entity_id"`
	Currency          string             `json:"currency"`
	OrderID           uuid.UUID          `json:"order_id"`
	StartDate         date               `json:"start_date"`
	InitialTermMonths int                `json:"initial_term_months"`
	RenewalTermMonths int                `json:"renewal_term_months"`
	TermNo            int                `json:"term_no"`
	TermStart         date               `json:"term_start"`
	TermEnd           date               `json:"term_end"`
	AutoRenew         bool               `json:"auto_renew"`
	NoticeDays        int                `json:"notice_days"`
	UpliftPct         string             `json:"uplift_pct"`
	MinimumCommitment string             `json:"minimum_commitment"`
	ETFRule           string             `json:"etf_rule"`
	ETFValue          string             `json:"etf_value"`
	Status            string             `json:"status"`
	EndDate           *date              `json:"end_date"`
	Version           int                `json:"version"`
	Lines             []contractLineJSON `json:"lines"`
}

type contractLineJSON struct {
	ID               uuid.UUID  `json:"id"`
	LineNo           int        `json:"line_no"`
	OrderLineID      *uuid.UUID `json:"order_line_id"`
	ProductID        uuid.UUID  `json:"product_id"`
	Description      string     `json:"description"`
	Quantity         string     `json:"quantity"`
	UnitPrice        string     `json:"unit_price"`
	UnitCost         string     `json:"unit_cost"`
	DiscountPct      string     `json:"discount_pct"`
	BillingFrequency string     `json:"billing_frequency"`
	BillingTiming    string     `json:"billing_timing"`
	StartDate        date       `json:"start_date"`
	EndDate          *date      `json:"end_date"`
	BilledThrough    date       `json:"billed_through"`
}

func toContractJSON(c contracts.Contract) contractJSON {
	out := contractJSON{
		ID: c.ID, Number: c.Number, Site: c.SiteID, CustomerID: c.CustomerID, LegalEntityID: c.LegalEntityID, Currency: c.Currency,
		OrderID: c.OrderID, StartDate: date{c.StartDate}, InitialTermMonths: c.InitialTermMonths, RenewalTermMonths: c.RenewalTermMonths,
		TermNo: c.TermNo, TermStart: date{c.TermStart}, TermEnd: date{c.TermEnd}, AutoRenew: c.AutoRenew, NoticeDays: c.NoticeDays,
		UpliftPct: money(c.UpliftPct), MinimumCommitment: money(c.MinimumCommitment), ETFRule: string(c.ETFRule),
		ETFValue: money(c.ETFValue), Status: string(c.Status), EndDate: optDate(c.EndDate), Version: c.Version,
		Lines: make([]contractLineJSON, len(c.Lines)),
	}
	for i, l := range c.Lines {
		out.Lines[i] = contractLineJSON{
			ID: l.ID, LineNo: l.LineNo, OrderLineID: l.OrderLineID, ProductID: l.ProductID, Description: l.Description,
			Quantity: money(l.Quantity), UnitPrice: money(l.UnitPrice), UnitCost: money(l.UnitCost), DiscountPct: money(l.DiscountPct),
			BillingFrequency: l.BillingFrequency, BillingTiming: string(l.BillingTiming), StartDate: date{l.StartDate},
			EndDate: optDate(l.EndDate), BilledThrough: date{l.BilledThrough},
		}
	}
	return out
}

type noticeJSON struct {
	ID           uuid.UUID `json:"id"`
	ContractID   uuid.UUID `json:"contract_id"`
	Policy       string    `json:"policy"`
	ReceivedOn   date      `json:"received_on"`
	RequestedEnd *date     `json:"requested_end"`
	EffectiveEnd date      `json:"effective_end"`
	OnTime       bool      `json:"on_time"`
}

func toNoticeJSON(n contracts.Notice) noticeJSON {
	return noticeJSON{ID: n.ID, ContractID: n.ContractID, Policy: string(n.Policy), ReceivedOn: date{n.ReceivedOn},
		RequestedEnd: optDate(n.RequestedEnd), EffectiveEnd: date{n.EffectiveEnd}, OnTime: n.OnTime}
}

type runJSON struct {
	ID           uuid.UUID `json:"id"`
	Site         string    `json:"site"`
	RunDate      date      `json:"run_date"`
	Status       string    `json:"status"`
	InvoiceCount int       `json:"invoice_count"`
	LineCount    int       `json:"line_count"`
	CreatedAt    time.Time `json:"created_at"`
}

func toRunJSON(r contracts.Run) runJSON {
	return runJSON{ID: r.ID, Site: r.SiteID, RunDate: date{r.RunDate}, Status: string(r.Status), InvoiceCount: r.InvoiceCount,
		LineCount: r.LineCount, CreatedAt: r.CreatedAt}
}

type invoiceJSON struct {
	ID            uuid.UUID         `json:"id"`
	RunID         uuid.UUID         `json:"run_id"`
	Site          string            `json:"site"`
	LegalEntityID uuid.UUID         `json:"legal_entity_id"`
	CustomerID    uuid.UUID         `json:"customer_id"`
	Currency      string            `json:"currency"`
	Status        string            `json:"status"`
	Number        *string           `json:"number"`
	Seq           *int64            `json:"seq"`
	IssueDate     date              `json:"issue_date"`
	DueDate       date              `json:"due_date"`
	ReverseCharge bool              `json:"reverse_charge"`
	CustomerVATID *string           `json:"customer_vat_id"`
	Net           string            `json:"net"`
	Tax           string            `json:"tax"`
	Total         string            `json:"total"`
	Cost          string            `json:"cost"`
	ContentHash   *string           `json:"content_hash"`
	PrevHash      *string           `json:"prev_hash"`
	ChainHash     *string           `json:"chain_hash"`
	Seller        *partyJSON        `json:"seller"`
	Buyer         *partyJSON        `json:"buyer"`
	Lines         []invoiceLineJSON `json:"lines"`
}

// partyJSON is a party of an invoice as posted.
type partyJSON struct {
	Name    string       `json:"name"`
	VATID   *string      `json:"vat_id"`
	Address *addressJSON `json:"address"`
}

func toPartyJSON(p *contracts.Party) *partyJSON {
	if p == nil {
		return nil
	}
	out := &partyJSON{Name: p.Name, VATID: nonEmpty(p.VATID)}
	if a := p.Address; a != nil {
		out.Address = &addressJSON{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}
	}
	return out
}

type invoiceLineJSON struct {
	ID             uuid.UUID  `json:"id"`
	ContractID     uuid.UUID  `json:"contract_id"`
	ContractLineID *uuid.UUID `json:"contract_line_id"`
	ChargeID       *uuid.UUID `json:"charge_id"`
	Description    string     `json:"description"`
	PeriodStart    date       `json:"period_start"`
	PeriodEnd      date       `json:"period_end"`
	Quantity       string     `json:"quantity"`
	UnitPrice      string     `json:"unit_price"`
	DiscountPct    string     `json:"discount_pct"`
	Months         string     `json:"months"`
	Net            string     `json:"net"`
	TaxRate        string     `json:"tax_rate"`
	Tax            string     `json:"tax"`
	Cost           string     `json:"cost"`
}

func toInvoiceJSON(inv contracts.Invoice) invoiceJSON {
	out := invoiceJSON{
		ID: inv.ID, RunID: inv.RunID, Site: inv.SiteID, LegalEntityID: inv.LegalEntityID, CustomerID: inv.CustomerID,
		Currency: inv.Currency, Status: string(inv.Status), Number: nonEmpty(inv.Number), IssueDate: date{inv.IssueDate},
		DueDate: date{inv.DueDate}, ReverseCharge: inv.ReverseCharge, CustomerVATID: nonEmpty(inv.CustomerVATID),
		Net: money(inv.Net), Tax: money(inv.Tax), Total: money(inv.Total), Cost: money(inv.Cost),
		ContentHash: hexOrNull(inv.ContentHash), PrevHash: hexOrNull(inv.PrevHash), ChainHash: hexOrNull(inv.ChainHash),
		Seller: toPartyJSON(inv.Seller), Buyer: toPartyJSON(inv.Buyer),
		Lines: make([]invoiceLineJSON, len(inv.Lines)),
	}
	if inv.Seq != 0 {
		out.Seq = &inv.Seq
	}
	for i, l := range inv.Lines {
		out.Lines[i] = invoiceLineJSON{
			ID: l.ID, ContractID: l.ContractID, ContractLineID: l.ContractLineID, ChargeID: l.ChargeID, Description: l.Description,
			PeriodStart: date{l.PeriodStart}, PeriodEnd: date{l.PeriodEnd}, Quantity: money(l.Quantity), UnitPrice: money(l.UnitPrice),
			DiscountPct: money(l.DiscountPct), Months: money(l.Months), Net: money(l.Net), TaxRate: money(l.TaxRate),
			Tax: money(l.Tax), Cost: money(l.Cost),
		}
	}
	return out
}

type creditNoteJSON struct {
	ID            uuid.UUID            `json:"id"`
	InvoiceID     uuid.UUID            `json:"invoice_id"`
	LegalEntityID uuid.UUID            `json:"legal_entity_id"`
	CustomerID    uuid.UUID            `json:"customer_id"`
	Currency      string               `json:"currency"`
	Number        string               `json:"number"`
	Seq           int64                `json:"seq"`
	IssueDate     date                 `json:"issue_date"`
	Reason        string               `json:"reason"`
	Net           string               `json:"net"`
	Tax           string               `json:"tax"`
	Total         string               `json:"total"`
	ContentHash   *string              `json:"content_hash"`
	PrevHash      *string              `json:"prev_hash"`
	ChainHash     *string              `json:"chain_hash"`
	Lines         []creditNoteLineJSON `json:"lines"`
}

type creditNoteLineJSON struct {
	InvoiceLineID uuid.UUID `json:"invoice_line_id"`
	Description   string    `json:"description"`
	PeriodStart   date      `json:"period_start"`
	PeriodEnd     date      `json:"period_end"`
	Net           string    `json:"net"`
	Tax           string    `json:"tax"`
}

func toCreditNoteJSON(cn contracts.CreditNote) creditNoteJSON {
	out := creditNoteJSON{
		ID: cn.ID, InvoiceID: cn.InvoiceID, LegalEntityID: cn.LegalEntityID, CustomerID: cn.CustomerID, Currency: cn.Currency,
		Number: cn.Number, Seq: cn.Seq, IssueDate: date{cn.IssueDate}, Reason: cn.Reason, Net: money(cn.Net), Tax: money(cn.Tax),
		Total: money(cn.Total), ContentHash: hexOrNull(cn.ContentHash), PrevHash: hexOrNull(cn.PrevHash), ChainHash: hexOrNull(cn.ChainHash),
		Lines: make([]creditNoteLineJSON, len(cn.Lines)),
	}
	for i, l := range cn.Lines {
		out.Lines[i] = creditNoteLineJSON{InvoiceLineID: l.InvoiceLineID, Description: l.Description, PeriodStart: date{l.PeriodStart},
			PeriodEnd: date{l.PeriodEnd}, Net: money(l.Net), Tax: money(l.Tax)}
	}
	return out
}

func optDate(t *time.Time) *date {
	if t == nil {
		return nil
	}
	return &date{*t}
}

func hexOrNull(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := hex.EncodeToString(b)
	return &s
}

// required reports a missing required field as a 422 naming it.
func required(field string) error {
	return validationProblem("a required field is missing", FieldError{Field: field, Message: "is required"})
}

// ---- Handlers ----------------------------------------------------------------

// createContractFromOrder makes (or returns, when it exists) the contract
// of a booked order. The body, optional, sets terms; unset terms take the
// site's rules.
func (s *Server) createContractFromOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		StartDate         *date              `json:"start_date"`
		AutoRenew         *bool              `json:"auto_renew"`
		RenewalTermMonths *int32             `json:"renewal_term_months"`
		NoticeDays        *int32             `json:"notice_days"`
		UpliftPct         *amount            `json:"uplift_pct"`
		MinimumCommitment *amount            `json:"minimum_commitment"`
		ETFRule           *contracts.ETFRule `json:"etf_rule"`
		ETFValue          *amount            `json:"etf_value"`
		BillingTiming     *contracts.Timing  `json:"billing_timing"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	t := contracts.Terms{AutoRenew: in.AutoRenew, ETFRule: in.ETFRule, BillingTiming: in.BillingTiming,
		RenewalTermMonths: intp(in.RenewalTermMonths), NoticeDays: intp(in.NoticeDays)}
	if in.StartDate != nil {
		t.StartDate = &in.StartDate.Time
	}
	if in.UpliftPct != nil {
		t.UpliftPct = &in.UpliftPct.Decimal
	}
	if in.MinimumCommitment != nil {
		t.MinimumCommitment = &in.MinimumCommitment.Decimal
	}
	if in.ETFValue != nil {
		t.ETFValue = &in.ETFValue.Decimal
	}
	c, err := s.contracts.CreateFromOrder(r.Context(), id, t)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/contracts/"+c.ID.String())
	return writeJSON(w, http.StatusCreated, toContractJSON(c))
}

func intp(v *int32) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

func (s *Server) getContract(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.contracts.Contract(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toContractJSON(c))
}

// giveContractNotice records a notice of non-renewal.
func (s *Server) giveContractNotice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		ReceivedOn *date `json:"received_on"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.ReceivedOn == nil {
		return required("received_on")
	}
	n, err := s.contracts.GiveNotice(r.Context(), id, in.ReceivedOn.Time)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toNoticeJSON(n))
}

// cancelContract ends a contract by the policy sent, or without one by
// the site's policy in force on received_on.
func (s *Server) cancelContract(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Policy     contracts.Policy `json:"policy"`
		ReceivedOn *date            `json:"received_on"`
		EndDate    *date            `json:"end_date"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.ReceivedOn == nil {
		return required("received_on")
	}
	c := contracts.Cancellation{Policy: in.Policy, ReceivedOn: in.ReceivedOn.Time}
	if in.EndDate != nil {
		c.EndDate = &in.EndDate.Time
	}
	n, err := s.contracts.Cancel(r.Context(), id, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toNoticeJSON(n))
}

func (s *Server) planInvoiceRun(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Site    string `json:"site"`
		RunDate *date  `json:"run_date"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Site == "" {
		return required("site")
	}
	if in.RunDate == nil {
		return required("run_date")
	}
	run, err := s.contracts.PlanRun(r.Context(), in.Site, in.RunDate.Time)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/invoice-runs/"+run.ID.String())
	return writeJSON(w, http.StatusCreated, toRunJSON(run))
}

func (s *Server) getInvoiceRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	run, err := s.contracts.Run(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRunJSON(run))
}

// previewInvoiceRun answers what the run would invoice; it leaves no trace.
func (s *Server) previewInvoiceRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	invs, err := s.contracts.PreviewRun(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(invs, "", toInvoiceJSON))
}

// runStep moves a run through one step of its lifecycle (prepare,
// approve, post, discard); the database decides which steps are allowed.
func (s *Server) runStep(step func(ctx context.Context, id uuid.UUID) (contracts.Run, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathUUID(r, "id")
		if err != nil {
			return err
		}
		run, err := step(r.Context(), id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, toRunJSON(run))
	}
}

// listRunInvoices pages through a run's invoices, numbered ones in number
// order. A run the caller cannot see is a 404, not an empty list.
func (s *Server) listRunInvoices(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	res, err := s.contracts.RunInvoicePage(r.Context(), id, r.URL.Query().Get("cursor"), pg.limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toInvoiceJSON))
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	inv, err := s.contracts.Invoice(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toInvoiceJSON(inv))
}

// createCreditNote credits a posted invoice: the lines sent, or (no lines)
// everything not credited yet, which voids it.
func (s *Server) createCreditNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		IssueDate *date  `json:"issue_date"`
		Reason    string `json:"reason"`
		Lines     []struct {
			InvoiceLineID uuid.UUID `json:"invoice_line_id"`
			Amount        amount    `json:"amount"`
		} `json:"lines"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.IssueDate == nil {
		return required("issue_date")
	}
	lines := make([]contracts.CreditLine, len(in.Lines))
	for i, l := range in.Lines {
		lines[i] = contracts.CreditLine{InvoiceLineID: l.InvoiceLineID, Amount: l.Amount.Decimal}
	}
	cn, err := s.contracts.CreditInvoice(r.Context(), id, in.IssueDate.Time, in.Reason, lines)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toCreditNoteJSON(cn))
}
