package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/kpi"
)

// kpiRoutes are the read-only KPI reports. Every role may read them: they
// add up what each role can already read row by row (orders and invoices
// with their costs), and row-level security limits them to the caller's
// sites. Each handler is parse -> one kpi.Service call -> encode; the
// figures are defined in the database (migration 00012, docs/kpi.md).
func (s *Server) kpiRoutes() []route {
	return []route{
		{name: "kpiBookings", method: http.MethodGet, path: "/v1/kpi/bookings", roles: anyRole, handle: s.kpiBookings},
		{name: "kpiMargin", method: http.MethodGet, path: "/v1/kpi/margin", roles: anyRole, handle: s.kpiMargin},
		{name: "kpiMRR", method: http.MethodGet, path: "/v1/kpi/mrr", roles: anyRole, handle: s.kpiMRR},
	}
}

// ---- JSON shapes ----------------------------------------------------------------

// kpiGroupJSON is the key of a report row: a dimension the report is not
// grouped by is null; currency is always there.
type kpiGroupJSON struct {
	Month       *string    `json:"month"`
	Site        *string    `json:"site"`
	Currency    string     `json:"currency"`
	Salesperson *string    `json:"salesperson"`
	ProductID   *uuid.UUID `json:"product_id"`
	ProductSKU  *string    `json:"product_sku"`
}

func toKPIGroupJSON(g kpi.Group) kpiGroupJSON {
	return kpiGroupJSON{Month: nonEmpty(g.Month.String()), Site: nonEmpty(g.Site), Currency: g.Currency,
		Salesperson: nonEmpty(g.Salesperson), ProductID: g.ProductID, ProductSKU: nonEmpty(g.ProductSKU)}
}

type bookingJSON struct {
	kpiGroupJSON
	Orders          int     `json:"orders"`
	CancelledOrders int     `json:"cancelled_orders"`
	Amount          string  `json:"amount"`
	Cost            string  `json:"cost"`
	Margin          string  `json:"margin"`
	MarginPct       *string `json:"margin_pct"`
	MRR             string  `json:"mrr"`
}

type marginJSON struct {
	kpiGroupJSON
	Invoiced  string  `json:"invoiced"`
	Credited  string  `json:"credited"`
	Revenue   string  `json:"revenue"`
	Cost      string  `json:"cost"`
	Margin    string  `json:"margin"`
	MarginPct *string `json:"margin_pct"`
}

type mrrJSON struct {
	Month           *string    `json:"month"`
	Site            *string    `json:"site"`
	Currency        string     `json:"currency"`
	CustomerID      *uuid.UUID `json:"customer_id"`
	CustomerName    *string    `json:"customer_name"`
	ContractID      *uuid.UUID `json:"contract_id"`
	ContractNumber  *string    `json:"contract_number"`
	OpeningMRR      string     `json:"opening_mrr"`
	NewMRR          string     `json:"new_mrr"`
	ExpansionMRR    string     `json:"expansion_mrr"`
	ContractionMRR  string     `json:"contraction_mrr"`
	ChurnedMRR      string     `json:"churned_mrr"`
	ReactivationMRR string     `json:"reactivation_mrr"`
	ClosingMRR      string     `json:"closing_mrr"`
	ClosingUnits    int        `json:"closing_units"`
}

// mrrListJSON is a list with the time its rows are as of.
type mrrListJSON struct {
	list[mrrJSON]
	RefreshedAt time.Time `json:"refreshed_at"`
}

// ---- handlers ---------------------------------------------------------------------

func (s *Server) kpiBookings(w http.ResponseWriter, r *http.Request) error {
	f, err := parseKPIFilter(r)
	if err != nil {
		return err
	}
	res, err := s.kpi.Bookings(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]bookingJSON, len(res.Items))
	for i, b := range res.Items {
		items[i] = bookingJSON{kpiGroupJSON: toKPIGroupJSON(b.Group), Orders: b.Orders, CancelledOrders: b.CancelledOrders,
			Amount: money(b.Amount), Cost: money(b.Cost), Margin: money(b.Margin), MarginPct: nullMoney(b.MarginPct), MRR: money(b.MRR)}
	}
	return writeJSON(w, http.StatusOK, list[bookingJSON]{Items: items, NextCursor: nextCursor(res.NextCursor)})
}

func (s *Server) kpiMargin(w http.ResponseWriter, r *http.Request) error {
	f, err := parseKPIFilter(r)
	if err != nil {
		return err
	}
	res, err := s.kpi.Margin(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]marginJSON, len(res.Items))
	for i, m := range res.Items {
		items[i] = marginJSON{kpiGroupJSON: toKPIGroupJSON(m.Group), Invoiced: money(m.Invoiced), Credited: money(m.Credited),
			Revenue: money(m.Revenue), Cost: money(m.Cost), Margin: money(m.Margin), MarginPct: nullMoney(m.MarginPct)}
	}
	return writeJSON(w, http.StatusOK, list[marginJSON]{Items: items, NextCursor: nextCursor(res.NextCursor)})
}

func (s *Server) kpiMRR(w http.ResponseWriter, r *http.Request) error {
	var fe kpiFields
	q := r.URL.Query()
	f := kpi.MRRFilter{Site: q.Get("site"), Currency: q.Get("currency"), Level: kpi.Level(q.Get("level")), Cursor: q.Get("cursor")}
	f.From, f.To = fe.month(r, "from"), fe.month(r, "to")
	f.CustomerID = fe.uuid(r, "customer_id")
	f.GroupBy = fe.groupBy(r)
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	f.Limit = pg.limit
	if len(fe) > 0 {
		return fe.with(f.Validate())
	}
	res, err := s.kpi.MRR(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]mrrJSON, len(res.Items))
	for i, m := range res.Items {
		items[i] = mrrJSON{Month: nonEmpty(m.Month.String()), Site: nonEmpty(m.Site), Currency: m.Currency,
			CustomerID: m.CustomerID, CustomerName: nonEmpty(m.CustomerName), ContractID: m.ContractID, ContractNumber: nonEmpty(m.ContractNumber),
			OpeningMRR: money(m.Opening), NewMRR: money(m.New), ExpansionMRR: money(m.Expansion), ContractionMRR: money(m.Contraction),
			ChurnedMRR: money(m.Churned), ReactivationMRR: money(m.Reactivation), ClosingMRR: money(m.Closing), ClosingUnits: m.ClosingUnits}
	}
	return writeJSON(w, http.StatusOK, mrrListJSON{list: list[mrrJSON]{Items: items, NextCursor: nextCursor(res.NextCursor)},
		RefreshedAt: res.RefreshedAt.UTC()})
}

// parseKPIFilter reads the query of the bookings and margin reports. The
// values' formats are checked here, every bad one named at once; what they
// mean (a dimension of this report, a range in order) is kpi's to check.
func parseKPIFilter(r *http.Request) (kpi.Filter, error) {
	var fe kpiFields
	q := r.URL.Query()
	f := kpi.Filter{Site: q.Get("site"), Salesperson: q.Get("salesperson"), Currency: q.Get("currency"), Cursor: q.Get("cursor")}
	f.From, f.To = fe.month(r, "from"), fe.month(r, "to")
	f.ProductID = fe.uuid(r, "product_id")
	f.GroupBy = fe.groupBy(r)
	pg, err := parsePage(r)
	if err != nil {
		return f, err
	}
	f.Limit = pg.limit
	if len(fe) > 0 {
		return f, fe.with(f.Validate())
	}
	return f, nil
}

// kpiFields collects the invalid query parameters of a report.
type kpiFields []FieldError

func (fe *kpiFields) month(r *http.Request, name string) kpi.Month {
	v := r.URL.Query().Get(name)
	if v == "" {
		return kpi.Month{}
	}
	m, err := kpi.ParseMonth(v)
	if err != nil {
		*fe = append(*fe, FieldError{Field: name, Message: "must be a month, YYYY-MM, e.g. 2026-03"})
	}
	return m
}

func (fe *kpiFields) uuid(r *http.Request, name string) *uuid.UUID {
	id, err := queryUUID(r, name)
	if err != nil {
		*fe = append(*fe, FieldError{Field: name, Message: "must be a UUID"})
	}
	return id
}

// groupBy reads ?group_by=site,month (or repeated ?group_by=): nil when
// absent, so the report's default applies; empty for ?group_by= (one row
// per currency). Unknown names are kpi's to refuse.
func (fe *kpiFields) groupBy(r *http.Request) []kpi.Dimension {
	vs, ok := r.URL.Query()["group_by"]
	if !ok {
		return nil
	}
	out := []kpi.Dimension{}
	for _, v := range vs {
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, kpi.Dimension(d))
			}
		}
	}
	return out
}

// with answers the fields that did not parse and those the kpi package
// finds invalid among the others (domainErr, from Validate), in one 422.
func (fe kpiFields) with(domainErr error) error {
	return validationProblem("invalid report filter", append(fe, domainFields(domainErr)...)...)
}
