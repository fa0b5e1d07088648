package kpi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/internal/pgtest"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
)

// testBundle is what most tests need: the kpi service on its own database,
// the orders and contracts services to make the facts it reports, a
// context with an all-sites principal, and three products: fibre
// (recurring, billed monthly), support (recurring, billed yearly) and
// install (one-off), all with 12-month terms.
type testBundle struct {
	ctx       context.Context
	db        *pgtest.DB
	kpi       *kpi.Service
	orders    *orders.Service
	contracts *contracts.Service

	fibre, support, install uuid.UUID
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.New(t)
	b := &testBundle{
		ctx:       principal("user:tester@example.com"),
		db:        db,
		kpi:       kpi.New(db.App, nil),
		orders:    orders.New(db.App, nil),
		contracts: contracts.New(db.App, nil),
	}
	b.ownerQueryRow(t, `INSERT INTO core.product (sku, name, kind, billing_frequency, default_term_months)
		VALUES ('FIBRE', 'Fibre', 'recurring', 'monthly', 12) RETURNING id`, []any{&b.fibre})
	b.ownerQueryRow(t, `INSERT INTO core.product (sku, name, kind, billing_frequency, default_term_months)
		VALUES ('SUPPORT', 'Support', 'recurring', 'annual', 12) RETURNING id`, []any{&b.support})
	b.ownerQueryRow(t, `INSERT INTO core.product (sku, name, kind) VALUES ('INSTALL', 'Installation', 'one_off') RETURNING id`, []any{&b.install})
	return b
}

// principal is a staff context limited to sites (all sites when none).
func principal(actor string, sites ...string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Actor: actor, Role: auth.RoleStaff, Sites: sites, RequestID: "req-test"})
}

// site is a site with one legal entity.
type site struct {
	id       string
	currency string
	entity   uuid.UUID
}

// price is a product's monthly (recurring) or one-off price and cost.
type price struct {
	product     uuid.UUID
	price, cost string
}

// site creates a site in timezone tz with rules in force since 2020
// (advance billing, daily proration, tax 20 %, half-up rounding to cents,
// approval never needed, contracts grouped by grouping), a legal entity
// with invoice prefix "M"+id, and a standard price book in currency.
func (b *testBundle) site(t *testing.T, id, currency, tz, grouping string, prices ...price) site {
	t.Helper()
	s := site{id: id, currency: currency}
	b.ownerExec(t, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES ($1, $1, $2, $3, $4)`, id, id, currency, tz)
	b.ownerExec(t, `INSERT INTO core.site_setting (site_id, effective_from, billing_timing, proration, default_renewal_months,
			notice_days, cancellation_policy, invoice_number_format, tax_rate, reverse_charge, rounding, rounding_scale,
			currency, timezone, approval_amount_threshold, approval_min_margin_pct, contract_grouping)
		VALUES ($1, '2020-01-01', 'advance', 'daily', 12, 30, 'end_of_term', '{prefix}-{yyyy}-{seq:6}', 0.20, false,
			'half_up', 2, $2, $3, 999999999, -100, $4)`, id, currency, tz, grouping)
	b.ownerQueryRow(t, `INSERT INTO core.legal_entity (site_id, name, vat_id, invoice_prefix, address_street, address_city, address_postcode, address_country)
		VALUES ($1, $1 || ' entity', $1 || '999999999', 'M' || $1, '1 Main Street', 'Capital', '1000', 'GB') RETURNING id`,
		[]any{&s.entity}, id)
	b.priceBook(t, s, currency, prices...)
	return s
}

// priceBook adds the site's standard book in currency with prices from 2020.
func (b *testBundle) priceBook(t *testing.T, s site, currency string, prices ...price) {
	t.Helper()
	var book uuid.UUID
	b.ownerQueryRow(t, `INSERT INTO core.price_book (site_id, name, currency) VALUES ($1, 'standard ' || $2, $2) RETURNING id`, []any{&book}, s.id, currency)
	for _, p := range prices {
		b.ownerExec(t, `INSERT INTO core.price (price_book_id, site_id, product_id, effective_from, unit_price, unit_cost)
			VALUES ($1, $2, $3, '2020-01-01', $4, $5)`, book, s.id, p.product, p.price, p.cost)
	}
}

// customer adds a customer of s, in the site's currency.
func (b *testBundle) customer(t *testing.T, s site, name string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	b.ownerQueryRow(t, `INSERT INTO core.customer (site_id, name, currency, language, timezone, payment_terms_days,
		address_street, address_city, address_postcode, address_country)
		VALUES ($1, $2, $3, 'en', 'UTC', 30, '2 Side Street', 'Town', '2000', 'GB') RETURNING id`, []any{&id}, s.id, name, s.currency)
	return id
}

// line is an order line: quantity, unit price ("" for the price book's),
// discount % ("" for none) and salesperson splits.
type line struct {
	product  uuid.UUID
	qty      string
	price    string
	discount string
	splits   []orders.Split
}

// order makes a draft order of customer at s by salesperson, in currency
// ("" for the customer's).
func (b *testBundle) order(t *testing.T, s site, customer uuid.UUID, salesperson, currency string, lines ...line) orders.Order {
	t.Helper()
	in := orders.OrderInput{SiteID: s.id, LegalEntityID: s.entity, CustomerID: customer, Salesperson: salesperson, Currency: currency}
	for _, l := range lines {
		li := orders.LineInput{ProductID: l.product, Quantity: dec(l.qty), Splits: l.splits}
		if l.price != "" {
			li.UnitPrice = decimal.NewNullDecimal(dec(l.price))
		}
		if l.discount != "" {
			li.DiscountPct = dec(l.discount)
		}
		in.Lines = append(in.Lines, li)
	}
	o, err := b.orders.CreateOrder(b.ctx, in)
	must(t, err)
	return o
}

// move takes o through the statuses to (approval is automatic at submit).
func (b *testBundle) move(t *testing.T, o orders.Order, to ...orders.Status) orders.Order {
	t.Helper()
	for _, st := range to {
		var err error
		o, err = b.orders.Transition(b.ctx, o.ID, st, o.Version, "test")
		must(t, err)
	}
	return o
}

// booked books o and dates its booking at: the service books now, and the
// reports need bookings in past months.
func (b *testBundle) booked(t *testing.T, o orders.Order, at time.Time) orders.Order {
	t.Helper()
	o = b.move(t, o, orders.StatusSubmitted, orders.StatusBooked)
	b.dateTransition(t, o, orders.StatusBooked, at)
	return o
}

// dateTransition moves o's transition to status st to time at.
func (b *testBundle) dateTransition(t *testing.T, o orders.Order, st orders.Status, at time.Time) {
	t.Helper()
	b.ownerExec(t, `UPDATE orders.order_transition SET at = $3 WHERE order_id = $1 AND to_status = $2`, o.ID, string(st), at)
}

// contract makes the contract of a booked order starting on start (or
// adds its lines to the customer's contract, under per_customer grouping).
func (b *testBundle) contract(t *testing.T, o orders.Order, start time.Time, terms contracts.Terms) contracts.Contract {
	t.Helper()
	terms.StartDate = &start
	c, err := b.contracts.CreateFromOrder(b.ctx, o.ID, terms)
	must(t, err)
	return c
}

// postRun plans, prepares, approves and posts a run of s on date and
// returns its invoices.
func (b *testBundle) postRun(t *testing.T, s site, date time.Time) []contracts.Invoice {
	t.Helper()
	run, err := b.contracts.PlanRun(b.ctx, s.id, date)
	must(t, err)
	return b.post(t, run)
}

func (b *testBundle) post(t *testing.T, run contracts.Run) []contracts.Invoice {
	t.Helper()
	var err error
	if run.Status == contracts.RunPlanned {
		run, err = b.contracts.PrepareRun(b.ctx, run.ID)
		must(t, err)
	}
	_, err = b.contracts.ApproveRun(b.ctx, run.ID)
	must(t, err)
	run, err = b.contracts.PostRun(b.ctx, run.ID)
	must(t, err)
	invs, err := b.contracts.RunInvoices(b.ctx, run.ID)
	must(t, err)
	return invs
}

func (b *testBundle) refresh(t *testing.T) {
	t.Helper()
	_, err := b.kpi.RefreshMRR(b.ctx)
	must(t, err)
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

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func month(s string) kpi.Month {
	m, err := kpi.ParseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

func ptr[T any](v T) *T { return &v }

// text writes an amount with the places it has ("450.00", "24.9975"), so
// that expectations also check the scale reports give amounts.
func text(d decimal.Decimal) string {
	if d.Exponent() < 0 {
		return d.StringFixed(-d.Exponent())
	}
	return d.String()
}

// pct is a margin % as text, "null" when there is none.
func pct(d decimal.NullDecimal) string {
	if !d.Valid {
		return "null"
	}
	return text(d.Decimal)
}

// eqRows compares report rows written as text, in order.
func eqRows(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d:\n got  %s\n want %s", what, len(got), len(want), strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s row %d:\n got  %s\n want %s", what, i, got[i], want[i])
		}
	}
}
