package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/orders"
)

// orderRoutes are the orders, their lines and their lifecycle. Admin,
// staff and api clients write; every role reads, auditors included. Which
// moves of the lifecycle are allowed is the database's decision, so every
// transition route is a thin call of orders.Service.Transition.
func (s *Server) orderRoutes() []route {
	return []route{
		{name: "createOrder", method: http.MethodPost, path: "/v1/orders", roles: writers, handle: s.createOrder},
		{name: "listOrders", method: http.MethodGet, path: "/v1/orders", roles: anyRole, handle: s.listOrders},
		{name: "getOrder", method: http.MethodGet, path: "/v1/orders/{id}", roles: anyRole, handle: s.getOrder},
		{name: "updateOrder", method: http.MethodPatch, path: "/v1/orders/{id}", roles: writers, handle: s.updateOrder},

		{name: "submitOrder", method: http.MethodPost, path: "/v1/orders/{id}/submit", roles: writers, handle: s.transition(orders.StatusSubmitted)},
		{name: "approveOrder", method: http.MethodPost, path: "/v1/orders/{id}/approve", roles: writers, handle: s.transition(orders.StatusApproved)},
		{name: "rejectOrder", method: http.MethodPost, path: "/v1/orders/{id}/reject", roles: writers, handle: s.transition(orders.StatusRejected)},
		{name: "bookOrder", method: http.MethodPost, path: "/v1/orders/{id}/book", roles: writers, handle: s.transition(orders.StatusBooked)},
		{name: "startOrderProvisioning", method: http.MethodPost, path: "/v1/orders/{id}/provision", roles: writers, handle: s.transition(orders.StatusProvisioning)},
		{name: "completeOrder", method: http.MethodPost, path: "/v1/orders/{id}/complete", roles: writers, handle: s.transition(orders.StatusCompleted)},
		{name: "cancelOrder", method: http.MethodPost, path: "/v1/orders/{id}/cancel", roles: writers, handle: s.transition(orders.StatusCancelled)},

		{name: "addOrderLine", method: http.MethodPost, path: "/v1/orders/{id}/lines", roles: writers, handle: s.addOrderLine},
		{name: "replaceOrderLine", method: http.MethodPut, path: "/v1/orders/{id}/lines/{line_id}", roles: writers, handle: s.replaceOrderLine},
		{name: "removeOrderLine", method: http.MethodDelete, path: "/v1/orders/{id}/lines/{line_id}", roles: writers, handle: s.removeOrderLine},

		{name: "listOrderTransitions", method: http.MethodGet, path: "/v1/orders/{id}/transitions", roles: anyRole, handle: s.listOrderTransitions},
		{name: "listOrderApprovals", method: http.MethodGet, path: "/v1/orders/{id}/approvals", roles: anyRole, handle: s.listOrderApprovals},
	}
}

// ---- JSON shapes ----------------------------------------------------------------

// orderJSON keeps design.md's field names (id, number, site, customer_id,
// status, currency, version, lines, totals). Amounts are decimal strings.
type orderJSON struct {
	ID               uuid.UUID   `json:"id"`
	Number           string      `json:"number"`
	Site             string      `json:"site"`
	LegalEntityID    uuid.UUID   `json:"legal_entity_id"`
	CustomerID       uuid.UUID   `json:"customer_id"`
	Salesperson      string      `json:"salesperson"`
	Status           string      `json:"status"`
	StatusReason     *string     `json:"status_reason"`
	StatusChangedAt  time.Time   `json:"status_changed_at"`
	StatusChangedBy  string      `json:"status_changed_by"`
	ApprovalRequired *bool       `json:"approval_required"`
	ApprovalReason   *string     `json:"approval_reason"`
	Currency         string      `json:"currency"`
	PONumber         *string     `json:"po_number"`
	Notes            string      `json:"notes"`
	OrderDate        date        `json:"order_date"`
	CreatedAt        time.Time   `json:"created_at"`
	CreatedBy        string      `json:"created_by"`
	UpdatedAt        time.Time   `json:"updated_at"`
	Version          int32       `json:"version"`
	Lines            *[]lineJSON `json:"lines,omitempty"`
	Totals           totalsJSON  `json:"totals"`
}

type lineJSON struct {
	ID               uuid.UUID   `json:"id"`
	LineNo           int         `json:"line_no"`
	ProductID        uuid.UUID   `json:"product_id"`
	Description      string      `json:"description"`
	Kind             string      `json:"kind"`
	BillingFrequency *string     `json:"billing_frequency"`
	TermMonths       *int        `json:"term_months"`
	Periods          int         `json:"periods"`
	Quantity         string      `json:"quantity"`
	UnitPrice        string      `json:"unit_price"`
	UnitCost         string      `json:"unit_cost"`
	DiscountPct      string      `json:"discount_pct"`
	Currency         string      `json:"currency"`
	PriceID          *uuid.UUID  `json:"price_id"`
	NetAmount        string      `json:"net_amount"`
	CostAmount       string      `json:"cost_amount"`
	Value            string      `json:"value"`
	Cost             string      `json:"cost"`
	Margin           string      `json:"margin"`
	MarginPct        *string     `json:"margin_pct"`
	Splits           []splitJSON `json:"splits"`
	CreatedAt        time.Time   `json:"created_at"`
}

type splitJSON struct {
	Salesperson string `json:"salesperson"`
	SharePct    string `json:"share_pct"`
}

type totalsJSON struct {
	LineCount int     `json:"line_count"`
	OneOff    string  `json:"one_off"`
	MRR       string  `json:"mrr"`
	Value     string  `json:"value"`
	Cost      string  `json:"cost"`
	Margin    string  `json:"margin"`
	MarginPct *string `json:"margin_pct"`
}

// toOrderJSON converts an order; withLines is false in lists, whose
// orders carry totals but not lines.
func toOrderJSON(o orders.Order, withLines bool) orderJSON {
	out := orderJSON{
		ID: o.ID, Number: o.Number, Site: o.SiteID, LegalEntityID: o.LegalEntityID, CustomerID: o.CustomerID,
		Salesperson: o.Salesperson, Status: string(o.Status), StatusReason: nonEmpty(o.StatusReason),
		StatusChangedAt: o.StatusChangedAt, StatusChangedBy: o.StatusChangedBy, ApprovalRequired: o.ApprovalRequired,
		ApprovalReason: nonEmpty(o.ApprovalReason), Currency: o.Currency, PONumber: nonEmpty(o.PONumber), Notes: o.Notes,
		OrderDate: date{o.OrderDate}, CreatedAt: o.CreatedAt, CreatedBy: o.CreatedBy, UpdatedAt: o.UpdatedAt, Version: o.Version,
		Totals: totalsJSON{
			LineCount: o.Totals.LineCount, OneOff: money(o.Totals.OneOff), MRR: money(o.Totals.MRR), Value: money(o.Totals.Value),
			Cost: money(o.Totals.Cost), Margin: money(o.Totals.Margin), MarginPct: nullMoney(o.Totals.MarginPct),
		},
	}
	if withLines {
		lines := make([]lineJSON, len(o.Lines))
		for i, l := range o.Lines {
			lines[i] = toLineJSON(l)
		}
		out.Lines = &lines
	}
	return out
}

func toLineJSON(l orders.Line) lineJSON {
	out := lineJSON{
		ID: l.ID, LineNo: l.LineNo, ProductID: l.ProductID, Description: l.Description, Kind: string(l.Kind),
		BillingFrequency: nonEmpty(string(l.BillingFrequency)), Periods: l.Periods, Quantity: money(l.Quantity),
		UnitPrice: money(l.UnitPrice), UnitCost: money(l.UnitCost), DiscountPct: money(l.DiscountPct), Currency: l.Currency,
		PriceID: l.PriceID, NetAmount: money(l.NetAmount), CostAmount: money(l.CostAmount), Value: money(l.Value),
		Cost: money(l.Cost), Margin: money(l.Margin), MarginPct: nullMoney(l.MarginPct), Splits: make([]splitJSON, len(l.Splits)),
		CreatedAt: l.CreatedAt,
	}
	if l.TermMonths != 0 {
		out.TermMonths = &l.TermMonths
	}
	for i, sp := range l.Splits {
		out.Splits[i] = splitJSON{Salesperson: sp.Salesperson, SharePct: money(sp.SharePct)}
	}
	return out
}

// writeOrder answers with an order and its version as ETag.
func writeOrder(w http.ResponseWriter, status int, o orders.Order) error {
	w.Header().Set("ETag", etag(o.Version))
	return writeJSON(w, status, toOrderJSON(o, true))
}

// lineIn is a line as clients send it.
type lineIn struct {
	ProductID        uuid.UUID               `json:"product_id"`
	Description      string                  `json:"description"`
	Quantity         amount                  `json:"quantity"`
	UnitPrice        *amount                 `json:"unit_price"`
	DiscountPct      *amount                 `json:"discount_pct"`
	Currency         string                  `json:"currency"`
	BillingFrequency orders.BillingFrequency `json:"billing_frequency"`
	// TermMonths is int32 like the column, so that a huge number is a 422
	// on the field rather than wrapping around.
	TermMonths int32 `json:"term_months"`
	Splits     []struct {
		Salesperson string `json:"salesperson"`
		SharePct    amount `json:"share_pct"`
	} `json:"splits"`
}

func (l lineIn) input() orders.LineInput {
	in := orders.LineInput{
		ProductID: l.ProductID, Description: l.Description, Quantity: l.Quantity.Decimal, UnitPrice: l.UnitPrice.nullDec(),
		DiscountPct: l.DiscountPct.dec(), Currency: l.Currency, BillingFrequency: l.BillingFrequency, TermMonths: int(l.TermMonths),
	}
	for _, sp := range l.Splits {
		in.Splits = append(in.Splits, orders.Split{Salesperson: sp.Salesperson, SharePct: sp.SharePct.Decimal})
	}
	return in
}

// ---- Handlers ----------------------------------------------------------------

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Site          string    `json:"site"`
		LegalEntityID uuid.UUID `json:"legal_entity_id"`
		CustomerID    uuid.UUID `json:"customer_id"`
		Salesperson   string    `json:"salesperson"`
		Currency      string    `json:"currency"`
		PONumber      string    `json:"po_number"`
		Notes         string    `json:"notes"`
		Lines         []lineIn  `json:"lines"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	oi := orders.OrderInput{SiteID: in.Site, LegalEntityID: in.LegalEntityID, CustomerID: in.CustomerID, Salesperson: in.Salesperson,
		Currency: in.Currency, PONumber: in.PONumber, Notes: in.Notes, Lines: make([]orders.LineInput, len(in.Lines))}
	for i, l := range in.Lines {
		oi.Lines[i] = l.input()
	}
	o, err := s.orders.CreateOrder(r.Context(), oi)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/orders/"+o.ID.String())
	return writeOrder(w, http.StatusCreated, o)
}

// listOrders lists orders newest first, filtered by status, site,
// customer_id, salesperson and order date (from, to: inclusive).
func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := orders.OrderFilter{SiteID: q.Get("site"), Salesperson: q.Get("salesperson"), Limit: pg.limit, Cursor: q.Get("cursor")}
	if st := orders.Status(q.Get("status")); st != "" {
		if !st.Valid() {
			return validationProblem("invalid status", FieldError{Field: "status", Message: "is not a known status"})
		}
		f.Status = st
	}
	if f.CustomerID, err = queryUUID(r, "customer_id"); err != nil {
		return err
	}
	if f.From, err = queryDate(r, "from"); err != nil {
		return err
	}
	if f.To, err = queryDate(r, "to"); err != nil {
		return err
	}
	if f.From != nil && f.To != nil && f.To.Before(*f.From) {
		return validationProblem("invalid date range", FieldError{Field: "to", Message: "must not be before from"})
	}
	res, err := s.orders.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, func(o orders.Order) orderJSON { return toOrderJSON(o, false) }))
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Has("as_of") {
		return s.orderAsOf(w, r)
	}
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	o, err := s.orders.GetOrder(r.Context(), id)
	if err != nil {
		return err
	}
	return writeOrder(w, http.StatusOK, o)
}

// updateOrder changes the header fields sent; If-Match is required.
func (s *Server) updateOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	version, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var in struct {
		LegalEntityID *uuid.UUID `json:"legal_entity_id"`
		CustomerID    *uuid.UUID `json:"customer_id"`
		Salesperson   *string    `json:"salesperson"`
		PONumber      *string    `json:"po_number"`
		Notes         *string    `json:"notes"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := s.orders.UpdateOrder(r.Context(), id, version, orders.OrderPatch{
		LegalEntityID: in.LegalEntityID, CustomerID: in.CustomerID, Salesperson: in.Salesperson, PONumber: in.PONumber, Notes: in.Notes,
	})
	if err != nil {
		return err
	}
	return writeOrder(w, http.StatusOK, o)
}

// transition moves an order to status to. The body ({"reason": …}) is
// optional; If-Match is optional and checked when sent.
func (s *Server) transition(to orders.Status) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathUUID(r, "id")
		if err != nil {
			return err
		}
		version, err := optionalIfMatch(r)
		if err != nil {
			return err
		}
		var in struct {
			Reason string `json:"reason"`
		}
		if err := decodeOptionalJSON(r, &in); err != nil {
			return err
		}
		o, err := s.orders.Transition(r.Context(), id, to, version, in.Reason)
		if err != nil {
			return fmt.Errorf("%s order: %w", to, err)
		}
		return writeOrder(w, http.StatusOK, o)
	}
}

// addOrderLine adds a line to a draft order and answers with the order.
func (s *Server) addOrderLine(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	version, err := optionalIfMatch(r)
	if err != nil {
		return err
	}
	var in lineIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := s.orders.AddLine(r.Context(), id, version, in.input())
	if err != nil {
		return err
	}
	return writeOrder(w, http.StatusCreated, o)
}

// replaceOrderLine replaces a line of a draft order with the one sent.
func (s *Server) replaceOrderLine(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	lineID, err := pathUUID(r, "line_id")
	if err != nil {
		return err
	}
	version, err := optionalIfMatch(r)
	if err != nil {
		return err
	}
	var in lineIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := s.orders.UpdateLine(r.Context(), id, lineID, version, in.input())
	if err != nil {
		return err
	}
	return writeOrder(w, http.StatusOK, o)
}

// removeOrderLine deletes a line of a draft order; like every DELETE of a
// versioned resource it needs If-Match (428 without, 412 when stale).
func (s *Server) removeOrderLine(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	lineID, err := pathUUID(r, "line_id")
	if err != nil {
		return err
	}
	version, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	o, err := s.orders.RemoveLine(r.Context(), id, lineID, version)
	if err != nil {
		return err
	}
	return writeOrder(w, http.StatusOK, o)
}

type transitionJSON struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Reason *string   `json:"reason"`
	At     time.Time `json:"at"`
}

func (s *Server) listOrderTransitions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	all, err := s.orders.History(r.Context(), id)
	if err != nil {
		return err
	}
	items := make([]transitionJSON, len(all))
	for i, t := range all {
		items[i] = transitionJSON{From: string(t.From), To: string(t.To), Actor: t.Actor, Reason: nonEmpty(t.Reason), At: t.At}
	}
	return writeJSON(w, http.StatusOK, allItems(items))
}

type approvalJSON struct {
	Decision  string    `json:"decision"`
	DecidedBy string    `json:"decided_by"`
	Reason    *string   `json:"reason"`
	DecidedAt time.Time `json:"decided_at"`
}

func (s *Server) listOrderApprovals(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	all, err := s.orders.Approvals(r.Context(), id)
	if err != nil {
		return err
	}
	items := make([]approvalJSON, len(all))
	for i, a := range all {
		items[i] = approvalJSON{Decision: a.Decision, DecidedBy: a.DecidedBy, Reason: nonEmpty(a.Reason), DecidedAt: a.DecidedAt}
	}
	return writeJSON(w, http.StatusOK, allItems(items))
}
