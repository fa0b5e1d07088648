package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzKPIRequests throws arbitrary filters at the KPI reports: the answer
// is never a 500 and always valid against the spec. The seeds run with
// every `go test`.
func FuzzKPIRequests(f *testing.F) {
	f.Add("from=2025-01&to=2025-12&group_by=site,month,salesperson,product&limit=2")
	f.Add("from=0000-01&to=9999-12&currency=EUR&site=UK&salesperson=%E2%82%AC")
	f.Add("salesperson=a%00b&group_by=,,month,&group_by=currency")
	f.Add("cursor=WyJcdTAwMDAiLCIiLCIiLCIiLCIiXQ&limit=500")       // ["\u0000","","","",""]
	f.Add("cursor=WyJ6IiwieiIsInoiLCJ6IiwieiJd&group_by=currency") // ["z","z","z","z","z"]
	f.Add("level=contract&group_by=contract,customer&customer_id=00000000-0000-0000-0000-000000000000")
	f.Add("from=2025-02-30&to=-1&product_id=%ff&level=")
	b := setup(f)
	newCatalog(f, b)
	f.Fuzz(func(t *testing.T, query string) {
		if _, err := url.ParseQuery(query); err != nil || strings.IndexFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) >= 0 {
			query = url.QueryEscape(query)
		}
		for _, path := range []string{"/v1/kpi/bookings?", "/v1/kpi/margin?", "/v1/kpi/mrr?"} {
			res := do(t, b.srv, request{method: "GET", path: path + query, token: b.admin, invalid: true})
			if res.Status >= http.StatusInternalServerError {
				t.Fatalf("GET %s%s answered %d: %s", path, query, res.Status, res.Body)
			}
		}
	})
}
