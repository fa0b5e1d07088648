package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

// auditPageSize is how many events an audit page shows.
const auditPageSize = 100

// eventView is one audit event as a page shows it: who changed which row
// when, and each changed field's old and new value.
type eventView struct {
	audit.Event
	OpName string
	// KeyText is the row's key as compact JSON.
	KeyText string
	Changes []fieldChange
	// OrderURL links events of an order's own row to its page.
	OrderURL string
}

// fieldChange is one column of an event: its value before and after. An
// insert has no old values and a delete no new ones.
type fieldChange struct {
	Field          string
	Old, New       string
	HasOld, HasNew bool
}

var opNames = map[audit.Op]string{
	audit.OpInsert: "insert", audit.OpUpdate: "update", audit.OpDelete: "delete", audit.OpTruncate: "truncate",
}

var orderTable = audit.Table{Schema: "orders", Name: "order"}

func eventViews(events []audit.Event) []eventView {
	out := make([]eventView, len(events))
	for i, e := range events {
		v := eventView{Event: e, OpName: opNames[e.Op], KeyText: compactJSON(e.Key)}
		if v.OpName == "" {
			v.OpName = string(e.Op)
		}
		before, after := jsonFields(e.Old), jsonFields(e.New)
		names := make([]string, 0, len(before)+len(after))
		for k := range before {
			names = append(names, k)
		}
		for k := range after {
			if _, ok := before[k]; !ok {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			o, hasOld := before[n]
			nv, hasNew := after[n]
			v.Changes = append(v.Changes, fieldChange{Field: n, Old: jsonText(o), New: jsonText(nv), HasOld: hasOld, HasNew: hasNew})
		}
		if e.Table == orderTable {
			var key struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(e.Key, &key) == nil {
				if id, err := uuid.Parse(key.ID); err == nil {
					v.OrderURL = "/orders/" + id.String()
				}
			}
		}
		out[i] = v
	}
	return out
}

func jsonFields(b json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if len(b) == 0 || json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// jsonText shows a JSON value to people: strings without their quotes,
// null as null (not as an empty string), anything else as compact JSON.
func jsonText(b json.RawMessage) string {
	if string(bytes.TrimSpace(b)) == "null" {
		return "null"
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	return compactJSON(b)
}

func compactJSON(b json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// timelineData is an order's audit timeline.
type timelineData struct {
	Order  orders.Order
	Events []eventView
	pageLinks
}

// orderTimeline lists the audit events of every row of an order (its
// header, lines, approvals, transitions, attachments and revisions) in
// the order they happened.
func (s *Server) orderTimeline(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// The log itself is not site-isolated: reading the order through row-
	// level security first is what keeps other sites' history out.
	o, err := s.orders.GetOrder(ctx, id)
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	var page audit.Page
	if err := auth.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		page, err = audit.OrderTimeline(ctx, tx, id, cursor, auditPageSize)
		return err
	}); err != nil {
		return err
	}
	d := timelineData{Order: o, Events: eventViews(page.Events),
		pageLinks: listLinks("/orders/"+id.String()+"/timeline", nil, "cursor", cursor, page.NextCursor)}
	return s.render(w, r, http.StatusOK, "timeline", "Timeline of order "+o.Number, d)
}

// auditEventsData is the audit event list with its filters as sent.
type auditEventsData struct {
	Table, Key, Since, Until string
	Events                   []eventView
	pageLinks
}

// timeLayouts are what the since and until filters accept: RFC 3339, or
// the value of a datetime-local input or a plain date, read as UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

func parseFilterTime(v string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// auditEvents lists the audit log, filtered by table, row key and time.
// A principal limited to sites sees their events and those of tables
// without a site (the audit package filters in SQL).
func (s *Server) auditEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := auditEventsData{Table: strings.TrimSpace(q.Get("table")), Key: strings.TrimSpace(q.Get("key")),
		Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until"))}
	f := audit.Filter{Cursor: q.Get("cursor"), Limit: auditPageSize}
	var fields []fieldError
	if d.Table != "" {
		t, err := audit.ParseTable(d.Table)
		if err != nil {
			fields = append(fields, fieldError{"table", "must be schema.table, e.g. orders.order"})
		}
		f.Table = t
	}
	if d.Key != "" {
		var obj map[string]any
		switch {
		case json.Unmarshal([]byte(d.Key), &obj) != nil || obj == nil:
			fields = append(fields, fieldError{"key", `must be a JSON object of the key columns, e.g. {"id": "…"}`})
		case d.Table == "":
			fields = append(fields, fieldError{"table", "is required with a key"})
		default:
			f.Key = json.RawMessage(d.Key)
		}
	}
	for _, tf := range []struct {
		name, value string
		into        *time.Time
	}{{"since", d.Since, &f.Since}, {"until", d.Until, &f.Until}} {
		if tf.value == "" {
			continue
		}
		t, ok := parseFilterTime(tf.value)
		if !ok {
			fields = append(fields, fieldError{tf.name, "must be a time such as 2026-01-31T12:00 (UTC) or an RFC 3339 time"})
		}
		*tf.into = t
	}
	if len(fields) > 0 {
		return invalid("The filters are not valid.", fields...)
	}
	var page audit.Page
	if err := auth.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		page, err = audit.List(ctx, tx, f)
		return err
	}); err != nil {
		return err
	}
	d.Events = eventViews(page.Events)
	filters := url.Values{"table": {d.Table}, "key": {d.Key}, "since": {d.Since}, "until": {d.Until}}
	d.pageLinks = listLinks("/audit/events", filters, "cursor", f.Cursor, page.NextCursor)
	return s.render(w, r, http.StatusOK, "events", "Audit events", d)
}
