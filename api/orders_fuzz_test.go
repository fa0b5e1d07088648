package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzOrderRequests throws arbitrary bodies, filters and If-Match values at
// the order and price routes: the answer is never a 500 and always valid
// against the spec.
func FuzzOrderRequests(f *testing.F) {
	f.Add(`{"lines":[{"quantity":"1"}]}`, "status=draft&limit=2", `"1"`)
	f.Add(`{"customer_id":"x","lines":[{"product_id":"00000000-0000-0000-0000-000000000000","quantity":"-0.0000000001","unit_price":"1e400"}]}`, "from=2026-02-30&to=0000-01-01", "W/\"0\"")
	f.Add(`{"lines":[{"quantity":"999999999999999999.99999999","discount_pct":"100.00000001","term_months":-1,"billing_frequency":"weekly"}]}`, "customer_id=%00&salesperson=%E2%82%AC", `"2147483648"`)
	f.Add(`{"notes":"\u0000","po_number":"","salesperson":""}`, "cursor=AAAA&on=2026-01-01&currency=GBP&site_id=UK", `*`)
	f.Add(`{"lines":[{"splits":[{"salesperson":"a","share_pct":"60"},{"salesperson":"a","share_pct":"60"}]}]}`, "status=&site=ZZ&limit=500", `""`)
	b := setup(f)
	c := newCatalog(f, b)
	draft := "/v1/orders/" + c.bigOrder(f).ID.String()
	f.Fuzz(func(t *testing.T, body, query, ifMatch string) {
		if _, err := url.ParseQuery(query); err != nil || strings.IndexFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) >= 0 {
			query = url.QueryEscape(query)
		}
		if !validHeaderValue(ifMatch) {
			return
		}
		h := map[string]string{"If-Match": ifMatch}
		for _, req := range []request{
			{method: "POST", path: "/v1/orders", body: body},
			{method: "GET", path: "/v1/orders?" + query},
			{method: "PATCH", path: draft, body: body, header: h},
			{method: "POST", path: draft + "/lines", body: body, header: h},
			{method: "POST", path: draft + "/cancel", body: body, header: h},
			{method: "GET", path: "/v1/price-lookup?" + query},
			{method: "GET", path: "/v1/sites/UK/rules?" + query},
			{method: "POST", path: "/v1/customers", body: body},
		} {
			req.token, req.invalid = b.admin, true
			res := do(t, b.srv, req)
			if res.Status >= http.StatusInternalServerError {
				t.Fatalf("%s %s answered %d: %s", req.method, req.path, res.Status, res.Body)
			}
		}
	})
}
