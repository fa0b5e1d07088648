package orders_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/orders"
)

// Several lines inserted, changed or deleted by one statement, from plain
// SQL, obey the same rules as one line at a time: each takes its product's
// kind and defaults, the price and the cost in force (snapshot), the next
// line number, and the order's version moves once per transaction.
func TestMultiRowLineStatementsFollowTheLineRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.bigOrder(t) // one fibre line, version 1

	err := sqlAs(t, b, "UK", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO orders.order_line (order_id, site_id, product_id, quantity, unit_price)
			VALUES ($1, '', $2, 1, NULL), ($1, '', $3, 2, 480), ($1, '', $2, 3, NULL)`, o.ID, b.install.ID, b.fibre.ID)
		return err
	})
	must(t, err)
	got, err := b.svc.GetOrder(b.ctx, o.ID)
	must(t, err)
	if got.Version != 2 {
		t.Fatalf("a three-line INSERT moved the version from 1 to %d, want 2", got.Version)
	}
	if len(got.Lines) != 4 {
		t.Fatalf("%d lines, want 4", len(got.Lines))
	}
	want := []struct {
		no          int
		kind        orders.ProductKind
		price, cost string
		term        int
	}{
		{1, orders.Recurring, "120", "70", 12},
		{2, orders.OneOff, "500", "200", 0},
		{3, orders.Recurring, "480", "70", 12},
		{4, orders.OneOff, "500", "200", 0},
	}
	for i, w := range want {
		l := got.Lines[i]
		if l.LineNo != w.no || l.Kind != w.kind || l.TermMonths != w.term {
			t.Fatalf("line %d: no %d kind %s term %d, want %+v", i, l.LineNo, l.Kind, l.TermMonths, w)
		}
		eqDec(t, "unit price", l.UnitPrice, w.price)
		eqDec(t, "unit cost", l.UnitCost, w.cost)
	}

	// A statement changing and one deleting several lines in the same
	// transaction: one version step in all.
	err = sqlAs(t, b, "UK", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE orders.order_line SET quantity = quantity + 1, unit_cost = 0 WHERE order_id = $1`, o.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM orders.order_line WHERE order_id = $1 AND line_no IN (2, 4)`, o.ID)
		return err
	})
	must(t, err)
	got, err = b.svc.GetOrder(b.ctx, o.ID)
	must(t, err)
	if got.Version != 3 || len(got.Lines) != 2 {
		t.Fatalf("after update and delete: version %d, %d lines; want 3 and 2", got.Version, len(got.Lines))
	}
	// The cost snapshot cannot be overwritten by hand.
	eqDec(t, "cost after an update", got.Lines[0].UnitCost, "70")
	eqDec(t, "quantity after an update", got.Lines[0].Quantity, "11")

	// One bad row refuses the whole statement.
	before := got
	for name, stmt := range map[string]struct {
		sql  string
		args []any
	}{
		"a row in another currency": {`INSERT INTO orders.order_line (order_id, site_id, product_id, quantity, currency)
			VALUES ($1, '', $2, 1, NULL), ($1, '', $2, 1, 'EUR')`, []any{o.ID, b.install.ID}},
		"a row without a price": {`INSERT INTO orders.order_line (order_id, site_id, product_id, quantity)
			VALUES ($1, '', $2, 1), ($1, '', $3, 1)`, []any{o.ID, b.install.ID, b.router.ID}},
	} {
		err := sqlAs(t, b, "UK", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, stmt.sql, stmt.args...)
			return err
		})
		if sqlState(err) != "MS003" {
			t.Fatalf("%s: want MS003, got %v", name, err)
		}
	}
	got, err = b.svc.GetOrder(b.ctx, o.ID)
	must(t, err)
	if got.Version != before.Version || len(got.Lines) != len(before.Lines) {
		t.Fatalf("refused statements changed the order: version %d, %d lines", got.Version, len(got.Lines))
	}
	// A price in force from today for this customer is taken by new lines
	// of a multi-row INSERT, each.
	book, err := b.svc.CreatePriceBook(b.ctx, orders.PriceBookInput{SiteID: "UK", Name: "Acme", Currency: "GBP", CustomerID: &b.ukCustomer.ID})
	must(t, err)
	_, err = b.svc.AddPrice(b.ctx, orders.PriceInput{PriceBookID: book.ID, ProductID: b.install.ID, EffectiveFrom: b.today, UnitPrice: dec("350"), UnitCost: ndec("150")})
	must(t, err)
	err = sqlAs(t, b, "UK", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO orders.order_line (order_id, site_id, product_id, quantity) VALUES ($1, '', $2, 1), ($1, '', $3, 1)`,
			o.ID, b.install.ID, b.fibre.ID)
		return err
	})
	must(t, err)
	got, err = b.svc.GetOrder(b.ctx, o.ID)
	must(t, err)
	n := len(got.Lines)
	eqDec(t, "customer price", got.Lines[n-2].UnitPrice, "350")
	eqDec(t, "customer cost", got.Lines[n-2].UnitCost, "150")
	eqDec(t, "standard price", got.Lines[n-1].UnitPrice, "120")
	if got.Lines[n-1].LineNo != got.Lines[n-2].LineNo+1 || got.Version != before.Version+1 {
		t.Fatalf("line numbers %d, %d; version %d", got.Lines[n-2].LineNo, got.Lines[n-1].LineNo, got.Version)
	}
}

// Orders and lines get version 7 UUIDs by default: time-ordered keys, so
// that a high insert rate writes the right edge of their indexes.
func TestOrderAndLineIDsAreTimeOrderedUUIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.bigOrder(t)
	second := b.bigOrder(t)
	for _, o := range []orders.Order{first, second} {
		if o.ID.Version() != 7 || o.Lines[0].ID.Version() != 7 {
			t.Fatalf("order %s and line %s are not version 7 UUIDs", o.ID, o.Lines[0].ID)
		}
	}
	// The first 48 bits are the creation time in milliseconds.
	if string(second.ID[:6]) < string(first.ID[:6]) {
		t.Fatalf("a later order has a smaller time prefix: %s then %s", first.ID, second.ID)
	}
	ms := func(id [16]byte) int64 {
		var v int64
		for _, c := range id[:6] {
			v = v<<8 | int64(c)
		}
		return v
	}
	if d := ms(first.ID) - first.CreatedAt.UnixMilli(); d < -1000 || d > 1000 {
		t.Fatalf("the id's time is %d ms away from created_at", d)
	}
}
