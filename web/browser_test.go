package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// browser is a client that behaves like one for the UI: it keeps cookies,
// sends the headers a browser sends with a same-origin form, and does not
// follow redirects, so tests see them.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
	// header is added to every request (tests of hostile requests).
	header http.Header
}

func (b *testBundle) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	must(t, err)
	return &browser{t: t, base: b.srv.URL, header: http.Header{}, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signedIn is a browser signed in with token.
func (b *testBundle) signedIn(t *testing.T, token string) *browser {
	t.Helper()
	br := b.browser(t)
	res := br.post("/signin", url.Values{"token": {token}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d\n%s", res.Status, res.Body)
	}
	return br
}

// page is a response, parsed when it is HTML.
type page struct {
	Status int
	Header http.Header
	Body   string
	Doc    *html.Node
}

func (br *browser) do(req *http.Request) *page {
	br.t.Helper()
	for k, vs := range br.header {
		for _, v := range vs {
			req.Header.Set(k, v)
		}
	}
	res, err := br.client.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		br.t.Fatal(err)
	}
	p := &page{Status: res.StatusCode, Header: res.Header, Body: string(body)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if p.Doc, err = html.Parse(bytes.NewReader(body)); err != nil {
			br.t.Fatal(err)
		}
	}
	return p
}

func (br *browser) get(path string) *page {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodGet, br.base+path, nil)
	must(br.t, err)
	return br.do(req)
}

// sameOrigin marks a request as a browser marks a form of our own pages.
func (br *browser) sameOrigin(req *http.Request) {
	req.Header.Set("Origin", br.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
}

func (br *browser) post(path string, form url.Values) *page {
	br.t.Helper()
	req, err := http.NewRequest(http.MethodPost, br.base+path, strings.NewReader(form.Encode()))
	must(br.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	br.sameOrigin(req)
	return br.do(req)
}

// file is one file of a multipart form.
type file struct {
	name, contentType string
	content           []byte
}

// upload posts a multipart form as a browser does: the text fields in
// order, then the file part "file".
func (br *browser) upload(path string, fields [][2]string, f file) *page {
	br.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range fields {
		must(br.t, mw.WriteField(kv[0], kv[1]))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+strings.NewReplacer(`"`, "%22", "\r", "%0D", "\n", "%0A").Replace(f.name)+`"`)
	h.Set("Content-Type", f.contentType)
	w, err := mw.CreatePart(h)
	must(br.t, err)
	_, err = w.Write(f.content)
	must(br.t, err)
	must(br.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, br.base+path, &body)
	must(br.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	br.sameOrigin(req)
	return br.do(req)
}

// location is where a redirect points, as a path.
func (p *page) location(t *testing.T) string {
	t.Helper()
	loc := p.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location in a %d answer", p.Status)
	}
	u, err := url.Parse(loc)
	must(t, err)
	return u.RequestURI()
}

// wantStatus stops the test unless the page has status want.
func (p *page) wantStatus(t *testing.T, want int) *page {
	t.Helper()
	if p.Status != want {
		t.Fatalf("want status %d, got %d\n%s", want, p.Status, p.Body)
	}
	return p
}

// ---- HTML queries ----------------------------------------------------------------

// htmlNode is an element or text of a parsed page.
type htmlNode = html.Node

// attrOK returns an attribute and whether the element has it at all
// (boolean attributes such as selected and required have no value).
func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// findAll returns the elements under n that match, in document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	if n == nil {
		return nil
	}
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func byID(n *html.Node, id string) *html.Node {
	els := findAll(n, func(e *html.Node) bool { return attr(e, "id") == id })
	if len(els) == 0 {
		return nil
	}
	return els[0]
}

// mustID returns the element with id, or stops the test.
func (p *page) mustID(t *testing.T, id string) *html.Node {
	t.Helper()
	n := byID(p.Doc, id)
	if n == nil {
		t.Fatalf("no element #%s in\n%s", id, p.Body)
	}
	return n
}

// text is the text under n with whitespace collapsed.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// rows returns the cell texts of the body rows of the table with id.
func (p *page) rows(t *testing.T, id string) [][]string {
	t.Helper()
	var out [][]string
	for _, tr := range findAll(p.mustID(t, id), tag("tr")) {
		if tr.Parent == nil || tr.Parent.Data != "tbody" {
			continue
		}
		var cells []string
		for _, td := range findAll(tr, tag("td")) {
			cells = append(cells, text(td))
		}
		out = append(out, cells)
	}
	return out
}

// postForms are the forms of the page that change something.
func (p *page) postForms() []*html.Node {
	return findAll(p.Doc, func(n *html.Node) bool {
		return n.Data == "form" && strings.EqualFold(attr(n, "method"), "post")
	})
}

// postActions are the actions of the page's POST forms, sign-out excepted.
func (p *page) postActions() []string {
	var out []string
	for _, f := range p.postForms() {
		if a := attr(f, "action"); a != "/signout" {
			out = append(out, a)
		}
	}
	return out
}

// links are the hrefs of the page's links.
func (p *page) links() []string {
	var out []string
	for _, a := range findAll(p.Doc, tag("a")) {
		out = append(out, attr(a, "href"))
	}
	return out
}

// title is the page's main heading.
func (p *page) title() string {
	h := findAll(p.Doc, tag("h1"))
	if len(h) == 0 {
		return ""
	}
	return text(h[0])
}

// fieldErrors are the "field: message" items of an error page.
func fieldErrors(p *page) []string {
	var out []string
	for _, ul := range findAll(p.Doc, func(n *html.Node) bool { return n.Data == "ul" && attr(n, "class") == "fields" }) {
		for _, li := range findAll(ul, tag("li")) {
			if f := findAll(li, tag("strong")); len(f) == 1 {
				out = append(out, text(f[0])+": "+strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(text(li), text(f[0])), " :")))
			}
		}
	}
	return out
}
