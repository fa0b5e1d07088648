package orders_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

func TestPriceAndCostAreChosenByDateAndCustomerOverride(t *testing.T) {
	t.Parallel()
	b := setup(t)
	vip, err := b.svc.CreateCustomer(b.ctx, orders.CustomerInput{SiteID: "UK", Name: "VIP Ltd", Currency: "GBP", Language: "en", Timezone: "Europe/London"})
	must(t, err)
	vipBook, err := b.svc.CreatePriceBook(b.ctx, orders.PriceBookInput{SiteID: "UK", Name: "VIP deal", Currency: "GBP", CustomerID: &vip.ID})
	must(t, err)
	// The override lowers the price from 2023 and, from 2025, also the cost
	// (a volume deal with the supplier); before 2023 VIP pays the catalogue.
	for _, p := range []orders.PriceInput{
		{PriceBookID: vipBook.ID, ProductID: b.fibre.ID, EffectiveFrom: date(2023, 1, 1), UnitPrice: dec("90")},
		{PriceBookID: vipBook.ID, ProductID: b.fibre.ID, EffectiveFrom: date(2025, 1, 1), UnitPrice: dec("95"), UnitCost: ndec("55")},
	} {
		_, err := b.svc.AddPrice(b.ctx, p)
		must(t, err)
	}
	cases := []struct {
		name       string
		customer   *uuid.UUID
		on         time.Time
		price      string
		cost       string
		source     string
		wantAbsent bool
	}{
		{"before any price there is none", nil, date(2019, 12, 31), "", "", "", true},
		{"the first catalogue price applies from its date", nil, date(2020, 1, 1), "100", "60", "standard", false},
		{"the first catalogue price applies until the next", nil, date(2023, 12, 31), "100", "60", "standard", false},
		{"the next catalogue price applies from its date", nil, date(2024, 1, 1), "120", "70", "standard", false},
		{"a customer without overrides pays the catalogue", &b.ukCustomer.ID, date(2024, 6, 1), "120", "70", "standard", false},
		{"before its override the customer pays the catalogue", &vip.ID, date(2022, 6, 1), "100", "60", "standard", false},
		{"an override without cost keeps the catalogue cost in force", &vip.ID, date(2023, 6, 1), "90", "60", "customer", false},
		{"the catalogue cost follows its own dates under an override", &vip.ID, date(2024, 6, 1), "90", "70", "customer", false},
		{"an override with a cost replaces the cost", &vip.ID, date(2025, 6, 1), "95", "55", "customer", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := b.svc.LookupPrice(b.ctx, orders.PriceQuery{SiteID: "UK", CustomerID: c.customer, ProductID: b.fibre.ID, Currency: "GBP", On: c.on})
			if c.wantAbsent {
				mustErr(t, err, orders.ErrNotFound, "price_not_found")
				return
			}
			must(t, err)
			eqDec(t, "price", q.UnitPrice, c.price)
			eqDec(t, "cost", q.UnitCost, c.cost)
			if q.Source != c.source {
				t.Fatalf("source %s, want %s", q.Source, c.source)
			}
		})
	}

	// An order line takes the customer's price and the cost in force today.
	o, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: vip.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: b.fibre.ID, Quantity: dec("1")}, {ProductID: b.install.ID, Quantity: dec("1")}}})
	must(t, err)
	eqDec(t, "override price on the line", o.Lines[0].UnitPrice, "95")
	eqDec(t, "override cost on the line", o.Lines[0].UnitCost, "55")
	eqDec(t, "catalogue price of a product without override", o.Lines[1].UnitPrice, "500")
}

func TestTheLineCostIsASnapshotTakenWhenTheLineIsAdded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.bigOrder(t)
	eqDec(t, "cost at creation", o.Lines[0].UnitCost, "70")
	// The supplier raises the cost from today: new lines pay it, the
	// existing line keeps the cost it was sold with.
	_, err := b.svc.AddPrice(b.ctx, orders.PriceInput{PriceBookID: b.ukBook.ID, ProductID: b.fibre.ID, EffectiveFrom: b.today, UnitPrice: dec("130"), UnitCost: ndec("90")})
	must(t, err)
	o, err = b.svc.AddLine(b.ctx, o.ID, o.Version, orders.LineInput{ProductID: b.fibre.ID, Quantity: dec("1")})
	must(t, err)
	eqDec(t, "first line's cost", o.Lines[0].UnitCost, "70")
	eqDec(t, "first line's price", o.Lines[0].UnitPrice, "120")
	eqDec(t, "new line's cost", o.Lines[1].UnitCost, "90")
	eqDec(t, "new line's price", o.Lines[1].UnitPrice, "130")
	// Changing the quantity does not retake the snapshot.
	o, err = b.svc.UpdateLine(b.ctx, o.ID, o.Lines[0].ID, o.Version, orders.LineInput{ProductID: b.fibre.ID, Quantity: dec("2")})
	must(t, err)
	eqDec(t, "first line's cost after an edit", o.Lines[0].UnitCost, "70")
	eqDec(t, "first line's price after an edit", o.Lines[0].UnitPrice, "120")
}

func TestSiteRulesInForceAtADate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Setup gave UK rules from 2020-01-01 (notice 30 days). Add a change
	// from tomorrow: notice 60 days, a lower approval threshold.
	tomorrow := b.today.AddDate(0, 0, 1)
	next := rules("UK", "GBP", "Europe/London", tomorrow, "5000", "25")
	next.NoticeDays = 60
	_, err := b.svc.SetSiteRules(b.ctx, next)
	must(t, err)
	cases := []struct {
		name      string
		on        time.Time
		notice    int
		threshold string
		absent    bool
	}{
		{"before the first rules there are none", date(2019, 12, 31), 0, "", true},
		{"the first rules apply from their date", date(2020, 1, 1), 30, "10000", false},
		{"today the first rules still apply", b.today, 30, "10000", false},
		{"the change applies from its date", tomorrow, 60, "5000", false},
		{"and after it", tomorrow.AddDate(1, 0, 0), 60, "5000", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := b.svc.SiteRulesAt(b.ctx, "UK", c.on)
			if c.absent {
				mustErr(t, err, orders.ErrNotFound, "site_rules_not_found")
				return
			}
			must(t, err)
			if r.NoticeDays != c.notice {
				t.Fatalf("notice %d, want %d", r.NoticeDays, c.notice)
			}
			eqDec(t, "threshold", r.ApprovalAmountThreshold, c.threshold)
		})
	}
	all, err := b.svc.ListSiteRules(b.ctx, "UK")
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("%d rule sets, want 2", len(all))
	}
}

func TestARuleChangeNeverRewritesThePast(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name string
		from time.Time
	}{
		{"yesterday", b.today.AddDate(0, 0, -1)},
		{"the date of the rules in force", date(2020, 1, 1)},
		{"a day after the first rules", date(2020, 1, 2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.svc.SetSiteRules(b.ctx, rules("UK", "GBP", "Europe/London", c.from, "1", "1"))
			mustErr(t, err, orders.ErrConflict, "rule_rewrites_past")
		})
	}
	// History before the first rule may be filled in.
	_, err := b.svc.SetSiteRules(b.ctx, rules("UK", "GBP", "Europe/London", date(2015, 1, 1), "1", "1"))
	must(t, err)
	r, err := b.svc.SiteRulesAt(b.ctx, "UK", date(2019, 1, 1))
	must(t, err)
	eqDec(t, "backfilled threshold", r.ApprovalAmountThreshold, "1")
	r, err = b.svc.SiteRulesAt(b.ctx, "UK", date(2021, 1, 1))
	must(t, err)
	eqDec(t, "threshold after the backfill", r.ApprovalAmountThreshold, "10000")
	// Rules in force cannot be edited or deleted, even with SQL.
	for _, stmt := range []string{
		`UPDATE core.site_setting SET notice_days = 1 WHERE site_id = 'UK'`,
		`DELETE FROM core.site_setting WHERE site_id = 'UK'`,
	} {
		_, err := b.db.Owner.Exec(b.ctx, stmt)
		if sqlState(err) != "MS004" {
			t.Fatalf("%s: want MS004, got %v", stmt, err)
		}
	}
	// A future rule set may still be corrected before it applies.
	future := b.today.AddDate(0, 1, 0)
	_, err = b.svc.SetSiteRules(b.ctx, rules("UK", "GBP", "Europe/London", future, "7000", "20"))
	must(t, err)
	_, err = b.db.Owner.Exec(b.ctx, `UPDATE core.site_setting SET notice_days = 45 WHERE site_id = 'UK' AND effective_from = $1`, future)
	must(t, err)
	_, err = b.svc.SetSiteRules(b.ctx, rules("UK", "GBP", "Europe/London", future, "8000", "20"))
	mustErr(t, err, orders.ErrConflict, "already_exists")
}

func TestCatalogueInputIsValidated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.svc.CreateSite(b.ctx, orders.Site{ID: "uk", Country: "GBR", Currency: "£", Timezone: "Mars/Olympus"})
	e := mustErr(t, err, orders.ErrValidation, "validation_failed")
	for _, f := range []string{"id", "name", "country", "currency", "timezone"} {
		hasField(t, e, f)
	}
	_, err = b.svc.CreateSite(b.ctx, orders.Site{ID: "UK", Name: "Again", Country: "GB", Currency: "GBP", Timezone: "Europe/London"})
	mustErr(t, err, orders.ErrConflict, "already_exists")
	_, err = b.svc.CreateProduct(b.ctx, orders.ProductInput{SKU: "X-1", Name: "Odd term", Kind: orders.Recurring, BillingFrequency: orders.Quarterly, DefaultTermMonths: 10})
	hasField(t, mustErr(t, err, orders.ErrValidation, ""), "default_term_months")
	_, err = b.svc.AddPrice(b.ctx, orders.PriceInput{PriceBookID: b.ukBook.ID, ProductID: b.router.ID, EffectiveFrom: date(2024, 1, 1), UnitPrice: dec("10")})
	hasField(t, mustErr(t, err, orders.ErrValidation, ""), "unit_cost")
	_, err = b.svc.AddPrice(b.ctx, orders.PriceInput{PriceBookID: uuid.New(), ProductID: b.router.ID, EffectiveFrom: date(2024, 1, 1), UnitPrice: dec("10"), UnitCost: ndec("5")})
	mustErr(t, err, orders.ErrNotFound, "price_book_not_found")
	_, err = b.svc.GetCustomer(b.ctx, uuid.New())
	mustErr(t, err, orders.ErrNotFound, "customer_not_found")
	c, err := b.svc.UpdateCustomer(b.ctx, b.ukCustomer.ID, b.ukCustomer.Version, orders.CustomerInput{Name: "Acme Group", Currency: "GBP", Language: "en-GB", Timezone: "Europe/London", PaymentTermsDays: 60, PORequired: true})
	must(t, err)
	if c.Name != "Acme Group" || c.Version != b.ukCustomer.Version+1 || !c.PORequired {
		t.Fatalf("updated customer %+v", c)
	}
	_, err = b.svc.UpdateCustomer(b.ctx, b.ukCustomer.ID, b.ukCustomer.Version, orders.CustomerInput{Name: "Late", Currency: "GBP", Language: "en", Timezone: "Europe/London"})
	if e := mustErr(t, err, orders.ErrStale, "stale_version"); e.CurrentVersion != c.Version {
		t.Fatalf("current version %d, want %d", e.CurrentVersion, c.Version)
	}
}

func TestCustomerAndProductListsPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, n := range []string{"Beta", "Alpha", "Gamma", "Alpha"} {
		_, err := b.svc.CreateCustomer(b.ctx, orders.CustomerInput{SiteID: "UK", Name: n, Currency: "GBP", Language: "en", Timezone: "Europe/London"})
		must(t, err)
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := b.svc.ListCustomers(b.ctx, orders.CustomerFilter{SiteID: "UK", Limit: 2, Cursor: cursor})
		must(t, err)
		for _, c := range p.Items {
			names = append(names, c.Name)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	want := []string{"Acme Ltd", "Alpha", "Alpha", "Beta", "Gamma"}
	if len(names) != len(want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("names %v, want %v", names, want)
		}
	}
	_, err := b.svc.ListCustomers(b.ctx, orders.CustomerFilter{Cursor: "not-a-cursor"})
	hasField(t, mustErr(t, err, orders.ErrValidation, ""), "cursor")

	p1, err := b.svc.ListProducts(b.ctx, orders.ProductFilter{Limit: 2})
	must(t, err)
	p2, err := b.svc.ListProducts(b.ctx, orders.ProductFilter{Limit: 2, Cursor: p1.NextCursor})
	must(t, err)
	if len(p1.Items) != 2 || len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].SKU != "ROUTER" {
		t.Fatalf("product pages %+v / %+v", p1, p2)
	}
	rec, err := b.svc.ListProducts(b.ctx, orders.ProductFilter{Kind: orders.Recurring})
	must(t, err)
	if len(rec.Items) != 1 || rec.Items[0].SKU != "FIBRE-1G" {
		t.Fatalf("recurring products %+v", rec.Items)
	}
}

// CustomerNames answers in one query for the customers the caller can see;
// other sites' and unknown ids are absent, never an error.
func TestCustomerNamesHonourSites(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := []uuid.UUID{b.ukCustomer.ID, b.frCustomer.ID, uuid.New()}
	all, err := b.svc.CustomerNames(b.ctx, ids)
	must(t, err)
	if len(all) != 2 || all[b.ukCustomer.ID] != "Acme Ltd" || all[b.frCustomer.ID] != "Dupont SA" {
		t.Fatalf("all sites: %v", all)
	}
	uk, err := b.svc.CustomerNames(auth.WithPrincipal(context.Background(), principal("UK")), ids)
	must(t, err)
	if len(uk) != 1 || uk[b.ukCustomer.ID] != "Acme Ltd" {
		t.Fatalf("UK only: %v", uk)
	}
	none, err := b.svc.CustomerNames(b.ctx, nil)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("no ids: %v", none)
	}
}
