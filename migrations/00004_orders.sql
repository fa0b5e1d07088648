-- +goose Up
-- The order domain (design.md section 3): per-site business rules, legal
-- entities, customers, products, price books, orders, lines, approvals and
-- the order lifecycle. The business rules that must hold whoever writes
-- (the service, a job, or someone with psql) live here, in the database:
-- allowed status transitions, approval thresholds, line edits only in
-- draft, one currency per order, cost snapshots, and rules that never
-- rewrite the past.
--
-- Errors raised by these rules use SQLSTATEs of our own class MS so the Go
-- service can translate them without parsing messages:
--   MS001 invalid status transition (DETAIL lists the allowed targets)
--   MS002 order not editable in its current status
--   MS003 validation failure (COLUMN names the field)
--   MS004 a rule change would rewrite the past

-- Site rules ----------------------------------------------------------------

CREATE TYPE core.billing_timing AS ENUM ('advance', 'arrears');
CREATE TYPE core.proration_rule AS ENUM ('daily', 'monthly', 'none');
CREATE TYPE core.cancellation_policy AS ENUM ('end_of_term', 'end_of_notice', 'immediate_with_fee');
CREATE TYPE core.rounding_mode AS ENUM ('half_up', 'half_even');

-- One row per site and date from which a set of rules applies. A row is
-- the complete rule set, not a delta, so "the rules in force at D" is one
-- row: the latest effective_from <= D.
CREATE TABLE core.site_setting (
    site_id                   text NOT NULL REFERENCES core.site (id),
    effective_from            date NOT NULL,
    billing_timing            core.billing_timing NOT NULL,
    proration                 core.proration_rule NOT NULL,
    default_renewal_months    integer NOT NULL CHECK (default_renewal_months > 0),
    notice_days               integer NOT NULL CHECK (notice_days >= 0),
    cancellation_policy       core.cancellation_policy NOT NULL,
    -- Placeholders: {prefix} (legal entity), {yyyy}, {seq:N} (zero-padded).
    invoice_number_format     text NOT NULL CHECK (invoice_number_format LIKE '%{seq%'),
    -- Standard VAT/sales tax rate as a fraction (0.2000 = 20 %).
    tax_rate                  numeric(6, 4) NOT NULL CHECK (tax_rate >= 0 AND tax_rate < 1),
    -- Whether B2B customers with a VAT id of another country are invoiced
    -- under reverse charge (no tax on the invoice).
    reverse_charge            boolean NOT NULL,
    rounding                  core.rounding_mode NOT NULL,
    rounding_scale            smallint NOT NULL DEFAULT 2 CHECK (rounding_scale BETWEEN 0 AND 4),
    currency                  char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    timezone                  text NOT NULL CHECK (timezone <> ''),
    -- Approval is required when an order's total value exceeds this amount
    -- (in the order's currency) ...
    approval_amount_threshold numeric(14, 2) NOT NULL CHECK (approval_amount_threshold >= 0),
    -- ... or when its margin % is below this.
    approval_min_margin_pct   numeric(5, 2) NOT NULL CHECK (approval_min_margin_pct BETWEEN -100 AND 100),
    created_at                timestamptz NOT NULL DEFAULT now(),
    created_by                text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    PRIMARY KEY (site_id, effective_from)
);
SELECT core.isolate_by_site('core.site_setting');

-- A rule change never rewrites the past: rows already in force (effective
-- today or earlier) cannot be changed or deleted, and a new row may not take
-- effect before today, except to fill history before the site's first rule
-- (loading a site's past rules, oldest last).
-- +goose StatementBegin
CREATE FUNCTION core.site_setting_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    today date;
BEGIN
    SELECT (now() AT TIME ZONE s.timezone)::date INTO today FROM core.site s
     WHERE s.id = coalesce(NEW.site_id, OLD.site_id);
    today := coalesce(today, current_date);
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.effective_from <= today THEN
        RAISE EXCEPTION 'site rule of % effective % is in force and cannot be changed; add a rule with a later effective_from', OLD.site_id, OLD.effective_from
            USING ERRCODE = 'MS004', COLUMN = 'effective_from';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.effective_from < today
       AND EXISTS (SELECT FROM core.site_setting x
                    WHERE x.site_id = NEW.site_id AND x.effective_from <= NEW.effective_from) THEN
        RAISE EXCEPTION 'a rule for % effective % would rewrite the past (today is %)', NEW.site_id, NEW.effective_from, today
            USING ERRCODE = 'MS004', COLUMN = 'effective_from';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER site_setting_guard BEFORE INSERT OR UPDATE OR DELETE ON core.site_setting
    FOR EACH ROW EXECUTE FUNCTION core.site_setting_guard();

-- The rules of site in force at date at; no row when none was defined yet.
-- SECURITY INVOKER (the default), so row-level security applies.
CREATE FUNCTION core.site_rules(site text, on_date date) RETURNS SETOF core.site_setting
    LANGUAGE sql STABLE
    AS $$
        SELECT * FROM core.site_setting s
         WHERE s.site_id = site AND s.effective_from <= on_date
         ORDER BY s.effective_from DESC
         LIMIT 1
    $$;

-- The current date in a site's timezone: billing and rule dates are local.
-- PL/pgSQL, not SQL: a SQL function with a subquery cannot be inlined, and
-- each call site would plan its body again in every statement (once per
-- row in a trigger); PL/pgSQL keeps its plan for the session.
-- +goose StatementBegin
CREATE FUNCTION core.site_today(site text) RETURNS date
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    local_date date;
BEGIN
    SELECT (now() AT TIME ZONE s.timezone)::date INTO local_date FROM core.site s WHERE s.id = site;
    RETURN coalesce(local_date, current_date);
END
$$;
-- +goose StatementEnd

-- Legal entities, customers, products ----------------------------------------

CREATE TABLE core.legal_entity (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id        text NOT NULL REFERENCES core.site (id),
    name           text NOT NULL CHECK (name <> ''),
    vat_id         text NOT NULL CHECK (vat_id ~ '^[A-Z0-9]{4,20}$'),
    -- Prefix of this entity's invoice numbers; numbers are per entity.
    invoice_prefix text NOT NULL UNIQUE CHECK (invoice_prefix ~ '^[A-Z0-9]{1,10}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1,
    UNIQUE (site_id, name),
    -- Target of composite foreign keys that keep an order's entity in its site.
    UNIQUE (id, site_id)
);
SELECT core.isolate_by_site('core.legal_entity');

CREATE TABLE core.customer (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id            text NOT NULL REFERENCES core.site (id),
    name               text NOT NULL CHECK (name <> ''),
    vat_id             text CHECK (vat_id ~ '^[A-Z0-9]{4,20}$'),
    currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    language           text NOT NULL CHECK (language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    timezone           text NOT NULL CHECK (timezone <> ''),
    payment_terms_days integer NOT NULL DEFAULT 30 CHECK (payment_terms_days BETWEEN 0 AND 365),
    po_required        boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1,
    UNIQUE (id, site_id)
);
CREATE INDEX customer_site_name ON core.customer (site_id, name, id);
SELECT core.isolate_by_site('core.customer');

CREATE TYPE core.product_kind AS ENUM ('one_off', 'recurring');
CREATE TYPE core.billing_frequency AS ENUM ('monthly', 'quarterly', 'semiannual', 'annual');

-- Months in one billing period; IMMUTABLE so generated columns may use it.
CREATE FUNCTION core.frequency_months(f core.billing_frequency) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT CASE f WHEN 'monthly' THEN 1 WHEN 'quarterly' THEN 3 WHEN 'semiannual' THEN 6 WHEN 'annual' THEN 12 END
    $$;

-- The catalogue is shared by all sites; what differs per site is the price.
CREATE TABLE core.product (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sku                 text NOT NULL UNIQUE CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{1,39}$'),
    name                text NOT NULL CHECK (name <> ''),
    kind                core.product_kind NOT NULL,
    -- Defaults for order lines of recurring products.
    billing_frequency   core.billing_frequency,
    default_term_months integer,
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1,
    CONSTRAINT product_recurring_check CHECK (
        (kind = 'one_off' AND billing_frequency IS NULL AND default_term_months IS NULL)
        OR (kind = 'recurring' AND billing_frequency IS NOT NULL AND default_term_months > 0
            AND default_term_months % core.frequency_months(billing_frequency) = 0))
);

-- Price books and prices ---------------------------------------------------

-- A standard book (customer_id NULL) per site and currency holds the
-- catalogue price and our cost; a customer book holds only the products
-- whose price is negotiated for that customer, so overrides never copy the
-- catalogue.
CREATE TABLE core.price_book (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id     text NOT NULL REFERENCES core.site (id),
    name        text NOT NULL CHECK (name <> ''),
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    customer_id uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, site_id),
    FOREIGN KEY (customer_id, site_id) REFERENCES core.customer (id, site_id)
);
CREATE UNIQUE INDEX price_book_standard ON core.price_book (site_id, currency) WHERE customer_id IS NULL;
CREATE UNIQUE INDEX price_book_customer ON core.price_book (customer_id, currency) WHERE customer_id IS NOT NULL;
SELECT core.isolate_by_site('core.price_book');

-- A price applies from effective_from until the next row of the same book
-- and product; a price change is a new row, so past orders keep theirs.
CREATE TABLE core.price (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    price_book_id  uuid NOT NULL,
    site_id        text NOT NULL,
    product_id     uuid NOT NULL REFERENCES core.product (id),
    effective_from date NOT NULL,
    unit_price     numeric(14, 4) NOT NULL CHECK (unit_price >= 0),
    -- Our cost. Required in standard books; in a customer book NULL means
    -- "the standard cost".
    unit_cost      numeric(14, 4) CHECK (unit_cost >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (price_book_id, product_id, effective_from),
    FOREIGN KEY (price_book_id, site_id) REFERENCES core.price_book (id, site_id)
);
CREATE INDEX price_product ON core.price (product_id, price_book_id, effective_from DESC);
SELECT core.isolate_by_site('core.price');

-- +goose StatementBegin
CREATE FUNCTION core.price_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.unit_cost IS NULL AND EXISTS (SELECT FROM core.price_book b WHERE b.id = NEW.price_book_id AND b.customer_id IS NULL) THEN
        RAISE EXCEPTION 'a standard price book needs the unit cost' USING ERRCODE = 'MS003', COLUMN = 'unit_cost';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER price_guard BEFORE INSERT OR UPDATE ON core.price
    FOR EACH ROW EXECUTE FUNCTION core.price_guard();

-- The price and cost of product for customer in currency at date at: the
-- customer's own price when one is in force, else the site's standard price;
-- the cost is the customer row's when set, else the standard cost. No row
-- when neither book prices the product. Row-level security applies.
-- At most one standard book per site and currency, and one book per
-- customer and currency, can match: each lookup finds its book by a unique
-- index, then the latest price of the product in that book by price_product,
-- without sorting.
CREATE FUNCTION core.price_at(site text, customer uuid, product uuid, currency text, on_date date)
    RETURNS TABLE (unit_price numeric, unit_cost numeric, price_id uuid, source text)
    LANGUAGE sql STABLE
    AS $$
        WITH std AS (
            SELECT p.id, p.unit_price, p.unit_cost FROM core.price_book b
             CROSS JOIN LATERAL (
                   SELECT p.id, p.unit_price, p.unit_cost FROM core.price p
                    WHERE p.price_book_id = b.id AND p.product_id = product AND p.effective_from <= on_date
                    ORDER BY p.effective_from DESC LIMIT 1) p
             WHERE b.site_id = site AND b.customer_id IS NULL AND b.currency = price_at.currency
        ), cust AS (
            SELECT p.id, p.unit_price, p.unit_cost FROM core.price_book b
             CROSS JOIN LATERAL (
                   SELECT p.id, p.unit_price, p.unit_cost FROM core.price p
                    WHERE p.price_book_id = b.id AND p.product_id = product AND p.effective_from <= on_date
                    ORDER BY p.effective_from DESC LIMIT 1) p
             WHERE b.customer_id = customer AND b.currency = price_at.currency AND b.site_id = site
        )
        SELECT coalesce(c.unit_price, s.unit_price), coalesce(c.unit_cost, s.unit_cost),
               coalesce(c.id, s.id), CASE WHEN c.id IS NOT NULL THEN 'customer' ELSE 'standard' END
          FROM (SELECT) one
          LEFT JOIN std s ON true
          LEFT JOIN cust c ON true
         WHERE s.id IS NOT NULL OR c.id IS NOT NULL
    $$;

-- Orders -------------------------------------------------------------------

-- A version 7 UUID (RFC 9562): 48 bits of Unix time in milliseconds, then
-- random bits, so keys made of it grow with time. Orders and lines are
-- written at a high rate: with these keys their B-tree inserts go to the
-- right edge, a page in cache, rather than to a random page that must be
-- read, split and logged (a random key costs several times the WAL).
CREATE FUNCTION core.uuid7() RETURNS uuid
    LANGUAGE sql VOLATILE PARALLEL SAFE
    AS $$
        SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                   PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                   FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
    $$;

CREATE TYPE orders.order_status AS ENUM (
    'draft', 'submitted', 'approved', 'booked', 'provisioning', 'completed', 'rejected', 'cancelled');

-- The allowed status transitions; the order trigger refuses any other.
CREATE TABLE orders.status_transition (
    from_status     orders.order_status NOT NULL,
    to_status       orders.order_status NOT NULL,
    reason_required boolean NOT NULL DEFAULT false,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO orders.status_transition (from_status, to_status, reason_required) VALUES
    ('draft', 'submitted', false),
    ('draft', 'cancelled', true),
    ('submitted', 'approved', false),
    ('submitted', 'rejected', true),
    ('submitted', 'cancelled', true),
    ('approved', 'booked', false),
    ('approved', 'cancelled', true),
    ('booked', 'provisioning', false),
    ('booked', 'cancelled', true),
    ('provisioning', 'completed', false),
    ('provisioning', 'cancelled', true);
-- The table is policy, changed by migrations only.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON orders.status_transition FROM messina_app;

CREATE SEQUENCE orders.order_number_seq;

CREATE TABLE orders."order" (
    id                uuid PRIMARY KEY DEFAULT core.uuid7(),
    -- Human reference, e.g. UK-0000123.
    number            text NOT NULL UNIQUE,
    -- No foreign key of its own: the legal entity and the customer keys
    -- below include site_id, and they reference rows whose site exists, so
    -- a separate check would only lock the site's row, shared by every
    -- order of the site, once more per order.
    site_id           text NOT NULL,
    legal_entity_id   uuid NOT NULL,
    customer_id       uuid NOT NULL,
    salesperson       text NOT NULL CHECK (salesperson <> ''),
    currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    po_number         text CHECK (po_number <> ''),
    notes             text NOT NULL DEFAULT '',
    order_date        date NOT NULL,
    status            orders.order_status NOT NULL DEFAULT 'draft',
    -- Why the order reached its status (required for reject and cancel).
    -- Maintained by the trigger from transition_reason.
    status_reason     text,
    -- Input only: the reason of the status change made by the same UPDATE.
    -- The trigger moves it to status_reason and resets it, so at rest it is
    -- always NULL and an UPDATE that does not set it gives no reason.
    transition_reason text,
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    status_changed_by text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    -- Decided at submit from the site rules in force that day.
    approval_required boolean,
    approval_reason   text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- Optimistic locking: bumped by the trigger on every update, including
    -- changes to the order's lines.
    version           integer NOT NULL DEFAULT 1,
    UNIQUE (id, site_id),
    FOREIGN KEY (legal_entity_id, site_id) REFERENCES core.legal_entity (id, site_id),
    FOREIGN KEY (customer_id, site_id) REFERENCES core.customer (id, site_id)
);
CREATE INDEX order_created ON orders."order" (created_at DESC, id DESC);
CREATE INDEX order_customer ON orders."order" (customer_id, created_at DESC, id DESC);
CREATE INDEX order_status ON orders."order" (status, created_at DESC, id DESC);
CREATE INDEX order_salesperson ON orders."order" (salesperson, created_at DESC, id DESC);
CREATE INDEX order_site_date ON orders."order" (site_id, order_date);
SELECT core.isolate_by_site('orders."order"');

CREATE TABLE orders.order_line (
    id                uuid PRIMARY KEY DEFAULT core.uuid7(),
    order_id          uuid NOT NULL,
    site_id           text NOT NULL,
    line_no           integer NOT NULL CHECK (line_no > 0),
    product_id        uuid NOT NULL REFERENCES core.product (id),
    description       text NOT NULL DEFAULT '',
    kind              core.product_kind NOT NULL,
    billing_frequency core.billing_frequency,
    term_months       integer,
    quantity          numeric(12, 3) NOT NULL CONSTRAINT order_line_quantity_check CHECK (quantity > 0),
    unit_price        numeric(14, 4) NOT NULL CONSTRAINT order_line_unit_price_check CHECK (unit_price >= 0),
    -- Snapshot of our cost when the line was added (trigger), so later cost
    -- changes do not rewrite this order's margin.
    unit_cost         numeric(14, 4) NOT NULL CONSTRAINT order_line_unit_cost_check CHECK (unit_cost >= 0),
    discount_pct      numeric(5, 2) NOT NULL DEFAULT 0 CONSTRAINT order_line_discount_pct_check CHECK (discount_pct >= 0 AND discount_pct <= 100),
    currency          char(3) NOT NULL,
    -- The price row the unit price and cost came from, if any.
    price_id          uuid REFERENCES core.price (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- Prices and costs of recurring products are per month, whatever the
    -- billing frequency, which only sets how often we invoice: a line's
    -- value does not change when a customer pays yearly instead of monthly.
    -- Billing periods (invoices) in the term; 1 for one-off.
    periods           integer GENERATED ALWAYS AS (
                          CASE WHEN kind = 'recurring' THEN term_months / core.frequency_months(billing_frequency) ELSE 1 END) STORED,
    -- Net amount per month (recurring) or in all (one-off), rounded to cents.
    net_amount        numeric(16, 2) GENERATED ALWAYS AS (round(quantity * unit_price * (1 - discount_pct / 100), 2)) STORED,
    -- Cost per month (recurring) or in all (one-off).
    cost_amount       numeric(16, 2) GENERATED ALWAYS AS (round(quantity * unit_cost, 2)) STORED,
    -- Value and cost over the whole term.
    line_value        numeric(18, 2) GENERATED ALWAYS AS (
                          round(quantity * unit_price * (1 - discount_pct / 100), 2) * coalesce(term_months, 1)) STORED,
    line_cost         numeric(18, 2) GENERATED ALWAYS AS (round(quantity * unit_cost, 2) * coalesce(term_months, 1)) STORED,
    CONSTRAINT order_line_term_check CHECK (
        (kind = 'one_off' AND billing_frequency IS NULL AND term_months IS NULL)
        OR (kind = 'recurring' AND billing_frequency IS NOT NULL AND term_months > 0
            AND term_months % core.frequency_months(billing_frequency) = 0)),
    UNIQUE (order_id, line_no),
    UNIQUE (id, site_id),
    FOREIGN KEY (order_id, site_id) REFERENCES orders."order" (id, site_id)
);
SELECT core.isolate_by_site('orders.order_line');

-- Sales credit of a line shared with other salespeople; the rest of 100 %
-- goes to the order's salesperson.
CREATE TABLE orders.order_line_split (
    line_id     uuid NOT NULL,
    site_id     text NOT NULL,
    salesperson text NOT NULL CHECK (salesperson <> ''),
    share_pct   numeric(5, 2) NOT NULL CONSTRAINT order_line_split_share_pct_check CHECK (share_pct > 0 AND share_pct <= 100),
    PRIMARY KEY (line_id, salesperson),
    FOREIGN KEY (line_id, site_id) REFERENCES orders.order_line (id, site_id) ON DELETE CASCADE
);
SELECT core.isolate_by_site('orders.order_line_split');

-- Who decided on an order's approval and why; 'auto' rows record that the
-- order was under the site's thresholds.
CREATE TYPE orders.approval_decision AS ENUM ('auto', 'approved', 'rejected');
CREATE TABLE orders.approval (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   uuid NOT NULL,
    site_id    text NOT NULL,
    decision   orders.approval_decision NOT NULL,
    decided_by text NOT NULL,
    reason     text,
    decided_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (order_id, site_id) REFERENCES orders."order" (id, site_id)
);
CREATE INDEX approval_order ON orders.approval (order_id, id);
SELECT core.isolate_by_site('orders.approval');

-- Every status change: who, when, why. Append-only, written by the trigger.
CREATE TABLE orders.order_transition (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    uuid NOT NULL,
    site_id     text NOT NULL,
    from_status orders.order_status NOT NULL,
    to_status   orders.order_status NOT NULL,
    actor       text NOT NULL,
    reason      text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (order_id, site_id) REFERENCES orders."order" (id, site_id)
);
CREATE INDEX order_transition_order ON orders.order_transition (order_id, id);
SELECT core.isolate_by_site('orders.order_transition');
REVOKE UPDATE, DELETE, TRUNCATE ON orders.order_transition, orders.approval FROM messina_app;

-- Order totals in the order's currency. The lines are aggregated per order
-- in a LATERAL subquery, so a query for a page of orders sums only their
-- lines (a GROUP BY view would sum every order before the join).
-- security_invoker so row-level security of the caller applies.
CREATE VIEW orders.order_total WITH (security_invoker = true) AS
SELECT o.id AS order_id,
       o.site_id,
       o.currency,
       t.line_count,
       t.one_off_amount,
       t.mrr,
       t.total_value,
       t.total_cost,
       (t.total_value - t.total_cost)::numeric(18, 2) AS margin
  FROM orders."order" o
 CROSS JOIN LATERAL (
       SELECT count(*)::integer AS line_count,
              coalesce(sum(l.net_amount) FILTER (WHERE l.kind = 'one_off'), 0)::numeric(16, 2) AS one_off_amount,
              coalesce(sum(l.net_amount) FILTER (WHERE l.kind = 'recurring'), 0)::numeric(16, 2) AS mrr,
              coalesce(sum(l.line_value), 0)::numeric(18, 2) AS total_value,
              coalesce(sum(l.line_cost), 0)::numeric(18, 2) AS total_cost
         FROM orders.order_line l
        WHERE l.order_id = o.id) t;

-- Margin as a percentage of value, rounded to 2 places; NULL for no value.
-- The Go service computes the same (orders.marginPct).
CREATE FUNCTION orders.margin_pct(margin numeric, value numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN value > 0 THEN round(margin / value * 100, 2) END $$;

-- +goose StatementBegin
CREATE FUNCTION orders.order_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'draft' THEN
        RAISE EXCEPTION 'an order starts as draft, not %', NEW.status
            USING ERRCODE = 'MS001', DETAIL = 'draft';
    END IF;
    IF NEW.number IS NULL THEN
        NEW.number := NEW.site_id || '-' || lpad(nextval('orders.order_number_seq')::text, 7, '0');
    END IF;
    IF NEW.order_date IS NULL THEN
        NEW.order_date := core.site_today(NEW.site_id);
    END IF;
    NEW.status_changed_by := coalesce(nullif(current_setting('messina.actor', true), ''), session_user);
    NEW.created_by := NEW.status_changed_by;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER order_before_insert BEFORE INSERT ON orders."order"
    FOR EACH ROW EXECUTE FUNCTION orders.order_before_insert();

-- Enforces the lifecycle and header rules on every UPDATE, however issued.
-- A status change must be in orders.status_transition; its reason is the
-- transition_reason set by the same UPDATE. Submitting checks the order is complete and decides
-- whether approval is needed; an order under the site's thresholds is
-- approved on the spot.
-- +goose StatementBegin
CREATE FUNCTION orders.order_before_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    rule      orders.status_transition;
    allowed   text;
    actor     text := coalesce(nullif(current_setting('messina.actor', true), ''), session_user);
    rules     core.site_setting;
    totals    orders.order_total;
    pct       numeric;
    po_needed boolean;
    reason    text;
BEGIN
    IF NEW.id <> OLD.id OR NEW.site_id <> OLD.site_id OR NEW.currency <> OLD.currency
       OR NEW.number <> OLD.number OR NEW.created_at <> OLD.created_at OR NEW.created_by <> OLD.created_by THEN
        RAISE EXCEPTION 'id, number, site, currency and creation of an order cannot change'
            USING ERRCODE = 'MS002';
    END IF;
    IF OLD.status <> 'draft' AND (NEW.customer_id <> OLD.customer_id OR NEW.legal_entity_id <> OLD.legal_entity_id
                                  OR NEW.order_date <> OLD.order_date) THEN
        RAISE EXCEPTION 'customer, legal entity and order date can change only in draft (order is %)', OLD.status
            USING ERRCODE = 'MS002';
    END IF;
    IF OLD.status IN ('completed', 'rejected', 'cancelled') AND NEW.status = OLD.status
       AND (NEW.salesperson <> OLD.salesperson OR NEW.po_number IS DISTINCT FROM OLD.po_number OR NEW.notes <> OLD.notes) THEN
        RAISE EXCEPTION 'a % order cannot change', OLD.status USING ERRCODE = 'MS002';
    END IF;

    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    reason := nullif(btrim(NEW.transition_reason), '');
    NEW.transition_reason := NULL;

    IF NEW.status = OLD.status THEN
        NEW.status_reason := OLD.status_reason;
        NEW.status_changed_at := OLD.status_changed_at;
        NEW.status_changed_by := OLD.status_changed_by;
        NEW.approval_required := OLD.approval_required;
        NEW.approval_reason := OLD.approval_reason;
        RETURN NEW;
    END IF;

    SELECT * INTO rule FROM orders.status_transition t WHERE t.from_status = OLD.status AND t.to_status = NEW.status;
    IF NOT FOUND THEN
        SELECT string_agg(t.to_status::text, ',' ORDER BY t.to_status) INTO allowed
          FROM orders.status_transition t WHERE t.from_status = OLD.status;
        RAISE EXCEPTION 'order % cannot go from % to %', OLD.number, OLD.status, NEW.status
            USING ERRCODE = 'MS001', DETAIL = coalesce(allowed, '');
    END IF;
    NEW.status_reason := reason;
    IF rule.reason_required AND reason IS NULL THEN
        RAISE EXCEPTION 'going from % to % needs a reason', OLD.status, NEW.status
            USING ERRCODE = 'MS003', COLUMN = 'reason';
    END IF;
    NEW.status_changed_at := clock_timestamp();
    NEW.status_changed_by := actor;
    NEW.approval_required := OLD.approval_required;
    NEW.approval_reason := OLD.approval_reason;

    IF OLD.status = 'draft' AND NEW.status = 'submitted' THEN
        SELECT * INTO totals FROM orders.order_total t WHERE t.order_id = NEW.id;
        IF totals.line_count = 0 THEN
            RAISE EXCEPTION 'an order needs at least one line to be submitted'
                USING ERRCODE = 'MS003', COLUMN = 'lines';
        END IF;
        SELECT c.po_required INTO po_needed FROM core.customer c WHERE c.id = NEW.customer_id;
        IF po_needed AND NEW.po_number IS NULL THEN
            RAISE EXCEPTION 'customer requires a PO number'
                USING ERRCODE = 'MS003', COLUMN = 'po_number';
        END IF;
        SELECT * INTO rules FROM core.site_rules(NEW.site_id, core.site_today(NEW.site_id));
        pct := orders.margin_pct(totals.margin, totals.total_value);
        IF rules.site_id IS NULL THEN
            NEW.approval_required := true;
            NEW.approval_reason := 'no site rules in force';
        ELSIF totals.total_value > rules.approval_amount_threshold THEN
            NEW.approval_required := true;
            NEW.approval_reason := format('total value %s exceeds %s', totals.total_value, rules.approval_amount_threshold);
        ELSIF pct IS NULL OR pct < rules.approval_min_margin_pct THEN
            NEW.approval_required := true;
            NEW.approval_reason := format('margin %s%% below %s%%', coalesce(pct::text, 'n/a'), rules.approval_min_margin_pct);
        ELSE
            NEW.approval_required := false;
            NEW.approval_reason := format('total value %s within %s and margin %s%% at least %s%%',
                totals.total_value, rules.approval_amount_threshold, pct, rules.approval_min_margin_pct);
            NEW.status := 'approved';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER order_before_update BEFORE UPDATE ON orders."order"
    FOR EACH ROW EXECUTE FUNCTION orders.order_before_update();

-- Records each status change (two for an automatic approval at submit) and
-- the approval decisions.
-- +goose StatementBegin
CREATE FUNCTION orders.order_after_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    IF OLD.status = 'draft' AND NEW.status = 'approved' THEN
        INSERT INTO orders.order_transition (order_id, site_id, from_status, to_status, actor, reason)
        VALUES (NEW.id, NEW.site_id, 'draft', 'submitted', NEW.status_changed_by, NEW.status_reason),
               (NEW.id, NEW.site_id, 'submitted', 'approved', 'system:approval-rules', NEW.approval_reason);
        INSERT INTO orders.approval (order_id, site_id, decision, decided_by, reason)
        VALUES (NEW.id, NEW.site_id, 'auto', 'system:approval-rules', NEW.approval_reason);
        RETURN NULL;
    END IF;
    INSERT INTO orders.order_transition (order_id, site_id, from_status, to_status, actor, reason)
    VALUES (NEW.id, NEW.site_id, OLD.status, NEW.status, NEW.status_changed_by, NEW.status_reason);
    IF OLD.status = 'submitted' AND NEW.status IN ('approved', 'rejected') THEN
        INSERT INTO orders.approval (order_id, site_id, decision, decided_by, reason)
        VALUES (NEW.id, NEW.site_id, NEW.status::text::orders.approval_decision, NEW.status_changed_by, NEW.status_reason);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER order_after_update AFTER UPDATE ON orders."order"
    FOR EACH ROW EXECUTE FUNCTION orders.order_after_update();

-- Lines change only while their order is a draft, in the order's currency
-- and site. A new line takes its product's kind and defaults, its price
-- unless one is given, and always the cost in force today (the snapshot).
-- Any line change bumps the order's version once per transaction.
-- The order (locked), the product, the site's date and the price in force
-- are read by one query per line, so a multi-row INSERT of an order's lines
-- costs one lookup per line and one order update per transaction.
-- +goose StatementBegin
CREATE FUNCTION orders.order_line_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    order_ref  uuid := coalesce(NEW.order_id, OLD.order_id);
    o          record;
    repriced   boolean := TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.product_id <> OLD.product_id);
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT x.id, x.number, x.status, x.updated_at INTO o
          FROM orders."order" x WHERE x.id = order_ref FOR UPDATE;
    ELSE
        SELECT x.id, x.number, x.status, x.updated_at, x.site_id, x.currency, x.customer_id,
               p.id AS product_id, p.sku, p.name, p.kind, p.active, p.billing_frequency, p.default_term_months,
               d.today, pr.unit_price, pr.unit_cost, pr.price_id
          INTO o
          FROM orders."order" x
          -- core.site_today, written out so that it is computed once.
          LEFT JOIN core.site s ON s.id = x.site_id
         CROSS JOIN LATERAL (SELECT coalesce((now() AT TIME ZONE s.timezone)::date, current_date) AS today) d
          LEFT JOIN core.product p ON p.id = NEW.product_id
          LEFT JOIN LATERAL (
                SELECT * FROM core.price_at(x.site_id, x.customer_id, NEW.product_id, x.currency, d.today)
                 WHERE repriced) pr ON true
         WHERE x.id = order_ref
           FOR UPDATE OF x;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'order % not found', order_ref
            USING ERRCODE = '23503', COLUMN = 'order_id';
    END IF;
    IF o.status <> 'draft' THEN
        RAISE EXCEPTION 'lines of order % can change only in draft (order is %)', o.number, o.status
            USING ERRCODE = 'MS002';
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF o.updated_at <> now() THEN
            UPDATE orders."order" SET updated_at = now() WHERE id = o.id;
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.order_id <> OLD.order_id OR NEW.line_no <> OLD.line_no) THEN
        RAISE EXCEPTION 'a line cannot move' USING ERRCODE = 'MS002';
    END IF;
    NEW.site_id := o.site_id;
    IF NEW.currency IS NULL THEN
        NEW.currency := o.currency;
    ELSIF NEW.currency <> o.currency THEN
        RAISE EXCEPTION 'line currency % differs from order currency %', NEW.currency, o.currency
            USING ERRCODE = 'MS003', COLUMN = 'currency';
    END IF;
    IF o.product_id IS NULL THEN
        RAISE EXCEPTION 'product % not found', NEW.product_id USING ERRCODE = 'MS003', COLUMN = 'product_id';
    END IF;
    IF TG_OP = 'INSERT' AND NOT o.active THEN
        RAISE EXCEPTION 'product % is not sold any more', o.sku USING ERRCODE = 'MS003', COLUMN = 'product_id';
    END IF;
    NEW.kind := o.kind;
    IF o.kind = 'recurring' THEN
        NEW.billing_frequency := coalesce(NEW.billing_frequency, o.billing_frequency);
        NEW.term_months := coalesce(NEW.term_months, o.default_term_months);
    ELSE
        IF NEW.billing_frequency IS NOT NULL OR NEW.term_months IS NOT NULL THEN
            RAISE EXCEPTION 'one-off product % has no billing frequency or term', o.sku
                USING ERRCODE = 'MS003', COLUMN = 'term_months';
        END IF;
    END IF;
    IF NEW.description = '' THEN
        NEW.description := o.name;
    END IF;
    IF repriced THEN
        IF o.unit_cost IS NULL THEN
            RAISE EXCEPTION 'product % has no price and cost in % at site % on %', o.sku, o.currency, o.site_id, o.today
                USING ERRCODE = 'MS003', COLUMN = 'product_id';
        END IF;
        NEW.unit_cost := o.unit_cost;
        NEW.price_id := o.price_id;
        IF NEW.unit_price IS NULL THEN
            NEW.unit_price := o.unit_price;
        END IF;
    ELSE
        NEW.unit_cost := OLD.unit_cost;
        NEW.price_id := OLD.price_id;
    END IF;
    IF NEW.line_no IS NULL THEN
        SELECT coalesce(max(line_no), 0) + 1 INTO NEW.line_no FROM orders.order_line WHERE order_id = o.id;
    END IF;
    -- The version bump: the first line change of a transaction updates the
    -- order (whose trigger bumps version), later ones find it done.
    IF o.updated_at <> now() THEN
        UPDATE orders."order" SET updated_at = now() WHERE id = o.id;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER order_line_guard BEFORE INSERT OR UPDATE OR DELETE ON orders.order_line
    FOR EACH ROW EXECUTE FUNCTION orders.order_line_guard();

-- Splits change with their line, only in draft, and never above 100 %.
-- +goose StatementBegin
CREATE FUNCTION orders.order_line_split_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    st    orders.order_status;
    total numeric;
BEGIN
    SELECT o.status INTO st FROM orders.order_line l JOIN orders."order" o ON o.id = l.order_id
     WHERE l.id = coalesce(NEW.line_id, OLD.line_id);
    IF st IS NOT NULL AND st <> 'draft' THEN
        RAISE EXCEPTION 'salesperson splits can change only in draft' USING ERRCODE = 'MS002';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    SELECT coalesce(sum(share_pct), 0) INTO total FROM orders.order_line_split
     WHERE line_id = NEW.line_id AND salesperson <> NEW.salesperson;
    IF total + NEW.share_pct > 100 THEN
        RAISE EXCEPTION 'salesperson shares of a line exceed 100%%' USING ERRCODE = 'MS003', COLUMN = 'splits';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER order_line_split_guard BEFORE INSERT OR UPDATE OR DELETE ON orders.order_line_split
    FOR EACH ROW EXECUTE FUNCTION orders.order_line_split_guard();

-- +goose Down
DROP VIEW orders.order_total;
DROP TABLE orders.order_transition, orders.approval, orders.order_line_split, orders.order_line, orders."order", orders.status_transition;
DROP SEQUENCE orders.order_number_seq;
DROP FUNCTION orders.order_before_insert(), orders.order_before_update(), orders.order_after_update(),
    orders.order_line_guard(), orders.order_line_split_guard(), orders.margin_pct(numeric, numeric);
DROP TYPE orders.approval_decision, orders.order_status;
DROP FUNCTION core.uuid7(), core.price_at(text, uuid, uuid, text, date), core.site_rules(text, date), core.site_today(text);
DROP TABLE core.price, core.price_book, core.product, core.customer, core.legal_entity, core.site_setting;
DROP FUNCTION core.price_guard(), core.frequency_months(core.billing_frequency), core.site_setting_guard();
DROP TYPE core.billing_frequency, core.product_kind, core.rounding_mode, core.cancellation_policy,
    core.proration_rule, core.billing_timing;
