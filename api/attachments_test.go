package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/orders"
)

type attachmentBody struct {
	ID             string       `json:"id"`
	OwnerType      string       `json:"owner_type"`
	OwnerID        string       `json:"owner_id"`
	Name           string       `json:"name"`
	LatestRevision int          `json:"latest_revision"`
	Revision       revisionBody `json:"revision"`
}

type revisionBody struct {
	Number       int    `json:"number"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	ContentType  string `json:"content_type"`
	Filename     string `json:"filename"`
	Comment      string `json:"comment"`
	CreatedBy    string `json:"created_by"`
	RestoredFrom *int   `json:"restored_from"`
}

// newOrder creates a UK order through the API and returns its id.
func (o *orderTest) newOrder(t *testing.T) string {
	t.Helper()
	res := o.call(t, request{method: "POST", path: "/v1/orders", body: o.newOrderBody(map[string]any{"product_id": o.c.fibre.ID, "quantity": "1"})})
	return o.wantOrder(t, res, http.StatusCreated).ID
}

func upload(contentType string, body []byte, header map[string]string) request {
	h := map[string]string{"Content-Type": contentType}
	for k, v := range header {
		h[k] = v
	}
	return request{method: "POST", body: body, header: h}
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(s[:]) + ":"
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestAttachmentRevisionsDownloadRestoreAndDiff(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	order := o.newOrder(t)
	v1 := []byte("Service agreement\nterm: 12 months\nprice: 120 GBP\n")
	v2 := []byte("Service agreement\nterm: 24 months\nprice: 120 GBP\n")

	req := upload("text/plain", v1, map[string]string{"Content-Disposition": `attachment; filename="contract.txt"`})
	req.path = "/v1/orders/" + order + "/attachments?comment=signed"
	res := o.call(t, req)
	if res.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	var att attachmentBody
	res.json(t, &att)
	if att.OwnerType != "order" || att.OwnerID != order || att.LatestRevision != 1 || att.Revision.Number != 1 ||
		att.Revision.SHA256 != hexSHA(v1) || att.Revision.Size != int64(len(v1)) || att.Revision.Filename != "contract.txt" ||
		att.Revision.Comment != "signed" || !strings.HasPrefix(att.Revision.ContentType, "text/plain") {
		t.Fatalf("attachment: %s", res.Body)
	}
	base := "/v1/attachments/" + att.ID

	req = upload("text/plain", v2, map[string]string{"Content-Digest": digestOf(v2)})
	req.path = base + "/revisions?filename=contract-v2.txt"
	if res := o.call(t, req); res.Status != http.StatusCreated {
		t.Fatalf("revision 2: %d %s", res.Status, res.Body)
	}

	content := func(path string, header map[string]string) response {
		return o.call(t, request{method: "GET", path: path, header: header})
	}
	latest := content(base+"/content", nil)
	if latest.Status != 200 || string(latest.Body) != string(v2) || latest.Header.Get("ETag") != `"`+hexSHA(v2)+`"` {
		t.Fatalf("latest: %d %q etag %q", latest.Status, latest.Body, latest.Header.Get("ETag"))
	}
	if cd := latest.Header.Get("Content-Disposition"); !strings.Contains(cd, "contract-v2.txt") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	first := content(base+"/revisions/1/content", nil)
	if first.Status != 200 || string(first.Body) != string(v1) {
		t.Fatalf("revision 1: %d %q", first.Status, first.Body)
	}
	etag := `"` + hexSHA(v1) + `"`
	cases := []struct {
		name   string
		header map[string]string
		status int
		body   string
	}{
		{"if-none-match", map[string]string{"If-None-Match": etag}, 304, ""},
		{"range", map[string]string{"Range": "bytes=0-6"}, 206, "Service"},
		{"suffix range", map[string]string{"Range": "bytes=-4"}, 206, "GBP\n"},
		{"if-range current", map[string]string{"Range": "bytes=8-16", "If-Range": etag}, 206, "agreement"},
		{"if-range stale", map[string]string{"Range": "bytes=8-16", "If-Range": `"0000"`}, 200, string(v1)},
		{"unsatisfiable", map[string]string{"Range": "bytes=5000-6000"}, 416, ""},
	}
	for _, tc := range cases {
		res := content(base+"/revisions/1/content", tc.header)
		if res.Status != tc.status || (tc.body != "" && string(res.Body) != tc.body) {
			t.Errorf("%s: want %d %q, got %d %q", tc.name, tc.status, tc.body, res.Status, res.Body)
		}
	}
	multi := content(base+"/revisions/1/content", map[string]string{"Range": "bytes=0-6,8-16"})
	if multi.Status != 206 || !strings.HasPrefix(multi.Header.Get("Content-Type"), "multipart/byteranges") ||
		!strings.Contains(string(multi.Body), "Service") || !strings.Contains(string(multi.Body), "agreement") {
		t.Fatalf("multi-range: %d %s %q", multi.Status, multi.Header.Get("Content-Type"), multi.Body)
	}
	head := o.call(t, request{method: "HEAD", path: base + "/revisions/1/content"})
	if head.Status != 200 || len(head.Body) != 0 || head.Header.Get("Content-Length") != fmt.Sprint(len(v1)) {
		t.Fatalf("HEAD: %d len %s body %q", head.Status, head.Header.Get("Content-Length"), head.Body)
	}

	restore := o.call(t, request{method: "POST", path: base + "/restore", body: map[string]any{"revision": 1, "comment": "back to 12 months"}})
	var r3 revisionBody
	restore.json(t, &r3)
	if restore.Status != 201 || r3.Number != 3 || r3.RestoredFrom == nil || *r3.RestoredFrom != 1 || r3.SHA256 != hexSHA(v1) {
		t.Fatalf("restore: %d %s", restore.Status, restore.Body)
	}
	list := o.call(t, request{method: "GET", path: base + "/revisions?limit=2"})
	var page struct {
		Items      []revisionBody `json:"items"`
		NextCursor *string        `json:"next_cursor"`
	}
	list.json(t, &page)
	if len(page.Items) != 2 || page.Items[0].Number != 1 || page.NextCursor == nil {
		t.Fatalf("revision page: %s", list.Body)
	}

	diff := o.call(t, request{method: "GET", path: base + "/diff?from=1&to=2"})
	var d struct {
		Kind     string `json:"kind"`
		Unified  string `json:"unified"`
		Metadata []struct {
			Field string `json:"field"`
		} `json:"metadata"`
	}
	diff.json(t, &d)
	if diff.Status != 200 || d.Kind != "text" || !strings.Contains(d.Unified, "-term: 12 months") || !strings.Contains(d.Unified, "+term: 24 months") {
		t.Fatalf("diff: %d %s", diff.Status, diff.Body)
	}
	if res := o.call(t, request{method: "GET", path: base + "/diff?from=1&to=x", invalid: true}); res.Status != 422 {
		t.Fatalf("diff with a bad 'to': %d", res.Status)
	}
	if res := o.call(t, request{method: "GET", path: base + "/diff?from=1&to=9"}); res.Status != 404 {
		t.Fatalf("diff with a missing revision: %d %s", res.Status, res.Body)
	}
	lst := o.call(t, request{method: "GET", path: "/v1/orders/" + order + "/attachments"})
	if lst.Status != 200 || !strings.Contains(string(lst.Body), att.ID) {
		t.Fatalf("order's attachments: %d %s", lst.Status, lst.Body)
	}
}

func TestUploadErrorsLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	order := o.newOrder(t)
	frOnly := o.token(t, "staff", "FR")
	body := []byte("%PDF-1.4 not really")
	wrong := sha256.Sum256([]byte("something else"))
	cases := []struct {
		name   string
		path   string
		token  string
		body   []byte
		header map[string]string
		status int
		code   string
	}{
		{"unknown order", "/v1/orders/00000000-0000-0000-0000-000000000001/attachments?filename=a.txt", "", body, nil, 404, "order_not_found"},
		{"malformed order id", "/v1/orders/nope/attachments?filename=a.txt", "", body, nil, 404, "not_found"},
		{"another site's order", "/v1/orders/" + order + "/attachments?filename=a.txt", frOnly, body, nil, 404, "order_not_found"},
		{"empty body", "/v1/orders/" + order + "/attachments?filename=a.txt", "", []byte{}, nil, 400, "empty_body"},
		{"too large", "/v1/orders/" + order + "/attachments?filename=a.txt", "", make([]byte, 4<<20+10), nil, 413, "upload_too_large"},
		{"no filename", "/v1/orders/" + order + "/attachments", "", body, nil, 422, "validation_failed"},
		{"digest mismatch", "/v1/orders/" + order + "/attachments?filename=a.txt", "", body,
			map[string]string{"Content-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(wrong[:]) + ":"}, 400, "digest_mismatch"},
		{"malformed digest", "/v1/orders/" + order + "/attachments?filename=a.txt", "", body, map[string]string{"Content-Digest": "sha-256=:nope:"}, 400, "invalid_content_digest"},
		{"unknown attachment", "/v1/attachments/00000000-0000-0000-0000-000000000001/revisions?filename=a.txt", "", body, nil, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := upload("text/plain", tc.body, tc.header)
			req.path, req.token, req.invalid = tc.path, tc.token, true
			res := o.call(t, req)
			if res.Status != tc.status || res.problemCode(t) != tc.code {
				t.Fatalf("want %d %s, got %d %s", tc.status, tc.code, res.Status, res.Body)
			}
			if tc.code == "digest_mismatch" && !strings.Contains(string(res.Body), digestOf(tc.body)) {
				t.Fatalf("the answer does not name the computed digest: %s", res.Body)
			}
		})
	}
	var revisions, blobs int
	must(t, o.db.Owner.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM files.revision), (SELECT count(*) FROM files.blob)").Scan(&revisions, &blobs))
	if revisions != 0 || blobs != 0 {
		t.Fatalf("failed uploads left %d revisions and %d blobs", revisions, blobs)
	}
}

func TestUnsafeFilenamesAreCleanedInHeaders(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	order := o.newOrder(t)
	req := upload("text/plain", []byte("x"), nil)
	req.path = "/v1/orders/" + order + "/attachments?filename=" + "..%2F..%2Fetc%2Fpasswd%0D%0AX-Evil%3A%201%22.txt"
	res := o.call(t, req)
	var att attachmentBody
	res.json(t, &att)
	if res.Status != 201 || strings.ContainsAny(att.Revision.Filename, "/\\\r\n\"") {
		t.Fatalf("upload: %d filename %q", res.Status, att.Revision.Filename)
	}
	dl := o.call(t, request{method: "GET", path: "/v1/attachments/" + att.ID + "/content"})
	cd := dl.Header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment") || strings.ContainsAny(cd, "\r\n/") || dl.Header.Get("X-Evil") != "" {
		t.Fatalf("Content-Disposition %q", cd)
	}
}

func TestIdempotentUploadMakesOneRevision(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	order := o.newOrder(t)
	body := []byte("quote v1")
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := upload("text/plain", body, map[string]string{"Idempotency-Key": "quote-upload"})
			req.path = "/v1/orders/" + order + "/attachments?filename=quote.txt"
			o.call(t, req)
		}()
	}
	wg.Wait()
	req := upload("text/plain", body, map[string]string{"Idempotency-Key": "quote-upload"})
	req.path = "/v1/orders/" + order + "/attachments?filename=quote.txt"
	if res := o.call(t, req); res.Status != 201 || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", res.Status, res.Body)
	}
	var n int
	must(t, o.db.Owner.QueryRow(context.Background(), "SELECT count(*) FROM files.revision").Scan(&n))
	if n != 1 {
		t.Fatalf("an upload retried with its Idempotency-Key made %d revisions", n)
	}
}

// A stored object whose bytes no longer hash to its address must never be
// served as if it were right: the transfer breaks.
func TestCorruptContentBreaksTheTransfer(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	order := o.newOrder(t)
	body := []byte(strings.Repeat("contract text ", 1000))
	req := upload("text/plain", body, map[string]string{"Content-Digest": digestOf(body)})
	req.path = "/v1/orders/" + order + "/attachments?filename=c.txt"
	res := o.call(t, req)
	var att attachmentBody
	res.json(t, &att)
	key := "sha256/" + att.Revision.SHA256[:2] + "/" + att.Revision.SHA256[2:4] + "/" + att.Revision.SHA256
	evil := []byte(strings.Repeat("CONTRACT TEXT ", 1000))
	if _, err := o.files.Store().Put(context.Background(), key, strings.NewReader(string(evil)), int64(len(evil)), filestore.PutOptions{}); err != nil {
		t.Fatalf("overwrite the object behind the store's back: %v", err)
	}
	srv := httptest.NewServer(o.srv)
	defer srv.Close()
	httpReq, _ := http.NewRequest("GET", srv.URL+"/v1/attachments/"+att.ID+"/content", nil)
	httpReq.Header.Set("Authorization", "Bearer "+o.admin)
	resp, err := http.DefaultClient.Do(httpReq)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && string(got) == string(evil) {
		t.Fatal("corrupt content was served as a complete, successful response")
	}
	if err == nil && resp.StatusCode == 200 {
		t.Fatalf("a 200 ended cleanly with %d of %d bytes", len(got), len(evil))
	}
}

// attachmentMatrixFixtures are the authorization matrix fixtures of the
// attachment routes: a UK order with an attachment of two revisions.
func attachmentMatrixFixtures(t *testing.T, b *testBundle, c *catalog) map[string]func() fixture {
	made := time.Now().UTC()
	ord := c.orderIn(t, orders.StatusDraft)
	orderKey := url.QueryEscape(`{"id":"` + ord.ID.String() + `"}`)
	owner := filestore.Owner{Type: filestore.OwnerOrder, ID: ord.ID, Site: ord.SiteID}
	att, _, err := b.files.CreateAttachment(c.ctx, owner, "terms.txt", filestore.Upload{Body: strings.NewReader("terms v1\n"), Size: -1, ContentType: "text/plain", Filename: "terms.txt"})
	must(t, err)
	_, err = b.files.AddRevision(c.ctx, att.ID, filestore.Upload{Body: strings.NewReader("terms v2\n"), Size: -1, ContentType: "text/plain", Filename: "terms.txt"})
	must(t, err)
	text := map[string]string{"Content-Type": "text/plain"}
	base := "/v1/attachments/" + att.ID.String()
	orderPath := "/v1/orders/" + ord.ID.String()
	contractPath := "/v1/contracts/" + newContract(t, c, b.db.App)
	return map[string]func() fixture{
		"createOrderAttachment": func() fixture {
			return fixture{path: orderPath + "/attachments?filename=po.txt", body: []byte("purchase order " + randomSuffix()), header: text, siteScoped: true}
		},
		"listOrderAttachments": func() fixture { return fixture{path: orderPath + "/attachments", siteScoped: true} },
		"createContractAttachment": func() fixture {
			return fixture{path: contractPath + "/attachments?filename=signed.txt", body: []byte("signed " + randomSuffix()), header: text, siteScoped: true}
		},
		"listContractAttachments": func() fixture { return fixture{path: contractPath + "/attachments", siteScoped: true} },
		"getAttachment":           func() fixture { return fixture{path: base, siteScoped: true} },
		"addRevision": func() fixture {
			return fixture{path: base + "/revisions?filename=terms.txt", body: []byte("terms " + randomSuffix()), header: text, siteScoped: true}
		},
		"listRevisions":       func() fixture { return fixture{path: base + "/revisions", siteScoped: true} },
		"getRevision":         func() fixture { return fixture{path: base + "/revisions/1", siteScoped: true} },
		"getRevisionContent":  func() fixture { return fixture{path: base + "/revisions/1/content", siteScoped: true} },
		"headRevisionContent": func() fixture { return fixture{path: base + "/revisions/1/content", siteScoped: true} },
		"getLatestContent":    func() fixture { return fixture{path: base + "/content", siteScoped: true} },
		"headLatestContent":   func() fixture { return fixture{path: base + "/content", siteScoped: true} },
		"restoreRevision": func() fixture {
			return fixture{path: base + "/restore", body: map[string]any{"revision": 1}, siteScoped: true}
		},
		"diffRevisions":   func() fixture { return fixture{path: base + "/diff?from=1&to=2", siteScoped: true} },
		"getOrderHistory": func() fixture { return fixture{path: orderPath + "/history", siteScoped: true} },
		// Site-limited auditors read the log filtered to their sites: a
		// list of another site's events is empty, its row is not found,
		// and its diff is empty, as for a row that never existed.
		"listAuditEvents": func() fixture { return fixture{path: "/v1/audit/events?table=orders.order"} },
		"auditRowAsOf": func() fixture {
			return fixture{path: "/v1/audit/row?table=orders.order&key=" + orderKey + "&as_of=" + url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano)), siteScoped: true}
		},
		"auditDiff": func() fixture {
			return fixture{path: "/v1/audit/diff?table=orders.order&key=" + orderKey + "&from=" + url.QueryEscape(made.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano)), otherSite: 200}
		},
	}
}

// newContract books an order of the catalogue's UK customer and makes its
// contract.
func newContract(t testing.TB, c *catalog, pool *pgxpool.Pool) string {
	t.Helper()
	// One fibre line: recurring, under the approval thresholds, so
	// submitting approves it.
	o, err := c.svc.CreateOrder(c.ctx, orders.OrderInput{CustomerID: c.ukCustomer.ID, LegalEntityID: c.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: c.fibre.ID, Quantity: dec("1")}}})
	must(t, err)
	for _, to := range []orders.Status{orders.StatusSubmitted, orders.StatusBooked} {
		o, err = c.svc.Transition(c.ctx, o.ID, to, o.Version, "")
		must(t, err)
	}
	k, err := contracts.New(pool, nil).CreateFromOrder(c.ctx, o.ID, contracts.Terms{})
	must(t, err)
	return k.ID.String()
}

func TestContractAttachments(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	contract := newContract(t, o.c, o.db.App)
	req := upload("application/pdf", []byte("%PDF-1.4 signed contract"), nil)
	req.path = "/v1/contracts/" + contract + "/attachments?filename=signed.pdf"
	res := o.call(t, req)
	var att attachmentBody
	res.json(t, &att)
	if res.Status != 201 || att.OwnerType != "contract" || att.OwnerID != contract {
		t.Fatalf("upload to a contract: %d %s", res.Status, res.Body)
	}
	list := o.call(t, request{method: "GET", path: "/v1/contracts/" + contract + "/attachments"})
	if list.Status != 200 || !strings.Contains(string(list.Body), att.ID) {
		t.Fatalf("list: %d %s", list.Status, list.Body)
	}
	fr := o.token(t, "staff", "FR")
	req = upload("text/plain", []byte("x"), nil)
	req.path, req.token = "/v1/contracts/"+contract+"/attachments?filename=x.txt", fr
	if res := o.call(t, req); res.Status != 404 {
		t.Fatalf("another site's contract: %d %s", res.Status, res.Body)
	}
	req = upload("text/plain", []byte("x"), nil)
	req.path = "/v1/contracts/00000000-0000-0000-0000-000000000001/attachments?filename=x.txt"
	if res := o.call(t, req); res.Status != 404 || res.problemCode(t) != "contract_not_found" {
		t.Fatalf("unknown contract: %d %s", res.Status, res.Body)
	}
}
