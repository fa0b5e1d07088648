package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/orders"
)

// orderNumbers are the order numbers a list page shows, in order.
func orderNumbers(t *testing.T, p *page) []string {
	t.Helper()
	var out []string
	for _, r := range p.rows(t, "orders") {
		if len(r) == 8 {
			out = append(out, r[0])
		}
	}
	return out
}

func TestOrderListFiltersByStatusSiteAndCustomerAndPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	globex := b.customer(t, "UK", "Globex Corporation")
	var uk []orders.Order
	for range 53 {
		uk = append(uk, b.smallOrder(t, b.ukCustomer))
	}
	submitted, err := b.orders.Submit(b.admin, uk[0].ID, uk[0].Version)
	must(t, err)
	gx := b.smallOrder(t, globex)
	fr := b.smallOrder(t, b.frCustomer)
	br := b.signedIn(t, b.token(t, auth.RoleStaff))

	// Newest first, 50 a page, and the next page holds the rest.
	first := br.get("/orders").wantStatus(t, http.StatusOK)
	got := orderNumbers(t, first)
	if len(got) != 50 || got[0] != fr.Number || got[1] != gx.Number {
		t.Fatalf("first page: %d orders, starting %v", len(got), got[:min(3, len(got))])
	}
	var next string
	for _, a := range findAll(first.Doc, tag("a")) {
		if attr(a, "rel") == "next" {
			next = attr(a, "href")
		}
	}
	if next == "" {
		t.Fatal("no next page link")
	}
	second := br.get(next).wantStatus(t, http.StatusOK)
	rest := orderNumbers(t, second)
	if len(rest) != 5 || rest[len(rest)-1] != uk[0].Number || slices.Contains(got, rest[0]) {
		t.Fatalf("second page: %v", rest)
	}
	if slices.ContainsFunc(findAll(second.Doc, tag("a")), func(n *htmlNode) bool { return attr(n, "rel") == "next" }) {
		t.Fatal("the last page links to a next one")
	}

	cases := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"status", url.Values{"status": {"approved"}}, []string{submitted.Number}},
		{"site", url.Values{"site": {"FR"}}, []string{fr.Number}},
		{"customer by name", url.Values{"customer": {"globex"}}, []string{gx.Number}},
		{"customer by name and status", url.Values{"customer": {"acme"}, "status": {"approved"}}, []string{submitted.Number}},
		{"customer by id", url.Values{"customer_id": {globex.ID.String()}}, []string{gx.Number}},
		{"nothing", url.Values{"status": {"cancelled"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := br.get("/orders?"+tc.query.Encode()).wantStatus(t, http.StatusOK)
			if got := orderNumbers(t, p); !slices.Equal(got, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, got)
			}
		})
	}

	// The filter form keeps what was asked.
	p := br.get("/orders?status=approved&site=UK")
	for _, o := range findAll(p.Doc, tag("option")) {
		if _, sel := attrOK(o, "selected"); sel != (attr(o, "value") == "approved" || attr(o, "value") == "UK") {
			t.Errorf("option %q selected=%v", attr(o, "value"), sel)
		}
	}

	// A name that matches several customers asks which one.
	b.customer(t, "UK", "Globex Holdings")
	choices := br.get("/orders?customer=globex").wantStatus(t, http.StatusOK)
	var names []string
	for _, a := range findAll(choices.Doc, tag("a")) {
		if strings.HasPrefix(attr(a, "href"), "/orders?customer_id=") {
			names = append(names, text(a))
		}
	}
	if !slices.Equal(names, []string{"Globex Corporation", "Globex Holdings"}) || byID(choices.Doc, "orders") != nil {
		t.Fatalf("choices %v", names)
	}
	if p := br.get("/orders?customer=nobody"); !strings.Contains(text(p.Doc), "No customer’s name contains “nobody”") {
		t.Fatalf("no match: %s", text(p.Doc))
	}

	// Bad filters are a 422 page naming them.
	bad := br.get("/orders?status=lost&customer_id=nope").wantStatus(t, http.StatusUnprocessableEntity)
	if got := fieldErrors(bad); !slices.Equal(got, []string{"status: is not a known status", "customer_id: is not a customer id"}) {
		t.Fatalf("422 page names %v", got)
	}
}

func TestOrderPageShowsHeaderLinesTotalsAndMargin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o, err := b.orders.CreateOrder(b.admin, orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana", PONumber: "PO-77",
		Lines: []orders.LineInput{{ProductID: b.install.ID, Quantity: dec("1")}, {ProductID: b.fibre.ID, Quantity: dec("2")}}})
	must(t, err)
	br := b.signedIn(t, b.token(t, auth.RoleAuditor))
	p := br.get("/orders/"+o.ID.String()).wantStatus(t, http.StatusOK)
	if p.title() != "Order "+o.Number+" draft" {
		t.Fatalf("title %q", p.title())
	}
	if c := text(p.mustID(t, "customer")); c != "Acme Ltd" {
		t.Fatalf("customer %q", c)
	}
	for _, want := range []string{"Messina UK Ltd", "PO-77", "ana", "GBP"} {
		if !strings.Contains(text(p.Doc), want) {
			t.Errorf("the header lacks %q", want)
		}
	}
	lines := p.rows(t, "lines")
	if len(lines) != 2 || lines[0][1] != "Installation" || lines[0][8] != "500.00" || lines[1][1] != "Fibre 1 Gbit/s" || lines[1][3] != "12 months" ||
		lines[1][8] != "240.00" || lines[1][9] != "2880.00" {
		t.Fatalf("lines %v", lines)
	}
	// 500 + 2 x 120 x 12 = 3380 of value; cost 200 + 2 x 70 x 12 = 1880.
	totals := text(p.mustID(t, "totals"))
	for _, want := range []string{"One-off 500.00 GBP", "MRR 240.00 GBP", "Total value 3380.00 GBP", "Cost 1880.00 GBP", "Margin 1500.00 GBP (44.4 %)"} {
		if !strings.Contains(totals, want) {
			t.Errorf("totals %q lack %q", totals, want)
		}
	}
}

// transitionForms maps each status button of the order page to its form's
// fields.
func transitionForms(t *testing.T, p *page) map[string]url.Values {
	t.Helper()
	out := map[string]url.Values{}
	moves := byID(p.Doc, "moves")
	for _, f := range findAll(moves, tag("form")) {
		v := url.Values{}
		for _, in := range findAll(f, tag("input")) {
			v.Set(attr(in, "name"), attr(in, "value"))
		}
		out[v.Get("to")] = v
	}
	return out
}

func TestStaffMoveAnOrderThroughItsLifecycleWithTheButtons(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.bigOrder(t)
	br := b.signedIn(t, b.token(t, auth.RoleStaff))
	path := "/orders/" + o.ID.String()

	forms := transitionForms(t, br.get(path).wantStatus(t, http.StatusOK))
	if len(forms) != 2 || forms["submitted"] == nil || forms["cancelled"] == nil || forms["submitted"].Get("version") != strconv.Itoa(int(o.Version)) {
		t.Fatalf("draft buttons: %v", forms)
	}
	res := br.post(path+"/transition", forms["submitted"]).wantStatus(t, http.StatusSeeOther)
	if loc := res.location(t); loc != path+"?msg=status" {
		t.Fatalf("after submit: %q", loc)
	}
	p := br.get(res.location(t)).wantStatus(t, http.StatusOK)
	if !strings.Contains(text(p.Doc), "The order's status was changed.") || b.order(t, o.ID).Status != orders.StatusSubmitted {
		t.Fatalf("after submit: %s", p.title())
	}
	forms = transitionForms(t, p)
	if forms["approved"] == nil || forms["rejected"] == nil {
		t.Fatalf("submitted buttons: %v", forms)
	}
	// The reason field is required to reject, optional to approve.
	for _, in := range findAll(byID(p.Doc, "moves"), tag("input")) {
		if attr(in, "name") == "reason" {
			f := in.Parent.Parent
			_, required := attrOK(in, "required")
			to := transitionTo(f)
			if (to == "rejected" || to == "cancelled") != required {
				t.Errorf("reason of %s: required=%v", to, required)
			}
		}
	}

	// Rejecting without a reason is the domain's 422, naming the field.
	bad := br.post(path+"/transition", forms["rejected"]).wantStatus(t, http.StatusUnprocessableEntity)
	if !strings.Contains(text(bad.Doc), "reason") || byID(bad.Doc, "moves") != nil {
		t.Fatalf("422 page: %s", text(bad.Doc))
	}
	// A form of a version that is no longer current is a 412.
	stale := url.Values{"to": {"approved"}, "version": {strconv.Itoa(int(o.Version))}}
	if p := br.post(path+"/transition", stale).wantStatus(t, http.StatusPreconditionFailed); !strings.Contains(text(p.Doc), "changed since you opened it") {
		t.Fatalf("412 page: %s", text(p.Doc))
	}

	approve := forms["approved"]
	approve.Set("reason", "margin checked")
	br.post(path+"/transition", approve).wantStatus(t, http.StatusSeeOther)
	now := b.order(t, o.ID)
	if now.Status != orders.StatusApproved || now.StatusReason != "margin checked" {
		t.Fatalf("after approve: %s %q", now.Status, now.StatusReason)
	}

	// A move the database refuses is a 409 that names the allowed ones.
	refused := br.post(path+"/transition", url.Values{"to": {"completed"}, "version": {strconv.Itoa(int(now.Version))}}).wantStatus(t, http.StatusConflict)
	allowed := findAll(refused.Doc, func(n *htmlNode) bool { return attr(n, "class") == "allowed" })
	if len(allowed) != 1 || !strings.Contains(text(allowed[0]), "booked") || !strings.Contains(text(allowed[0]), "cancelled") {
		t.Fatalf("409 page: %s", text(refused.Doc))
	}
	if !strings.Contains(text(refused.Doc), refused.Header.Get("X-Request-Id")) || refused.Header.Get("X-Request-Id") == "" {
		t.Fatal("the error page does not show the request id")
	}

	forms = transitionForms(t, br.get(path))
	br.post(path+"/transition", forms["booked"]).wantStatus(t, http.StatusSeeOther)
	history := br.get(path).rows(t, "history")
	var moves []string
	for _, h := range history {
		moves = append(moves, h[1]+"->"+h[2])
	}
	if !slices.Equal(moves, []string{"draft->submitted", "submitted->approved", "approved->booked"}) || !strings.Contains(history[1][3], "token:web staff") {
		t.Fatalf("history %v", history)
	}
}

func transitionTo(form *htmlNode) string {
	for _, in := range findAll(form, tag("input")) {
		if attr(in, "name") == "to" {
			return attr(in, "value")
		}
	}
	return ""
}

func TestAuditorsSeeNoFormsAndTheirPostsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.smallOrder(t, b.ukCustomer)
	path := "/orders/" + o.ID.String()
	br := b.signedIn(t, b.token(t, auth.RoleAuditor))
	p := br.get(path).wantStatus(t, http.StatusOK)
	if got := p.postActions(); len(got) != 0 {
		t.Fatalf("an auditor's order page has forms posting to %v", got)
	}
	if byID(p.Doc, "moves") != nil || byID(p.Doc, "upload") != nil {
		t.Fatal("an auditor sees the status buttons or the upload form")
	}
	if !slices.Contains(p.links(), path+"/timeline") {
		t.Fatal("an auditor's order page does not link to the timeline")
	}
	res := br.post(path+"/transition", url.Values{"to": {"submitted"}, "version": {strconv.Itoa(int(o.Version))}}).wantStatus(t, http.StatusForbidden)
	if !strings.Contains(text(res.Doc), "Your role (auditor) may not make this change.") {
		t.Fatalf("403 page: %s", text(res.Doc))
	}
	if b.order(t, o.ID).Status != orders.StatusDraft {
		t.Fatal("an auditor's post moved the order")
	}
	br.upload(path+"/attachments", nil, file{name: "x.txt", contentType: "text/plain", content: []byte("x")}).wantStatus(t, http.StatusForbidden)
	if atts, err := b.files.ListAttachments(b.admin, filestore.OwnerOrder, o.ID, uuid.Nil, 10); err != nil || len(atts) != 0 {
		t.Fatalf("an auditor's upload was stored: %v %v", atts, err)
	}

	// Staff see the forms but not the audit pages.
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))
	sp := staff.get(path).wantStatus(t, http.StatusOK)
	if len(sp.postActions()) < 3 || slices.Contains(sp.links(), path+"/timeline") {
		t.Fatalf("staff page: forms %v", sp.postActions())
	}
	staff.get(path+"/timeline").wantStatus(t, http.StatusForbidden)
	staff.get("/audit/events").wantStatus(t, http.StatusForbidden)
}

func TestAnotherSitesOrderIsNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.smallOrder(t, b.ukCustomer)
	fr := b.smallOrder(t, b.frCustomer)
	br := b.signedIn(t, b.token(t, auth.RoleStaff, "FR"))

	if got := orderNumbers(t, br.get("/orders").wantStatus(t, http.StatusOK)); !slices.Equal(got, []string{fr.Number}) {
		t.Fatalf("a FR user lists %v", got)
	}
	if got := orderNumbers(t, br.get("/orders?site=UK").wantStatus(t, http.StatusOK)); len(got) != 0 {
		t.Fatalf("a FR user lists UK orders by asking: %v", got)
	}
	br.get("/orders/"+fr.ID.String()).wantStatus(t, http.StatusOK)
	for name, res := range map[string]*page{
		"page":       br.get("/orders/" + uk.ID.String()),
		"transition": br.post("/orders/"+uk.ID.String()+"/transition", url.Values{"to": {"submitted"}, "version": {"1"}}),
		"upload":     br.upload("/orders/"+uk.ID.String()+"/attachments", nil, file{name: "x.txt", contentType: "text/plain", content: []byte("x")}),
		"unknown":    br.get("/orders/00000000-0000-0000-0000-000000000000"),
	} {
		res.wantStatus(t, http.StatusNotFound)
		if res.title() != "Not found" || strings.Contains(res.Body, uk.Number) {
			t.Errorf("%s: %q %s", name, res.title(), text(res.Doc))
		}
	}
	if b.order(t, uk.ID).Status != orders.StatusDraft {
		t.Fatal("a FR user moved a UK order")
	}
}
