package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

// catalog is the reference data order tests need, made through
// orders.Service as an all-sites admin in the bundle's database: rules for
// UK (approval above 10000 GBP or under 20 % margin) and FR, a legal
// entity and a customer per site, products and UK and FR standard prices.
type catalog struct {
	svc *orders.Service
	ctx context.Context

	ukEntity, frEntity     orders.LegalEntity
	ukCustomer, frCustomer orders.Customer
	// fibre is recurring (monthly, 12 months, 120 GBP/month from 2024);
	// install is one-off (500 GBP); router is one-off without any price.
	fibre, install, router orders.Product
	ukBook                 orders.PriceBook
	today                  time.Time // today's date in Europe/London
}

func newCatalog(t testing.TB, b *testBundle) *catalog {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	must(t, err)
	now := time.Now().In(loc)
	c := &catalog{
		svc:   orders.New(b.db.App, nil),
		ctx:   auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:fixtures@example.com", Role: auth.RoleAdmin, RequestID: "fixtures"}),
		today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
	}
	ctx := c.ctx
	for _, s := range [][3]string{{"UK", "GBP", "Europe/London"}, {"FR", "EUR", "Europe/Paris"}} {
		_, err := c.svc.SetSiteRules(ctx, siteRules(s[0], s[1], s[2], time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
		must(t, err)
	}
	c.ukEntity, err = c.svc.CreateLegalEntity(ctx, orders.LegalEntityInput{SiteID: "UK", Name: "Messina UK Ltd", VATID: "GB123456789", InvoicePrefix: "MUK",
		Address: &orders.Address{Street: "1 Fleet Street", City: "London", Postcode: "EC4Y 1AA", Country: "GB"}})
	must(t, err)
	c.frEntity, err = c.svc.CreateLegalEntity(ctx, orders.LegalEntityInput{SiteID: "FR", Name: "Messina France SAS", VATID: "FR12345678901", InvoicePrefix: "MFR",
		Address: &orders.Address{Street: "12 rue de la Paix", City: "Paris", Postcode: "75002", Country: "FR"}})
	must(t, err)
	c.ukCustomer = c.customer(t, "UK", "Acme Ltd")
	c.frCustomer = c.customer(t, "FR", "Dupont SA")
	c.fibre, err = c.svc.CreateProduct(ctx, orders.ProductInput{SKU: "FIBRE-1G", Name: "Fibre 1 Gbit/s", Kind: orders.Recurring, BillingFrequency: orders.Monthly, DefaultTermMonths: 12})
	must(t, err)
	c.install, err = c.svc.CreateProduct(ctx, orders.ProductInput{SKU: "INSTALL", Name: "Installation", Kind: orders.OneOff})
	must(t, err)
	c.router, err = c.svc.CreateProduct(ctx, orders.ProductInput{SKU: "ROUTER", Name: "Router", Kind: orders.OneOff})
	must(t, err)
	c.ukBook, err = c.svc.CreatePriceBook(ctx, orders.PriceBookInput{SiteID: "UK", Name: "UK standard", Currency: "GBP"})
	must(t, err)
	frBook, err := c.svc.CreatePriceBook(ctx, orders.PriceBookInput{SiteID: "FR", Name: "FR standard", Currency: "EUR"})
	must(t, err)
	jan := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
	for _, p := range []orders.PriceInput{
		{PriceBookID: c.ukBook.ID, ProductID: c.fibre.ID, EffectiveFrom: jan(2020), UnitPrice: dec("100"), UnitCost: ndec("60")},
		{PriceBookID: c.ukBook.ID, ProductID: c.fibre.ID, EffectiveFrom: jan(2024), UnitPrice: dec("120"), UnitCost: ndec("70")},
		{PriceBookID: c.ukBook.ID, ProductID: c.install.ID, EffectiveFrom: jan(2020), UnitPrice: dec("500"), UnitCost: ndec("200")},
		{PriceBookID: frBook.ID, ProductID: c.fibre.ID, EffectiveFrom: jan(2020), UnitPrice: dec("110"), UnitCost: ndec("65")},
	} {
		_, err := c.svc.AddPrice(ctx, p)
		must(t, err)
	}
	return c
}

func siteRules(site, currency, tz string, from time.Time) orders.SiteRules {
	return orders.SiteRules{
		SiteID: site, EffectiveFrom: from, BillingTiming: "advance", Proration: "daily", DefaultRenewalMonths: 12,
		NoticeDays: 30, CancellationPolicy: "end_of_term", InvoiceNumberFormat: "{prefix}-{yyyy}-{seq:6}",
		TaxRate: dec("0.2"), ReverseCharge: true, Rounding: "half_up", RoundingScale: 2, Currency: currency, Timezone: tz,
		ApprovalAmountThreshold: dec("10000"), ApprovalMinMarginPct: dec("20"),
	}
}

// customer adds a customer with a postal address in the site's country.
func (c *catalog) customer(t testing.TB, site, name string) orders.Customer {
	t.Helper()
	cur, tz := "GBP", "Europe/London"
	addr := &orders.Address{Street: "2 High Street", City: "Leeds", Postcode: "LS1 1AA", Country: "GB"}
	if site == "FR" {
		cur, tz = "EUR", "Europe/Paris"
		addr = &orders.Address{Street: "3 quai Saint-Antoine", City: "Lyon", Postcode: "69002", Country: "FR"}
	}
	x, err := c.svc.CreateCustomer(c.ctx, orders.CustomerInput{SiteID: site, Name: name, Currency: cur, Language: "en", Timezone: tz, PaymentTermsDays: 30,
		Address: addr})
	must(t, err)
	return x
}

// smallOrder is a UK draft within the approval thresholds (one installation,
// 500 GBP at 60 % margin): submitting approves it at once.
func (c *catalog) smallOrder(t testing.TB) orders.Order {
	t.Helper()
	o, err := c.svc.CreateOrder(c.ctx, orders.OrderInput{CustomerID: c.ukCustomer.ID, LegalEntityID: c.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: c.install.ID, Quantity: dec("1")}}})
	must(t, err)
	return o
}

// bigOrder is a UK draft above the amount threshold (10 x fibre x 12
// months = 14400 GBP): submitting leaves it waiting for approval.
func (c *catalog) bigOrder(t testing.TB) orders.Order {
	t.Helper()
	o, err := c.svc.CreateOrder(c.ctx, orders.OrderInput{CustomerID: c.ukCustomer.ID, LegalEntityID: c.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: c.fibre.ID, Quantity: dec("10")}}})
	must(t, err)
	return o
}

// orderIn returns a UK order brought to status st through the service.
func (c *catalog) orderIn(t testing.TB, st orders.Status) orders.Order {
	t.Helper()
	var o orders.Order
	var path []orders.Status
	switch st {
	case orders.StatusDraft:
		o = c.bigOrder(t)
	case orders.StatusSubmitted:
		o, path = c.bigOrder(t), []orders.Status{orders.StatusSubmitted}
	case orders.StatusApproved:
		o, path = c.smallOrder(t), []orders.Status{orders.StatusSubmitted}
	case orders.StatusBooked:
		o, path = c.smallOrder(t), []orders.Status{orders.StatusSubmitted, orders.StatusBooked}
	case orders.StatusProvisioning:
		o, path = c.smallOrder(t), []orders.Status{orders.StatusSubmitted, orders.StatusBooked, orders.StatusProvisioning}
	default:
		t.Fatalf("orderIn: %s is not a fixture status", st)
	}
	for _, to := range path {
		var err error
		o, err = c.svc.Transition(c.ctx, o.ID, to, o.Version, "")
		must(t, err)
	}
	if o.Status != st {
		t.Fatalf("fixture order is %s, want %s", o.Status, st)
	}
	return o
}

// futureDates hands out distinct future dates, for rules and prices that
// must not collide with each other.
var futureDays atomic.Int64

func futureDate() string {
	return time.Now().AddDate(0, 0, 10+int(futureDays.Add(1))).Format(time.DateOnly)
}

// orderMatrixFixtures are the authorization matrix fixtures of the
// catalogue and order routes. Every resource is of site UK; reads share
// one, writes that change state get a fresh one per call.
func orderMatrixFixtures(t *testing.T, b *testBundle, c *catalog) map[string]func() fixture {
	shared := sync.OnceValue(func() orders.Order { return c.bigOrder(t) })
	order := func(st orders.Status) string { return "/v1/orders/" + c.orderIn(t, st).ID.String() }
	upper := func() string { return strings.ToUpper(randomSuffix()) }
	line := map[string]any{"product_id": c.install.ID, "quantity": "2"}
	return map[string]func() fixture{
		"listSites": func() fixture { return fixture{path: "/v1/sites"} },
		"createSite": func() fixture {
			// A site-limited admin cannot add a site: it is outside its sites.
			id := strings.Map(func(r rune) rune { return 'A' + r%26 }, upper()[:6])
			return fixture{path: "/v1/sites", body: map[string]any{"id": id, "name": "New", "country": "DE", "currency": "EUR", "timezone": "Europe/Berlin"},
				ownSite: 404, otherSite: 404}
		},
		"getSite":       func() fixture { return fixture{path: "/v1/sites/UK", siteScoped: true} },
		"listSiteRules": func() fixture { return fixture{path: "/v1/sites/UK/rules", siteScoped: true} },
		"addSiteRules": func() fixture {
			return fixture{path: "/v1/sites/UK/rules", body: siteRulesBody(futureDate()), siteScoped: true}
		},
		"listLegalEntities": func() fixture { return fixture{path: "/v1/legal-entities"} },
		"createLegalEntity": func() fixture {
			return fixture{path: "/v1/legal-entities", body: map[string]any{"site_id": "UK", "name": "Entity " + upper(), "vat_id": "GB" + upper(), "invoice_prefix": upper()[:8]}, siteScoped: true}
		},
		"getLegalEntity": func() fixture { return fixture{path: "/v1/legal-entities/" + c.ukEntity.ID.String(), siteScoped: true} },
		"updateLegalEntity": func() fixture {
			le, err := c.svc.CreateLegalEntity(c.ctx, orders.LegalEntityInput{SiteID: "UK", Name: "Entity " + upper(), VATID: "GB" + upper(), InvoicePrefix: upper()[:8]})
			must(t, err)
			return fixture{path: "/v1/legal-entities/" + le.ID.String(), header: ifMatch(le.Version), siteScoped: true,
				body: map[string]any{"address": map[string]any{"street": "5 Canal Street", "city": "Manchester", "postcode": "M1 3HE", "country": "GB"}}}
		},
		"listCustomers":  func() fixture { return fixture{path: "/v1/customers"} },
		"createCustomer": func() fixture { return fixture{path: "/v1/customers", body: customerBody("UK"), siteScoped: true} },
		"getCustomer":    func() fixture { return fixture{path: "/v1/customers/" + c.ukCustomer.ID.String(), siteScoped: true} },
		"updateCustomer": func() fixture {
			cu := c.customer(t, "UK", "Patched Ltd")
			return fixture{path: "/v1/customers/" + cu.ID.String(), body: map[string]any{"name": "Renamed Ltd"}, header: ifMatch(cu.Version), siteScoped: true}
		},
		"listProducts": func() fixture { return fixture{path: "/v1/products"} },
		"createProduct": func() fixture {
			return fixture{path: "/v1/products", body: map[string]any{"sku": "P-" + upper(), "name": "Thing", "kind": "one_off"}}
		},
		"getProduct": func() fixture { return fixture{path: "/v1/products/" + c.fibre.ID.String()} },
		"setProductActive": func() fixture {
			return fixture{path: "/v1/products/" + c.fibre.ID.String() + "/active", body: map[string]any{"active": true}}
		},
		"listPriceBooks": func() fixture { return fixture{path: "/v1/price-books"} },
		"createPriceBook": func() fixture {
			cu := c.customer(t, "UK", "Negotiator Ltd")
			return fixture{path: "/v1/price-books", body: map[string]any{"site_id": "UK", "name": "Deal", "currency": "GBP", "customer_id": cu.ID}, siteScoped: true}
		},
		"getPriceBook": func() fixture { return fixture{path: "/v1/price-books/" + c.ukBook.ID.String(), siteScoped: true} },
		"listPrices": func() fixture {
			return fixture{path: "/v1/price-books/" + c.ukBook.ID.String() + "/prices", siteScoped: true}
		},
		"addPrice": func() fixture {
			return fixture{path: "/v1/price-books/" + c.ukBook.ID.String() + "/prices", siteScoped: true,
				body: map[string]any{"product_id": c.fibre.ID, "effective_from": futureDate(), "unit_price": "130.00", "unit_cost": "75.00"}}
		},
		"lookupPrice": func() fixture {
			return fixture{path: fmt.Sprintf("/v1/price-lookup?site_id=UK&product_id=%s&currency=GBP&on=%s", c.fibre.ID, c.today.Format(time.DateOnly)), siteScoped: true}
		},
		"createOrder": func() fixture {
			// Another site's customer in a body is an invalid reference
			// (422 on customer_id), the same answer as an unknown id.
			return fixture{path: "/v1/orders", otherSite: 422, body: map[string]any{
				"customer_id": c.ukCustomer.ID, "legal_entity_id": c.ukEntity.ID, "salesperson": "ana", "lines": []any{line}}}
		},
		"listOrders": func() fixture { return fixture{path: "/v1/orders"} },
		"getOrder":   func() fixture { return fixture{path: "/v1/orders/" + shared().ID.String(), siteScoped: true} },
		"updateOrder": func() fixture {
			o := c.orderIn(t, orders.StatusDraft)
			return fixture{path: "/v1/orders/" + o.ID.String(), body: map[string]any{"notes": "call first"}, header: ifMatch(o.Version), siteScoped: true}
		},
		"submitOrder":  func() fixture { return fixture{path: order(orders.StatusDraft) + "/submit", siteScoped: true} },
		"approveOrder": func() fixture { return fixture{path: order(orders.StatusSubmitted) + "/approve", siteScoped: true} },
		"rejectOrder": func() fixture {
			return fixture{path: order(orders.StatusSubmitted) + "/reject", body: map[string]any{"reason": "too cheap"}, siteScoped: true}
		},
		"bookOrder":              func() fixture { return fixture{path: order(orders.StatusApproved) + "/book", siteScoped: true} },
		"startOrderProvisioning": func() fixture { return fixture{path: order(orders.StatusBooked) + "/provision", siteScoped: true} },
		"completeOrder":          func() fixture { return fixture{path: order(orders.StatusProvisioning) + "/complete", siteScoped: true} },
		"cancelOrder": func() fixture {
			return fixture{path: order(orders.StatusDraft) + "/cancel", body: map[string]any{"reason": "changed mind"}, siteScoped: true}
		},
		"addOrderLine": func() fixture {
			return fixture{path: order(orders.StatusDraft) + "/lines", body: line, siteScoped: true}
		},
		"replaceOrderLine": func() fixture {
			o := c.orderIn(t, orders.StatusDraft)
			return fixture{path: fmt.Sprintf("/v1/orders/%s/lines/%s", o.ID, o.Lines[0].ID), body: map[string]any{"product_id": c.fibre.ID, "quantity": "3"}, siteScoped: true}
		},
		"removeOrderLine": func() fixture {
			o := c.orderIn(t, orders.StatusDraft)
			return fixture{path: fmt.Sprintf("/v1/orders/%s/lines/%s", o.ID, o.Lines[0].ID), header: ifMatch(o.Version), siteScoped: true}
		},
		"listOrderTransitions": func() fixture {
			return fixture{path: "/v1/orders/" + shared().ID.String() + "/transitions", siteScoped: true}
		},
		"listOrderApprovals": func() fixture {
			return fixture{path: "/v1/orders/" + shared().ID.String() + "/approvals", siteScoped: true}
		},
	}
}

func siteRulesBody(from string) map[string]any {
	return map[string]any{
		"effective_from": from, "billing_timing": "arrears", "proration": "monthly", "default_renewal_months": 24,
		"notice_days": 60, "cancellation_policy": "end_of_notice", "invoice_number_format": "{prefix}{yyyy}{seq:5}",
		"tax_rate": "0.2", "reverse_charge": false, "rounding": "half_even", "rounding_scale": 2, "currency": "GBP",
		"timezone": "Europe/London", "approval_amount_threshold": "20000", "approval_min_margin_pct": "15",
	}
}

func customerBody(site string) map[string]any {
	return map[string]any{"site_id": site, "name": "Customer " + randomSuffix(), "currency": "GBP", "language": "en",
		"timezone": "Europe/London", "payment_terms_days": 30, "po_required": false}
}

func ifMatch(version int32) map[string]string {
	return map[string]string{"If-Match": fmt.Sprintf(`"%d"`, version)}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func dec(s string) decimal.Decimal      { return decimal.RequireFromString(s) }
func ndec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(dec(s)) }
