package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/auth"
)

func (s *Server) auditRoutes() []route {
	return []route{
		{name: "listAuditEvents", method: http.MethodGet, path: "/v1/audit/events", roles: auditors, handle: s.listAuditEvents},
		{name: "auditRowAsOf", method: http.MethodGet, path: "/v1/audit/row", roles: auditors, handle: s.auditRowAsOf},
		{name: "auditDiff", method: http.MethodGet, path: "/v1/audit/diff", roles: auditors, handle: s.auditDiff},
		{name: "getOrderHistory", method: http.MethodGet, path: "/v1/orders/{id}/history", roles: auditors, handle: s.orderHistory},
	}
}

// auditRead runs fn in a transaction that carries the principal (the
// audit functions read several tables and must see one snapshot).
func (s *Server) auditRead(r *http.Request, fn func(tx pgx.Tx) error) error {
	return auth.InTx(r.Context(), s.pool, fn)
}

// rowParams reads ?table=schema.name&key={json object}.
func rowParams(r *http.Request, needKey bool) (audit.Table, json.RawMessage, []FieldError) {
	q := r.URL.Query()
	var fields []FieldError
	var t audit.Table
	if v := q.Get("table"); v != "" || needKey {
		var err error
		if t, err = audit.ParseTable(v); err != nil {
			fields = append(fields, FieldError{Field: "table", Message: "must be schema.table, e.g. orders.order"})
		}
	}
	var key json.RawMessage
	if v := q.Get("key"); v != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			fields = append(fields, FieldError{Field: "key", Message: `must be a JSON object of the key columns, e.g. {"id":"…"}`})
		} else {
			key = json.RawMessage(v)
		}
	} else if needKey {
		fields = append(fields, FieldError{Field: "key", Message: "is required"})
	}
	return t, key, fields
}

func timeParam(r *http.Request, name string, fields *[]FieldError) time.Time {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		*fields = append(*fields, FieldError{Field: name, Message: "must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"})
	}
	return t
}

// listAuditEvents lists log events by table, key and time; with
// ?format=csv (or Accept: text/csv) it streams every matching event as CSV.
func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) error {
	t, key, fields := rowParams(r, false)
	if key != nil && t.Name == "" {
		fields = append(fields, FieldError{Field: "table", Message: "is required with key"})
	}
	since, until := timeParam(r, "since", &fields), timeParam(r, "until", &fields)
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		return validationProblem("invalid audit query", fields...)
	}
	f := audit.Filter{Table: t, Key: key, Since: since, Until: until, Cursor: r.URL.Query().Get("cursor"), Limit: pg.limit}
	if r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit-events.csv"`)
		f.Cursor = ""
		return s.auditRead(r, func(tx pgx.Tx) error { return audit.Export(r.Context(), tx, f, w) })
	}
	var page audit.Page
	if err := s.auditRead(r, func(tx pgx.Tx) error {
		var err error
		page, err = audit.List(r.Context(), tx, f)
		return err
	}); err != nil {
		return err
	}
	return writeEvents(w, page)
}

func writeEvents(w http.ResponseWriter, page audit.Page) error {
	out := list[audit.Event]{Items: page.Events, NextCursor: nextCursor(page.NextCursor)}
	if out.Items == nil {
		out.Items = []audit.Event{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) auditRowAsOf(w http.ResponseWriter, r *http.Request) error {
	t, key, fields := rowParams(r, true)
	at := timeParam(r, "as_of", &fields)
	if at.IsZero() && r.URL.Query().Get("as_of") == "" {
		fields = append(fields, FieldError{Field: "as_of", Message: "is required"})
	}
	if len(fields) > 0 {
		return validationProblem("invalid audit query", fields...)
	}
	var row audit.Row
	if err := s.auditRead(r, func(tx pgx.Tx) error {
		var err error
		row, err = audit.AsOf(r.Context(), tx, t, key, at)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rowJSON(row, at))
}

func rowJSON(row audit.Row, at time.Time) map[string]any {
	return map[string]any{"table": row.Table, "key": row.Key, "as_of": at, "fields": row.Fields}
}

// pointParam reads a point in time: an RFC 3339 time or a transaction id.
func pointParam(r *http.Request, name string, fields *[]FieldError) audit.Point {
	v := r.URL.Query().Get(name)
	if txid, err := strconv.ParseUint(v, 10, 64); err == nil && txid > 0 {
		return audit.AtTx(txid)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		*fields = append(*fields, FieldError{Field: name, Message: "must be an RFC 3339 time or a transaction id"})
	}
	return audit.AtTime(t)
}

func (s *Server) auditDiff(w http.ResponseWriter, r *http.Request) error {
	t, key, fields := rowParams(r, true)
	from, to := pointParam(r, "from", &fields), pointParam(r, "to", &fields)
	if len(fields) > 0 {
		return validationProblem("invalid audit query", fields...)
	}
	var changes []audit.Change
	if err := s.auditRead(r, func(tx pgx.Tx) error {
		var err error
		changes, err = audit.Diff(r.Context(), tx, t, key, from, to)
		return err
	}); err != nil {
		return err
	}
	type change struct {
		Field string          `json:"field"`
		Old   json.RawMessage `json:"old"`
		New   json.RawMessage `json:"new"`
	}
	out := make([]change, len(changes))
	for i, c := range changes {
		out[i] = change{Field: c.Field, Old: orNull(c.Old), New: orNull(c.New)}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"table": t, "key": key, "changes": out})
}

func orNull(b json.RawMessage) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}

// orderHistory is an order's timeline: its rows, lines, approvals,
// transitions and document revisions in one ordered list.
func (s *Server) orderHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	// The order must be visible to the caller's sites: another site's
	// order answers 404, not an empty history.
	if _, err := s.orders.OrderSite(r.Context(), id); err != nil {
		return err
	}
	var page audit.Page
	if err := s.auditRead(r, func(tx pgx.Tx) error {
		var err error
		page, err = audit.OrderTimeline(r.Context(), tx, id, r.URL.Query().Get("cursor"), pg.limit)
		return err
	}); err != nil {
		return err
	}
	return writeEvents(w, page)
}

// orderAsOf answers GET /v1/orders/{id}?as_of=: the order and its lines as
// the audit log says they were then. Only auditors and admins may ask.
func (s *Server) orderAsOf(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	if !slices.Contains(auditors, p.Role) {
		return problem(http.StatusForbidden, "forbidden", "only auditors and admins may read an order as of a time")
	}
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var fields []FieldError
	at := timeParam(r, "as_of", &fields)
	if len(fields) > 0 {
		return validationProblem("invalid as_of", fields...)
	}
	if _, err := s.orders.OrderSite(r.Context(), id); err != nil {
		return err
	}
	var o audit.OrderAsOf
	if err := s.auditRead(r, func(tx pgx.Tx) error {
		var err error
		o, err = audit.OrderAt(r.Context(), tx, id, at)
		return err
	}); err != nil {
		return err
	}
	lines := make([]map[string]json.RawMessage, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = l.Fields
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": id, "as_of": at, "order": o.Order.Fields, "lines": lines})
}
