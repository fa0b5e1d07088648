package orders_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/internal/pgtest"
	"github.com/messina-oms/messina/orders"
)

// testBundle is what most tests need: a service on its own database, a
// context with an all-sites principal, and a small catalogue (see setup).
type testBundle struct {
	ctx   context.Context
	db    *pgtest.DB
	app   *pgxpool.Pool // messina_app, decimal types registered
	svc   *orders.Service
	today time.Time // today in Europe/London (the UK site)

	ukEntity, frEntity     orders.LegalEntity
	ukCustomer, frCustomer orders.Customer
	fibre, install, router orders.Product // recurring monthly 12; one-off; one-off without a price
	ukBook                 orders.PriceBook
}

func principal(sites ...string) auth.Principal {
	return auth.Principal{Actor: "user:tester@example.com", Role: auth.RoleStaff, Sites: sites, RequestID: "req-test"}
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.New(t)
	app := db.App
	loc, err := time.LoadLocation("Europe/London")
	must(t, err)
	now := time.Now().In(loc)
	b := &testBundle{
		ctx:   auth.WithPrincipal(context.Background(), principal()),
		db:    db,
		app:   app,
		svc:   orders.New(app, nil),
		today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
	}
	ctx := b.ctx
	for _, s := range []orders.Site{
		{ID: "UK", Name: "United Kingdom", Country: "GB", Currency: "GBP", Timezone: "Europe/London"},
		{ID: "FR", Name: "France", Country: "FR", Currency: "EUR", Timezone: "Europe/Paris"},
	} {
		_, err := b.svc.CreateSite(ctx, s)
		must(t, err)
		_, err = b.svc.SetSiteRules(ctx, rules(s.ID, s.Currency, s.Timezone, date(2020, 1, 1), "10000", "20"))
		must(t, err)
	}
	b.ukEntity, err = b.svc.CreateLegalEntity(ctx, orders.LegalEntityInput{SiteID: "UK", Name: "Messina UK Ltd", VATID: "GB123456789", InvoicePrefix: "MUK"})
	must(t, err)
	b.frEntity, err = b.svc.CreateLegalEntity(ctx, orders.LegalEntityInput{SiteID: "FR", Name: "Messina France SAS", VATID: "FR12345678901", InvoicePrefix: "MFR"})
	must(t, err)
	b.ukCustomer, err = b.svc.CreateCustomer(ctx, orders.CustomerInput{SiteID: "UK", Name: "Acme Ltd", Currency: "GBP", Language: "en", Timezone: "Europe/London", PaymentTermsDays: 30})
	must(t, err)
	b.frCustomer, err = b.svc.CreateCustomer(ctx, orders.CustomerInput{SiteID: "FR", Name: "Dupont SA", Currency: "EUR", Language: "fr", Timezone: "Europe/Paris", PaymentTermsDays: 45})
	must(t, err)
	b.fibre, err = b.svc.CreateProduct(ctx, orders.ProductInput{SKU: "FIBRE-1G", Name: "Fibre 1 Gbit/s", Kind: orders.Recurring, BillingFrequency: orders.Monthly, DefaultTermMonths: 12})
	must(t, err)
	b.install, err = b.svc.CreateProduct(ctx, orders.ProductInput{SKU: "INSTALL", Name: "Installation", Kind: orders.OneOff})
	must(t, err)
	b.router, err = b.svc.CreateProduct(ctx, orders.ProductInput{SKU: "ROUTER", Name: "Router", Kind: orders.OneOff})
	must(t, err)
	b.ukBook, err = b.svc.CreatePriceBook(ctx, orders.PriceBookInput{SiteID: "UK", Name: "UK standard", Currency: "GBP"})
	must(t, err)
	frBook, err := b.svc.CreatePriceBook(ctx, orders.PriceBookInput{SiteID: "FR", Name: "FR standard", Currency: "EUR"})
	must(t, err)
	for _, p := range []orders.PriceInput{
		{PriceBookID: b.ukBook.ID, ProductID: b.fibre.ID, EffectiveFrom: date(2020, 1, 1), UnitPrice: dec("100"), UnitCost: ndec("60")},
		{PriceBookID: b.ukBook.ID, ProductID: b.fibre.ID, EffectiveFrom: date(2024, 1, 1), UnitPrice: dec("120"), UnitCost: ndec("70")},
		{PriceBookID: b.ukBook.ID, ProductID: b.install.ID, EffectiveFrom: date(2020, 1, 1), UnitPrice: dec("500"), UnitCost: ndec("200")},
		{PriceBookID: frBook.ID, ProductID: b.fibre.ID, EffectiveFrom: date(2020, 1, 1), UnitPrice: dec("110"), UnitCost: ndec("65")},
		{PriceBookID: frBook.ID, ProductID: b.install.ID, EffectiveFrom: date(2020, 1, 1), UnitPrice: dec("450"), UnitCost: ndec("180")},
	} {
		_, err := b.svc.AddPrice(ctx, p)
		must(t, err)
	}
	return b
}

func rules(site, currency, tz string, from time.Time, threshold, minMargin string) orders.SiteRules {
	return orders.SiteRules{
		SiteID: site, EffectiveFrom: from, BillingTiming: "advance", Proration: "daily", DefaultRenewalMonths: 12,
		NoticeDays: 30, CancellationPolicy: "end_of_term", InvoiceNumberFormat: "{prefix}-{yyyy}-{seq:6}",
		TaxRate: dec("0.2"), ReverseCharge: true, Rounding: "half_up", RoundingScale: 2, Currency: currency, Timezone: tz,
		ApprovalAmountThreshold: dec(threshold), ApprovalMinMarginPct: dec(minMargin),
	}
}

// bigOrder exceeds the UK amount threshold (10000): it waits for approval.
// 10 x fibre x 12 months = 14400.
func (b *testBundle) bigOrder(t *testing.T) orders.Order {
	t.Helper()
	o, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{
		CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: b.fibre.ID, Quantity: dec("10")}},
	})
	must(t, err)
	return o
}

// orderIn returns a big order brought to status st through the service.
func (b *testBundle) orderIn(t *testing.T, st orders.Status) orders.Order {
	t.Helper()
	o := b.bigOrder(t)
	path := map[orders.Status][]orders.Status{
		orders.StatusDraft:        nil,
		orders.StatusSubmitted:    {orders.StatusSubmitted},
		orders.StatusApproved:     {orders.StatusSubmitted, orders.StatusApproved},
		orders.StatusBooked:       {orders.StatusSubmitted, orders.StatusApproved, orders.StatusBooked},
		orders.StatusProvisioning: {orders.StatusSubmitted, orders.StatusApproved, orders.StatusBooked, orders.StatusProvisioning},
		orders.StatusCompleted:    {orders.StatusSubmitted, orders.StatusApproved, orders.StatusBooked, orders.StatusProvisioning, orders.StatusCompleted},
		orders.StatusRejected:     {orders.StatusSubmitted, orders.StatusRejected},
		orders.StatusCancelled:    {orders.StatusCancelled},
	}[st]
	for _, to := range path {
		var err error
		o, err = b.svc.Transition(b.ctx, o.ID, to, o.Version, "because the test says so")
		must(t, err)
	}
	if o.Status != st {
		t.Fatalf("order is %s, want %s", o.Status, st)
	}
	return o
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func mustErr(t *testing.T, err, kind error, code string) *orders.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v (%s), got no error", kind, code)
	}
	var e *orders.Error
	if !errors.As(err, &e) || !errors.Is(err, kind) || (code != "" && e.Code != code) {
		t.Fatalf("want %v (%s), got %v", kind, code, err)
	}
	return e
}

func hasField(t *testing.T, e *orders.Error, field string) {
	t.Helper()
	if !slices.ContainsFunc(e.Fields, func(f orders.FieldError) bool { return f.Field == field }) {
		t.Fatalf("want a field error on %q, got %+v", field, e.Fields)
	}
}

func eqDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func dec(s string) decimal.Decimal              { return decimal.RequireFromString(s) }
func ndec(s string) decimal.NullDecimal         { return decimal.NewNullDecimal(dec(s)) }
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }
