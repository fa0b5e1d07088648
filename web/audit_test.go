package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/messina-oms/messina/auth"
)

// event is one audit event as the page shows it.
type event struct {
	id, op, table, key, meta string
	// changes maps a field to its "old → new" text.
	changes map[string]string
}

func events(t *testing.T, p *page) []event {
	t.Helper()
	var out []event
	for _, li := range findAll(p.mustID(t, "events"), tag("li")) {
		if attr(li, "data-event") == "" {
			continue
		}
		e := event{id: attr(li, "data-event"), changes: map[string]string{}}
		for _, n := range findAll(li, func(n *htmlNode) bool { return attr(n, "class") != "" }) {
			switch attr(n, "class") {
			case "op":
				e.op = text(n)
			case "table":
				e.table = text(n)
			case "key":
				e.key = text(n)
			case "event-meta":
				e.meta = text(n)
			}
		}
		for _, tr := range findAll(li, tag("tr")) {
			if td := findAll(tr, tag("td")); len(td) == 4 {
				e.changes[text(td[0])] = text(td[1]) + " → " + text(td[3])
			}
		}
		out = append(out, e)
	}
	return out
}

func TestAuditorsReadAnOrdersTimelineOfRowsLinesAndRevisions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.bigOrder(t)
	path := "/orders/" + o.ID.String()
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))
	submit := staff.post(path+"/transition", url.Values{"to": {"submitted"}, "version": {strconv.Itoa(int(o.Version))}}).wantStatus(t, http.StatusSeeOther)
	staff.upload(path+"/attachments", [][2]string{{"comment", "signed"}}, file{name: "signed.txt", contentType: "text/plain", content: []byte("signed\n")}).wantStatus(t, http.StatusSeeOther)

	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))
	p := aud.get(path+"/timeline").wantStatus(t, http.StatusOK)
	if p.title() != "Audit timeline of order "+o.Number {
		t.Fatalf("title %q", p.title())
	}
	evs := events(t, p)
	var tables []string
	for i, e := range evs {
		tables = append(tables, e.op+" "+e.table)
		if i > 0 {
			prev, _ := strconv.Atoi(evs[i-1].id)
			cur, _ := strconv.Atoi(e.id)
			if cur <= prev {
				t.Fatalf("events out of order: %s after %s", e.id, evs[i-1].id)
			}
		}
	}
	for _, want := range []string{"insert orders.order", "insert orders.order_line", "update orders.order", "insert orders.order_transition",
		"insert files.attachment", "insert files.revision"} {
		if !slices.Contains(tables, want) {
			t.Errorf("the timeline lacks %q: %v", want, tables)
		}
	}
	if tables[0] != "insert orders.order" || tables[len(tables)-1] != "insert files.revision" {
		t.Errorf("the timeline is not in the order things happened: %v", tables)
	}
	// The submit made through the UI is attributed to the staff token and
	// to the very request that made it.
	var submitted *event
	for i, e := range evs {
		if e.table == "orders.order" && e.changes["status"] == "draft → submitted" {
			submitted = &evs[i]
		}
	}
	if submitted == nil {
		t.Fatalf("no event changes the status draft → submitted: %+v", evs)
	}
	if !strings.Contains(submitted.meta, "token:web staff") || !strings.Contains(submitted.meta, submit.Header.Get("X-Request-Id")) {
		t.Errorf("the submit event says %q; want the staff token and request %s", submitted.meta, submit.Header.Get("X-Request-Id"))
	}
	if !strings.Contains(submitted.key, o.ID.String()) {
		t.Errorf("key %q", submitted.key)
	}
	for _, e := range evs {
		if e.table == "files.revision" && (e.changes["filename"] != "— → signed.txt" || e.changes["comment"] != "— → signed" ||
			e.changes["restored_from"] != "— → null") {
			t.Errorf("the revision event shows %v", e.changes)
		}
	}
	if got := p.postActions(); len(got) != 0 {
		t.Errorf("the timeline has forms posting to %v", got)
	}
}

func TestAuditEventListFiltersAndHonoursSites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.smallOrder(t, b.ukCustomer)
	other := b.smallOrder(t, b.ukCustomer)
	_, err := b.orders.Submit(b.admin, o.ID, o.Version)
	must(t, err)
	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))

	if !slices.Contains(aud.get("/orders").links(), "/audit/events") {
		t.Error("an all-sites auditor has no link to the audit events")
	}
	all := events(t, aud.get("/audit/events").wantStatus(t, http.StatusOK))
	if len(all) < 10 {
		t.Fatalf("only %d events in all", len(all))
	}
	key := `{"id": "` + o.ID.String() + `"}`
	p := aud.get("/audit/events?"+url.Values{"table": {"orders.order"}, "key": {key}}.Encode()).wantStatus(t, http.StatusOK)
	row := events(t, p)
	if len(row) < 2 || row[0].op != "insert" {
		t.Fatalf("events of the order row: %+v", row)
	}
	var statuses []string
	for _, e := range row {
		if e.table != "orders.order" || !strings.Contains(e.key, o.ID.String()) || strings.Contains(e.key, other.ID.String()) {
			t.Fatalf("an event of another row: %+v", e)
		}
		if s, ok := e.changes["status"]; ok && e.op == "update" {
			statuses = append(statuses, s)
		}
	}
	// A small order is approved as it is submitted: one update.
	if !slices.Contains(statuses, "draft → approved") {
		t.Errorf("status changes %v", statuses)
	}
	// The filters are kept in the form, and events link to their order.
	for _, in := range findAll(p.Doc, tag("input")) {
		if attr(in, "name") == "key" && attr(in, "value") != key {
			t.Errorf("the key filter reads %q", attr(in, "value"))
		}
	}
	if !slices.Contains(p.links(), "/orders/"+o.ID.String()) {
		t.Error("events of an order do not link to it")
	}
	if late := events(t, aud.get("/audit/events?since=2999-01-01T00:00").wantStatus(t, http.StatusOK)); len(late) != 0 {
		t.Errorf("events since 2999: %d", len(late))
	}

	bad := aud.get("/audit/events?"+url.Values{"table": {"orders"}, "key": {"[1]"}, "until": {"yesterday"}}.Encode()).wantStatus(t, http.StatusUnprocessableEntity)
	if got := fieldErrors(bad); len(got) != 3 {
		t.Errorf("422 names %v", got)
	}
	aud.get("/audit/events?table=public.nothing").wantStatus(t, http.StatusNotFound)

	// A site-limited auditor reads its sites' events, never another's.
	uk := b.signedIn(t, b.token(t, auth.RoleAuditor, "UK"))
	if !slices.Contains(uk.get("/orders").links(), "/audit/events") {
		t.Error("a UK auditor has no link to the audit events")
	}
	if got := events(t, uk.get("/audit/events?"+url.Values{"table": {"orders.order"}, "key": {key}}.Encode()).wantStatus(t, http.StatusOK)); len(got) != len(row) {
		t.Errorf("a UK auditor sees %d of the UK order's %d events", len(got), len(row))
	}
	uk.get("/orders/"+o.ID.String()+"/timeline").wantStatus(t, http.StatusOK)
	fr := b.signedIn(t, b.token(t, auth.RoleAuditor, "FR"))
	if got := events(t, fr.get("/audit/events?"+url.Values{"table": {"orders.order"}, "key": {key}}.Encode()).wantStatus(t, http.StatusOK)); len(got) != 0 {
		t.Errorf("an FR auditor sees the UK order's events: %+v", got)
	}
	if res := fr.get("/orders/"+o.ID.String()+"/timeline").wantStatus(t, http.StatusNotFound); strings.Contains(res.Body, o.Number) {
		t.Error("the 404 names the other site's order")
	}
}

// The event list pages by cursor and keeps its filters on every link.
func TestAuditEventListPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.db.Owner.Exec(context.Background(), `SET messina.sites = '*';
		INSERT INTO core.customer (site_id, name, currency, language, timezone, payment_terms_days)
		SELECT 'UK', 'Paged ' || g, 'GBP', 'en', 'Europe/London', 30 FROM generate_series(1, 120) g`); err != nil {
		t.Fatal(err)
	}
	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))
	first := aud.get("/audit/events?table=core.customer").wantStatus(t, http.StatusOK)
	got := events(t, first)
	var next string
	for _, l := range first.links() {
		if strings.HasPrefix(l, "/audit/events?") && strings.Contains(l, "cursor=") {
			next = l
		}
	}
	if len(got) != 100 || next == "" || !strings.Contains(next, "table=core.customer") {
		t.Fatalf("first page: %d events, next link %q", len(got), next)
	}
	second := aud.get(next).wantStatus(t, http.StatusOK)
	rest := events(t, second)
	if len(rest) < 20 || rest[0].table != "core.customer" || !slices.Contains(second.links(), "/audit/events?table=core.customer") {
		t.Fatalf("second page: %d events, links %v", len(rest), second.links())
	}
}
