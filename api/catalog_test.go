package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/messina-oms/messina/auth"
)

type listOf[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func TestSitesAndTheirRules(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	res := o.call(t, request{method: "POST", path: "/v1/sites", body: map[string]any{"id": "DE", "name": "Germany", "country": "DE", "currency": "EUR", "timezone": "Europe/Berlin"}})
	if res.Status != http.StatusCreated || res.Header.Get("Location") != "/v1/sites/DE" || res.Header.Get("ETag") != `"1"` {
		t.Fatalf("create site: %d %v %s", res.Status, res.Header, res.Body)
	}
	wantProblem(t, o.call(t, request{method: "POST", path: "/v1/sites", body: map[string]any{"id": "DE", "name": "Again", "country": "DE", "currency": "EUR", "timezone": "Europe/Berlin"}}), http.StatusConflict, "already_exists")
	p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/sites", body: map[string]any{"id": "de", "name": "", "country": "Germany", "currency": "EUR", "timezone": "Mars/Olympus"}}), 422, "validation_failed")
	if f := p.fields(); !slices.Contains(f, "id") || !slices.Contains(f, "name") || !slices.Contains(f, "country") || !slices.Contains(f, "timezone") {
		t.Fatalf("fields %v", f)
	}

	var sites listOf[struct{ ID string }]
	o.call(t, request{method: "GET", path: "/v1/sites"}).json(t, &sites)
	var ids []string
	for _, x := range sites.Items {
		ids = append(ids, x.ID)
	}
	if !slices.Equal(ids, []string{"DE", "FR", "UK"}) {
		t.Fatalf("sites: %v", ids)
	}
	auditorFR := o.token(t, auth.RoleAuditor, "FR")
	o.call(t, request{method: "GET", path: "/v1/sites", token: auditorFR}).json(t, &sites)
	if len(sites.Items) != 1 || sites.Items[0].ID != "FR" {
		t.Fatalf("an FR auditor sees %+v", sites)
	}
	if res := o.call(t, request{method: "GET", path: "/v1/sites/UK", token: auditorFR}); res.Status != http.StatusNotFound {
		t.Fatalf("FR auditor reading UK: %d", res.Status)
	}

	// Rules: UK has a set from 2020 (fixtures); add one from a future date.
	future := o.c.today.AddDate(0, 2, 0)
	res = o.call(t, request{method: "POST", path: "/v1/sites/UK/rules", body: siteRulesBody(future.Format(time.DateOnly))})
	var added struct {
		EffectiveFrom string `json:"effective_from"`
		TaxRate       string `json:"tax_rate"`
		CreatedBy     string `json:"created_by"`
	}
	res.json(t, &added)
	if res.Status != http.StatusCreated || added.EffectiveFrom != future.Format(time.DateOnly) || added.CreatedBy != "bootstrap" {
		t.Fatalf("add rules: %d %s", res.Status, res.Body)
	}
	eqMoney(t, "tax rate", added.TaxRate, "0.2")
	wantProblem(t, o.call(t, request{method: "POST", path: "/v1/sites/UK/rules", body: siteRulesBody(o.c.today.AddDate(0, 0, -1).Format(time.DateOnly))}), http.StatusConflict, "rule_rewrites_past")
	bad := siteRulesBody(future.AddDate(0, 1, 0).Format(time.DateOnly))
	bad["tax_rate"], bad["billing_timing"] = "1.5", "sometimes"
	p = wantProblem(t, o.call(t, request{method: "POST", path: "/v1/sites/UK/rules", body: bad, invalid: true}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "tax_rate") || !slices.Contains(p.fields(), "billing_timing") {
		t.Fatalf("fields %v", p.fields())
	}

	type rules struct {
		EffectiveFrom       string `json:"effective_from"`
		InvoiceNumberFormat string `json:"invoice_number_format"`
	}
	var all listOf[rules]
	o.call(t, request{method: "GET", path: "/v1/sites/UK/rules"}).json(t, &all)
	if len(all.Items) != 2 || all.Items[0].EffectiveFrom != "2020-01-01" || all.NextCursor != nil {
		t.Fatalf("all rules: %+v", all)
	}
	for on, want := range map[string]string{
		o.c.today.Format(time.DateOnly):               "{prefix}-{yyyy}-{seq:6}",
		future.Format(time.DateOnly):                  "{prefix}{yyyy}{seq:5}",
		future.AddDate(1, 0, 0).Format(time.DateOnly): "{prefix}{yyyy}{seq:5}",
	} {
		var inForce listOf[rules]
		o.call(t, request{method: "GET", path: "/v1/sites/UK/rules?on=" + on}).json(t, &inForce)
		if len(inForce.Items) != 1 || inForce.Items[0].InvoiceNumberFormat != want {
			t.Fatalf("rules on %s: %+v", on, inForce)
		}
	}
	wantProblem(t, o.call(t, request{method: "GET", path: "/v1/sites/UK/rules?on=2019-12-31"}), http.StatusNotFound, "site_rules_not_found")
	p = wantProblem(t, o.call(t, request{method: "GET", path: "/v1/sites/UK/rules?on=soon", invalid: true}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "on") {
		t.Fatalf("fields %v", p.fields())
	}
	if res := o.call(t, request{method: "POST", path: "/v1/sites/UK/rules", token: o.token(t, auth.RoleStaff), body: siteRulesBody(future.AddDate(0, 0, 3).Format(time.DateOnly))}); res.Status != http.StatusForbidden {
		t.Fatalf("staff adding rules: %d", res.Status)
	}
}

func TestLegalEntitiesAndCustomers(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	res := o.call(t, request{method: "POST", path: "/v1/legal-entities", body: map[string]any{"site_id": "UK", "name": "Messina Services Ltd", "vat_id": "GB987654321", "invoice_prefix": "MSL"}})
	var le struct {
		ID     string `json:"id"`
		SiteID string `json:"site_id"`
	}
	res.json(t, &le)
	if res.Status != http.StatusCreated || le.SiteID != "UK" {
		t.Fatalf("create legal entity: %d %s", res.Status, res.Body)
	}
	if res := o.call(t, request{method: "GET", path: "/v1/legal-entities/" + le.ID}); res.Status != 200 {
		t.Fatalf("get legal entity: %d", res.Status)
	}
	var les listOf[struct {
		SiteID string `json:"site_id"`
	}]
	o.call(t, request{method: "GET", path: "/v1/legal-entities?site_id=UK"}).json(t, &les)
	if len(les.Items) != 2 {
		t.Fatalf("UK legal entities: %+v", les)
	}
	wantProblem(t, o.call(t, request{method: "POST", path: "/v1/legal-entities", body: map[string]any{"site_id": "UK", "name": "Messina Services Ltd", "vat_id": "GB987654321", "invoice_prefix": "MSL"}}), http.StatusConflict, "already_exists")

	staff := o.token(t, auth.RoleStaff, "UK")
	res = o.call(t, request{method: "POST", path: "/v1/customers", token: staff, body: map[string]any{"site_id": "UK", "name": "Zebra Ltd", "vat_id": "GB555", "currency": "GBP", "language": "en-GB", "timezone": "Europe/London", "payment_terms_days": 14, "po_required": true}})
	var cu struct {
		ID       string  `json:"id"`
		Name     string  `json:"name"`
		VATID    *string `json:"vat_id"`
		Version  int32   `json:"version"`
		Terms    int     `json:"payment_terms_days"`
		Required bool    `json:"po_required"`
	}
	res.json(t, &cu)
	if res.Status != http.StatusCreated || cu.VATID == nil || !cu.Required || res.Header.Get("ETag") != `"1"` {
		t.Fatalf("create customer: %d %s", res.Status, res.Body)
	}
	path := "/v1/customers/" + cu.ID
	wantProblem(t, o.call(t, request{method: "PATCH", path: path, token: staff, body: map[string]any{"name": "Zebra Group"}, invalid: true}), http.StatusPreconditionRequired, "if_match_required")
	res = o.call(t, request{method: "PATCH", path: path, token: staff, body: map[string]any{"name": "Zebra Group", "payment_terms_days": 60}, header: ifMatch(cu.Version)})
	res.json(t, &cu)
	if res.Status != 200 || cu.Name != "Zebra Group" || cu.Terms != 60 || !cu.Required || cu.Version != 2 || res.Header.Get("ETag") != `"2"` {
		t.Fatalf("patch customer keeps the fields not sent: %d %s", res.Status, res.Body)
	}
	wantProblem(t, o.call(t, request{method: "PATCH", path: path, token: staff, body: map[string]any{"name": "Lost update"}, header: ifMatch(1)}), http.StatusPreconditionFailed, "stale_version")
	p := wantProblem(t, o.call(t, request{method: "PATCH", path: path, token: staff, body: map[string]any{"currency": "pounds"}, header: ifMatch(2)}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "currency") {
		t.Fatalf("fields %v", p.fields())
	}
	p = wantProblem(t, o.call(t, request{method: "POST", path: "/v1/customers", token: staff, body: map[string]any{"site_id": "UK", "name": "", "currency": "GBP", "language": "english", "timezone": "Europe/London"}}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "name") || !slices.Contains(p.fields(), "language") {
		t.Fatalf("fields %v", p.fields())
	}

	// Search and pages: two UK customers (Acme Ltd from the fixtures).
	var page listOf[struct{ Name string }]
	o.call(t, request{method: "GET", path: "/v1/customers?q=zebra", token: staff}).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "Zebra Group" {
		t.Fatalf("search: %+v", page)
	}
	var names []string
	cursor := ""
	for range 5 {
		q := "/v1/customers?limit=1&site_id=UK"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		o.call(t, request{method: "GET", path: q, token: staff}).json(t, &page)
		for _, it := range page.Items {
			names = append(names, it.Name)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if !slices.Equal(names, []string{"Acme Ltd", "Zebra Group"}) {
		t.Fatalf("paged customers: %v", names)
	}
}

func TestProductsPriceBooksAndPriceLookup(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	res := o.call(t, request{method: "POST", path: "/v1/products", body: map[string]any{"sku": "VOIP-Q", "name": "Voice", "kind": "recurring", "billing_frequency": "quarterly", "default_term_months": 24}})
	var pr struct {
		ID               string  `json:"id"`
		BillingFrequency *string `json:"billing_frequency"`
		Active           bool    `json:"active"`
	}
	res.json(t, &pr)
	if res.Status != http.StatusCreated || pr.BillingFrequency == nil || *pr.BillingFrequency != "quarterly" || !pr.Active {
		t.Fatalf("create product: %d %s", res.Status, res.Body)
	}
	p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/products", body: map[string]any{"sku": "BAD-TERM", "name": "x", "kind": "recurring", "billing_frequency": "quarterly", "default_term_months": 5}}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "default_term_months") {
		t.Fatalf("fields %v", p.fields())
	}
	wantProblem(t, o.call(t, request{method: "POST", path: "/v1/products", body: map[string]any{"sku": "VOIP-Q", "name": "Again", "kind": "one_off"}}), http.StatusConflict, "already_exists")
	res = o.call(t, request{method: "PUT", path: "/v1/products/" + pr.ID + "/active", body: map[string]any{"active": false}})
	res.json(t, &pr)
	if res.Status != 200 || pr.Active {
		t.Fatalf("deactivate: %d %s", res.Status, res.Body)
	}
	if res := o.call(t, request{method: "GET", path: "/v1/products/" + pr.ID}); res.Status != 200 {
		t.Fatalf("get product: %d", res.Status)
	}
	var products listOf[struct{ SKU string }]
	o.call(t, request{method: "GET", path: "/v1/products?active=true&kind=one_off&limit=1"}).json(t, &products)
	if len(products.Items) != 1 || products.Items[0].SKU != "INSTALL" || products.NextCursor == nil {
		t.Fatalf("first page of active one-off products: %+v", products)
	}
	o.call(t, request{method: "GET", path: "/v1/products?active=true&kind=one_off&limit=1&cursor=" + *products.NextCursor}).json(t, &products)
	if len(products.Items) != 1 || products.Items[0].SKU != "ROUTER" {
		t.Fatalf("second page: %+v", products)
	}
	wantProblem(t, o.call(t, request{method: "GET", path: "/v1/products?active=maybe", invalid: true}), 422, "validation_failed")

	// A customer's negotiated price overrides the standard one from its date.
	res = o.call(t, request{method: "POST", path: "/v1/price-books", body: map[string]any{"site_id": "UK", "name": "Acme deal", "currency": "GBP", "customer_id": o.c.ukCustomer.ID}})
	var book struct{ ID string }
	res.json(t, &book)
	if res.Status != http.StatusCreated {
		t.Fatalf("create price book: %d %s", res.Status, res.Body)
	}
	if res := o.call(t, request{method: "GET", path: "/v1/price-books/" + book.ID}); res.Status != 200 {
		t.Fatalf("get price book: %d", res.Status)
	}
	var books listOf[struct{ ID string }]
	o.call(t, request{method: "GET", path: "/v1/price-books?customer_id=" + o.c.ukCustomer.ID.String()}).json(t, &books)
	if len(books.Items) != 1 || books.Items[0].ID != book.ID {
		t.Fatalf("customer's books: %+v", books)
	}
	from := o.c.today.AddDate(0, 0, -3).Format(time.DateOnly)
	res = o.call(t, request{method: "POST", path: "/v1/price-books/" + book.ID + "/prices", body: map[string]any{"product_id": o.c.fibre.ID, "effective_from": from, "unit_price": "99.50"}})
	var price struct {
		UnitPrice string  `json:"unit_price"`
		UnitCost  *string `json:"unit_cost"`
	}
	res.json(t, &price)
	if res.Status != http.StatusCreated || price.UnitCost != nil {
		t.Fatalf("add price without cost to a customer book: %d %s", res.Status, res.Body)
	}
	eqMoney(t, "unit price", price.UnitPrice, "99.50")
	p = wantProblem(t, o.call(t, request{method: "POST", path: "/v1/price-books/" + book.ID + "/prices", body: map[string]any{"product_id": o.c.fibre.ID, "effective_from": from, "unit_price": "-1"}}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "unit_price") {
		t.Fatalf("fields %v", p.fields())
	}
	var prices listOf[struct{ UnitPrice string }]
	o.call(t, request{method: "GET", path: fmt.Sprintf("/v1/price-books/%s/prices?product_id=%s", o.c.ukBook.ID, o.c.fibre.ID)}).json(t, &prices)
	if len(prices.Items) != 2 {
		t.Fatalf("standard fibre prices: %+v", prices)
	}

	lookup := func(customer, on string) (response, struct{ UnitPrice, UnitCost, Source string }) {
		q := fmt.Sprintf("/v1/price-lookup?site_id=UK&product_id=%s&currency=GBP&on=%s", o.c.fibre.ID, on)
		if customer != "" {
			q += "&customer_id=" + customer
		}
		res := o.call(t, request{method: "GET", path: q})
		var quote struct {
			UnitPrice string `json:"unit_price"`
			UnitCost  string `json:"unit_cost"`
			Source    string `json:"source"`
		}
		if res.Status == 200 {
			res.json(t, &quote)
		}
		return res, struct{ UnitPrice, UnitCost, Source string }(quote)
	}
	today := o.c.today.Format(time.DateOnly)
	for _, tc := range []struct {
		customer, on, price, cost, source string
	}{
		{"", today, "120", "70", "standard"},
		{"", "2023-06-01", "100", "60", "standard"},
		{o.c.ukCustomer.ID.String(), today, "99.50", "70", "customer"},
		{o.c.ukCustomer.ID.String(), "2023-06-01", "100", "60", "standard"},
	} {
		res, q := lookup(tc.customer, tc.on)
		if res.Status != 200 || q.Source != tc.source {
			t.Fatalf("lookup %q on %s: %d %s", tc.customer, tc.on, res.Status, res.Body)
		}
		eqMoney(t, "price", q.UnitPrice, tc.price)
		eqMoney(t, "cost", q.UnitCost, tc.cost)
	}
	if res, _ := lookup("", "2019-01-01"); res.Status != http.StatusNotFound || res.problemCode(t) != "price_not_found" {
		t.Fatalf("lookup before any price: %d %s", res.Status, res.Body)
	}
	p = wantProblem(t, o.call(t, request{method: "GET", path: "/v1/price-lookup?site_id=UK&product_id=x&on=2026-01-01", invalid: true}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "currency") {
		t.Fatalf("fields %v", p.fields())
	}
	p = wantProblem(t, o.call(t, request{method: "GET", path: "/v1/price-lookup?site_id=UK&product_id=x&currency=GBP&on=2026-01-01", invalid: true}), 422, "validation_failed")
	if !slices.Contains(p.fields(), "product_id") {
		t.Fatalf("fields %v", p.fields())
	}
}

type addressBody struct {
	Street   string `json:"street"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

type partyBody struct {
	ID      string       `json:"id"`
	Version int32        `json:"version"`
	Address *addressBody `json:"address"`
}

func TestPostalAddressesOfLegalEntitiesAndCustomers(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	london := map[string]any{"street": "1 Fleet Street", "city": "London", "postcode": "EC4Y 1AA", "country": "GB"}
	paris := map[string]any{"street": "12 rue de la Paix", "city": "Paris", "postcode": "75002", "country": "FR"}

	t.Run("a legal entity is made without an address and given one later", func(t *testing.T) {
		res := o.call(t, request{method: "POST", path: "/v1/legal-entities", body: map[string]any{"site_id": "UK", "name": "Old Ltd", "vat_id": "GB111222333", "invoice_prefix": "OLD"}})
		var le partyBody
		res.json(t, &le)
		if res.Status != http.StatusCreated || le.Address != nil {
			t.Fatalf("create without address: %d %s", res.Status, res.Body)
		}
		path := "/v1/legal-entities/" + le.ID
		wantProblem(t, o.call(t, request{method: "PATCH", path: path, body: map[string]any{"address": london}, invalid: true}), http.StatusPreconditionRequired, "if_match_required")
		res = o.call(t, request{method: "PATCH", path: path, body: map[string]any{"address": london}, header: ifMatch(le.Version)})
		res.json(t, &le)
		if res.Status != 200 || le.Address == nil || *le.Address != (addressBody{"1 Fleet Street", "London", "EC4Y 1AA", "GB"}) || le.Version != 2 || res.Header.Get("ETag") != `"2"` {
			t.Fatalf("set address: %d %s", res.Status, res.Body)
		}
		wantProblem(t, o.call(t, request{method: "PATCH", path: path, body: map[string]any{"address": paris}, header: ifMatch(1)}), http.StatusPreconditionFailed, "stale_version")
		p := wantProblem(t, o.call(t, request{method: "PATCH", path: path, body: map[string]any{}, header: ifMatch(2), invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "address") {
			t.Fatalf("fields %v", p.fields())
		}
		wantProblem(t, o.call(t, request{method: "PATCH", path: "/v1/legal-entities/" + unknownID, body: map[string]any{"address": paris}, header: ifMatch(1)}), 404, "legal_entity_not_found")
		fr := o.token(t, auth.RoleAdmin, "FR")
		if res := o.call(t, request{method: "PATCH", path: path, token: fr, body: map[string]any{"address": paris}, header: ifMatch(2)}); res.Status != 404 {
			t.Fatalf("FR admin sets a UK entity's address: %d %s", res.Status, res.Body)
		}
		if res := o.call(t, request{method: "PATCH", path: path, token: o.token(t, auth.RoleStaff), body: map[string]any{"address": paris}, header: ifMatch(2)}); res.Status != 403 {
			t.Fatalf("staff sets an entity's address: %d %s", res.Status, res.Body)
		}
		res = o.call(t, request{method: "PATCH", path: path, body: map[string]any{"address": nil}, header: ifMatch(2)})
		res.json(t, &le)
		if res.Status != 200 || le.Address != nil || le.Version != 3 {
			t.Fatalf("remove address: %d %s", res.Status, res.Body)
		}
	})

	t.Run("an address is whole and its country an assigned ISO code", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			address map[string]any
			field   string
		}{
			{"no city", map[string]any{"street": "1 Fleet Street", "city": " ", "postcode": "EC4Y 1AA", "country": "GB"}, "address.city"},
			{"no street", map[string]any{"street": "", "city": "London", "postcode": "EC4Y 1AA", "country": "GB"}, "address.street"},
			{"long postcode", map[string]any{"street": "x", "city": "London", "postcode": strings.Repeat("9", 21), "country": "GB"}, "address.postcode"},
			{"lower-case country", map[string]any{"street": "x", "city": "London", "postcode": "1", "country": "gb"}, "address.country"},
			{"three-letter country", map[string]any{"street": "x", "city": "London", "postcode": "1", "country": "GBR"}, "address.country"},
			{"unassigned country", map[string]any{"street": "x", "city": "London", "postcode": "1", "country": "ZZ"}, "address.country"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := customerBody("UK")
				body["address"] = tc.address
				p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/customers", body: body, invalid: true}), 422, "validation_failed")
				if !slices.Contains(p.fields(), tc.field) {
					t.Fatalf("fields %v, want %s", p.fields(), tc.field)
				}
				p = wantProblem(t, o.call(t, request{method: "POST", path: "/v1/legal-entities", invalid: true, body: map[string]any{"site_id": "UK",
					"name": "Bad " + randomSuffix(), "vat_id": "GB999888777", "invoice_prefix": "BAD", "address": tc.address}}), 422, "validation_failed")
				if !slices.Contains(p.fields(), tc.field) {
					t.Fatalf("legal entity: fields %v, want %s", p.fields(), tc.field)
				}
			})
		}
		body := customerBody("UK")
		body["address"] = map[string]any{"street": "x", "city": "London", "postcode": "1", "country": "GB", "county": "Kent"}
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/customers", body: body, invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "county") {
			t.Fatalf("an unknown address field: fields %v", p.fields())
		}
	})

	t.Run("a customer's address is kept, replaced or removed by PATCH", func(t *testing.T) {
		body := customerBody("UK")
		body["address"] = london
		res := o.call(t, request{method: "POST", path: "/v1/customers", body: body})
		var cu partyBody
		res.json(t, &cu)
		if res.Status != http.StatusCreated || cu.Address == nil || cu.Address.City != "London" {
			t.Fatalf("create with address: %d %s", res.Status, res.Body)
		}
		path := "/v1/customers/" + cu.ID
		res = o.call(t, request{method: "PATCH", path: path, body: map[string]any{"name": "Renamed " + randomSuffix()}, header: ifMatch(cu.Version)})
		res.json(t, &cu)
		if res.Status != 200 || cu.Address == nil || cu.Address.City != "London" {
			t.Fatalf("a PATCH without address keeps it: %d %s", res.Status, res.Body)
		}
		res = o.call(t, request{method: "PATCH", path: path, body: map[string]any{"address": paris}, header: ifMatch(cu.Version)})
		res.json(t, &cu)
		if res.Status != 200 || cu.Address == nil || *cu.Address != (addressBody{"12 rue de la Paix", "Paris", "75002", "FR"}) {
			t.Fatalf("replace: %d %s", res.Status, res.Body)
		}
		p := wantProblem(t, o.call(t, request{method: "PATCH", path: path, body: map[string]any{"address": map[string]any{"street": "x"}}, header: ifMatch(cu.Version), invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "address.city") {
			t.Fatalf("half an address: fields %v", p.fields())
		}
		res = o.call(t, request{method: "PATCH", path: path, body: map[string]any{"address": nil}, header: ifMatch(cu.Version)})
		res.json(t, &cu)
		if res.Status != 200 || cu.Address != nil {
			t.Fatalf("remove: %d %s", res.Status, res.Body)
		}
		var got partyBody
		o.call(t, request{method: "GET", path: path}).json(t, &got)
		if got.Address != nil || got.Version != cu.Version {
			t.Fatalf("read back: %+v", got)
		}
	})
}
