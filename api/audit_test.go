package api_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/messina-oms/messina/auth"
)

type eventBody struct {
	ID    int64          `json:"id"`
	Site  string         `json:"site"`
	Table string         `json:"table"`
	Op    string         `json:"op"`
	Actor string         `json:"actor"`
	New   map[string]any `json:"new"`
	Old   map[string]any `json:"old"`
}

type eventPage struct {
	Items      []eventBody `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// An auditor sees an order's row changes and document revisions on one
// timeline, can rebuild the order as it was, and diff two points.
func TestOrderHistoryAsOfAndDiff(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	auditor := o.token(t, auth.RoleAuditor)
	staff := o.token(t, auth.RoleStaff)
	frAuditor := o.token(t, auth.RoleAuditor, "FR")

	created := o.wantOrder(t, o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(map[string]any{"product_id": o.c.fibre.ID, "quantity": "2"})}), http.StatusCreated)
	path := "/v1/orders/" + created.ID
	time.Sleep(20 * time.Millisecond)
	before := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	patched := o.wantOrder(t, o.call(t, request{method: "PATCH", path: path, body: map[string]any{"salesperson": "bruno"}, header: ifMatch(created.Version)}), http.StatusOK)
	req := upload("text/plain", []byte("signed quote"), nil)
	req.path = path + "/attachments?filename=quote.txt"
	if res := o.call(t, req); res.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	o.wantOrder(t, o.call(t, request{method: "POST", path: path + "/submit", header: ifMatch(patched.Version)}), http.StatusOK)

	res := o.call(t, request{method: "GET", path: path + "/history?limit=500", token: auditor})
	if res.Status != 200 {
		t.Fatalf("history: %d %s", res.Status, res.Body)
	}
	var page eventPage
	res.json(t, &page)
	seen := map[string]bool{}
	var last int64
	for _, e := range page.Items {
		seen[e.Table+" "+e.Op] = true
		if e.ID <= last {
			t.Fatalf("timeline out of order at event %d", e.ID)
		}
		last = e.ID
	}
	for _, want := range []string{"orders.order I", "orders.order U", "orders.order_line I", "orders.order_transition I", "files.attachment I", "files.revision I"} {
		if !seen[want] {
			t.Errorf("the timeline lacks %q; it has %v", want, seen)
		}
	}
	if page.Items[0].Actor == "" {
		t.Error("events carry no actor")
	}

	if res := o.call(t, request{method: "GET", path: path + "/history", token: staff}); res.Status != http.StatusForbidden {
		t.Fatalf("staff reading history: %d", res.Status)
	}
	if res := o.call(t, request{method: "GET", path: path + "/history", token: frAuditor}); res.Status != http.StatusNotFound {
		t.Fatalf("an FR auditor reading a UK order's history: %d", res.Status)
	}

	asOf := o.call(t, request{method: "GET", path: path + "?as_of=" + url.QueryEscape(before.Format(time.RFC3339Nano)), token: auditor})
	var then struct {
		Order map[string]any   `json:"order"`
		Lines []map[string]any `json:"lines"`
	}
	asOf.json(t, &then)
	if asOf.Status != 200 || then.Order["salesperson"] != "ana" || then.Order["status"] != "draft" || len(then.Lines) != 1 {
		t.Fatalf("as of before the patch: %d %s", asOf.Status, asOf.Body)
	}
	if res := o.call(t, request{method: "GET", path: path + "?as_of=" + url.QueryEscape(before.Format(time.RFC3339Nano)), token: staff}); res.Status != http.StatusForbidden {
		t.Fatalf("staff asking as_of: %d", res.Status)
	}

	key := url.QueryEscape(`{"id":"` + created.ID + `"}`)
	diff := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/diff?table=orders.order&key=" + key +
		"&from=" + url.QueryEscape(before.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano))})
	var d struct {
		Changes []struct {
			Field string `json:"field"`
			Old   any    `json:"old"`
			New   any    `json:"new"`
		} `json:"changes"`
	}
	diff.json(t, &d)
	got := map[string]bool{}
	for _, c := range d.Changes {
		got[c.Field] = true
		if c.Field == "salesperson" && (c.Old != "ana" || c.New != "bruno") {
			t.Errorf("salesperson change %v -> %v", c.Old, c.New)
		}
	}
	if diff.Status != 200 || !got["salesperson"] || !got["status"] {
		t.Fatalf("diff: %d %s", diff.Status, diff.Body)
	}

	row := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/row?table=orders.order&key=" + key + "&as_of=" + url.QueryEscape(before.Format(time.RFC3339Nano))})
	if row.Status != 200 || !strings.Contains(string(row.Body), `"salesperson":"ana"`) {
		t.Fatalf("row as of: %d %s", row.Status, row.Body)
	}
}

func TestAuditEventsListAndCSV(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	auditor := o.token(t, auth.RoleAuditor)
	created := o.wantOrder(t, o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(map[string]any{"product_id": o.c.fibre.ID, "quantity": "1"})}), http.StatusCreated)
	key := url.QueryEscape(`{"id":"` + created.ID + `"}`)
	res := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/events?table=orders.order&key=" + key})
	var page eventPage
	res.json(t, &page)
	if res.Status != 200 || len(page.Items) != 1 || page.Items[0].Op != "I" || page.Items[0].New["id"] != created.ID {
		t.Fatalf("events of one order: %d %s", res.Status, res.Body)
	}
	if !strings.HasPrefix(page.Items[0].Actor, "bootstrap") {
		t.Fatalf("actor %q, want the bootstrap admin who created it", page.Items[0].Actor)
	}
	all := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/events?limit=2"})
	var first eventPage
	all.json(t, &first)
	if len(first.Items) != 2 || first.NextCursor == nil {
		t.Fatalf("first page: %s", all.Body)
	}
	next := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/events?limit=2&cursor=" + *first.NextCursor})
	var second eventPage
	next.json(t, &second)
	if len(second.Items) == 0 || second.Items[0].ID <= first.Items[1].ID {
		t.Fatalf("second page does not follow the first: %s", next.Body)
	}

	csvRes := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/events?format=csv&table=orders.order&key=" + key})
	records, err := csv.NewReader(strings.NewReader(string(csvRes.Body))).ReadAll()
	if csvRes.Status != 200 || err != nil || len(records) != 2 || !strings.HasPrefix(csvRes.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %v %q", csvRes.Status, err, csvRes.Body)
	}

	for _, q := range []string{"table=nope", "key=notjson&table=orders.order", `key={"id":"x"}`, "since=yesterday"} {
		res := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/events?" + q, invalid: true})
		if res.Status != 422 {
			t.Errorf("%s: want 422, got %d %s", q, res.Status, res.Body)
		}
	}
	if res := o.call(t, request{method: "GET", token: auditor, path: "/v1/audit/events?table=public.not_audited"}); res.Status != 404 {
		t.Errorf("a table that is not audited: %d %s", res.Status, res.Body)
	}
}

// A site-limited auditor reads the audit log too: its sites' events and
// those of tables without a site (the catalogue), never another site's.
func TestSiteLimitedAuditorsSeeOnlyTheirSitesEvents(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	ukAuditor := o.token(t, auth.RoleAuditor, "UK")
	frAuditor := o.token(t, auth.RoleAuditor, "FR")
	created := o.wantOrder(t, o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(map[string]any{"product_id": o.c.fibre.ID, "quantity": "1"})}), http.StatusCreated)
	all := func(token, query string) []eventBody {
		t.Helper()
		var out []eventBody
		path := "/v1/audit/events?limit=500" + query
		for pages := 0; ; pages++ {
			res := o.call(t, request{method: "GET", path: path, token: token})
			if res.Status != 200 {
				t.Fatalf("%s: %d %s", path, res.Status, res.Body)
			}
			var p eventPage
			res.json(t, &p)
			out = append(out, p.Items...)
			if p.NextCursor == nil || pages > 20 {
				return out
			}
			path = "/v1/audit/events?limit=500" + query + "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
	}
	sites := func(events []eventBody) map[string]int {
		n := map[string]int{}
		for _, e := range events {
			n[e.Site]++
		}
		return n
	}
	everything := sites(all("", ""))
	if everything["UK"] == 0 || everything["FR"] == 0 || everything[""] == 0 {
		t.Fatalf("an all-sites auditor's events by site: %v", everything)
	}
	uk := sites(all(ukAuditor, ""))
	if uk["FR"] != 0 || uk["UK"] != everything["UK"] || uk[""] != everything[""] {
		t.Fatalf("a UK auditor's events by site: %v, all: %v", uk, everything)
	}
	key := url.QueryEscape(`{"id":"` + created.ID + `"}`)
	if got := all(ukAuditor, "&table=orders.order&key="+key); len(got) == 0 || got[0].Site != "UK" {
		t.Fatalf("the UK order's events for a UK auditor: %+v", got)
	}
	if got := all(frAuditor, "&table=orders.order&key="+key); len(got) != 0 {
		t.Fatalf("an FR auditor sees the UK order's events: %+v", got)
	}
	now := url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano))
	if res := o.call(t, request{method: "GET", path: "/v1/audit/row?table=orders.order&key=" + key + "&as_of=" + now, token: ukAuditor}); res.Status != 200 {
		t.Fatalf("a UK auditor rebuilding a UK order: %d %s", res.Status, res.Body)
	}
	if res := o.call(t, request{method: "GET", path: "/v1/audit/row?table=orders.order&key=" + key + "&as_of=" + now, token: frAuditor}); res.Status != 404 {
		t.Fatalf("an FR auditor rebuilding a UK order: %d %s", res.Status, res.Body)
	}
	if res := o.call(t, request{method: "GET", path: "/v1/orders/" + created.ID + "/history", token: ukAuditor}); res.Status != 200 {
		t.Fatalf("a UK auditor reading a UK order's history: %d %s", res.Status, res.Body)
	}
}
