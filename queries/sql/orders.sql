-- Orders, lines, transitions and approvals. The lifecycle rules are in the
-- triggers of migration 00004; these queries only ask for changes.

-- Creates a draft order for a visible customer of @site_id (any of the
-- customer's when NULL), in @currency (the customer's when NULL). No row
-- when the customer is unknown, invisible or of another site.
-- name: OrderCreate :one
INSERT INTO orders."order" (site_id, legal_entity_id, customer_id, salesperson, currency, po_number, notes)
SELECT c.site_id, @legal_entity_id, c.id, @salesperson, coalesce(sqlc.narg('currency')::text, c.currency),
       sqlc.narg('po_number'), @notes
FROM core.customer c
WHERE c.id = @customer_id AND (sqlc.narg('site_id')::text IS NULL OR c.site_id = sqlc.narg('site_id')::text)
RETURNING *;

-- name: OrderGet :one
SELECT * FROM orders."order" WHERE id = @id;

-- Locks the order so line changes and transitions see a stable status and
-- version until commit.
-- name: OrderLock :one
SELECT * FROM orders."order" WHERE id = @id FOR UPDATE;

-- name: OrderUpdateHeader :one
UPDATE orders."order" SET
    legal_entity_id = @legal_entity_id, customer_id = @customer_id, salesperson = @salesperson,
    po_number = sqlc.narg('po_number'), notes = @notes
WHERE id = @id AND version = @expected_version
RETURNING *;

-- name: OrderSetStatus :one
UPDATE orders."order" SET status = @status, transition_reason = sqlc.narg('reason')
WHERE id = @id
RETURNING *;

-- name: OrderTotalGet :one
SELECT * FROM orders.order_total WHERE order_id = @order_id;

-- Keyset pagination on (created_at, id) descending: newest first, stable.
-- The page is cut before the totals are joined, so only its orders' lines
-- are summed.
-- name: OrderList :many
WITH page AS (
    SELECT * FROM orders."order" o
    WHERE (sqlc.narg('site_id')::text IS NULL OR o.site_id = sqlc.narg('site_id')::text)
      AND (sqlc.narg('status')::orders.order_status IS NULL OR o.status = sqlc.narg('status')::orders.order_status)
      AND (sqlc.narg('customer_id')::uuid IS NULL OR o.customer_id = sqlc.narg('customer_id')::uuid)
      AND (sqlc.narg('salesperson')::text IS NULL OR o.salesperson = sqlc.narg('salesperson')::text)
      AND (sqlc.narg('date_from')::date IS NULL OR o.order_date >= sqlc.narg('date_from')::date)
      AND (sqlc.narg('date_to')::date IS NULL OR o.order_date <= sqlc.narg('date_to')::date)
      AND (sqlc.narg('after_created_at')::timestamptz IS NULL
           OR (o.created_at, o.id) < (sqlc.narg('after_created_at')::timestamptz, sqlc.narg('after_id')::uuid))
    ORDER BY o.created_at DESC, o.id DESC
    LIMIT @max_rows
)
SELECT page.*, t.line_count, t.one_off_amount, t.mrr, t.total_value, t.total_cost, t.margin
FROM page
JOIN orders.order_total t ON t.order_id = page.id
ORDER BY page.created_at DESC, page.id DESC;

-- name: OrderLineCreate :one
INSERT INTO orders.order_line (
    order_id, site_id, product_id, description, billing_frequency, term_months,
    quantity, unit_price, discount_pct, currency)
VALUES (
    @order_id, '', @product_id, @description, sqlc.narg('billing_frequency'), sqlc.narg('term_months'),
    @quantity, sqlc.narg('unit_price'), @discount_pct, sqlc.narg('currency'))
RETURNING *;

-- All lines of a new order in one statement, numbered 1, 2, ... in array
-- order; the line trigger fills and checks each as for a single line.
-- Empty strings and 0 mean "not given" (NULL), as for OrderLineCreate.
-- name: OrderLinesCreate :many
INSERT INTO orders.order_line (
    order_id, site_id, line_no, product_id, description, billing_frequency, term_months,
    quantity, unit_price, discount_pct, currency)
SELECT @order_id, '', l.line_no, l.product_id, l.description,
       nullif(l.billing_frequency, '')::core.billing_frequency, nullif(l.term_months, 0),
       l.quantity, nullif(l.unit_price, '')::numeric, l.discount_pct, nullif(l.currency, '')
FROM (
    SELECT unnest(@product_ids::uuid[]) AS product_id, unnest(@descriptions::text[]) AS description,
           unnest(@billing_frequencies::text[]) AS billing_frequency, unnest(@term_months::integer[]) AS term_months,
           unnest(@quantities::numeric[]) AS quantity, unnest(@unit_prices::text[]) AS unit_price,
           unnest(@discount_pcts::numeric[]) AS discount_pct, unnest(@currencies::text[]) AS currency,
           generate_series(1, cardinality(@product_ids::uuid[])) AS line_no
) l
ORDER BY l.line_no
RETURNING *;

-- name: OrderLineGet :one
SELECT * FROM orders.order_line WHERE id = @id;

-- name: OrderLineUpdate :one
UPDATE orders.order_line SET
    product_id = @product_id, description = @description,
    billing_frequency = sqlc.narg('billing_frequency'), term_months = sqlc.narg('term_months'),
    quantity = @quantity, unit_price = @unit_price, discount_pct = @discount_pct
WHERE id = @id AND order_id = @order_id
RETURNING *;

-- name: OrderLineDelete :execrows
DELETE FROM orders.order_line WHERE id = @id AND order_id = @order_id;

-- name: OrderLineList :many
SELECT * FROM orders.order_line WHERE order_id = @order_id ORDER BY line_no;

-- name: OrderLineSplitCreate :exec
INSERT INTO orders.order_line_split (line_id, site_id, salesperson, share_pct)
SELECT l.id, l.site_id, @salesperson, @share_pct FROM orders.order_line l WHERE l.id = @line_id;

-- Splits of several lines in one statement.
-- name: OrderLineSplitsCreate :many
INSERT INTO orders.order_line_split (line_id, site_id, salesperson, share_pct)
SELECT l.id, l.site_id, s.salesperson, s.share_pct
FROM (
    SELECT unnest(@line_ids::uuid[]) AS line_id, unnest(@salespeople::text[]) AS salesperson,
           unnest(@share_pcts::numeric[]) AS share_pct, generate_series(1, cardinality(@line_ids::uuid[])) AS n
) s
JOIN orders.order_line l ON l.id = s.line_id
ORDER BY s.n
RETURNING *;

-- name: OrderLineSplitDeleteAll :exec
DELETE FROM orders.order_line_split WHERE line_id = @line_id;

-- name: OrderLineSplitList :many
SELECT s.* FROM orders.order_line_split s
JOIN orders.order_line l ON l.id = s.line_id
WHERE l.order_id = @order_id
ORDER BY s.line_id, s.salesperson COLLATE "C";

-- name: OrderTransitionList :many
SELECT * FROM orders.order_transition WHERE order_id = @order_id ORDER BY id;

-- name: OrderApprovalList :many
SELECT * FROM orders.approval WHERE order_id = @order_id ORDER BY id;

-- name: StatusTransitionsFrom :many
SELECT * FROM orders.status_transition WHERE from_status = @from_status ORDER BY to_status;

-- name: OrderSiteGet :one
-- The site of an order, for callers that only need to know it exists, is
-- visible and where it belongs (attachments).
SELECT site_id FROM orders."order" WHERE id = @id;
