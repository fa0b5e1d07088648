package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/pgtest"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
	"github.com/messina-oms/messina/web"
)

const bootstrap = "msn_web-test-bootstrap-token-0123456789"

// testBundle is one test's UI on its own database and blob prefix, with
// the reference data orders need.
type testBundle struct {
	db    *pgtest.DB
	ui    *web.Server
	srv   *httptest.Server
	files *filestore.Service
	// admin acts through the services, to arrange data.
	admin     context.Context
	orders    *orders.Service
	contracts *contracts.Service
	kpi       *kpi.Service
	tokens    *auth.Tokens

	ukEntity, frEntity     orders.LegalEntity
	ukCustomer, frCustomer orders.Customer
	// install is a one-off product (500 GBP, cost 200); fibre is
	// recurring (120 GBP a month, cost 70, 12 months).
	install, fibre orders.Product
	// now is the UI's clock in Unix nanoseconds; tests move it to expire
	// tokens. Atomic: handlers read it while the test goroutine sets it.
	now atomic.Int64
}

func (b *testBundle) clock() time.Time     { return time.Unix(0, b.now.Load()) }
func (b *testBundle) setClock(t time.Time) { b.now.Store(t.UnixNano()) }

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Owner.Exec(ctx, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES
		('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London'),
		('FR', 'France', 'FR', 'EUR', 'Europe/Paris')`); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Each test's blobs live under their own prefix of the real MinIO.
	store, err := filestore.OpenStore(ctx, os.Getenv("MESSINA_BLOB_URL")+"&prefix="+db.Name+"/", filestore.StoreConfig{
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), Logger: log})
	if err != nil {
		t.Fatalf("blob store (MESSINA_BLOB_URL): %v", err)
	}
	files, err := filestore.New(filestore.Config{Pool: db.App, Store: store, MaxUploadBytes: 1 << 20, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{
		db: db, files: files,
		admin:     auth.WithPrincipal(ctx, auth.Principal{Actor: "user:fixtures@example.com", Role: auth.RoleAdmin, RequestID: "fixtures"}),
		orders:    orders.New(db.App, nil),
		contracts: contracts.New(db.App, nil),
		kpi:       kpi.New(db.App, nil),
		tokens:    auth.NewTokens(db.App),
	}
	b.setClock(time.Now())
	b.ui, err = web.New(web.Config{Logger: log, Pool: db.App, Files: files, BootstrapToken: bootstrap,
		MaxUploadBytes: 1 << 20, Now: b.clock})
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(b.ui)
	t.Cleanup(b.srv.Close)
	b.catalog(t)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// catalog makes rules (approval above 10000 or under 20 % margin), a
// legal entity and a customer per site, two products and their prices.
func (b *testBundle) catalog(t *testing.T) {
	t.Helper()
	ctx := b.admin
	from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range [][3]string{{"UK", "GBP", "Europe/London"}, {"FR", "EUR", "Europe/Paris"}} {
		_, err := b.orders.SetSiteRules(ctx, orders.SiteRules{
			SiteID: s[0], EffectiveFrom: from, BillingTiming: "advance", Proration: "daily", DefaultRenewalMonths: 12,
			NoticeDays: 30, CancellationPolicy: "end_of_term", InvoiceNumberFormat: "{prefix}-{yyyy}-{seq:6}",
			TaxRate: dec("0.2"), Rounding: "half_up", RoundingScale: 2, Currency: s[1], Timezone: s[2],
			ApprovalAmountThreshold: dec("10000"), ApprovalMinMarginPct: dec("20"),
		})
		must(t, err)
	}
	var err error
	b.ukEntity, err = b.orders.CreateLegalEntity(ctx, orders.LegalEntityInput{SiteID: "UK", Name: "Messina UK Ltd", VATID: "GB123456789", InvoicePrefix: "MUK",
		Address: &orders.Address{Street: "1 High Street", City: "London", Postcode: "EC1A 1BB", Country: "GB"}})
	must(t, err)
	b.frEntity, err = b.orders.CreateLegalEntity(ctx, orders.LegalEntityInput{SiteID: "FR", Name: "Messina France SAS", VATID: "FR12345678901", InvoicePrefix: "MFR",
		Address: &orders.Address{Street: "1 rue de Rivoli", City: "Paris", Postcode: "75001", Country: "FR"}})
	must(t, err)
	b.ukCustomer = b.customer(t, "UK", "Acme Ltd")
	b.frCustomer = b.customer(t, "FR", "Dupont SA")
	b.install, err = b.orders.CreateProduct(ctx, orders.ProductInput{SKU: "INSTALL", Name: "Installation", Kind: orders.OneOff})
	must(t, err)
	b.fibre, err = b.orders.CreateProduct(ctx, orders.ProductInput{SKU: "FIBRE-1G", Name: "Fibre 1 Gbit/s", Kind: orders.Recurring, BillingFrequency: orders.Monthly, DefaultTermMonths: 12})
	must(t, err)
	for _, site := range []struct{ id, cur string }{{"UK", "GBP"}, {"FR", "EUR"}} {
		book, err := b.orders.CreatePriceBook(ctx, orders.PriceBookInput{SiteID: site.id, Name: site.id + " standard", Currency: site.cur})
		must(t, err)
		for _, p := range []orders.PriceInput{
			{PriceBookID: book.ID, ProductID: b.install.ID, EffectiveFrom: from, UnitPrice: dec("500"), UnitCost: decimal.NewNullDecimal(dec("200"))},
			{PriceBookID: book.ID, ProductID: b.fibre.ID, EffectiveFrom: from, UnitPrice: dec("120"), UnitCost: decimal.NewNullDecimal(dec("70"))},
		} {
			_, err := b.orders.AddPrice(ctx, p)
			must(t, err)
		}
	}
}

func (b *testBundle) customer(t *testing.T, site, name string) orders.Customer {
	t.Helper()
	cur, tz := "GBP", "Europe/London"
	if site == "FR" {
		cur, tz = "EUR", "Europe/Paris"
	}
	c, err := b.orders.CreateCustomer(b.admin, orders.CustomerInput{SiteID: site, Name: name, Currency: cur, Language: "en", Timezone: tz, PaymentTermsDays: 30,
		Address: &orders.Address{Street: "9 Customer Way", City: "Leeds", Postcode: "LS1 1AA", Country: "GB"}})
	must(t, err)
	return c
}

// smallOrder is a draft within the approval thresholds (one installation,
// 500 at 60 % margin): submitting approves it at once.
func (b *testBundle) smallOrder(t *testing.T, c orders.Customer) orders.Order {
	t.Helper()
	entity := b.ukEntity
	if c.SiteID == "FR" {
		entity = b.frEntity
	}
	o, err := b.orders.CreateOrder(b.admin, orders.OrderInput{CustomerID: c.ID, LegalEntityID: entity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: b.install.ID, Quantity: dec("1")}}})
	must(t, err)
	return o
}

// bigOrder is a UK draft above the amount threshold (10 x fibre x 12
// months = 14400 GBP): submitting leaves it waiting for approval.
func (b *testBundle) bigOrder(t *testing.T) orders.Order {
	t.Helper()
	o, err := b.orders.CreateOrder(b.admin, orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: b.fibre.ID, Quantity: dec("10")}}})
	must(t, err)
	return o
}

func (b *testBundle) order(t *testing.T, id uuid.UUID) orders.Order {
	t.Helper()
	o, err := b.orders.GetOrder(b.admin, id)
	must(t, err)
	return o
}

// token creates an API token and returns its secret.
func (b *testBundle) token(t *testing.T, role auth.Role, sites ...string) string {
	t.Helper()
	_, secret, err := b.tokens.Create(b.admin, auth.NewTokenInput{Name: "web " + string(role), Role: role, Sites: sites})
	must(t, err)
	return secret
}
