package orders_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

func TestMarginArithmeticIsDecimal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Amounts chosen so binary floating point would show: 3 x 133.33 less
	// 10 % = 359.991 a month, 0.1 x 0.35 = 0.035 (0.034999... as a float64,
	// which would round down to 0.03).
	o, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{
			{ProductID: b.fibre.ID, Quantity: dec("3"), UnitPrice: ndec("133.33"), DiscountPct: dec("10"), BillingFrequency: orders.Quarterly, TermMonths: 12},
			{ProductID: b.install.ID, Quantity: dec("0.1"), UnitPrice: ndec("0.35")},
		}})
	must(t, err)
	fibre, install := o.Lines[0], o.Lines[1]
	// Fibre costs 70 a month per unit; prices and costs of recurring lines
	// are monthly whatever the billing frequency.
	cases := []struct {
		what string
		got  string
		want string
	}{
		{"fibre periods (quarterly invoices in 12 months)", strconv.Itoa(fibre.Periods), "4"},
		{"fibre net per month", fibre.NetAmount.String(), "359.99"},
		{"fibre cost per month", fibre.CostAmount.String(), "210"},
		{"fibre value", fibre.Value.String(), "4319.88"},
		{"fibre cost", fibre.Cost.String(), "2520"},
		{"fibre margin", fibre.Margin.String(), "1799.88"},
		{"fibre margin %", fibre.MarginPct.Decimal.String(), "41.67"},
		{"install net", install.NetAmount.String(), "0.04"},
		{"install cost", install.CostAmount.String(), "20"},
		{"install value", install.Value.String(), "0.04"},
		{"install margin %", install.MarginPct.Decimal.String(), "-49900"},
		{"order one-off", o.Totals.OneOff.String(), "0.04"},
		{"order MRR", o.Totals.MRR.String(), "359.99"},
		{"order value", o.Totals.Value.String(), "4319.92"},
		{"order cost", o.Totals.Cost.String(), "2540"},
		{"order margin", o.Totals.Margin.String(), "1779.92"},
		{"order margin %", o.Totals.MarginPct.Decimal.String(), "41.2"},
	}
	for _, c := range cases {
		if !dec(c.got).Equal(dec(c.want)) {
			t.Errorf("%s = %s, want %s", c.what, c.got, c.want)
		}
	}
	// The database computes the same margin % the service reports.
	var sqlPct string
	must(t, b.db.Owner.QueryRow(b.ctx, `SELECT orders.margin_pct(margin, total_value)::text FROM orders.order_total WHERE order_id = $1`, o.ID).Scan(&sqlPct))
	eqDec(t, "margin % in SQL", o.Totals.MarginPct.Decimal, sqlPct)
	// Totals are the sum of the lines.
	sum := fibre.Value.Add(install.Value)
	if !sum.Equal(o.Totals.Value) || !fibre.Margin.Add(install.Margin).Equal(o.Totals.Margin) {
		t.Fatalf("totals %+v do not add up the lines", o.Totals)
	}
}

func TestASiteCannotSeeOrWriteAnotherSitesRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uk := b.bigOrder(t)
	fr, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: b.frCustomer.ID, LegalEntityID: b.frEntity.ID, Salesperson: "jean",
		Lines: []orders.LineInput{{ProductID: b.install.ID, Quantity: dec("1")}}})
	must(t, err)
	frCtx := auth.WithPrincipal(context.Background(), principal("FR"))

	t.Run("the service hides UK rows from a FR principal", func(t *testing.T) {
		_, err := b.svc.GetOrder(frCtx, uk.ID)
		mustErr(t, err, orders.ErrNotFound, "order_not_found")
		_, err = b.svc.GetCustomer(frCtx, b.ukCustomer.ID)
		mustErr(t, err, orders.ErrNotFound, "customer_not_found")
		_, err = b.svc.Submit(frCtx, uk.ID, 0)
		mustErr(t, err, orders.ErrNotFound, "order_not_found")
		page, err := b.svc.ListOrders(frCtx, orders.OrderFilter{})
		must(t, err)
		if len(page.Items) != 1 || page.Items[0].ID != fr.ID {
			t.Fatalf("FR sees %d orders", len(page.Items))
		}
		sites, err := b.svc.ListSites(frCtx)
		must(t, err)
		if len(sites) != 1 || sites[0].ID != "FR" {
			t.Fatalf("FR sees sites %+v", sites)
		}
		_, err = b.svc.LookupPrice(frCtx, orders.PriceQuery{SiteID: "UK", ProductID: b.fibre.ID, Currency: "GBP", On: b.today})
		mustErr(t, err, orders.ErrNotFound, "price_not_found")
	})
	t.Run("the service refuses FR writes of UK rows", func(t *testing.T) {
		_, err := b.svc.CreateCustomer(frCtx, orders.CustomerInput{SiteID: "UK", Name: "Sneaky", Currency: "GBP", Language: "en", Timezone: "Europe/London"})
		mustErr(t, err, orders.ErrForbidden, "site_forbidden")
		_, err = b.svc.CreateOrder(frCtx, orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "x"})
		hasField(t, mustErr(t, err, orders.ErrValidation, ""), "customer_id")
		// A FR order cannot point at a UK customer even by id.
		_, err = b.svc.CreateOrder(frCtx, orders.OrderInput{SiteID: "FR", CustomerID: b.ukCustomer.ID, LegalEntityID: b.frEntity.ID, Salesperson: "x"})
		hasField(t, mustErr(t, err, orders.ErrValidation, ""), "customer_id")
	})
	t.Run("plain SQL with messina.sites=FR cannot see or write UK rows", func(t *testing.T) {
		ctx := context.Background()
		err := sqlAs(t, b, "FR", func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM orders."order" WHERE site_id = 'UK'`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("FR sees %d UK orders (%v)", n, err)
			}
			for _, tbl := range []string{"core.customer", "core.legal_entity", "core.site_setting", "core.price", "core.price_book", "orders.order_line", "orders.order_transition"} {
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+tbl+" WHERE site_id = 'UK'").Scan(&n); err != nil || n != 0 {
					t.Fatalf("FR sees %d UK rows of %s (%v)", n, tbl, err)
				}
			}
			tag, err := tx.Exec(ctx, `UPDATE orders."order" SET notes = 'hacked' WHERE id = $1`, uk.ID)
			if err != nil || tag.RowsAffected() != 0 {
				t.Fatalf("FR updated %d UK orders (%v)", tag.RowsAffected(), err)
			}
			tag, err = tx.Exec(ctx, `DELETE FROM orders.order_line WHERE order_id = $1`, uk.ID)
			if err != nil || tag.RowsAffected() != 0 {
				t.Fatalf("FR deleted %d UK lines (%v)", tag.RowsAffected(), err)
			}
			return nil
		})
		must(t, err)
		err = sqlAs(t, b, "FR", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO core.customer (site_id, name, currency, language, timezone) VALUES ('UK', 'x', 'GBP', 'en', 'UTC')`)
			return err
		})
		if sqlState(err) != "42501" {
			t.Fatalf("insert of a UK customer as FR: want 42501, got %v", err)
		}
		err = sqlAs(t, b, "", func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM orders."order"`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("no sites set, yet %d orders visible (%v)", n, err)
			}
			return nil
		})
		must(t, err)
	})
	again, err := b.svc.GetOrder(b.ctx, uk.ID)
	must(t, err)
	if again.Notes != "" || len(again.Lines) != 1 || again.Version != uk.Version {
		t.Fatalf("the UK order changed: %+v", again)
	}
}

func TestBadInputIsAValidationErrorNamingTheField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	line := func(mod func(*orders.LineInput)) []orders.LineInput {
		l := orders.LineInput{ProductID: b.install.ID, Quantity: dec("1")}
		mod(&l)
		return []orders.LineInput{{ProductID: b.fibre.ID, Quantity: dec("1")}, l}
	}
	cases := []struct {
		name  string
		in    orders.OrderInput
		field string
	}{
		{"negative quantity", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.Quantity = dec("-1") })}, "lines[1].quantity"},
		{"zero quantity", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.Quantity = dec("0") })}, "lines[1].quantity"},
		{"negative price", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.UnitPrice = ndec("-0.01") })}, "lines[1].unit_price"},
		{"discount over 100 %", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.DiscountPct = dec("100.5") })}, "lines[1].discount_pct"},
		{"line currency differs from the order", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.Currency = "EUR" })}, "lines[1].currency"},
		{"missing product", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.ProductID = uuid.Nil })}, "lines[1].product_id"},
		{"unknown product", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.ProductID = uuid.New() })}, "lines[1].product_id"},
		{"product without a price", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.ProductID = b.router.ID })}, "lines[1].product_id"},
		{"term for a one-off product", orders.OrderInput{Lines: line(func(l *orders.LineInput) { l.TermMonths = 12 })}, "lines[1].term_months"},
		{"splits over 100 %", orders.OrderInput{Lines: line(func(l *orders.LineInput) {
			l.Splits = []orders.Split{{Salesperson: "bo", SharePct: dec("60")}, {Salesperson: "cy", SharePct: dec("50")}}
		})}, "lines[1].splits"},
		{"unknown customer", orders.OrderInput{CustomerID: uuid.New()}, "customer_id"},
		{"unknown legal entity", orders.OrderInput{LegalEntityID: uuid.New()}, "legal_entity_id"},
		{"legal entity of another site", orders.OrderInput{LegalEntityID: b.frEntity.ID}, "legal_entity_id"},
		{"order currency differs from the lines", orders.OrderInput{Currency: "EUR", Lines: line(func(l *orders.LineInput) { l.Currency = "GBP" })}, "lines[1].currency"},
		{"missing salesperson", orders.OrderInput{Salesperson: " "}, "salesperson"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := c.in
			if in.CustomerID == uuid.Nil {
				in.CustomerID = b.ukCustomer.ID
			}
			if in.LegalEntityID == uuid.Nil {
				in.LegalEntityID = b.ukEntity.ID
			}
			if in.Salesperson == "" {
				in.Salesperson = "ana"
			}
			_, err := b.svc.CreateOrder(b.ctx, in)
			hasField(t, mustErr(t, err, orders.ErrValidation, "validation_failed"), c.field)
		})
	}
	// Nothing of the refused orders was written, whichever step failed.
	var n int
	must(t, b.db.Owner.QueryRow(b.ctx, `SELECT (SELECT count(*) FROM orders."order") + (SELECT count(*) FROM orders.order_line) + (SELECT count(*) FROM orders.order_line_split)`).Scan(&n))
	if n != 0 {
		t.Fatalf("%d rows written by refused orders", n)
	}

	o := b.bigOrder(t)
	_, err := b.svc.AddLine(b.ctx, o.ID, o.Version, orders.LineInput{ProductID: b.install.ID, Quantity: dec("-2"), UnitPrice: ndec("-1"), Currency: "USD"})
	e := mustErr(t, err, orders.ErrValidation, "validation_failed")
	for _, f := range []string{"quantity", "unit_price"} {
		hasField(t, e, f)
	}
	_, err = b.svc.AddLine(b.ctx, o.ID, o.Version, orders.LineInput{ProductID: b.install.ID, Quantity: dec("1"), Currency: "USD"})
	hasField(t, mustErr(t, err, orders.ErrValidation, ""), "currency")
	_, err = b.svc.GetOrder(b.ctx, uuid.New())
	mustErr(t, err, orders.ErrNotFound, "order_not_found")
	_, err = b.svc.RemoveLine(b.ctx, o.ID, uuid.New(), 0)
	mustErr(t, err, orders.ErrNotFound, "order_line_not_found")
}

func TestNothingIsPartlyWrittenWhenALineFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Go cannot see that the router has no price: the database refuses the
	// third line after the order and two lines were inserted.
	_, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{
			{ProductID: b.fibre.ID, Quantity: dec("1"), Splits: []orders.Split{{Salesperson: "bo", SharePct: dec("50")}}},
			{ProductID: b.install.ID, Quantity: dec("1")},
			{ProductID: b.router.ID, Quantity: dec("1")},
		}})
	hasField(t, mustErr(t, err, orders.ErrValidation, "validation_failed"), "lines[2].product_id")
	var orderRows, lineRows, splitRows int
	must(t, b.db.Owner.QueryRow(b.ctx, `SELECT (SELECT count(*) FROM orders."order"), (SELECT count(*) FROM orders.order_line), (SELECT count(*) FROM orders.order_line_split)`).Scan(&orderRows, &lineRows, &splitRows))
	if orderRows+lineRows+splitRows != 0 {
		t.Fatalf("partly written: %d orders, %d lines, %d splits", orderRows, lineRows, splitRows)
	}
	// A failing line update leaves the order as it was.
	o := b.bigOrder(t)
	_, err = b.svc.UpdateLine(b.ctx, o.ID, o.Lines[0].ID, o.Version, orders.LineInput{ProductID: b.fibre.ID, Quantity: dec("5"),
		Splits: []orders.Split{{Salesperson: "bo", SharePct: dec("20")}, {Salesperson: "bo", SharePct: dec("20")}}})
	mustErr(t, err, orders.ErrValidation, "")
	again, err := b.svc.GetOrder(b.ctx, o.ID)
	must(t, err)
	if again.Version != o.Version || !again.Lines[0].Quantity.Equal(dec("10")) {
		t.Fatalf("order changed by a failed update: v%d qty %s", again.Version, again.Lines[0].Quantity)
	}
}

func TestOptimisticLocking(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.bigOrder(t)
	if o.Version != 1 {
		t.Fatalf("a new order with lines has version %d, want 1", o.Version)
	}
	o2, err := b.svc.UpdateOrder(b.ctx, o.ID, o.Version, orders.OrderPatch{Notes: ptr("call first")})
	must(t, err)
	if o2.Version != 2 || o2.Notes != "call first" {
		t.Fatalf("after update: v%d %q", o2.Version, o2.Notes)
	}
	cases := []struct {
		name string
		call func(version int32) error
	}{
		{"header update", func(v int32) error {
			_, err := b.svc.UpdateOrder(b.ctx, o.ID, v, orders.OrderPatch{Notes: ptr("late")})
			return err
		}},
		{"add line", func(v int32) error {
			_, err := b.svc.AddLine(b.ctx, o.ID, v, orders.LineInput{ProductID: b.install.ID, Quantity: dec("1")})
			return err
		}},
		{"remove line", func(v int32) error {
			_, err := b.svc.RemoveLine(b.ctx, o.ID, o.Lines[0].ID, v)
			return err
		}},
		{"transition", func(v int32) error {
			_, err := b.svc.Submit(b.ctx, o.ID, v)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name+" with a stale version", func(t *testing.T) {
			e := mustErr(t, c.call(o.Version), orders.ErrStale, "stale_version")
			if e.CurrentVersion != 2 {
				t.Fatalf("current version %d, want 2", e.CurrentVersion)
			}
		})
	}
	_, err = b.svc.UpdateOrder(b.ctx, o.ID, 0, orders.OrderPatch{Notes: ptr("no version")})
	hasField(t, mustErr(t, err, orders.ErrValidation, ""), "version")

	// A line change bumps the order version, so If-Match covers lines.
	o3, err := b.svc.AddLine(b.ctx, o.ID, 2, orders.LineInput{ProductID: b.install.ID, Quantity: dec("1")})
	must(t, err)
	if o3.Version != 3 {
		t.Fatalf("after a line change: v%d, want 3", o3.Version)
	}

	// Of concurrent updates with the same version exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = b.svc.UpdateOrder(b.ctx, o.ID, 3, orders.OrderPatch{Salesperson: ptr("racer")})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			mustErr(t, err, orders.ErrStale, "stale_version")
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent updates won, want 1", wins)
	}
}

func TestOrderListsFilterAndPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var all []orders.Order
	for i := range 7 {
		in := orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana",
			Lines: []orders.LineInput{{ProductID: b.install.ID, Quantity: dec("1")}}}
		if i%2 == 1 {
			in.Salesperson = "bo"
		}
		o, err := b.svc.CreateOrder(b.ctx, in)
		must(t, err)
		all = append(all, o)
	}
	_, err := b.svc.Submit(b.ctx, all[0].ID, 0)
	must(t, err)
	fr, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: b.frCustomer.ID, LegalEntityID: b.frEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: b.install.ID, Quantity: dec("1")}}})
	must(t, err)

	seen := map[uuid.UUID]bool{}
	cursor, pages := "", 0
	for {
		p, err := b.svc.ListOrders(b.ctx, orders.OrderFilter{Limit: 3, Cursor: cursor})
		must(t, err)
		pages++
		for _, o := range p.Items {
			if seen[o.ID] {
				t.Fatalf("order %s on two pages", o.Number)
			}
			seen[o.ID] = true
			eqDec(t, "listed order value", o.Totals.Value, map[string]string{"UK": "500", "FR": "450"}[o.SiteID])
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 8 || pages != 3 {
		t.Fatalf("%d orders on %d pages, want 8 on 3", len(seen), pages)
	}
	today := b.today
	cases := []struct {
		name string
		f    orders.OrderFilter
		want int
	}{
		{"by status", orders.OrderFilter{Status: orders.StatusApproved}, 1},
		{"by customer", orders.OrderFilter{CustomerID: &b.frCustomer.ID}, 1},
		{"by salesperson", orders.OrderFilter{Salesperson: "bo"}, 3},
		{"by site", orders.OrderFilter{SiteID: "UK"}, 7},
		{"by date range including today", orders.OrderFilter{From: &today, To: &today}, 8},
		{"by a date range in the past", orders.OrderFilter{To: ptr(today.AddDate(0, 0, -2))}, 0},
		{"by salesperson and site", orders.OrderFilter{Salesperson: "ana", SiteID: "FR"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := b.svc.ListOrders(b.ctx, c.f)
			must(t, err)
			if len(p.Items) != c.want {
				t.Fatalf("%d orders, want %d", len(p.Items), c.want)
			}
		})
	}
	_, err = b.svc.ListOrders(b.ctx, orders.OrderFilter{Status: "lost"})
	hasField(t, mustErr(t, err, orders.ErrValidation, ""), "status")
	_ = fr
}
