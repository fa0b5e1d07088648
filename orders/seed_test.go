package orders_test

import (
	"context"
	"testing"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/internal/pgtest"
	"github.com/messina-oms/messina/orders"
)

func TestSeedFillsAnEmptyDatabaseOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	app := db.App
	ctx := context.Background()

	res, err := orders.Seed(ctx, app, orders.SeedOptions{Customers: 300, Orders: 600, Rand: 42})
	must(t, err)
	if res.Skipped || res.Sites != 7 || res.Customers != 300 || res.Products != 20 || res.Orders != 600 || res.Lines < 600 {
		t.Fatalf("seed result %+v", res)
	}
	t.Logf("seeded %+v", res)

	var statuses, sitesWithTwoRules, overrides, sitesWithOrders int
	must(t, db.Owner.QueryRow(ctx, `SELECT count(DISTINCT status) FROM orders."order"`).Scan(&statuses))
	must(t, db.Owner.QueryRow(ctx, `SELECT count(*) FROM (SELECT site_id FROM core.site_setting GROUP BY site_id HAVING count(*) = 2) s`).Scan(&sitesWithTwoRules))
	must(t, db.Owner.QueryRow(ctx, `SELECT count(*) FROM core.price_book WHERE customer_id IS NOT NULL`).Scan(&overrides))
	must(t, db.Owner.QueryRow(ctx, `SELECT count(DISTINCT site_id) FROM orders."order"`).Scan(&sitesWithOrders))
	if statuses < 6 || sitesWithTwoRules != 7 || overrides == 0 || sitesWithOrders != 7 {
		t.Fatalf("not varied enough: %d statuses, %d sites with a rule change, %d override books, %d sites with orders",
			statuses, sitesWithTwoRules, overrides, sitesWithOrders)
	}
	// Every order that left draft went through the recorded lifecycle.
	var unrecorded int
	must(t, db.Owner.QueryRow(ctx, `SELECT count(*) FROM orders."order" o WHERE status <> 'draft'
		AND NOT EXISTS (SELECT FROM orders.order_transition t WHERE t.order_id = o.id AND t.to_status = o.status)`).Scan(&unrecorded))
	if unrecorded != 0 {
		t.Fatalf("%d orders reached their status without a recorded transition", unrecorded)
	}

	// Invoices of the demo data can be rendered: every seller and buyer has
	// the postal address EN 16931 requires.
	var withoutAddress int
	must(t, db.Owner.QueryRow(ctx, `SELECT (SELECT count(*) FROM core.legal_entity WHERE address_country IS NULL)
		+ (SELECT count(*) FROM core.customer WHERE address_country IS NULL)`).Scan(&withoutAddress))
	if withoutAddress != 0 {
		t.Fatalf("%d legal entities and customers without an address", withoutAddress)
	}

	// The seeded data is usable through the service.
	svc := orders.New(app, nil)
	sctx := auth.WithPrincipal(ctx, principal("PT"))
	page, err := svc.ListOrders(sctx, orders.OrderFilter{Limit: 5})
	must(t, err)
	if len(page.Items) == 0 || page.Items[0].SiteID != "PT" {
		t.Fatalf("PT orders %+v", page.Items)
	}
	o, err := svc.GetOrder(sctx, page.Items[0].ID)
	must(t, err)
	if len(o.Lines) == 0 || !o.Totals.Value.Equal(page.Items[0].Totals.Value) {
		t.Fatalf("order %s: %d lines, value %s vs %s", o.Number, len(o.Lines), o.Totals.Value, page.Items[0].Totals.Value)
	}

	again, err := orders.Seed(ctx, app, orders.SeedOptions{Customers: 10, Orders: 10})
	must(t, err)
	if !again.Skipped {
		t.Fatalf("second seed ran: %+v", again)
	}
	var customers int
	must(t, db.Owner.QueryRow(ctx, `SELECT count(*) FROM core.customer`).Scan(&customers))
	if customers != 300 {
		t.Fatalf("%d customers after the second seed", customers)
	}
}
