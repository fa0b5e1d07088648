package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

// A page of another site that makes the browser post one of our forms is
// refused, whether the browser says so (Sec-Fetch-Site) or only sends an
// Origin that is not ours; nothing is changed.
func TestCrossOriginPostsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.smallOrder(t, b.ukCustomer)
	staff := b.token(t, auth.RoleStaff)
	br := b.signedIn(t, staff)
	form := url.Values{"to": {"submitted"}, "version": {strconv.Itoa(int(o.Version))}}.Encode()

	cases := []struct {
		name   string
		header map[string]string
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"same-site but another origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sub.127.0.0.1"}},
		{"old browser with a foreign Origin", map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, br.base+"/orders/"+o.ID.String()+"/transition", strings.NewReader(form))
			must(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res := br.do(req).wantStatus(t, http.StatusForbidden)
			if res.title() != "Cross-site request refused" || !strings.Contains(text(res.Doc), res.Header.Get("X-Request-Id")) {
				t.Fatalf("refusal page: %s", text(res.Doc))
			}
		})
	}
	if got := b.order(t, o.ID).Status; got != orders.StatusDraft {
		t.Fatalf("a cross-origin post moved the order to %s", got)
	}

	// Signing in (login CSRF) and out are posts too.
	req, _ := http.NewRequest(http.MethodPost, br.base+"/signin", strings.NewReader(url.Values{"token": {staff}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := b.browser(t).do(req).wantStatus(t, http.StatusForbidden); len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatal("a cross-site sign-in set a cookie")
	}
	req, _ = http.NewRequest(http.MethodPost, br.base+"/signout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	br.do(req).wantStatus(t, http.StatusForbidden)
	br.get("/orders").wantStatus(t, http.StatusOK)

	// The same form from our own page goes through.
	br.post("/orders/"+o.ID.String()+"/transition", url.Values{"to": {"submitted"}, "version": {strconv.Itoa(int(o.Version))}}).wantStatus(t, http.StatusSeeOther)
}

// Whatever customers, files and comments are called, pages show the text
// and never run it: html/template escapes it in every context.
func TestHostileNamesAreShownAsText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const evilCustomer = `<script>alert("customer")</script> & "Co" <b>bold</b>`
	const evilFile = `<img src=x onerror=alert(1)>.txt`
	const evilComment = `"><svg onload=alert(2)>`
	c := b.customer(t, "UK", evilCustomer)
	o := b.smallOrder(t, c)
	br := b.signedIn(t, b.token(t, auth.RoleAdmin))
	res := br.upload("/orders/"+o.ID.String()+"/attachments", [][2]string{{"comment", evilComment}},
		file{name: evilFile, contentType: "text/plain", content: []byte("<script>alert(3)</script>\n")}).wantStatus(t, http.StatusSeeOther)
	attPath, _, _ := strings.Cut(res.location(t), "?")
	br.upload(attPath+"/revisions", nil, file{name: "x</pre><script>alert(4)</script>.txt", contentType: "text/plain", content: []byte("<b>changed</b>\n")}).wantStatus(t, http.StatusSeeOther)
	if _, err := b.orders.Transition(b.admin, o.ID, orders.StatusCancelled, 0, `</td><script>alert(5)</script>`); err != nil {
		t.Fatal(err)
	}

	pages := map[string]*page{
		"list":       br.get("/orders"),
		"search":     br.get("/orders?" + url.Values{"customer": {`<script>`}}.Encode()),
		"no match":   br.get("/orders?" + url.Values{"customer": {`<script>nobody`}}.Encode()),
		"order":      br.get("/orders/" + o.ID.String()),
		"attachment": br.get(attPath),
		"diff":       br.get(attPath + "/diff?from=1&to=2"),
		"timeline":   br.get("/orders/" + o.ID.String() + "/timeline"),
		"events":     br.get("/audit/events?" + url.Values{"table": {"core.customer"}}.Encode()),
	}
	for name, p := range pages {
		p.wantStatus(t, http.StatusOK)
		if n := len(findAll(p.Doc, func(n *htmlNode) bool {
			return n.Data == "script" || n.Data == "img" || n.Data == "svg" || n.Data == "b"
		})); n != 0 {
			t.Errorf("%s: %d elements made of user data", name, n)
		}
		for _, n := range findAll(p.Doc, func(*htmlNode) bool { return true }) {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: an element has the event handler attribute %s", name, a.Key)
				}
			}
		}
	}
	if got := text(pages["order"].mustID(t, "customer")); got != evilCustomer {
		t.Errorf("the customer reads %q", got)
	}
	if !strings.Contains(pages["list"].Body, "&lt;script&gt;alert(&#34;customer&#34;)&lt;/script&gt; &amp; &#34;Co&#34;") {
		t.Error("the list does not show the escaped name")
	}
	rows := revisionRows(t, pages["attachment"])
	if rows["1"][1] != evilFile || !strings.Contains(rows["1"][7], evilComment) {
		t.Errorf("revision 1 reads %q", rows["1"])
	}
	if !strings.Contains(text(pages["diff"].mustID(t, "unified")), "+<b>changed</b>") {
		t.Errorf("the diff reads %q", text(pages["diff"].mustID(t, "unified")))
	}
	if !strings.Contains(text(pages["timeline"].Doc), `</td><script>alert(5)</script>`) {
		t.Error("the timeline does not show the reason as text")
	}
	if !strings.Contains(text(pages["events"].Doc), evilCustomer) {
		t.Error("the audit events do not show the customer's name")
	}
}

func TestPagesForbidScriptsAndFramingAndShowFriendlyErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.signedIn(t, b.token(t, auth.RoleStaff))
	p := br.get("/orders").wantStatus(t, http.StatusOK)
	csp := p.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q allows scripts", csp)
	}
	if p.Header.Get("X-Content-Type-Options") != "nosniff" || p.Header.Get("Cache-Control") != "no-store" || p.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", p.Header)
	}
	for _, s := range findAll(p.Doc, func(n *htmlNode) bool { return n.Data == "script" || attr(n, "style") != "" || n.Data == "style" }) {
		t.Errorf("inline script or style: <%s>", s.Data)
	}
	var css string
	for _, l := range findAll(p.Doc, tag("link")) {
		if attr(l, "rel") == "stylesheet" {
			css = attr(l, "href")
		}
	}
	if css != "/static/messina.css" {
		t.Fatalf("stylesheet %q", css)
	}
	// The stylesheet is ours, embedded, and needs no sign-in.
	s := b.browser(t).get(css).wantStatus(t, http.StatusOK)
	if !strings.HasPrefix(s.Header.Get("Content-Type"), "text/css") || !strings.Contains(s.Body, "pre.diff") {
		t.Fatalf("stylesheet: %s %q", s.Header.Get("Content-Type"), s.Body[:min(80, len(s.Body))])
	}
	b.browser(t).get("/static/").wantStatus(t, http.StatusNotFound)

	// Unknown pages and methods answer with the error page and its request id.
	for path, status := range map[string]int{"/nothing-here": 404, "/orders/not-a-uuid": 404, "/attachments/00000000-0000-0000-0000-000000000000": 404} {
		res := br.get(path).wantStatus(t, status)
		id := res.Header.Get("X-Request-Id")
		if id == "" || !strings.Contains(text(res.mustID(t, "request-id")), id) || res.title() != "Not found" {
			t.Errorf("%s: request id %q, page %s", path, id, text(res.Doc))
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, br.base+"/orders", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	br.do(req).wantStatus(t, http.StatusMethodNotAllowed)
	// A proxy's request id is kept when it is plain.
	req, _ = http.NewRequest(http.MethodGet, br.base+"/nothing-here", nil)
	req.Header.Set("X-Request-Id", "proxy-42")
	if res := br.do(req); res.Header.Get("X-Request-Id") != "proxy-42" || !strings.Contains(text(res.Doc), "proxy-42") {
		t.Errorf("request id %q", res.Header.Get("X-Request-Id"))
	}
	// The root sends to the orders, or to sign in.
	if loc := br.get("/").wantStatus(t, http.StatusSeeOther).location(t); loc != "/orders" {
		t.Errorf("/ signed in: %q", loc)
	}
	if loc := b.browser(t).get("/").wantStatus(t, http.StatusSeeOther).location(t); loc != "/signin" {
		t.Errorf("/ signed out: %q", loc)
	}
	// An action without a session is a 401 page, not a redirect that
	// would lose the form.
	res := b.browser(t).post("/orders/00000000-0000-0000-0000-000000000000/transition", url.Values{"to": {"submitted"}})
	if res.wantStatus(t, http.StatusUnauthorized); !strings.Contains(res.links()[len(res.links())-1], "/signin") {
		t.Errorf("401 page links %v", res.links())
	}
}
