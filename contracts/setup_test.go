package contracts_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/internal/pgtest"
	"github.com/messina-oms/messina/orders"
)

// testBundle is what most tests need: the contracts service on its own
// database, the orders service to make booked orders, a context with an
// all-sites principal, and products that bill monthly, quarterly and
// yearly.
type testBundle struct {
	ctx    context.Context
	db     *pgtest.DB
	svc    *contracts.Service
	orders *orders.Service

	monthly, quarterly, annual uuid.UUID
}

// site is a site with one set of rules, one legal entity and a customer
// without a VAT id.
type site struct {
	id       string
	currency string
	entity   uuid.UUID
	customer uuid.UUID
	book     uuid.UUID
}

// siteRules are the rules a test may change; the rest is fixed: renewal
// term 12 months, invoice numbers {prefix}-{yyyy}-{seq:6}, approval always
// automatic.
type siteRules struct {
	country       string
	timing        string // advance | arrears
	proration     string // daily | monthly | none
	noticeDays    int
	taxRate       string
	reverseCharge bool
	rounding      string // half_up | half_even
	grouping      string // per_order | per_customer
}

func ukRules() siteRules {
	return siteRules{country: "GB", timing: "advance", proration: "daily", noticeDays: 30, taxRate: "0.20",
		reverseCharge: true, rounding: "half_up", grouping: "per_order"}
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.New(t)
	b := &testBundle{
		ctx:    auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:tester@example.com", Role: auth.RoleStaff, RequestID: "req-test"}),
		db:     db,
		svc:    contracts.New(db.App, nil),
		orders: orders.New(db.App, nil),
	}
	for _, p := range []struct {
		sku  *uuid.UUID
		name string
		freq string
	}{{&b.monthly, "SVC-M", "monthly"}, {&b.quarterly, "SVC-Q", "quarterly"}, {&b.annual, "SVC-A", "annual"}} {
		b.ownerQueryRow(t, `INSERT INTO core.product (sku, name, kind, billing_frequency, default_term_months)
			VALUES ($1, $1, 'recurring', $2, 12) RETURNING id`, []any{p.sku}, p.name, p.freq)
	}
	return b
}

// site creates a site with the given rules (in force since 2020, loaded
// as history so the rule guard allows it), a legal entity with invoice
// prefix "M"+id, a customer without a VAT id, and a standard price book
// pricing every product at 100 with cost 60 a month.
func (b *testBundle) site(t *testing.T, id, currency string, r siteRules) site {
	t.Helper()
	s := site{id: id, currency: currency}
	b.ownerExec(t, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES ($1, $1, $2, $3, 'UTC')`, id, r.country, currency)
	b.ownerExec(t, `INSERT INTO core.site_setting (site_id, effective_from, billing_timing, proration, default_renewal_months,
			notice_days, cancellation_policy, invoice_number_format, tax_rate, reverse_charge, rounding, rounding_scale,
			currency, timezone, approval_amount_threshold, approval_min_margin_pct, contract_grouping)
		VALUES ($1, '2020-01-01', $2, $3, 12, $4, 'end_of_term', '{prefix}-{yyyy}-{seq:6}', $5, $6, $7, 2, $8, 'UTC',
			999999999, -100, $9)`,
		id, r.timing, r.proration, r.noticeDays, r.taxRate, r.reverseCharge, r.rounding, currency, r.grouping)
	b.ownerQueryRow(t, `INSERT INTO core.legal_entity (site_id, name, vat_id, invoice_prefix, address_street, address_city, address_postcode, address_country)
		VALUES ($1, $1 || ' entity', $2, 'M' || $1, '1 Main Street', 'Capital', '1000', $3) RETURNING id`,
		[]any{&s.entity}, id, r.country+"999999999", r.country)
	s.customer = b.customer(t, s, id+" customer", "")
	b.ownerQueryRow(t, `INSERT INTO core.price_book (site_id, name, currency) VALUES ($1, 'standard', $2) RETURNING id`, []any{&s.book}, id, currency)
	b.ownerExec(t, `INSERT INTO core.price (price_book_id, site_id, product_id, effective_from, unit_price, unit_cost)
		SELECT $1, $2, p.id, '2020-01-01', 100, 60 FROM core.product p`, s.book, id)
	return s
}

// customer adds a customer to s; vat "" means a consumer.
func (b *testBundle) customer(t *testing.T, s site, name, vat string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	var vatID any
	if vat != "" {
		vatID = vat
	}
	b.ownerQueryRow(t, `INSERT INTO core.customer (site_id, name, vat_id, currency, language, timezone, payment_terms_days,
		address_street, address_city, address_postcode, address_country)
		VALUES ($1, $2, $3, $4, 'en', 'UTC', 30, '2 Side Street', 'Town', '2000', 'GB') RETURNING id`, []any{&id}, s.id, name, vatID, s.currency)
	return id
}

// line is a recurring order line: product, quantity and monthly price.
type line struct {
	product uuid.UUID
	qty     string
	price   string
}

// booked returns a booked order of customer at s with lines (12-month
// terms), made through the orders service.
func (b *testBundle) booked(t *testing.T, s site, customer uuid.UUID, lines ...line) orders.Order {
	t.Helper()
	in := orders.OrderInput{SiteID: s.id, LegalEntityID: s.entity, CustomerID: customer, Salesperson: "ana"}
	for _, l := range lines {
		in.Lines = append(in.Lines, orders.LineInput{ProductID: l.product, Quantity: dec(l.qty), UnitPrice: decimal.NewNullDecimal(dec(l.price))})
	}
	o, err := b.orders.CreateOrder(b.ctx, in)
	must(t, err)
	o, err = b.orders.Transition(b.ctx, o.ID, orders.StatusSubmitted, o.Version, "test")
	must(t, err)
	if o.Status == orders.StatusSubmitted { // below the margin threshold: approve by hand
		o, err = b.orders.Transition(b.ctx, o.ID, orders.StatusApproved, o.Version, "test")
		must(t, err)
	}
	o, err = b.orders.Transition(b.ctx, o.ID, orders.StatusBooked, o.Version, "test")
	must(t, err)
	return o
}

// contract books an order and makes its contract starting on start.
func (b *testBundle) contract(t *testing.T, s site, customer uuid.UUID, start time.Time, terms contracts.Terms, lines ...line) contracts.Contract {
	t.Helper()
	o := b.booked(t, s, customer, lines...)
	terms.StartDate = &start
	c, err := b.svc.CreateFromOrder(b.ctx, o.ID, terms)
	must(t, err)
	return c
}

// run plans, prepares, approves and posts a run of s on date; it returns
// the run's invoices.
func (b *testBundle) postRun(t *testing.T, s site, date time.Time) []contracts.Invoice {
	t.Helper()
	run, err := b.svc.PlanRun(b.ctx, s.id, date)
	must(t, err)
	_, err = b.svc.PrepareRun(b.ctx, run.ID)
	must(t, err)
	_, err = b.svc.ApproveRun(b.ctx, run.ID)
	must(t, err)
	run, err = b.svc.PostRun(b.ctx, run.ID)
	must(t, err)
	if run.Status != contracts.RunPosted {
		t.Fatalf("run is %s, want posted", run.Status)
	}
	inv, err := b.svc.RunInvoices(b.ctx, run.ID)
	must(t, err)
	return inv
}

// prepared plans and prepares a run of s on date.
func (b *testBundle) prepared(t *testing.T, s site, date time.Time) contracts.Run {
	t.Helper()
	run, err := b.svc.PlanRun(b.ctx, s.id, date)
	must(t, err)
	run, err = b.svc.PrepareRun(b.ctx, run.ID)
	must(t, err)
	return run
}

func (b *testBundle) ownerExec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := b.db.Owner.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (b *testBundle) ownerQueryRow(t *testing.T, sql string, dest []any, args ...any) {
	t.Helper()
	if err := b.db.Owner.QueryRow(context.Background(), sql, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// count returns the result of a count(*) query as the owner (no RLS).
func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	b.ownerQueryRow(t, sql, []any{&n}, args...)
	return n
}

// appExec runs sql as the application role in a transaction of the test
// principal, returning the translated-free driver error.
func (b *testBundle) appExec(sql string, args ...any) error {
	return auth.InTx(b.ctx, b.db.App, func(tx pgx.Tx) error {
		_, err := tx.Exec(b.ctx, sql, args...)
		return err
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func mustErr(t *testing.T, err, kind error, code string) {
	t.Helper()
	var e *contracts.Error
	if err == nil || !errors.As(err, &e) || !errors.Is(err, kind) || (code != "" && e.Code != code) {
		t.Fatalf("want %v (%s), got %v", kind, code, err)
	}
}

func eqDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Fatalf("%s = %s, want %s", what, got, want)
	}
}

func eqDate(t *testing.T, what string, got time.Time, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %s, want %s", what, got.Format(time.DateOnly), want.Format(time.DateOnly))
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// invoiceOf returns the one invoice of customer among invs.
func invoiceOf(t *testing.T, invs []contracts.Invoice, customer uuid.UUID) contracts.Invoice {
	t.Helper()
	var found []contracts.Invoice
	for _, i := range invs {
		if i.CustomerID == customer {
			found = append(found, i)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want 1 invoice of customer %s, got %d", customer, len(found))
	}
	return found[0]
}

func lineDesc(l contracts.InvoiceLine) string {
	return fmt.Sprintf("%s..%s net %s tax %s", l.PeriodStart.Format(time.DateOnly), l.PeriodEnd.Format(time.DateOnly), l.Net, l.Tax)
}

func dec(s string) decimal.Decimal              { return decimal.RequireFromString(s) }
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
func ptr[T any](v T) *T                         { return &v }

// appErr runs sql as the application and returns the error as the
// service would see it (translated), to check database rules that no
// service method would break.
func appErr(b *testBundle, sql string, args ...any) error {
	return contracts.TranslateForTest(b.appExec(sql, args...))
}

// ownerErr is appErr as the schema owner, who has every privilege: what
// it cannot do, no one can.
func ownerErr(b *testBundle, sql string, args ...any) error {
	_, err := b.db.Owner.Exec(context.Background(), sql, args...)
	return contracts.TranslateForTest(err)
}
