package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

// orderBody is the subset of an order the tests read.
type orderBody struct {
	ID         string `json:"id"`
	Number     string `json:"number"`
	Site       string `json:"site"`
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
	Currency   string `json:"currency"`
	Version    int32  `json:"version"`
	Notes      string `json:"notes"`
	Lines      []struct {
		ID        string `json:"id"`
		Quantity  string `json:"quantity"`
		UnitPrice string `json:"unit_price"`
		UnitCost  string `json:"unit_cost"`
		Value     string `json:"value"`
	} `json:"lines"`
	Totals struct {
		LineCount int     `json:"line_count"`
		OneOff    string  `json:"one_off"`
		MRR       string  `json:"mrr"`
		Value     string  `json:"value"`
		Cost      string  `json:"cost"`
		Margin    string  `json:"margin"`
		MarginPct *string `json:"margin_pct"`
	} `json:"totals"`
}

type problemBody struct {
	Code    string   `json:"code"`
	Allowed []string `json:"allowed"`
	Errors  []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

func (p problemBody) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// orderTest is a bundle with the catalogue and a helper to call as admin.
type orderTest struct {
	*testBundle
	c *catalog
}

func setupOrders(t *testing.T) *orderTest {
	t.Helper()
	b := setup(t)
	return &orderTest{testBundle: b, c: newCatalog(t, b)}
}

// call sends a request as the bootstrap admin unless req.token is set.
func (o *orderTest) call(t *testing.T, req request) response {
	t.Helper()
	if req.token == "" {
		req.token = o.admin
	}
	return do(t, o.srv, req)
}

func (o *orderTest) wantOrder(t *testing.T, res response, status int) orderBody {
	t.Helper()
	if res.Status != status {
		t.Fatalf("want %d, got %d %s", status, res.Status, res.Body)
	}
	var ob orderBody
	res.json(t, &ob)
	if etag := res.Header.Get("ETag"); etag != fmt.Sprintf(`"%d"`, ob.Version) {
		t.Fatalf("ETag %q for version %d", etag, ob.Version)
	}
	return ob
}

func wantProblem(t *testing.T, res response, status int, code string) problemBody {
	t.Helper()
	if res.Status != status || res.problemCode(t) != code {
		t.Fatalf("want %d %s, got %d %s", status, code, res.Status, res.Body)
	}
	var p problemBody
	res.json(t, &p)
	return p
}

func (o *orderTest) newOrderBody(lines ...map[string]any) map[string]any {
	ls := make([]any, len(lines))
	for i, l := range lines {
		ls[i] = l
	}
	return map[string]any{"customer_id": o.c.ukCustomer.ID, "legal_entity_id": o.c.ukEntity.ID, "salesperson": "ana", "lines": ls}
}

func (o *orderTest) countOrders(t *testing.T) int {
	t.Helper()
	var n int
	must(t, o.db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM orders."order"`).Scan(&n))
	return n
}

func TestOrderLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	res := o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(
		map[string]any{"product_id": o.c.fibre.ID, "quantity": "10"},
		map[string]any{"product_id": o.c.install.ID, "quantity": "1", "unit_price": "450.00", "discount_pct": "10"},
	)})
	created := o.wantOrder(t, res, http.StatusCreated)
	if res.Header.Get("Location") != "/v1/orders/"+created.ID || created.Status != "draft" || created.Site != "UK" || created.Currency != "GBP" {
		t.Fatalf("created: %s", res.Body)
	}
	// 10 x 120 GBP/month x 12 months + 450 less 10 %: amounts are decimal strings.
	eqMoney(t, "mrr", created.Totals.MRR, "1200")
	eqMoney(t, "one-off", created.Totals.OneOff, "405")
	eqMoney(t, "value", created.Totals.Value, "14805")
	eqMoney(t, "fibre unit cost (snapshot)", created.Lines[0].UnitCost, "70")
	path := "/v1/orders/" + created.ID

	got := o.wantOrder(t, o.call(t, request{method: "GET", path: path}), http.StatusOK)
	if got.Number != created.Number || len(got.Lines) != 2 {
		t.Fatalf("get: %+v", got)
	}
	patched := o.wantOrder(t, o.call(t, request{method: "PATCH", path: path, body: map[string]any{"notes": "ring first", "po_number": "PO-1"}, header: ifMatch(got.Version)}), http.StatusOK)
	if patched.Notes != "ring first" || patched.Version <= got.Version {
		t.Fatalf("patch: %+v", patched)
	}

	added := o.wantOrder(t, o.call(t, request{method: "POST", path: path + "/lines", body: map[string]any{"product_id": o.c.install.ID, "quantity": "2"}, header: ifMatch(patched.Version)}), http.StatusCreated)
	if len(added.Lines) != 3 {
		t.Fatalf("add line: %d lines", len(added.Lines))
	}
	lineID := added.Lines[2].ID
	replaced := o.wantOrder(t, o.call(t, request{method: "PUT", path: path + "/lines/" + lineID, body: map[string]any{"product_id": o.c.install.ID, "quantity": "3", "unit_price": "100"}}), http.StatusOK)
	eqMoney(t, "replaced quantity", replaced.Lines[2].Quantity, "3")
	eqMoney(t, "replaced unit price", replaced.Lines[2].UnitPrice, "100")
	removed := o.wantOrder(t, o.call(t, request{method: "DELETE", path: path + "/lines/" + lineID, header: ifMatch(replaced.Version)}), http.StatusOK)
	if len(removed.Lines) != 2 || removed.Totals.LineCount != 2 {
		t.Fatalf("remove line: %+v", removed)
	}

	// Above the 10000 GBP threshold: submit waits for approval.
	steps := []struct {
		action, body, want string
	}{
		{"submit", "", "submitted"},
		{"approve", "good customer", "approved"},
		{"book", "", "booked"},
		{"provision", "", "provisioning"},
		{"complete", "", "completed"},
	}
	version := removed.Version
	for _, st := range steps {
		var body any
		if st.body != "" {
			body = map[string]any{"reason": st.body}
		}
		ob := o.wantOrder(t, o.call(t, request{method: "POST", path: path + "/" + st.action, body: body, header: ifMatch(version)}), http.StatusOK)
		if ob.Status != st.want {
			t.Fatalf("%s: status %s, want %s", st.action, ob.Status, st.want)
		}
		version = ob.Version
	}

	var transitions struct {
		Items []struct {
			From, To, Actor string
			Reason          *string
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	res = o.call(t, request{method: "GET", path: path + "/transitions"})
	res.json(t, &transitions)
	if res.Status != 200 || len(transitions.Items) != 5 || transitions.Items[1].To != "approved" || transitions.Items[1].Reason == nil || *transitions.Items[1].Reason != "good customer" || transitions.NextCursor != nil {
		t.Fatalf("transitions: %d %s", res.Status, res.Body)
	}
	var approvals struct {
		Items []struct {
			Decision  string `json:"decision"`
			DecidedBy string `json:"decided_by"`
		} `json:"items"`
	}
	res = o.call(t, request{method: "GET", path: path + "/approvals"})
	res.json(t, &approvals)
	if res.Status != 200 || len(approvals.Items) != 1 || approvals.Items[0].Decision != "approved" || approvals.Items[0].DecidedBy != "bootstrap" {
		t.Fatalf("approvals: %d %s", res.Status, res.Body)
	}
}

func TestSmallOrderIsApprovedAtSubmitAndCanBeRejectedOrCancelled(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	small := o.c.smallOrder(t)
	ob := o.wantOrder(t, o.call(t, request{method: "POST", path: fmt.Sprintf("/v1/orders/%s/submit", small.ID)}), http.StatusOK)
	if ob.Status != "approved" {
		t.Fatalf("small order after submit: %s", ob.Status)
	}
	var approvals struct {
		Items []struct {
			Decision string `json:"decision"`
		} `json:"items"`
	}
	o.call(t, request{method: "GET", path: fmt.Sprintf("/v1/orders/%s/approvals", small.ID)}).json(t, &approvals)
	if len(approvals.Items) != 1 || approvals.Items[0].Decision != "auto" {
		t.Fatalf("approvals of an automatic approval: %+v", approvals)
	}

	submitted := o.c.orderIn(t, orders.StatusSubmitted)
	p := wantProblem(t, o.call(t, request{method: "POST", path: fmt.Sprintf("/v1/orders/%s/reject", submitted.ID)}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "reason") {
		t.Fatalf("reject without reason: fields %v", p.fields())
	}
	if ob := o.wantOrder(t, o.call(t, request{method: "POST", path: fmt.Sprintf("/v1/orders/%s/reject", submitted.ID), body: map[string]any{"reason": "margin"}}), 200); ob.Status != "rejected" {
		t.Fatalf("reject: %s", ob.Status)
	}
	draft := o.c.orderIn(t, orders.StatusDraft)
	if ob := o.wantOrder(t, o.call(t, request{method: "POST", path: fmt.Sprintf("/v1/orders/%s/cancel", draft.ID), body: map[string]any{"reason": "duplicate"}}), 200); ob.Status != "cancelled" {
		t.Fatalf("cancel: %s", ob.Status)
	}
}

func TestOrderBadInput(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	unknown := uuid.NewString()
	draft := o.c.orderIn(t, orders.StatusDraft)
	draftPath := "/v1/orders/" + draft.ID.String()

	t.Run("unknown ids answer 404", func(t *testing.T) {
		for _, rq := range []request{
			{method: "GET", path: "/v1/orders/" + unknown},
			{method: "GET", path: "/v1/orders/not-a-uuid"},
			{method: "POST", path: "/v1/orders/" + unknown + "/submit"},
			{method: "GET", path: "/v1/orders/" + unknown + "/transitions"},
			{method: "PATCH", path: "/v1/orders/" + unknown, body: map[string]any{"notes": "x"}, header: ifMatch(1)},
			{method: "DELETE", path: draftPath + "/lines/" + unknown, header: ifMatch(draft.Version)},
			{method: "PUT", path: draftPath + "/lines/" + unknown, body: map[string]any{"product_id": o.c.install.ID, "quantity": "1"}},
			{method: "GET", path: "/v1/customers/" + unknown},
			{method: "GET", path: "/v1/price-books/" + unknown + "/prices"},
			{method: "GET", path: "/v1/sites/ZZ"},
		} {
			if res := o.call(t, rq); res.Status != http.StatusNotFound {
				t.Errorf("%s %s: want 404, got %d %s", rq.method, rq.path, res.Status, res.Body)
			}
		}
	})

	t.Run("an invalid transition answers 409 with the allowed ones", func(t *testing.T) {
		p := wantProblem(t, o.call(t, request{method: "POST", path: draftPath + "/book"}), http.StatusConflict, "invalid_transition")
		slices.Sort(p.Allowed)
		if !slices.Equal(p.Allowed, []string{"cancelled", "submitted"}) {
			t.Fatalf("allowed from draft: %v", p.Allowed)
		}
	})

	t.Run("a line in another currency answers 422", func(t *testing.T) {
		before := o.countOrders(t)
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders",
			body: o.newOrderBody(map[string]any{"product_id": o.c.install.ID, "quantity": "1", "currency": "EUR"})}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "lines[0].currency") {
			t.Fatalf("fields %v", p.fields())
		}
		p = wantProblem(t, o.call(t, request{method: "POST", path: draftPath + "/lines",
			body: map[string]any{"product_id": o.c.install.ID, "quantity": "1", "currency": "USD"}}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "currency") {
			t.Fatalf("fields %v", p.fields())
		}
		if after := o.countOrders(t); after != before {
			t.Fatalf("orders %d -> %d", before, after)
		}
	})

	t.Run("negative quantity and price answer 422 naming both", func(t *testing.T) {
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(
			map[string]any{"product_id": o.c.install.ID, "quantity": "-1"},
			map[string]any{"product_id": o.c.install.ID, "quantity": "1", "unit_price": "-5.00"},
		)}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "lines[0].quantity") || !slices.Contains(p.fields(), "lines[1].unit_price") {
			t.Fatalf("fields %v", p.fields())
		}
		p = wantProblem(t, o.call(t, request{method: "POST", path: draftPath + "/lines", body: map[string]any{"product_id": o.c.install.ID, "quantity": "0"}}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "quantity") {
			t.Fatalf("fields %v", p.fields())
		}
	})

	t.Run("money as a JSON number answers 422 on the field", func(t *testing.T) {
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders", invalid: true,
			body: o.newOrderBody(map[string]any{"product_id": o.c.install.ID, "quantity": 1.5})}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "lines.quantity") {
			t.Fatalf("fields %v", p.fields())
		}
		p = wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders", invalid: true,
			body: o.newOrderBody(map[string]any{"product_id": o.c.install.ID, "quantity": "1e9"})}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "lines.quantity") {
			t.Fatalf("fields %v", p.fields())
		}
	})

	t.Run("a term beyond the column's range answers 422 rather than wrapping", func(t *testing.T) {
		p := wantProblem(t, o.call(t, request{method: "POST", path: draftPath + "/lines", invalid: true,
			body: map[string]any{"product_id": o.c.fibre.ID, "quantity": "1", "term_months": int64(1)<<32 + 12}}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "term_months") {
			t.Fatalf("fields %v", p.fields())
		}
	})

	t.Run("If-Match: 428 without it, 412 when stale, 400 when malformed", func(t *testing.T) {
		wantProblem(t, o.call(t, request{method: "PATCH", path: draftPath, body: map[string]any{"notes": "x"}, invalid: true}), http.StatusPreconditionRequired, "if_match_required")
		wantProblem(t, o.call(t, request{method: "PATCH", path: draftPath, body: map[string]any{"notes": "x"}, header: ifMatch(draft.Version + 7)}), http.StatusPreconditionFailed, "stale_version")
		wantProblem(t, o.call(t, request{method: "PATCH", path: draftPath, body: map[string]any{"notes": "x"}, header: map[string]string{"If-Match": "nope"}}), http.StatusBadRequest, "invalid_if_match")
		// Optional on transitions and lines, but checked when sent.
		wantProblem(t, o.call(t, request{method: "POST", path: draftPath + "/submit", header: ifMatch(draft.Version + 1)}), http.StatusPreconditionFailed, "stale_version")
		wantProblem(t, o.call(t, request{method: "POST", path: draftPath + "/lines", header: ifMatch(draft.Version + 1),
			body: map[string]any{"product_id": o.c.install.ID, "quantity": "1"}}), http.StatusPreconditionFailed, "stale_version")
		if got := o.wantOrder(t, o.call(t, request{method: "GET", path: draftPath}), 200); got.Version != draft.Version || got.Notes != "" || got.Status != "draft" {
			t.Fatalf("refused changes were written: %+v", got)
		}
	})

	t.Run("nothing is partly written", func(t *testing.T) {
		before := o.countOrders(t)
		// The second line's product has no price: the database refuses it
		// after the order row and the first line were inserted.
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(
			map[string]any{"product_id": o.c.install.ID, "quantity": "1"},
			map[string]any{"product_id": o.c.router.ID, "quantity": "1"},
		)}), 422, "validation_failed")
		if len(p.Errors) == 0 {
			t.Fatalf("no field error: %+v", p)
		}
		var lines int
		must(t, o.db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM orders.order_line`).Scan(&lines))
		if after := o.countOrders(t); after != before || lines != len(draft.Lines) {
			t.Fatalf("orders %d -> %d, lines %d (want %d)", before, after, lines, len(draft.Lines))
		}
	})

	t.Run("ids in a body that name nothing visible answer 422 on the field", func(t *testing.T) {
		body := o.newOrderBody(map[string]any{"product_id": o.c.install.ID, "quantity": "1"})
		body["customer_id"] = unknown
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders", body: body}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "customer_id") {
			t.Fatalf("fields %v", p.fields())
		}
	})
}

func TestOrderListFiltersAndPages(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	bob := o.c.customer(t, "UK", "Bob's Bakery")
	var ids []string
	for i := range 5 {
		body := o.newOrderBody(map[string]any{"product_id": o.c.install.ID, "quantity": "1"})
		if i%2 == 0 {
			body["salesperson"] = "bob"
			body["customer_id"] = bob.ID
		}
		ob := o.wantOrder(t, o.call(t, request{method: "POST", path: "/v1/orders", body: body}), http.StatusCreated)
		ids = append(ids, ob.ID)
	}
	o.wantOrder(t, o.call(t, request{method: "POST", path: "/v1/orders/" + ids[0] + "/submit"}), http.StatusOK)
	fr, err := o.c.svc.CreateOrder(o.c.ctx, orders.OrderInput{CustomerID: o.c.frCustomer.ID, LegalEntityID: o.c.frEntity.ID, Salesperson: "bob",
		Lines: []orders.LineInput{{ProductID: o.c.fibre.ID, Quantity: dec("1")}}})
	must(t, err)

	list := func(t *testing.T, token, query string) []string {
		t.Helper()
		var page struct {
			Items []struct {
				ID    string `json:"id"`
				Lines []any  `json:"lines"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		var out []string
		cursor := ""
		for {
			q := query
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			res := o.call(t, request{method: "GET", path: "/v1/orders?" + q, token: token})
			if res.Status != 200 {
				t.Fatalf("list %s: %d %s", q, res.Status, res.Body)
			}
			res.json(t, &page)
			for _, it := range page.Items {
				if slices.Contains(out, it.ID) {
					t.Fatalf("order %s listed twice", it.ID)
				}
				if it.Lines != nil {
					t.Fatalf("list items carry lines")
				}
				out = append(out, it.ID)
			}
			if page.NextCursor == nil {
				return out
			}
			cursor = *page.NextCursor
		}
	}
	today := o.c.today.Format(time.DateOnly)
	yesterday := o.c.today.AddDate(0, 0, -1).Format(time.DateOnly)
	cases := []struct {
		name, query string
		want        []string
	}{
		{"everything, two per page, newest first", "limit=2", []string{fr.ID.String(), ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"by status", "status=approved", []string{ids[0]}},
		{"by salesperson", "salesperson=bob&limit=1", []string{fr.ID.String(), ids[4], ids[2], ids[0]}},
		{"by customer", "customer_id=" + bob.ID.String(), []string{ids[4], ids[2], ids[0]}},
		{"by site", "site=FR", []string{fr.ID.String()}},
		{"by dates including today", "from=" + today + "&to=" + today + "&status=draft", []string{fr.ID.String(), ids[4], ids[3], ids[2], ids[1]}},
		{"by dates before today", "to=" + yesterday, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(t, o.admin, tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("a site-limited token lists its sites only", func(t *testing.T) {
		frOnly := o.token(t, auth.RoleStaff, "FR")
		if got := list(t, frOnly, "limit=50"); !slices.Equal(got, []string{fr.ID.String()}) {
			t.Fatalf("FR token lists %v", got)
		}
	})

	t.Run("bad filters answer 422 naming the field", func(t *testing.T) {
		for query, field := range map[string]string{
			"status=shipped":                "status",
			"customer_id=42":                "customer_id",
			"from=2026-13-01":               "from",
			"to=yesterday":                  "to",
			"from=2026-02-01&to=2026-01-31": "to",
			"limit=0":                       "limit",
			"limit=501":                     "limit",
			"cursor=bm90LWEtY3Vyc29y":       "cursor",
		} {
			p := wantProblem(t, o.call(t, request{method: "GET", path: "/v1/orders?" + query, invalid: true}), 422, "validation_failed")
			if !slices.Contains(p.fields(), field) {
				t.Errorf("%s: want an error on %s, got %v", query, field, p.fields())
			}
		}
	})
}

func TestAnotherSitesOrderAnswers404(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	uk := o.c.orderIn(t, orders.StatusDraft)
	path := "/v1/orders/" + uk.ID.String()
	frOnly := o.token(t, auth.RoleAdmin, "FR")
	for _, rq := range []request{
		{method: "GET", path: path},
		{method: "PATCH", path: path, body: map[string]any{"notes": "x"}, header: ifMatch(uk.Version)},
		{method: "POST", path: path + "/submit"},
		{method: "POST", path: path + "/cancel", body: map[string]any{"reason": "x"}},
		{method: "POST", path: path + "/lines", body: map[string]any{"product_id": o.c.install.ID, "quantity": "1"}},
		{method: "DELETE", path: path + "/lines/" + uk.Lines[0].ID.String(), header: ifMatch(uk.Version)},
		{method: "GET", path: path + "/transitions"},
		{method: "GET", path: "/v1/customers/" + o.c.ukCustomer.ID.String()},
		{method: "PATCH", path: "/v1/customers/" + o.c.ukCustomer.ID.String(), body: map[string]any{"name": "x"}, header: ifMatch(o.c.ukCustomer.Version)},
		{method: "POST", path: "/v1/customers", body: customerBody("UK")},
	} {
		rq.token = frOnly
		res := o.call(t, rq)
		if res.Status != http.StatusNotFound {
			t.Errorf("%s %s: want 404, got %d %s", rq.method, rq.path, res.Status, res.Body)
		}
	}
	if got := o.wantOrder(t, o.call(t, request{method: "GET", path: path}), 200); got.Version != uk.Version || got.Status != "draft" || len(got.Lines) != 1 {
		t.Fatalf("the UK order changed: %+v", got)
	}
}

func TestCreateOrderWithIdempotencyKeyCreatesOneOrder(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	staff := o.token(t, auth.RoleStaff)
	body := o.newOrderBody(map[string]any{"product_id": o.c.install.ID, "quantity": "1"})
	key := map[string]string{"Idempotency-Key": "order-2026-0001"}
	first := o.call(t, request{method: "POST", path: "/v1/orders", token: staff, body: body, header: key})
	firstOrder := o.wantOrder(t, first, http.StatusCreated)
	again := o.call(t, request{method: "POST", path: "/v1/orders", token: staff, body: body, header: key})
	if again.Status != http.StatusCreated || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Fatalf("replay: %d replayed=%q %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	body["notes"] = "another order"
	wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders", token: staff, body: body, header: key}), 422, "idempotency_key_reused")
	if n := o.countOrders(t); n != 1 {
		t.Fatalf("want 1 order, got %d (first %s)", n, firstOrder.ID)
	}
}

// eqMoney checks an amount sent as a decimal string.
func eqMoney(t *testing.T, what, got, want string) {
	t.Helper()
	d, err := decimal.NewFromString(got)
	if err != nil || !d.Equal(dec(want)) {
		t.Fatalf("%s = %q, want %s", what, got, want)
	}
}

// CreateOrder builds its answer from what the inserts returned instead of
// reading the order back: the answer must be exactly what a read finds.
func TestACreatedOrderAnswersExactlyAsItReadsBack(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	cases := map[string][]map[string]any{
		"one recurring line": {{"product_id": o.c.fibre.ID, "quantity": "1"}},
		"mixed lines with prices, discounts, terms and splits": {
			{"product_id": o.c.fibre.ID, "quantity": "10", "term_months": 24, "billing_frequency": "quarterly",
				"splits": []map[string]any{{"salesperson": "zoe", "share_pct": "12.5"}, {"salesperson": "Bob", "share_pct": "33.333"}, {"salesperson": "ann", "share_pct": "10"}}},
			{"product_id": o.c.install.ID, "quantity": "1", "unit_price": "450.00", "discount_pct": "10", "description": "On site"},
			{"product_id": o.c.install.ID, "quantity": "2.5", "unit_price": "0", "currency": "GBP"},
			{"product_id": o.c.fibre.ID, "quantity": "0.001", "discount_pct": "100", "splits": []map[string]any{{"salesperson": "cy", "share_pct": "100"}}},
		},
	}
	for name, lines := range cases {
		t.Run(name, func(t *testing.T) {
			res := o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(lines...)})
			created := o.wantOrder(t, res, http.StatusCreated)
			if len(created.Lines) != len(lines) {
				t.Fatalf("created %d lines, want %d: %s", len(created.Lines), len(lines), res.Body)
			}
			read := o.call(t, request{method: "GET", path: "/v1/orders/" + created.ID})
			if read.Status != http.StatusOK {
				t.Fatalf("get: %d %s", read.Status, read.Body)
			}
			var a, b map[string]any
			res.json(t, &a)
			read.json(t, &b)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("the create answer differs from the read back:\ncreate %s\nread   %s", res.Body, read.Body)
			}
			if res.Header.Get("ETag") != read.Header.Get("ETag") {
				t.Fatalf("ETag %s on create, %s on read", res.Header.Get("ETag"), read.Header.Get("ETag"))
			}
		})
	}
}

func TestRemovingALineNeedsIfMatch(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	draft := o.c.orderIn(t, orders.StatusDraft)
	path := "/v1/orders/" + draft.ID.String() + "/lines/" + draft.Lines[0].ID.String()
	wantProblem(t, o.call(t, request{method: "DELETE", path: path, invalid: true}), http.StatusPreconditionRequired, "if_match_required")
	wantProblem(t, o.call(t, request{method: "DELETE", path: path, header: ifMatch(draft.Version + 5)}), http.StatusPreconditionFailed, "stale_version")
	o.wantOrder(t, o.call(t, request{method: "DELETE", path: path, header: ifMatch(draft.Version)}), http.StatusOK)
}
