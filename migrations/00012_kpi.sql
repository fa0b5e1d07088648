-- +goose Up
-- Sales-performance and margin KPIs (design.md section 3, schema kpi):
-- bookings, MRR and its movements, and revenue, cost and margin from
-- invoices and credit notes. docs/kpi.md defines every figure; this file
-- is the definition that runs.
--
-- Conventions of this file:
--   * Money stays numeric and is never summed across currencies: every
--     view keeps the document's currency as a column, and every report
--     groups by it.
--   * A month is the first day of a calendar month (a date). Bookings take
--     the month of the booking time in the site's timezone; invoices,
--     credit notes and contracts carry local dates already (billing dates
--     are dates in the site's timezone), whose month they take.
--   * Sales credit: a line's splits (orders.order_line_split) give
--     salespeople their shares, the rest of 100 % goes to the order's
--     salesperson. Amounts are multiplied by the share and not rounded, so
--     the shares of a line add up to the line exactly.
--   * Margin % is orders.margin_pct: margin / amount x 100, rounded to 2
--     places, NULL when the amount is not positive.
--   * Row-level security: bookings and revenue are security_invoker views
--     over the tables with site isolation, so a caller sees the rows of its
--     sites and no others. MRR is a materialized view (RLS cannot apply to
--     one): the application role may not read it, only kpi.mrr_movement,
--     which filters it with core.site_visible.

-- The month of a date, as the date of its first day. Through timestamp
-- (without time zone), so the session's TimeZone cannot move it.
CREATE FUNCTION kpi.month_of(d date) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT date_trunc('month', d::timestamp)::date $$;

-- Sales credit ---------------------------------------------------------------

-- The salespeople credited with each order line and their shares (0..1):
-- the splits, and the order's salesperson for the rest of 100 % (no row
-- when the splits take all of it). A split may name the order's own
-- salesperson, who then has two rows for the line: sum the shares.
-- LATERAL per line, so a caller that needs a few lines reads only theirs.
CREATE VIEW kpi.sales_credit WITH (security_invoker = true) AS
SELECT l.id AS order_line_id, l.order_id, l.site_id, c.salesperson, c.share
  FROM orders.order_line l
  JOIN orders."order" o ON o.id = l.order_id
 CROSS JOIN LATERAL (
       SELECT s.salesperson, (s.share_pct * 0.01)::numeric AS share
         FROM orders.order_line_split s
        WHERE s.line_id = l.id
       UNION ALL
       SELECT o.salesperson, (1 - coalesce(sum(s.share_pct), 0) * 0.01)::numeric
         FROM orders.order_line_split s
        WHERE s.line_id = l.id) c
 WHERE c.share > 0;

-- Bookings -----------------------------------------------------------------

-- One row per booked order line and credited salesperson, plus a reversing
-- row when the order was cancelled after it was booked: a booking counts in
-- the month it was booked and a cancellation in the month it was
-- cancelled, so a past month never changes. Amounts are over the whole
-- term (orders.order_line line_value and line_cost: monthly amount x term
-- months for recurring lines); mrr is the monthly amount of recurring
-- lines. Orders never booked (draft to cancelled, rejected) are not here.
CREATE VIEW kpi.booking_line WITH (security_invoker = true) AS
SELECT o.id AS order_id,
       o.number AS order_number,
       l.id AS order_line_id,
       o.site_id,
       o.currency,
       CASE WHEN t.to_status = 'booked' THEN 'booking' ELSE 'cancellation' END AS kind,
       (t.at AT TIME ZONE s.timezone)::date AS booked_on,
       kpi.month_of((t.at AT TIME ZONE s.timezone)::date) AS month,
       sc.salesperson,
       l.product_id,
       sc.share,
       (t.sign * sc.share * l.line_value)::numeric AS amount,
       (t.sign * sc.share * l.line_cost)::numeric AS cost,
       (t.sign * sc.share * CASE WHEN l.kind = 'recurring' THEN l.net_amount ELSE 0 END)::numeric AS mrr
  FROM (SELECT tr.order_id, tr.to_status, tr.at, CASE WHEN tr.to_status = 'booked' THEN 1 ELSE -1 END AS sign
          FROM orders.order_transition tr
         WHERE tr.to_status = 'booked'
            OR (tr.to_status = 'cancelled' AND tr.from_status IN ('booked', 'provisioning'))) t
  JOIN orders."order" o ON o.id = t.order_id
  JOIN core.site s ON s.id = o.site_id
  JOIN orders.order_line l ON l.order_id = o.id
  JOIN kpi.sales_credit sc ON sc.order_line_id = l.id;

-- Bookings per site, currency, month, salesperson and product.
CREATE VIEW kpi.bookings WITH (security_invoker = true) AS
SELECT b.site_id, b.currency, b.month, b.salesperson, b.product_id,
       count(DISTINCT b.order_id) FILTER (WHERE b.kind = 'booking') AS orders,
       count(DISTINCT b.order_id) FILTER (WHERE b.kind = 'cancellation') AS cancelled_orders,
       sum(b.amount)::numeric AS amount,
       sum(b.cost)::numeric AS cost,
       (sum(b.amount) - sum(b.cost))::numeric AS margin,
       orders.margin_pct(sum(b.amount) - sum(b.cost), sum(b.amount)) AS margin_pct,
       sum(b.mrr)::numeric AS mrr
  FROM kpi.booking_line b
 GROUP BY b.site_id, b.currency, b.month, b.salesperson, b.product_id;

-- Revenue, cost and margin ---------------------------------------------------

-- The product and the credited salespeople of each invoice line: a period
-- of a contract line is credited like the order line it came from; a
-- charge (an early-termination fee, no product) and a contract line
-- without an order line go to the salesperson of the contract's order.
CREATE VIEW kpi.invoice_line_credit WITH (security_invoker = true) AS
SELECT il.id AS invoice_line_id, il.site_id, cl.product_id, cr.salesperson, cr.share
  FROM billing.invoice_line il
  JOIN contracts.contract c ON c.id = il.contract_id
  LEFT JOIN contracts.contract_line cl ON cl.id = il.contract_line_id
 CROSS JOIN LATERAL (
       SELECT sc.salesperson, sc.share
         FROM kpi.sales_credit sc
        WHERE sc.order_line_id = cl.order_line_id
       UNION ALL
       SELECT o.salesperson, 1::numeric
         FROM orders."order" o
        WHERE o.id = c.order_id AND cl.order_line_id IS NULL) cr;

-- Invoiced and credited amounts, net of tax, per invoice line and credited
-- salesperson: every line of a posted invoice (a void invoice was posted,
-- then fully credited: it counts, and so do its credit notes) in the month
-- of its issue date, and every credit note line, negative, in the month of
-- the credit note's issue date. Drafts are not revenue.
--
-- Cost is the invoice line's cost snapshot. A credit note takes back the
-- credited share of it, cumulatively: credit notes of a line so far (in
-- number order) have taken back round(cost x credited so far / net, 2),
-- so the credits of a whole line take back exactly its cost.
CREATE VIEW kpi.revenue_line WITH (security_invoker = true) AS
SELECT i.site_id, i.currency, i.issue_date AS on_date, kpi.month_of(i.issue_date) AS month,
       'invoice'::text AS source, i.id AS document_id, i.number AS document_number,
       il.id AS invoice_line_id, x.product_id, x.salesperson, x.share,
       (x.share * il.net)::numeric AS invoiced,
       0::numeric AS credited,
       (x.share * il.net)::numeric AS revenue,
       (x.share * il.cost)::numeric AS cost
  FROM billing.invoice i
  JOIN billing.invoice_line il ON il.invoice_id = i.id
  JOIN kpi.invoice_line_credit x ON x.invoice_line_id = il.id
 WHERE i.status <> 'draft'
UNION ALL
SELECT cn.site_id, cn.currency, cn.issue_date, kpi.month_of(cn.issue_date),
       'credit_note', cn.id, cn.number,
       il.id, x.product_id, x.salesperson, x.share,
       0::numeric,
       (x.share * cnl.net)::numeric,
       (-x.share * cnl.net)::numeric,
       (-x.share * (round(il.cost * (p.before + cnl.net) / il.net, 2) - round(il.cost * p.before / il.net, 2)))::numeric
  FROM billing.credit_note cn
  JOIN billing.credit_note_line cnl ON cnl.credit_note_id = cn.id
  JOIN billing.invoice_line il ON il.id = cnl.invoice_line_id
 CROSS JOIN LATERAL (
       SELECT coalesce(sum(e.net), 0) AS before
         FROM billing.credit_note_line e
         JOIN billing.credit_note en ON en.id = e.credit_note_id
        WHERE e.invoice_line_id = cnl.invoice_line_id AND (en.seq, e.id) < (cn.seq, cnl.id)) p
  JOIN kpi.invoice_line_credit x ON x.invoice_line_id = il.id;

-- Revenue, cost and margin per site, currency, month, salesperson and
-- product (NULL for charges).
CREATE VIEW kpi.margin WITH (security_invoker = true) AS
SELECT r.site_id, r.currency, r.month, r.salesperson, r.product_id,
       sum(r.invoiced)::numeric AS invoiced,
       sum(r.credited)::numeric AS credited,
       sum(r.revenue)::numeric AS revenue,
       sum(r.cost)::numeric AS cost,
       (sum(r.revenue) - sum(r.cost))::numeric AS margin,
       orders.margin_pct(sum(r.revenue) - sum(r.cost), sum(r.revenue)) AS margin_pct
  FROM kpi.revenue_line r
 GROUP BY r.site_id, r.currency, r.month, r.salesperson, r.product_id;

-- MRR ------------------------------------------------------------------------

-- MRR of a contract in a month is the monthly value of its lines in
-- service on the month's last day: quantity x unit price x (1 - discount),
-- rounded to cents per line. Contract prices are per month whatever the
-- billing frequency (see 00004), so a yearly-billed line counts its
-- monthly price, not a twelfth of it. Prices change in place at renewal
-- (uplift), so the price in force on a day comes from the contract's
-- versions (contracts.amendment): a renewal's prices apply from the term
-- it starts, any other version's from its effective date. A line serves
-- from its start date to the first of its end date, the contract's end
-- date, and the term end of a contract that does not renew; a contract
-- that renews serves on past its term end even before the renewal is
-- processed. Months run up to the current month in the site's timezone.
--
-- A unit is a contract (level 'contract') or a customer's contracts in one
-- currency (level 'customer'). Each unit has a row for every month from
-- its first month with MRR to the month after its last (its churn), capped
-- at the current month; months with no MRR before and after are left out.
-- A month's change from the unit's previous month is classified:
--   new           from 0, the unit never had MRR before
--   reactivation  from 0, the unit had MRR before
--   expansion     up, from more than 0
--   contraction   down, to more than 0 (negative)
--   churn         down to 0 (negative)
-- so opening + new + expansion + contraction + churn + reactivation =
-- closing, in every row and in any sum of rows of consecutive months.
CREATE MATERIALIZED VIEW kpi.mrr_movement_all AS
WITH version_line AS (
    -- Every contract line in every version, with its monthly value then.
    SELECT (l ->> 'id')::uuid AS line_id, a.version,
           CASE WHEN a.kind = 'renewed' THEN (a.snapshot #>> '{contract,term_start}')::date
                ELSE a.effective_date END AS effective,
           round((l ->> 'quantity')::numeric * (l ->> 'unit_price')::numeric
                 * (1 - (l ->> 'discount_pct')::numeric / 100), 2) AS mrr
      FROM contracts.amendment a
     CROSS JOIN LATERAL jsonb_array_elements(a.snapshot -> 'lines') l
), changed AS (
    SELECT v.*, lag(v.mrr) OVER (PARTITION BY v.line_id ORDER BY v.version) AS previous
      FROM version_line v
), priced AS (
    -- The value of each line from a day to the day before its next change.
    SELECT c.line_id, c.mrr, c.effective AS valid_from,
           lead(c.effective) OVER (PARTITION BY c.line_id ORDER BY c.version) - 1 AS valid_to
      FROM changed c
     WHERE c.previous IS NULL OR c.previous <> c.mrr
    UNION ALL
    -- A line no version records (written around the functions of 00009):
    -- its current value, from its start.
    SELECT l.id, round(l.quantity * l.unit_price * (1 - l.discount_pct / 100), 2), l.start_date, NULL
      FROM contracts.contract_line l
     WHERE NOT EXISTS (SELECT FROM contracts.amendment a
                        WHERE a.contract_id = l.contract_id
                          AND a.snapshot -> 'lines' @> jsonb_build_array(jsonb_build_object('id', l.id)))
), served AS (
    SELECT c.site_id, c.currency, c.customer_id, c.id AS contract_id, p.mrr,
           greatest(p.valid_from, l.start_date) AS first_day,
           least(p.valid_to, l.end_date, c.end_date, CASE WHEN NOT c.auto_renew THEN c.term_end END,
                 (kpi.month_of((now() AT TIME ZONE s.timezone)::date) + interval '1 month')::date - 1) AS last_day
      FROM priced p
      JOIN contracts.contract_line l ON l.id = p.line_id
      JOIN contracts.contract c ON c.id = l.contract_id
      JOIN core.site s ON s.id = c.site_id
), contract_month AS (
    -- The months whose last day a line serves at a price: from the month
    -- of its first day to the last month that ends by its last day.
    SELECT sv.site_id, sv.currency, sv.customer_id, sv.contract_id, m::date AS month, sum(sv.mrr) AS mrr
      FROM served sv
     CROSS JOIN LATERAL generate_series(kpi.month_of(sv.first_day)::timestamp, kpi.month_of(sv.last_day + 1)::timestamp - interval '1 month',
                                        interval '1 month') m
     WHERE sv.first_day <= sv.last_day
     GROUP BY sv.site_id, sv.currency, sv.customer_id, sv.contract_id, m::date
), unit_month AS (
    SELECT 'contract'::text AS level, cm.site_id, cm.currency, cm.customer_id, cm.contract_id,
           cm.contract_id AS unit_id, cm.month, cm.mrr
      FROM contract_month cm
     WHERE cm.mrr > 0
    UNION ALL
    SELECT 'customer', cm.site_id, cm.currency, cm.customer_id, NULL::uuid, cm.customer_id, cm.month, sum(cm.mrr)
      FROM contract_month cm
     GROUP BY cm.site_id, cm.currency, cm.customer_id, cm.month
    HAVING sum(cm.mrr) > 0
), dense AS (
    SELECT u.level, u.site_id, u.currency, u.customer_id, u.contract_id, u.unit_id, m::date AS month,
           coalesce(um.mrr, 0) AS mrr, m::date > u.first_month AS paid_before
      FROM (SELECT um.level, um.site_id, um.currency, um.customer_id, um.contract_id, um.unit_id,
                   min(um.month) AS first_month, max(um.month) AS last_month
              FROM unit_month um
             GROUP BY um.level, um.site_id, um.currency, um.customer_id, um.contract_id, um.unit_id) u
      JOIN core.site s ON s.id = u.site_id
     CROSS JOIN LATERAL generate_series(u.first_month::timestamp,
                                        least(u.last_month + interval '1 month',
                                              kpi.month_of((now() AT TIME ZONE s.timezone)::date)::timestamp),
                                        interval '1 month') m
      LEFT JOIN unit_month um
             ON um.level = u.level AND um.unit_id = u.unit_id AND um.currency = u.currency AND um.month = m::date
), classified AS (
    -- A unit's rows start at its first month with MRR, so it had MRR
    -- before any later month (paid_before above).
    SELECT d.*, coalesce(lag(d.mrr) OVER (PARTITION BY d.level, d.unit_id, d.currency ORDER BY d.month), 0) AS opening
      FROM dense d
)
SELECT c.level, c.site_id, c.currency, c.customer_id, c.contract_id, c.unit_id, c.month,
       c.opening::numeric AS opening_mrr,
       (CASE WHEN c.opening = 0 AND c.mrr > 0 AND NOT c.paid_before THEN c.mrr ELSE 0 END)::numeric AS new_mrr,
       (CASE WHEN c.opening > 0 AND c.mrr > c.opening THEN c.mrr - c.opening ELSE 0 END)::numeric AS expansion_mrr,
       (CASE WHEN c.opening > 0 AND c.mrr > 0 AND c.mrr < c.opening THEN c.mrr - c.opening ELSE 0 END)::numeric AS contraction_mrr,
       (CASE WHEN c.opening > 0 AND c.mrr = 0 THEN -c.opening ELSE 0 END)::numeric AS churned_mrr,
       (CASE WHEN c.opening = 0 AND c.mrr > 0 AND c.paid_before THEN c.mrr ELSE 0 END)::numeric AS reactivation_mrr,
       c.mrr::numeric AS closing_mrr
  FROM classified c
 WHERE c.opening > 0 OR c.mrr > 0
WITH DATA;

-- REFRESH ... CONCURRENTLY needs a unique index; reads filter by level and
-- month range.
CREATE UNIQUE INDEX mrr_movement_all_key ON kpi.mrr_movement_all (level, unit_id, currency, month);
CREATE INDEX mrr_movement_all_month ON kpi.mrr_movement_all (level, month, site_id);

-- What the application reads: the rows of the caller's sites.
-- security_barrier, so no condition of a query over it is evaluated
-- before the site filter (a function of the caller's could otherwise see
-- other sites' rows).
CREATE VIEW kpi.mrr_movement WITH (security_barrier = true) AS
SELECT m.level, m.site_id, m.currency, m.customer_id, m.contract_id, m.unit_id, m.month,
       m.opening_mrr, m.new_mrr, m.expansion_mrr, m.contraction_mrr, m.churned_mrr, m.reactivation_mrr, m.closing_mrr
  FROM kpi.mrr_movement_all m
 WHERE core.site_visible(m.site_id);

-- MRR and its movements per site, currency and month, customers as units.
-- security_invoker: it reads kpi.mrr_movement, and so its site filter, as
-- the caller.
CREATE VIEW kpi.mrr WITH (security_invoker = true) AS
SELECT m.site_id, m.currency, m.month,
       sum(m.opening_mrr)::numeric AS opening_mrr,
       sum(m.new_mrr)::numeric AS new_mrr,
       sum(m.expansion_mrr)::numeric AS expansion_mrr,
       sum(m.contraction_mrr)::numeric AS contraction_mrr,
       sum(m.churned_mrr)::numeric AS churned_mrr,
       sum(m.reactivation_mrr)::numeric AS reactivation_mrr,
       sum(m.closing_mrr)::numeric AS closing_mrr,
       count(*) FILTER (WHERE m.closing_mrr > 0) AS customers
  FROM kpi.mrr_movement m
 WHERE m.level = 'customer'
 GROUP BY m.site_id, m.currency, m.month;

-- When each materialized view was last refreshed: its rows are what the
-- tables held then. Bookkeeping, not business data: not audited.
CREATE TABLE kpi.refresh (
    view_name    text PRIMARY KEY,
    refreshed_at timestamptz NOT NULL
);
INSERT INTO kpi.refresh (view_name, refreshed_at) VALUES ('mrr_movement_all', now());

-- Recomputes the MRR view while readers keep reading the previous rows
-- (CONCURRENTLY), and records when. SECURITY DEFINER: only the owner may
-- refresh a materialized view, and the application role (the jobs) must.
-- Two calls at once take turns. Returns the time the new rows are as of.
-- +goose StatementBegin
CREATE FUNCTION kpi.refresh_mrr() RETURNS timestamptz
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY kpi.mrr_movement_all;
    UPDATE kpi.refresh SET refreshed_at = started WHERE view_name = 'mrr_movement_all';
    RETURN started;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION kpi.refresh_mrr() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kpi.refresh_mrr() TO messina_app;

-- The schema's default privileges would let the application write here;
-- KPIs are read-only, and the materialized view is read through
-- kpi.mrr_movement only.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA kpi FROM messina_app;
REVOKE ALL ON kpi.mrr_movement_all FROM messina_app;

-- +goose Down
DROP FUNCTION kpi.refresh_mrr();
DROP TABLE kpi.refresh;
DROP VIEW kpi.mrr, kpi.mrr_movement;
DROP MATERIALIZED VIEW kpi.mrr_movement_all;
DROP VIEW kpi.margin, kpi.revenue_line, kpi.invoice_line_credit, kpi.bookings, kpi.booking_line, kpi.sales_credit;
DROP FUNCTION kpi.month_of(date);
