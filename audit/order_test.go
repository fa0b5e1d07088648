package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/internal/pgpool"
)

// statementCounter counts the statements its connections send.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// readerPool is a pool of its own on the test's database as the owner
// reading every site's audit events (the owner bypasses row-level
// security, but audit.event_visible still asks for messina.sites), whose
// statements c counts.
func readerPool(t *testing.T, b *testBundle) (*pgxpool.Pool, *statementCounter) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(b.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	pgpool.Configure(cfg)
	cfg.ConnConfig.RuntimeParams["messina.sites"] = "*"
	c := &statementCounter{}
	cfg.ConnConfig.Tracer = c
	pool, err := pgxpool.NewWithConfig(b.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, c
}

// statements runs read in a transaction of pool and returns how many
// statements read sent; the transaction's own BEGIN and ROLLBACK and the
// connection's setup are not counted.
func statements(t *testing.T, b *testBundle, pool *pgxpool.Pool, c *statementCounter, read func(tx pgx.Tx) error) int64 {
	t.Helper()
	tx, err := pool.Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(b.ctx) //nolint:errcheck
	before := c.n.Load()
	if err := read(tx); err != nil {
		t.Fatal(err)
	}
	return c.n.Load() - before
}

// orderFixture is an order of site UK made through the orders tables, so
// that the audit triggers log it as they log the service's writes.
type orderFixture struct {
	id    uuid.UUID
	lines []uuid.UUID // in line_no order
}

// seedCatalog adds site UK with a legal entity, a customer and a priced
// one-off product, and returns the ids an order needs.
func seedCatalog(t *testing.T, b *testBundle) (entity, customer, product uuid.UUID) {
	t.Helper()
	exec(t, b.db.Owner,
		`INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('UK', 'UK', 'GB', 'GBP', 'Europe/London')`)
	row := func(sql string, dst *uuid.UUID) {
		t.Helper()
		if err := b.db.Owner.QueryRow(b.ctx, sql).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	row(`INSERT INTO core.legal_entity (site_id, name, vat_id, invoice_prefix) VALUES ('UK', 'UK entity', 'GB999999999', 'MUK') RETURNING id`, &entity)
	row(`INSERT INTO core.customer (site_id, name, currency, language, timezone) VALUES ('UK', 'Acme', 'GBP', 'en', 'UTC') RETURNING id`, &customer)
	row(`INSERT INTO core.product (sku, name, kind) VALUES ('INSTALL', 'Installation', 'one_off') RETURNING id`, &product)
	var book uuid.UUID
	row(`INSERT INTO core.price_book (site_id, name, currency) VALUES ('UK', 'standard', 'GBP') RETURNING id`, &book)
	if _, err := b.db.Owner.Exec(b.ctx, `INSERT INTO core.price (price_book_id, site_id, product_id, effective_from, unit_price, unit_cost)
		VALUES ($1, 'UK', $2, '2020-01-01', 100, 60)`, book, product); err != nil {
		t.Fatal(err)
	}
	return entity, customer, product
}

// seedOrder makes a draft order with n lines (quantity i on line i), each
// with one salesperson split, an approval row, and two attachments with
// two revisions each.
func seedOrder(t *testing.T, b *testBundle, entity, customer, product uuid.UUID, n int) orderFixture {
	t.Helper()
	var o orderFixture
	if err := b.db.Owner.QueryRow(b.ctx, `INSERT INTO orders."order" (site_id, legal_entity_id, customer_id, salesperson, currency)
		VALUES ('UK', $1, $2, 'ana', 'GBP') RETURNING id`, entity, customer).Scan(&o.id); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		o.lines = append(o.lines, addLine(t, b, o.id, product, i))
	}
	if _, err := b.db.Owner.Exec(b.ctx, `INSERT INTO orders.approval (order_id, site_id, decision, decided_by) VALUES ($1, 'UK', 'auto', 'system')`, o.id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Owner.Exec(b.ctx, `INSERT INTO files.blob (sha256, size, stored) VALUES (sha256('x'), 1, true) ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	for a := 0; a < 2; a++ {
		att := uuid.New()
		if _, err := b.db.Owner.Exec(b.ctx, `INSERT INTO files.attachment (id, owner_type, owner_id, site_id, name, created_by)
			VALUES ($1, 'order', $2, 'UK', 'contract.pdf', 'ana')`, att, o.id); err != nil {
			t.Fatal(err)
		}
		for r := 1; r <= 2; r++ {
			if _, err := b.db.Owner.Exec(b.ctx, `INSERT INTO files.revision (attachment_id, number, blob_sha256, filename, content_type, size, created_by)
				VALUES ($1, $2, sha256('x'), 'contract.pdf', 'application/pdf', 1, 'ana')`, att, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return o
}

// addLine adds a line of quantity qty with one split and returns its id.
func addLine(t *testing.T, b *testBundle, order, product uuid.UUID, qty int) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := b.db.Owner.QueryRow(b.ctx, `INSERT INTO orders.order_line (order_id, site_id, product_id, quantity)
		VALUES ($1, '', $2, $3) RETURNING id`, order, product, qty).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Owner.Exec(b.ctx, `INSERT INTO orders.order_line_split (line_id, site_id, salesperson, share_pct)
		VALUES ($1, 'UK', 'bo', 25)`, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// lineIDs returns the ids of lines, in their order.
func lineIDs(t *testing.T, lines []audit.Row) []string {
	t.Helper()
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = field(t, l, "id")
	}
	return ids
}

// Reading an order as of a time and listing its rows take as many
// statements for an order of 50 lines as for one of 2: they read all
// lines at once instead of once per line.
func TestOrderReadsTakeAStatementCountThatDoesNotGrowWithLines(t *testing.T) {
	t.Parallel()
	b := setup(t)
	entity, customer, product := seedCatalog(t, b)
	small := seedOrder(t, b, entity, customer, product, 2)
	big := seedOrder(t, b, entity, customer, product, 50)
	at := now(t, b)
	pool, c := readerPool(t, b)

	count := func(o orderFixture) (asOf, rows int64) {
		asOf = statements(t, b, pool, c, func(tx pgx.Tx) error {
			got, err := audit.OrderAt(b.ctx, tx, o.id, at)
			if err == nil && len(got.Lines) != len(o.lines) {
				err = fmt.Errorf("OrderAt gave %d lines, want %d", len(got.Lines), len(o.lines))
			}
			return err
		})
		rows = statements(t, b, pool, c, func(tx pgx.Tx) error {
			_, err := audit.OrderRows(b.ctx, tx, o.id)
			return err
		})
		return asOf, rows
	}
	smallAsOf, smallRows := count(small)
	bigAsOf, bigRows := count(big)
	t.Logf("OrderAt: %d statements for 2 lines, %d for 50; OrderRows: %d and %d", smallAsOf, bigAsOf, smallRows, bigRows)
	if bigAsOf != smallAsOf || bigRows != smallRows {
		t.Fatalf("statements grow with lines: OrderAt %d for 2 lines, %d for 50; OrderRows %d and %d",
			smallAsOf, bigAsOf, smallRows, bigRows)
	}
	const bound = 16
	if bigAsOf > bound || bigRows > bound {
		t.Fatalf("OrderAt took %d statements and OrderRows %d, want at most %d each", bigAsOf, bigRows, bound)
	}
}

// An order read as of a time between line changes has the lines of that
// time with their values then, whatever the number of lines.
func TestOrderAtShowsTheLinesOfThatTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	entity, customer, product := seedCatalog(t, b)
	beforeOrder := now(t, b)
	o := seedOrder(t, b, entity, customer, product, 50)
	t1 := now(t, b)
	updated, removed := o.lines[0], o.lines[1]
	exec(t, b.db.Owner,
		fmt.Sprintf(`UPDATE orders.order_line SET quantity = 7, description = 'changed' WHERE id = '%s'`, updated),
		fmt.Sprintf(`DELETE FROM orders.order_line WHERE id = '%s'`, removed),
	)
	added := addLine(t, b, o.id, product, 99)
	t2 := now(t, b)
	reader, _ := readerPool(t, b)

	if _, err := audit.OrderAt(b.ctx, reader, o.id, beforeOrder); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("before the order: %v, want ErrNotFound", err)
	}

	then, err := audit.OrderAt(b.ctx, reader, o.id, t1)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(o.lines))
	for i, id := range o.lines {
		want[i] = id.String()
	}
	requireSameSet(t, "lines at t1", lineIDs(t, then.Lines), want)
	for _, l := range then.Lines {
		switch field(t, l, "id") {
		case updated.String():
			if q := field(t, l, "quantity"); q != "1" || field(t, l, "description") != "Installation" {
				t.Fatalf("the updated line at t1 has quantity %s and description %q, want its old 1 and Installation",
					q, field(t, l, "description"))
			}
		case removed.String():
			if q := field(t, l, "quantity"); q != "2" {
				t.Fatalf("the removed line at t1 has quantity %s, want 2", q)
			}
		}
	}

	later, err := audit.OrderAt(b.ctx, reader, o.id, t2)
	if err != nil {
		t.Fatal(err)
	}
	want = append([]string{}, want[:1]...)
	for _, id := range o.lines[2:] {
		want = append(want, id.String())
	}
	want = append(want, added.String())
	requireSameSet(t, "lines at t2", lineIDs(t, later.Lines), want)
	for _, l := range later.Lines {
		if field(t, l, "id") == updated.String() && field(t, l, "quantity") != "7" {
			t.Fatalf("the updated line at t2 has quantity %s, want 7", field(t, l, "quantity"))
		}
	}

	t.Run("the lines come in the order of their keys, as one AsOf per key gives them", func(t *testing.T) {
		keys, err := audit.KeysWhere(b.ctx, reader, tbl(t, "orders.order_line"), "order_id", o.id.String())
		if err != nil {
			t.Fatal(err)
		}
		var one []string
		for _, k := range keys {
			row, err := audit.AsOf(b.ctx, reader, tbl(t, "orders.order_line"), k, t1)
			if errors.Is(err, audit.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			one = append(one, field(t, row, "id"))
		}
		requireEqual(t, "lines at t1", lineIDs(t, then.Lines), one)
	})

	t.Run("a reader limited to another site sees none of the lines", func(t *testing.T) {
		keys, err := audit.KeysWhere(b.ctx, reader, tbl(t, "orders.order_line"), "order_id", o.id.String())
		if err != nil {
			t.Fatal(err)
		}
		for _, sites := range []string{"UK", "FR"} {
			var got []audit.Row
			err := pgx.BeginFunc(b.ctx, b.db.App, func(tx pgx.Tx) error {
				if _, err := tx.Exec(b.ctx, `SELECT set_config('messina.sites', $1, true)`, sites); err != nil {
					return err
				}
				var err error
				got, err = audit.AsOfKeys(b.ctx, tx, tbl(t, "orders.order_line"), keys, t1)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := map[string]int{"UK": 50, "FR": 0}[sites]; len(got) != n {
				t.Fatalf("a reader of %s sees %d lines, want %d", sites, len(got), n)
			}
		}
	})
}

// OrderRows lists the order, then its lines, their splits line by line,
// approvals, attachments and their revisions attachment by attachment,
// deleted rows included.
func TestOrderRowsListsEveryRowOfTheOrderTableByTable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	entity, customer, product := seedCatalog(t, b)
	o := seedOrder(t, b, entity, customer, product, 50)
	other := seedOrder(t, b, entity, customer, product, 3)
	exec(t, b.db.Owner, fmt.Sprintf(`DELETE FROM orders.order_line WHERE id = '%s'`, o.lines[1]))
	reader, _ := readerPool(t, b)

	refs, err := audit.OrderRows(b.ctx, reader, o.id)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	byTable := map[string][]json.RawMessage{}
	for _, r := range refs {
		name := r.Table.String()
		if len(tables) == 0 || tables[len(tables)-1] != name {
			tables = append(tables, name)
		}
		byTable[name] = append(byTable[name], r.Key)
	}
	requireEqual(t, "tables", tables, []string{"orders.order", "orders.order_line", "orders.order_line_split",
		"orders.approval", "files.attachment", "files.revision"})
	for name, n := range map[string]int{"orders.order": 1, "orders.order_line": 50, "orders.order_line_split": 50,
		"orders.approval": 1, "files.attachment": 2, "files.revision": 4} {
		if got := len(byTable[name]); got != n {
			t.Fatalf("%d rows of %s, want %d", got, name, n)
		}
	}
	keyField := func(k json.RawMessage, f string) string {
		var m map[string]any
		if err := json.Unmarshal(k, &m); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(m[f])
	}
	for i, k := range byTable["orders.order_line_split"] {
		if got, want := keyField(k, "line_id"), keyField(byTable["orders.order_line"][i], "id"); got != want {
			t.Fatalf("split %d is of line %s, want %s: splits follow their lines", i, got, want)
		}
	}
	for i, k := range byTable["files.revision"] {
		if got, want := keyField(k, "attachment_id"), keyField(byTable["files.attachment"][i/2], "id"); got != want {
			t.Fatalf("revision %d is of attachment %s, want %s", i, got, want)
		}
	}
	for _, k := range byTable["orders.order_line"] {
		for _, id := range other.lines {
			if keyField(k, "id") == id.String() {
				t.Fatalf("a line of another order is listed: %s", k)
			}
		}
	}
}

func requireSameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	for _, s := range want {
		count[s]--
	}
	for s, n := range count {
		if n != 0 {
			t.Fatalf("%s: %s appears %+d times too many\n got %v\nwant %v", what, s, n, got, want)
		}
	}
}
