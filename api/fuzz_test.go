package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/orders"
)

// FuzzRequests throws arbitrary bodies, query strings and header values at
// the API: whatever comes in, the answer is never a 500 and always valid
// against the spec (do checks that).
func FuzzRequests(f *testing.F) {
	f.Add(`{"name":"a","role":"staff"}`, "limit=2", "key-1", `"1"`, "bytes=0-10", "sha-256=:AAAA:")
	f.Add(`[[[[[[`, "cursor=%ff", "\x00", "W/\"x\"", "bytes=-", "sha-256=::")
	f.Add(`{"name":"\u0000","role":"admin","sites":["UK","UK"]}`, "limit=500&cursor=YQ", "k", `*`, "bytes=5-1", "md5=:x:")
	f.Add(`{"expires_at":"not a time","name":"x","role":"api"}`, "limit=-1", "", "", "", "")
	b := setup(f)
	// An attachment to download with fuzzed Range/If-* headers and to add
	// revisions to with fuzzed Content-Digest headers and bodies.
	c := newCatalog(f, b)
	ord := c.orderIn(f, orders.StatusDraft)
	att, _, err := b.files.CreateAttachment(c.ctx, filestore.Owner{Type: filestore.OwnerOrder, ID: ord.ID, Site: ord.SiteID}, "f.txt",
		filestore.Upload{Body: strings.NewReader("0123456789abcdefghij"), Size: -1, ContentType: "text/plain", Filename: "f.txt"})
	if err != nil {
		f.Fatal(err)
	}
	content := "/v1/attachments/" + att.ID.String()
	f.Fuzz(func(t *testing.T, body, query, idemKey, ifMatch, rangeHdr, digest string) {
		if _, err := url.ParseQuery(query); err != nil || strings.IndexFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) >= 0 {
			query = url.QueryEscape(query)
		}
		headers := map[string]string{"If-Match": ifMatch, "Range": rangeHdr, "Content-Digest": digest}
		if idemKey != "" {
			headers["Idempotency-Key"] = idemKey
		}
		for _, h := range headers {
			if !validHeaderValue(h) {
				return // net/http would refuse to send it
			}
		}
		for _, req := range []request{
			{method: "POST", path: "/v1/tokens?" + query, token: b.admin, body: body, header: headers, invalid: true},
			{method: "GET", path: "/v1/tokens?" + query, token: b.admin, header: headers, invalid: true},
			{method: "DELETE", path: "/v1/tokens/" + url.PathEscape(idemKey), token: b.admin, header: headers, invalid: true},
			{method: "GET", path: content + "/content?" + query, token: b.admin, header: map[string]string{"Range": rangeHdr, "If-Range": ifMatch, "If-None-Match": idemKey}, invalid: true},
			{method: "GET", path: content + "/revisions/1/content", token: b.admin, header: map[string]string{"Range": rangeHdr, "If-Match": ifMatch}, invalid: true},
			{method: "POST", path: content + "/revisions?filename=" + url.QueryEscape(idemKey) + "&" + query, token: b.admin, body: []byte(body),
				header: map[string]string{"Content-Digest": digest, "Content-Type": "text/plain", "Content-Disposition": ifMatch}, invalid: true},
		} {
			res := do(t, b.srv, req)
			if res.Status >= http.StatusInternalServerError {
				t.Fatalf("%s %s answered %d: %s", req.method, req.path, res.Status, res.Body)
			}
		}
	})
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
