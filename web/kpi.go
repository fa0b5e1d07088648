package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/messina-oms/messina/fault"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
)

// kpiReports are the tabs of the KPI page, in order.
var kpiReports = []struct{ Name, Title string }{
	{"bookings", "Bookings"}, {"margin", "Revenue and margin"}, {"mrr", "MRR and movements"},
}

// kpiDimensions are the dimensions each report may be grouped by, beside
// currency, which every report groups by whatever is asked.
var kpiDimensions = map[string][]kpi.Dimension{
	"bookings": {kpi.BySite, kpi.ByMonth, kpi.BySalesperson, kpi.ByProduct},
	"margin":   {kpi.BySite, kpi.ByMonth, kpi.BySalesperson, kpi.ByProduct},
	"mrr":      {kpi.BySite, kpi.ByMonth, kpi.ByCustomer, kpi.ByContract},
}

// kpiData is the KPI page: one report, its filters as sent, and its rows.
type kpiData struct {
	Report, ReportTitle string
	// Tabs link the three reports with the filters they share.
	Tabs []kpiTab
	// The filters as sent, to fill the form again.
	From, To, Site, Currency, Level string
	Dimensions                      []kpiDimension
	Sites                           []orders.Site
	Currencies                      []string
	// Columns says which dimensions the rows have: those grouped by.
	Columns map[string]bool

	Bookings []kpi.Booking
	Margin   []kpi.Margin
	MRR      []kpi.MRRMovement
	// RefreshedAt is when the MRR rows were computed.
	RefreshedAt time.Time
	pageLinks
}

type kpiTab struct {
	Title, URL string
	Current    bool
}

// kpiDimension is a group-by box of the filter form.
type kpiDimension struct {
	Name    kpi.Dimension
	Checked bool
}

// kpiHome opens the first report.
func (s *Server) kpiHome(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, filteredURL("/kpi/bookings", r.URL.Query()), http.StatusSeeOther)
	return nil
}

// kpiReport shows one KPI report with its filters and paging. Figures come
// from the kpi package as they are (docs/kpi.md), row by row: nothing is
// added up here, least of all across currencies.
func (s *Server) kpiReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	report := mux.Vars(r)["report"]
	q := r.URL.Query()
	d := kpiData{Report: report, From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Site: q.Get("site"), Currency: strings.TrimSpace(q.Get("currency")), Level: q.Get("level")}
	shared := url.Values{"from": {d.From}, "to": {d.To}, "site": {d.Site}, "currency": {d.Currency}}
	for _, t := range kpiReports {
		d.Tabs = append(d.Tabs, kpiTab{Title: t.Title, URL: filteredURL("/kpi/"+t.Name, shared), Current: t.Name == report})
		if t.Name == report {
			d.ReportTitle = t.Title
		}
	}

	// Formats are checked here, every bad one named at once with what the
	// kpi package finds wrong with the rest (ranges, dimensions, cursor).
	var fields []fieldError
	from, to := parseMonth(d.From, "from", &fields), parseMonth(d.To, "to", &fields)
	groupBy := kpiGroupBy(q)
	d.Columns = map[string]bool{}
	shown := groupBy
	if shown == nil {
		shown = kpi.DefaultGroupBy
	}
	for _, g := range shown {
		d.Columns[string(g)] = true
	}
	for _, dim := range kpiDimensions[report] {
		d.Dimensions = append(d.Dimensions, kpiDimension{Name: dim, Checked: d.Columns[string(dim)]})
	}
	cursor := q.Get("cursor")
	links := url.Values{"from": {d.From}, "to": {d.To}, "site": {d.Site}, "currency": {d.Currency}, "level": {d.Level}}
	if groupBy != nil {
		links.Set("grouped", "1")
		for _, g := range groupBy {
			links.Add("group_by", string(g))
		}
	}

	sites, err := s.orders.ListSites(ctx)
	if err != nil {
		return err
	}
	d.Sites = sites
	for _, st := range sites {
		if !slices.Contains(d.Currencies, st.Currency) {
			d.Currencies = append(d.Currencies, st.Currency)
		}
	}
	slices.Sort(d.Currencies)

	var next string
	switch report {
	case "mrr":
		f := kpi.MRRFilter{Site: d.Site, From: from, To: to, Currency: d.Currency, Level: kpi.Level(d.Level),
			GroupBy: groupBy, Limit: pageSize, Cursor: cursor}
		if err := checkKPI(fields, f.Validate()); err != nil {
			return err
		}
		res, err := s.kpi.MRR(ctx, f)
		if err != nil {
			return err
		}
		d.MRR, d.RefreshedAt, next = res.Items, res.RefreshedAt, res.NextCursor
	default:
		f := kpi.Filter{Site: d.Site, From: from, To: to, Currency: d.Currency, GroupBy: groupBy, Limit: pageSize, Cursor: cursor}
		if err := checkKPI(fields, f.Validate()); err != nil {
			return err
		}
		if report == "bookings" {
			res, err := s.kpi.Bookings(ctx, f)
			if err != nil {
				return err
			}
			d.Bookings, next = res.Items, res.NextCursor
		} else {
			res, err := s.kpi.Margin(ctx, f)
			if err != nil {
				return err
			}
			d.Margin, next = res.Items, res.NextCursor
		}
	}
	d.pageLinks = listLinks("/kpi/"+report, links, "cursor", cursor, next)
	return s.render(w, r, http.StatusOK, "kpi", "KPIs: "+d.ReportTitle, d)
}

// parseMonth reads a month input's value (YYYY-MM); empty is no bound.
func parseMonth(v, field string, fields *[]fieldError) kpi.Month {
	if v == "" {
		return kpi.Month{}
	}
	m, err := kpi.ParseMonth(v)
	if err != nil {
		*fields = append(*fields, fieldError{field, "must be a month, YYYY-MM, e.g. 2026-03"})
	}
	return m
}

// kpiGroupBy reads the group-by boxes. The form sends grouped=1 with the
// boxes ticked, so that ticking none (one row per currency) differs from
// not asking (the report's default, nil).
func kpiGroupBy(q url.Values) []kpi.Dimension {
	vs, ok := q["group_by"]
	if !ok && q.Get("grouped") == "" {
		return nil
	}
	out := []kpi.Dimension{}
	for _, v := range vs {
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.TrimSpace(d); d != "" && !slices.Contains(out, kpi.Dimension(d)) {
				out = append(out, kpi.Dimension(d))
			}
		}
	}
	return out
}

// checkKPI answers the fields that did not parse and those the kpi
// package finds invalid among the others, in one 422.
func checkKPI(fields []fieldError, domainErr error) error {
	if len(fields) == 0 {
		return domainErr
	}
	var fe *fault.Error
	if errors.As(domainErr, &fe) {
		for _, f := range fe.Fields {
			fields = append(fields, fieldError{Field: f.Field, Message: f.Message})
		}
	}
	return invalid("The report filters are not valid.", fields...)
}
