-- KPI reports over the views of migration 00012 (definitions there and in
-- docs/kpi.md). Each report groups by the dimensions the caller asks for
-- (the by_* flags; a dimension not asked for is NULL in every row) and
-- always by currency, since amounts in different currencies never add up.
-- Rows come in the order of sort_key, the group's key as text (month as
-- YYYY-MM-DD, then the other dimensions; '' for a dimension not grouped):
-- the Go side reads the dimensions from it (sqlc cannot type a column that
-- is NULL when not grouped), and a page starts after the sort_key of the
-- previous page's last row. Margin % comes through a LEFT JOIN LATERAL for
-- the same reason: it is NULL when the amount is not positive.

-- name: KPIBookingList :many
WITH grouped AS (
    SELECT CASE WHEN @by_month::boolean THEN b.month END AS month,
           CASE WHEN @by_site::boolean THEN b.site_id END AS site_id,
           b.currency::text AS currency,
           CASE WHEN @by_salesperson::boolean THEN b.salesperson END AS salesperson,
           CASE WHEN @by_product::boolean THEN b.product_id END AS product_id,
           count(DISTINCT b.order_id) FILTER (WHERE b.kind = 'booking') AS orders,
           count(DISTINCT b.order_id) FILTER (WHERE b.kind = 'cancellation') AS cancelled_orders,
           sum(b.amount)::numeric AS amount,
           sum(b.cost)::numeric AS cost,
           sum(b.mrr)::numeric AS mrr
      FROM kpi.booking_line b
     WHERE (sqlc.narg('site_id')::text IS NULL OR b.site_id = sqlc.narg('site_id')::text)
       AND (sqlc.narg('currency')::text IS NULL OR b.currency = sqlc.narg('currency')::text)
       AND (sqlc.narg('salesperson')::text IS NULL OR b.salesperson = sqlc.narg('salesperson')::text)
       AND (sqlc.narg('product_id')::uuid IS NULL OR b.product_id = sqlc.narg('product_id')::uuid)
       AND (sqlc.narg('from_month')::date IS NULL OR b.month >= sqlc.narg('from_month')::date)
       AND (sqlc.narg('to_month')::date IS NULL OR b.month <= sqlc.narg('to_month')::date)
     GROUP BY 1, 2, 3, 4, 5
), keyed AS (
    SELECT ARRAY[coalesce(to_char(g.month, 'YYYY-MM-DD'), ''), coalesce(g.site_id, ''), g.currency,
                 coalesce(g.salesperson, ''), coalesce(g.product_id::text, '')]::text[] AS sort_key,
           g.*
      FROM grouped g
)
SELECT k.sort_key, k.currency, p.sku AS product_sku,
       k.orders, k.cancelled_orders, k.amount, k.cost, (k.amount - k.cost)::numeric AS margin, pct AS margin_pct, k.mrr
  FROM keyed k
  LEFT JOIN core.product p ON p.id = k.product_id
  LEFT JOIN LATERAL orders.margin_pct(k.amount - k.cost, k.amount) pct ON true
 WHERE sqlc.narg('after')::text[] IS NULL OR k.sort_key > sqlc.narg('after')::text[]
 ORDER BY k.sort_key
 LIMIT @max_rows;

-- Charges (early-termination fees) have no product: grouped by product,
-- they are the group whose product_id is NULL.
-- name: KPIMarginList :many
WITH grouped AS (
    SELECT CASE WHEN @by_month::boolean THEN r.month END AS month,
           CASE WHEN @by_site::boolean THEN r.site_id END AS site_id,
           r.currency::text AS currency,
           CASE WHEN @by_salesperson::boolean THEN r.salesperson END AS salesperson,
           CASE WHEN @by_product::boolean THEN r.product_id END AS product_id,
           sum(r.invoiced)::numeric AS invoiced,
           sum(r.credited)::numeric AS credited,
           sum(r.revenue)::numeric AS revenue,
           sum(r.cost)::numeric AS cost
      FROM kpi.revenue_line r
     WHERE (sqlc.narg('site_id')::text IS NULL OR r.site_id = sqlc.narg('site_id')::text)
       AND (sqlc.narg('currency')::text IS NULL OR r.currency = sqlc.narg('currency')::text)
       AND (sqlc.narg('salesperson')::text IS NULL OR r.salesperson = sqlc.narg('salesperson')::text)
       AND (sqlc.narg('product_id')::uuid IS NULL OR r.product_id = sqlc.narg('product_id')::uuid)
       AND (sqlc.narg('from_month')::date IS NULL OR r.month >= sqlc.narg('from_month')::date)
       AND (sqlc.narg('to_month')::date IS NULL OR r.month <= sqlc.narg('to_month')::date)
     GROUP BY 1, 2, 3, 4, 5
), keyed AS (
    SELECT ARRAY[coalesce(to_char(g.month, 'YYYY-MM-DD'), ''), coalesce(g.site_id, ''), g.currency,
                 coalesce(g.salesperson, ''), coalesce(g.product_id::text, '')]::text[] AS sort_key,
           g.*
      FROM grouped g
)
SELECT k.sort_key, k.currency, p.sku AS product_sku,
       k.invoiced, k.credited, k.revenue, k.cost, (k.revenue - k.cost)::numeric AS margin, pct AS margin_pct
  FROM keyed k
  LEFT JOIN core.product p ON p.id = k.product_id
  LEFT JOIN LATERAL orders.margin_pct(k.revenue - k.cost, k.revenue) pct ON true
 WHERE sqlc.narg('after')::text[] IS NULL OR k.sort_key > sqlc.narg('after')::text[]
 ORDER BY k.sort_key
 LIMIT @max_rows;

-- MRR movements of units of @level ('customer' or 'contract'). Per month
-- (by_month) a row has that month's opening and closing MRR; over a range
-- (not by_month) opening is the MRR before from_month (0 when the range is
-- open) and closing the MRR at its last month (to_month, or the last
-- month there is: later months have no rows yet), while the movements add
-- up, so opening + movements = closing holds either way.
-- name: KPIMRRList :many
WITH bounds AS (
    SELECT least(coalesce(sqlc.narg('to_month')::date, 'infinity'::date), max(m.month)) AS last_month
      FROM kpi.mrr_movement m
     WHERE m.level = @level::text
), grouped AS (
    SELECT CASE WHEN @by_month::boolean THEN m.month END AS month,
           CASE WHEN @by_site::boolean THEN m.site_id END AS site_id,
           m.currency::text AS currency,
           -- A contract has one customer: contract rows name it too.
           CASE WHEN @by_customer::boolean OR @by_contract::boolean THEN m.customer_id END AS customer_id,
           CASE WHEN @by_contract::boolean THEN m.contract_id END AS contract_id,
           coalesce(sum(m.opening_mrr) FILTER (WHERE @by_month::boolean OR m.month = sqlc.narg('from_month')::date), 0)::numeric AS opening_mrr,
           sum(m.new_mrr)::numeric AS new_mrr,
           sum(m.expansion_mrr)::numeric AS expansion_mrr,
           sum(m.contraction_mrr)::numeric AS contraction_mrr,
           sum(m.churned_mrr)::numeric AS churned_mrr,
           sum(m.reactivation_mrr)::numeric AS reactivation_mrr,
           coalesce(sum(m.closing_mrr) FILTER (WHERE @by_month::boolean OR m.month = b.last_month), 0)::numeric AS closing_mrr,
           count(*) FILTER (WHERE (@by_month::boolean OR m.month = b.last_month) AND m.closing_mrr > 0) AS closing_units
      FROM kpi.mrr_movement m
     CROSS JOIN bounds b
     WHERE m.level = @level::text
       AND (sqlc.narg('site_id')::text IS NULL OR m.site_id = sqlc.narg('site_id')::text)
       AND (sqlc.narg('currency')::text IS NULL OR m.currency = sqlc.narg('currency')::text)
       AND (sqlc.narg('customer_id')::uuid IS NULL OR m.customer_id = sqlc.narg('customer_id')::uuid)
       AND (sqlc.narg('from_month')::date IS NULL OR m.month >= sqlc.narg('from_month')::date)
       AND (sqlc.narg('to_month')::date IS NULL OR m.month <= sqlc.narg('to_month')::date)
     GROUP BY 1, 2, 3, 4, 5
), keyed AS (
    SELECT ARRAY[coalesce(to_char(g.month, 'YYYY-MM-DD'), ''), coalesce(g.site_id, ''), g.currency,
                 coalesce(g.customer_id::text, ''), coalesce(g.contract_id::text, '')]::text[] AS sort_key,
           g.*
      FROM grouped g
)
SELECT k.sort_key, k.currency, cu.name AS customer_name, ct.number AS contract_number,
       k.opening_mrr, k.new_mrr, k.expansion_mrr, k.contraction_mrr, k.churned_mrr, k.reactivation_mrr,
       k.closing_mrr, k.closing_units
  FROM keyed k
  LEFT JOIN core.customer cu ON cu.id = k.customer_id
  LEFT JOIN contracts.contract ct ON ct.id = k.contract_id
 WHERE sqlc.narg('after')::text[] IS NULL OR k.sort_key > sqlc.narg('after')::text[]
 ORDER BY k.sort_key
 LIMIT @max_rows;

-- name: KPIMRRRefresh :one
SELECT kpi.refresh_mrr()::timestamptz AS refreshed_at;

-- name: KPIRefreshedAt :one
SELECT refreshed_at FROM kpi.refresh WHERE view_name = @view_name;
