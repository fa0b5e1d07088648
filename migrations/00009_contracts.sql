-- +goose Up
-- Contracts, renewals, cancellations and invoicing (design.md section 3,
-- issue 8). Everything that touches many rows (renewals, invoice runs) is
-- set-based SQL inside PostgreSQL; the Go package contracts only calls
-- these functions.
--
-- Conventions of this file:
--   * Billing periods are calendar-aligned: monthly periods start on the
--     1st, quarterly on Jan/Apr/Jul/Oct 1st, semiannual on Jan/Jul 1st,
--     annual on Jan 1st. A service that starts or ends inside a period is
--     billed for its part of the period, prorated by the site's day-count
--     rule (core.site_setting.proration):
--       daily   actual days used / actual days of the period
--       monthly 30E/360: every month counts 30 days
--       none    a partial period is billed in full (and never credited)
--   * Prices and costs of contract lines are per month (as on order lines);
--     a period's amount is monthly net x months of the period x fraction.
--   * Amounts are rounded once, per invoice line, to the site's
--     rounding_scale with the site's rounding mode; totals are sums of
--     rounded lines, tax is computed and rounded per line.
--   * A contract's term is [term_start, term_end]; billing never runs past
--     term_end, so run contracts.process_renewals before an invoice run of
--     the same date (renewed terms carry the uplifted price).
--
-- SQLSTATEs of our class MS raised here (00004 uses MS001-MS004):
--   MS010 the contract, run or document is not in a state that allows it
--   MS011 a posted invoice, its lines and credit notes are immutable
--   MS003 validation failure (COLUMN names the field), as in 00004
--   P0002 the contract, order, run or invoice does not exist (or is not
--         visible: row-level security makes the two the same)

-- Site rule: one contract per order or one per customer ----------------------

CREATE TYPE core.contract_grouping AS ENUM ('per_order', 'per_customer');
ALTER TABLE core.site_setting
    ADD COLUMN contract_grouping core.contract_grouping NOT NULL DEFAULT 'per_order';

-- Contracts ------------------------------------------------------------------

CREATE TYPE contracts.contract_status AS ENUM ('active', 'notice_given', 'cancelled', 'ended');
CREATE TYPE contracts.etf_rule AS ENUM ('none', 'fixed', 'pct', 'remaining');
CREATE TYPE contracts.cancel_policy AS ENUM ('immediate', 'end_of_period', 'end_of_term', 'on_date');

CREATE SEQUENCE contracts.contract_number_seq;

CREATE TABLE contracts.contract (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number              text NOT NULL UNIQUE,
    site_id             text NOT NULL REFERENCES core.site (id),
    customer_id         uuid NOT NULL,
    legal_entity_id     uuid NOT NULL,
    currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The order the contract was made from (the first one, per customer).
    order_id            uuid NOT NULL,
    start_date          date NOT NULL,
    initial_term_months integer NOT NULL CHECK (initial_term_months > 0),
    renewal_term_months integer NOT NULL CHECK (renewal_term_months > 0),
    -- The current term: 1 for the initial term, +1 per renewal.
    term_no             integer NOT NULL DEFAULT 1 CHECK (term_no > 0),
    term_start          date NOT NULL,
    term_end            date NOT NULL,
    auto_renew          boolean NOT NULL DEFAULT true,
    notice_days         integer NOT NULL CHECK (notice_days >= 0),
    -- Price increase applied to every line at each renewal, in percent.
    uplift_pct          numeric(6, 3) NOT NULL DEFAULT 0 CHECK (uplift_pct > -100 AND uplift_pct <= 100),
    -- Least value the customer owes over a term; raises the base of an
    -- early-termination fee when the lines alone would owe less.
    minimum_commitment  numeric(16, 2) NOT NULL DEFAULT 0 CHECK (minimum_commitment >= 0),
    etf_rule            contracts.etf_rule NOT NULL DEFAULT 'none',
    -- The fee for 'fixed', the percentage of the remaining committed value
    -- for 'pct'; unused for 'none' and 'remaining'.
    etf_value           numeric(16, 4) NOT NULL DEFAULT 0 CHECK (etf_value >= 0),
    status              contracts.contract_status NOT NULL DEFAULT 'active',
    -- Last day of service once it is known (notice, cancellation, end).
    end_date            date,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (term_start <= term_end AND start_date <= term_start),
    CHECK (etf_rule <> 'pct' OR etf_value <= 100),
    UNIQUE (id, site_id),
    FOREIGN KEY (customer_id, site_id) REFERENCES core.customer (id, site_id),
    FOREIGN KEY (legal_entity_id, site_id) REFERENCES core.legal_entity (id, site_id),
    FOREIGN KEY (order_id, site_id) REFERENCES orders."order" (id, site_id)
);
CREATE INDEX contract_customer ON contracts.contract (customer_id, legal_entity_id, currency) WHERE status = 'active';
CREATE INDEX contract_renewal ON contracts.contract (term_end) WHERE status IN ('active', 'notice_given');
SELECT core.isolate_by_site('contracts.contract');

CREATE TABLE contracts.contract_line (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contract_id       uuid NOT NULL,
    site_id           text NOT NULL,
    line_no           integer NOT NULL CHECK (line_no > 0),
    -- The recurring order line it came from; unique, so an order is turned
    -- into contract lines once.
    order_line_id     uuid UNIQUE,
    product_id        uuid NOT NULL REFERENCES core.product (id),
    description       text NOT NULL CHECK (description <> ''),
    quantity          numeric(12, 3) NOT NULL CHECK (quantity > 0),
    -- Per month, after discount is applied at billing; uplifted at renewal.
    unit_price        numeric(14, 4) NOT NULL CHECK (unit_price >= 0),
    unit_cost         numeric(14, 4) NOT NULL CHECK (unit_cost >= 0),
    discount_pct      numeric(5, 2) NOT NULL DEFAULT 0 CHECK (discount_pct BETWEEN 0 AND 100),
    billing_frequency core.billing_frequency NOT NULL,
    billing_timing    core.billing_timing NOT NULL,
    start_date        date NOT NULL,
    end_date          date,
    -- Last day invoiced; start_date - 1 until the first invoice.
    billed_through    date NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (contract_id, line_no),
    UNIQUE (id, site_id),
    FOREIGN KEY (contract_id, site_id) REFERENCES contracts.contract (id, site_id)
);
-- Without billed_through, so that moving it (every line, every run) is a
-- HOT update: no index changes, helped by the free space fillfactor leaves.
CREATE INDEX contract_line_site ON contracts.contract_line (site_id);
ALTER TABLE contracts.contract_line SET (fillfactor = 70);
SELECT core.isolate_by_site('contracts.contract_line');

-- Every version of a contract, as it was: written after each change
-- (creation, lines added, terms, notice, cancellation, renewal, end) and
-- never changed.
CREATE TABLE contracts.amendment (
    contract_id    uuid NOT NULL,
    version        integer NOT NULL,
    site_id        text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('created', 'lines_added', 'terms', 'notice', 'cancelled', 'renewed', 'ended')),
    effective_date date NOT NULL,
    -- The contract row and its lines after the change.
    snapshot       jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    PRIMARY KEY (contract_id, version),
    FOREIGN KEY (contract_id, site_id) REFERENCES contracts.contract (id, site_id)
);
SELECT core.isolate_by_site('contracts.amendment');

-- Notices of non-renewal and cancellations as received.
CREATE TABLE contracts.notice (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contract_id    uuid NOT NULL,
    site_id        text NOT NULL,
    policy         contracts.cancel_policy NOT NULL,
    received_on    date NOT NULL,
    requested_end  date,
    -- The last day of service this notice leads to.
    effective_end  date NOT NULL,
    -- For end_of_term: whether it arrived before term_end - notice_days.
    -- A late notice is still recorded; it ends the contract one term later.
    on_time        boolean NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    FOREIGN KEY (contract_id, site_id) REFERENCES contracts.contract (id, site_id)
);
CREATE INDEX notice_contract ON contracts.notice (contract_id, received_on);
SELECT core.isolate_by_site('contracts.notice');

-- One-off charges of a contract billed by the next invoice run: the
-- early-termination fee.
CREATE TABLE contracts.charge (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contract_id uuid NOT NULL,
    site_id     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('etf')),
    description text NOT NULL CHECK (description <> ''),
    amount      numeric(16, 2) NOT NULL CHECK (amount > 0),
    charge_date date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (contract_id, site_id) REFERENCES contracts.contract (id, site_id)
);
CREATE INDEX charge_site ON contracts.charge (site_id, charge_date);
SELECT core.isolate_by_site('contracts.charge');

-- Billing ----------------------------------------------------------------------

CREATE TYPE billing.run_status AS ENUM ('planned', 'previewed', 'approved', 'posted', 'discarded');
CREATE TYPE billing.invoice_status AS ENUM ('draft', 'posted', 'void');
CREATE TYPE billing.series_kind AS ENUM ('invoice', 'credit_note');

CREATE TABLE billing.invoice_run (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id       text NOT NULL REFERENCES core.site (id),
    run_date      date NOT NULL,
    status        billing.run_status NOT NULL DEFAULT 'planned',
    invoice_count integer NOT NULL DEFAULT 0,
    line_count    integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    prepared_at   timestamptz,
    approved_at   timestamptz,
    approved_by   text,
    posted_at     timestamptz,
    discarded_at  timestamptz,
    UNIQUE (id, site_id)
);
SELECT core.isolate_by_site('billing.invoice_run');

-- One counter row per legal entity and kind. Numbers are taken only while
-- this row is locked, in the posting transaction, so they are gap-free:
-- a rollback gives the number back with everything else.
CREATE TABLE billing.number_series (
    legal_entity_id uuid NOT NULL,
    kind            billing.series_kind NOT NULL,
    site_id         text NOT NULL,
    last_seq        bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    -- Chain hash of the last document numbered (NULL before the first).
    last_hash       bytea,
    PRIMARY KEY (legal_entity_id, kind),
    FOREIGN KEY (legal_entity_id, site_id) REFERENCES core.legal_entity (id, site_id)
);
SELECT core.isolate_by_site('billing.number_series');

CREATE TABLE billing.invoice (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id          uuid NOT NULL,
    site_id         text NOT NULL,
    legal_entity_id uuid NOT NULL,
    customer_id     uuid NOT NULL,
    currency        char(3) NOT NULL,
    status          billing.invoice_status NOT NULL DEFAULT 'draft',
    -- Assigned at posting, with seq from the entity's series.
    number          text UNIQUE,
    seq             bigint,
    issue_date      date NOT NULL,
    due_date        date NOT NULL,
    reverse_charge  boolean NOT NULL,
    customer_vat_id text,
    net             numeric(18, 2) NOT NULL DEFAULT 0,
    tax             numeric(18, 2) NOT NULL DEFAULT 0,
    total           numeric(18, 2) NOT NULL DEFAULT 0,
    cost            numeric(18, 2) NOT NULL DEFAULT 0,
    -- sha256 of the posted content; chain_hash = sha256(prev_hash || content_hash).
    content_hash    bytea,
    prev_hash       bytea,
    chain_hash      bytea,
    posted_at       timestamptz,
    voided_at       timestamptz,
    UNIQUE (run_id, customer_id, legal_entity_id, currency),
    UNIQUE (legal_entity_id, seq),
    UNIQUE (id, site_id),
    CHECK ((status = 'draft') = (number IS NULL)),
    FOREIGN KEY (run_id, site_id) REFERENCES billing.invoice_run (id, site_id),
    FOREIGN KEY (customer_id, site_id) REFERENCES core.customer (id, site_id),
    FOREIGN KEY (legal_entity_id, site_id) REFERENCES core.legal_entity (id, site_id)
);
SELECT core.isolate_by_site('billing.invoice');

CREATE TABLE billing.invoice_line (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    invoice_id       uuid NOT NULL,
    site_id          text NOT NULL,
    contract_id      uuid NOT NULL,
    -- Exactly one of: a period of a contract line, or a one-off charge.
    contract_line_id uuid,
    charge_id        uuid,
    description      text NOT NULL,
    -- The service period; a single day for a charge.
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    quantity         numeric(12, 3) NOT NULL,
    -- Monthly unit price of the contract line (the charge amount for a charge).
    unit_price       numeric(14, 4) NOT NULL,
    discount_pct     numeric(5, 2) NOT NULL DEFAULT 0,
    -- Months billed: months of the period x the day-count fraction.
    months           numeric(12, 6) NOT NULL,
    net              numeric(16, 2) NOT NULL,
    tax_rate         numeric(6, 4) NOT NULL,
    tax              numeric(16, 2) NOT NULL,
    -- Cost snapshot of this line (our cost for the same period).
    cost             numeric(16, 2) NOT NULL,
    CHECK (period_start <= period_end),
    CHECK ((contract_line_id IS NULL) <> (charge_id IS NULL)),
    FOREIGN KEY (invoice_id, site_id) REFERENCES billing.invoice (id, site_id),
    FOREIGN KEY (charge_id) REFERENCES contracts.charge (id)
);
-- Billing the same period of a contract line twice is impossible, whatever
-- runs are prepared at once; a charge is billed once. Partial, so the
-- lines of the other kind (NULL there) cost no index entry.
--
-- No foreign key to contracts.contract_line: lines are written only by
-- billing.prepare_run from contract lines, which are never deleted (the
-- application may not, see below), and a run of 100k lines would pay 100k
-- key checks for it.
CREATE UNIQUE INDEX invoice_line_period ON billing.invoice_line (contract_line_id, period_start) WHERE contract_line_id IS NOT NULL;
CREATE UNIQUE INDEX invoice_line_charge ON billing.invoice_line (charge_id) WHERE charge_id IS NOT NULL;
CREATE INDEX invoice_line_invoice ON billing.invoice_line (invoice_id);
CREATE INDEX invoice_line_contract ON billing.invoice_line (contract_id);
SELECT core.isolate_by_site('billing.invoice_line');

CREATE TABLE billing.credit_note (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    invoice_id      uuid NOT NULL,
    site_id         text NOT NULL,
    legal_entity_id uuid NOT NULL,
    customer_id     uuid NOT NULL,
    currency        char(3) NOT NULL,
    number          text NOT NULL UNIQUE,
    seq             bigint NOT NULL,
    issue_date      date NOT NULL,
    reason          text NOT NULL CHECK (reason <> ''),
    net             numeric(18, 2) NOT NULL,
    tax             numeric(18, 2) NOT NULL,
    total           numeric(18, 2) NOT NULL,
    content_hash    bytea NOT NULL,
    prev_hash       bytea,
    chain_hash      bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL DEFAULT coalesce(nullif(current_setting('messina.actor', true), ''), session_user),
    UNIQUE (legal_entity_id, seq),
    UNIQUE (id, site_id),
    FOREIGN KEY (invoice_id, site_id) REFERENCES billing.invoice (id, site_id)
);
CREATE INDEX credit_note_invoice ON billing.credit_note (invoice_id);
SELECT core.isolate_by_site('billing.credit_note');

CREATE TABLE billing.credit_note_line (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    credit_note_id  uuid NOT NULL,
    site_id         text NOT NULL,
    invoice_line_id uuid NOT NULL,
    description     text NOT NULL,
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    net             numeric(16, 2) NOT NULL CHECK (net > 0),
    tax             numeric(16, 2) NOT NULL CHECK (tax >= 0),
    FOREIGN KEY (credit_note_id, site_id) REFERENCES billing.credit_note (id, site_id),
    FOREIGN KEY (invoice_line_id) REFERENCES billing.invoice_line (id)
);
CREATE INDEX credit_note_line_invoice_line ON billing.credit_note_line (invoice_line_id);
CREATE INDEX credit_note_line_note ON billing.credit_note_line (credit_note_id);
SELECT core.isolate_by_site('billing.credit_note_line');

-- Immutable records: amendments, notices and credit notes are never
-- changed by the application, and a trigger refuses it to everyone.
REVOKE UPDATE, DELETE, TRUNCATE ON contracts.amendment, contracts.notice,
    billing.credit_note, billing.credit_note_line FROM messina_app;
REVOKE TRUNCATE ON billing.invoice, billing.invoice_line, billing.number_series FROM messina_app;
REVOKE DELETE, TRUNCATE ON contracts.contract, contracts.contract_line FROM messina_app;

-- +goose StatementBegin
CREATE FUNCTION billing.refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is immutable', TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'MS011';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON contracts.amendment
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();
CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON contracts.notice
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();
CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON billing.credit_note
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();
CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON billing.credit_note_line
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();

-- A posted invoice never changes, except that a full credit voids it.
-- Drafts change freely (totals at prepare, numbering at post, deletion at
-- discard).
-- +goose StatementBegin
CREATE FUNCTION billing.invoice_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'posted' AND NEW.status = 'void'
       AND to_jsonb(NEW) - 'status' - 'voided_at' = to_jsonb(OLD) - 'status' - 'voided_at' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'invoice % is % and immutable', OLD.number, OLD.status USING ERRCODE = 'MS011';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER invoice_guard BEFORE UPDATE OR DELETE ON billing.invoice
    FOR EACH ROW EXECUTE FUNCTION billing.invoice_guard();

-- Lines of a posted invoice never change. Statement-level with transition
-- tables, so discarding a run of 100k lines checks them in one join.
-- +goose StatementBegin
CREATE FUNCTION billing.invoice_line_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM old_rows o JOIN billing.invoice i ON i.id = o.invoice_id WHERE i.status <> 'draft') THEN
        RAISE EXCEPTION 'lines of a posted invoice are immutable' USING ERRCODE = 'MS011';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER invoice_line_guard_update AFTER UPDATE ON billing.invoice_line
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION billing.invoice_line_guard();
CREATE TRIGGER invoice_line_guard_delete AFTER DELETE ON billing.invoice_line
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION billing.invoice_line_guard();

-- Arithmetic -------------------------------------------------------------------

-- x rounded to scale places: half_up rounds halves away from zero (as
-- numeric round does), half_even to the even neighbour (banker's rounding:
-- a tie that round() took to an odd last digit goes back one step toward
-- zero). One expression, no sub-select, so the planner inlines it when the
-- arguments are plain columns (billing.due_lines relies on that: a call
-- that is not inlined costs tens of microseconds a row).
CREATE FUNCTION billing.round_money(x numeric, scale integer, mode core.rounding_mode) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT CASE
            WHEN mode = 'half_even'
                 AND abs(x * 10::numeric ^ scale - trunc(x * 10::numeric ^ scale)) = 0.5
                 AND mod(round(x * 10::numeric ^ scale), 2) <> 0
            THEN round((round(x * 10::numeric ^ scale) - sign(x)) / 10::numeric ^ scale, scale)
            ELSE round(x, scale)
        END
    $$;

-- First day of the calendar-aligned billing period of frequency f containing d.
CREATE FUNCTION billing.period_start(d date, f core.billing_frequency) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT make_date(m / 12, m % 12 + 1, 1)
          FROM (SELECT ((extract(year FROM d)::integer * 12 + extract(month FROM d)::integer - 1)
                        / core.frequency_months(f)) * core.frequency_months(f) AS m) s
    $$;

-- Days from a to b under 30E/360 (each month 30 days, the 31st counts as the 30th).
CREATE FUNCTION billing.days360(a date, b date) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT 360 * (extract(year FROM b)::integer - extract(year FROM a)::integer)
             + 30 * (extract(month FROM b)::integer - extract(month FROM a)::integer)
             + least(extract(day FROM b)::integer, 30) - least(extract(day FROM a)::integer, 30)
    $$;

-- Months billed for the service days [s, e] inside the billing period
-- [ps, pe] of f months, by the day-count rule (see the top of this file).
-- Not rounded: amounts are rounded once, after multiplying by the price.
CREATE FUNCTION billing.months_billed(s date, e date, ps date, pe date, f integer, rule core.proration_rule) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT CASE
            WHEN (s = ps AND e = pe) OR rule = 'none' THEN f::numeric
            WHEN rule = 'daily' THEN f * (e - s + 1)::numeric / (pe - ps + 1)
            ELSE billing.days360(s, e + 1)::numeric / 30
        END
    $$;

-- Value of a contract's lines for the service days [a, b], unrounded, by
-- the day-count rule, period by period (used for early-termination fees and
-- minimum commitments).
CREATE FUNCTION contracts.value_between(contract uuid, a date, b date, rule core.proration_rule) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$
        SELECT coalesce(sum(l.quantity * l.unit_price * (1 - l.discount_pct / 100)
                            * billing.months_billed(greatest(p.ps, a, l.start_date), least(p.pe, b, coalesce(l.end_date, b)),
                                                    p.ps, p.pe, l.f, rule)), 0)
          FROM (SELECT cl.*, core.frequency_months(cl.billing_frequency) AS f
                  FROM contracts.contract_line cl
                 WHERE cl.contract_id = value_between.contract
                   AND (cl.end_date IS NULL OR cl.end_date >= a)) l
         CROSS JOIN LATERAL (
               SELECT g::date AS ps, (g + make_interval(months => l.f))::date - 1 AS pe
                 FROM generate_series(billing.period_start(greatest(a, l.start_date), l.billing_frequency)::timestamp,
                                      b::timestamp, make_interval(months => l.f)) g) p
         WHERE greatest(p.ps, a, l.start_date) <= least(p.pe, b, coalesce(l.end_date, b))
    $$;

-- Reverse charge applies when the site allows it and the customer is a
-- business with a VAT id of another EU member state than the site's.
CREATE FUNCTION billing.is_reverse_charge(site_allows boolean, customer_vat text, site_country text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(site_allows
           AND customer_vat ~ '^[A-Z]{2}[0-9A-Z]{2,13}$'
           AND left(customer_vat, 2) = ANY ('{AT,BE,BG,CY,CZ,DE,DK,EE,EL,ES,FI,FR,HR,HU,IE,IT,LT,LU,LV,MT,NL,PL,PT,RO,SE,SI,SK}')
           AND (CASE site_country WHEN 'GR' THEN 'EL' ELSE site_country END)
               = ANY ('{AT,BE,BG,CY,CZ,DE,DK,EE,EL,ES,FI,FR,HR,HU,IE,IT,LT,LU,LV,MT,NL,PL,PT,RO,SE,SI,SK}')
           AND left(customer_vat, 2) <> (CASE site_country WHEN 'GR' THEN 'EL' ELSE site_country END), false)
    $$;

-- Document number from the site's format: {prefix}, {yyyy}, {seq:N}.
CREATE FUNCTION billing.format_number(fmt text, prefix text, issue date, seq bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT regexp_replace(
                   replace(replace(fmt, '{prefix}', prefix), '{yyyy}', to_char(issue, 'YYYY')),
                   '\{seq(:\d+)?\}',
                   lpad(seq::text, greatest(coalesce(substring(fmt FROM '\{seq:(\d+)\}')::integer, 1), length(seq::text)), '0'))
    $$;

-- Running hash chain: each step is sha256(previous || content), starting
-- from seed (the series' last hash) when there is no previous.
CREATE FUNCTION billing.hash_chain_step(state bytea, seed bytea, content bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT sha256(coalesce(state, seed, ''::bytea) || content) $$;
CREATE AGGREGATE billing.hash_chain(bytea, bytea) (SFUNC = billing.hash_chain_step, STYPE = bytea);

-- Contract versions ------------------------------------------------------------

-- Writes the current version of each contract as an immutable amendment.
CREATE FUNCTION contracts.record_amendment(ids uuid[], kind text, effective date) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO contracts.amendment (contract_id, version, site_id, kind, effective_date, snapshot)
        SELECT c.id, c.version, c.site_id, record_amendment.kind, record_amendment.effective,
               jsonb_build_object('contract', to_jsonb(c),
                                  'lines', (SELECT coalesce(jsonb_agg(to_jsonb(l) - 'billed_through' ORDER BY l.line_no), '[]')
                                              FROM contracts.contract_line l WHERE l.contract_id = c.id))
          FROM contracts.contract c
         WHERE c.id = ANY (ids)
    $$;

-- Contract from a booked order. The order's recurring lines become contract
-- lines; terms not given come from the site's rules in force at the start
-- date. Under the per_customer rule the lines join the customer's active
-- contract with the same legal entity and currency (a new version).
-- Calling it again for the same order returns the same contract.
-- +goose StatementBegin
CREATE FUNCTION contracts.create_from_order(
    p_order_id           uuid,
    p_start              date DEFAULT NULL,
    p_auto_renew         boolean DEFAULT NULL,
    p_renewal_months     integer DEFAULT NULL,
    p_notice_days        integer DEFAULT NULL,
    p_uplift_pct         numeric DEFAULT NULL,
    p_minimum_commitment numeric DEFAULT NULL,
    p_etf_rule           contracts.etf_rule DEFAULT NULL,
    p_etf_value          numeric DEFAULT NULL,
    p_billing_timing     core.billing_timing DEFAULT NULL
) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    o        orders."order";
    r        core.site_setting;
    existing uuid;
    cid      uuid;
    start_on date;
    term     integer;
    next_no  integer;
    amend_kind text := 'created';
BEGIN
    SELECT * INTO o FROM orders."order" WHERE id = p_order_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'order % not found', p_order_id USING ERRCODE = 'P0002';
    END IF;
    SELECT l.contract_id INTO existing
      FROM contracts.contract_line l JOIN orders.order_line ol ON ol.id = l.order_line_id
     WHERE ol.order_id = o.id LIMIT 1;
    IF existing IS NOT NULL THEN
        RETURN existing;
    END IF;
    IF o.status NOT IN ('booked', 'provisioning', 'completed') THEN
        RAISE EXCEPTION 'order % is %; contracts come from booked orders', o.number, o.status USING ERRCODE = 'MS010';
    END IF;
    start_on := coalesce(p_start, o.order_date);
    SELECT * INTO r FROM core.site_rules(o.site_id, start_on);
    IF r.site_id IS NULL THEN
        RAISE EXCEPTION 'site % has no rules in force on %', o.site_id, start_on USING ERRCODE = 'MS003', COLUMN = 'start_date';
    END IF;
    SELECT max(term_months) INTO term FROM orders.order_line WHERE order_id = o.id AND kind = 'recurring';
    IF term IS NULL THEN
        RAISE EXCEPTION 'order % has no recurring lines', o.number USING ERRCODE = 'MS003', COLUMN = 'lines';
    END IF;

    IF r.contract_grouping = 'per_customer' THEN
        SELECT id INTO cid FROM contracts.contract
         WHERE customer_id = o.customer_id AND legal_entity_id = o.legal_entity_id AND currency = o.currency
           AND status = 'active'
         ORDER BY created_at LIMIT 1
         FOR UPDATE;
    END IF;
    IF cid IS NULL THEN
        INSERT INTO contracts.contract (
            number, site_id, customer_id, legal_entity_id, currency, order_id, start_date,
            initial_term_months, renewal_term_months, term_start, term_end, auto_renew, notice_days,
            uplift_pct, minimum_commitment, etf_rule, etf_value)
        VALUES (
            o.site_id || '-C' || lpad(nextval('contracts.contract_number_seq')::text, 7, '0'),
            o.site_id, o.customer_id, o.legal_entity_id, o.currency, o.id, start_on,
            term, coalesce(p_renewal_months, r.default_renewal_months), start_on,
            (start_on + make_interval(months => term))::date - 1,
            coalesce(p_auto_renew, true), coalesce(p_notice_days, r.notice_days),
            coalesce(p_uplift_pct, 0), coalesce(p_minimum_commitment, 0),
            coalesce(p_etf_rule, 'none'), coalesce(p_etf_value, 0))
        RETURNING id INTO cid;
    ELSE
        amend_kind := 'lines_added';
        UPDATE contracts.contract SET version = version + 1, updated_at = now() WHERE id = cid;
    END IF;

    SELECT coalesce(max(line_no), 0) INTO next_no FROM contracts.contract_line WHERE contract_id = cid;
    INSERT INTO contracts.contract_line (
        contract_id, site_id, line_no, order_line_id, product_id, description, quantity, unit_price,
        unit_cost, discount_pct, billing_frequency, billing_timing, start_date, billed_through)
    SELECT cid, o.site_id, next_no + row_number() OVER (ORDER BY ol.line_no), ol.id, ol.product_id, ol.description,
           ol.quantity, ol.unit_price, ol.unit_cost, ol.discount_pct, ol.billing_frequency,
           coalesce(p_billing_timing, r.billing_timing), start_on, start_on - 1
      FROM orders.order_line ol
     WHERE ol.order_id = o.id AND ol.kind = 'recurring';

    PERFORM contracts.record_amendment(ARRAY[cid], amend_kind, start_on);
    RETURN cid;
END
$$;
-- +goose StatementEnd

-- Changes a contract's terms (NULL keeps a term) as a new version.
-- +goose StatementBegin
CREATE FUNCTION contracts.amend_terms(
    p_contract_id        uuid,
    p_effective          date,
    p_auto_renew         boolean DEFAULT NULL,
    p_renewal_months     integer DEFAULT NULL,
    p_notice_days        integer DEFAULT NULL,
    p_uplift_pct         numeric DEFAULT NULL,
    p_minimum_commitment numeric DEFAULT NULL,
    p_etf_rule           contracts.etf_rule DEFAULT NULL,
    p_etf_value          numeric DEFAULT NULL
) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v integer;
BEGIN
    UPDATE contracts.contract SET
        auto_renew = coalesce(p_auto_renew, auto_renew),
        renewal_term_months = coalesce(p_renewal_months, renewal_term_months),
        notice_days = coalesce(p_notice_days, notice_days),
        uplift_pct = coalesce(p_uplift_pct, uplift_pct),
        minimum_commitment = coalesce(p_minimum_commitment, minimum_commitment),
        etf_rule = coalesce(p_etf_rule, etf_rule),
        etf_value = coalesce(p_etf_value, etf_value),
        version = version + 1,
        updated_at = now()
     WHERE id = p_contract_id AND status IN ('active', 'notice_given')
    RETURNING version INTO v;
    IF NOT FOUND THEN
        IF EXISTS (SELECT FROM contracts.contract WHERE id = p_contract_id) THEN
            RAISE EXCEPTION 'contract % has ended; its terms cannot change', p_contract_id USING ERRCODE = 'MS010';
        END IF;
        RAISE EXCEPTION 'contract % not found', p_contract_id USING ERRCODE = 'P0002';
    END IF;
    PERFORM contracts.record_amendment(ARRAY[p_contract_id], 'terms', p_effective);
    RETURN v;
END
$$;
-- +goose StatementEnd

-- Renewals -------------------------------------------------------------------

-- Renews every auto-renewing contract whose term ends by as_of and that no
-- on-time notice ends at that term end: the next term starts the day after,
-- lasts renewal_term_months, and every line's price rises by uplift_pct
-- (rounded half up to 4 places, the price's scale). Terms are renewed one
-- at a time until none is due, so a late call catches up several terms.
-- Then contracts whose last day of service is by as_of are closed:
-- 'ended' at their term end, 'cancelled' before it.
-- Idempotent: a second call for the same as_of finds nothing due.
-- Returns the number of renewals.
-- +goose StatementBegin
CREATE FUNCTION contracts.process_renewals(as_of date) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    ids     uuid[];
    renewed integer := 0;
BEGIN
    LOOP
        WITH due AS (
            SELECT c.id FROM contracts.contract c
             WHERE c.status IN ('active', 'notice_given') AND c.auto_renew AND c.term_end <= as_of
               AND (c.end_date IS NULL OR c.end_date > c.term_end)
             FOR UPDATE
        ), upd AS (
            UPDATE contracts.contract c SET
                term_no = c.term_no + 1,
                term_start = c.term_end + 1,
                term_end = (c.term_end + 1 + make_interval(months => c.renewal_term_months))::date - 1,
                version = c.version + 1,
                updated_at = now()
              FROM due WHERE c.id = due.id
            RETURNING c.id, c.uplift_pct
        ), lines AS (
            UPDATE contracts.contract_line l SET unit_price = round(l.unit_price * (1 + upd.uplift_pct / 100), 4)
              FROM upd
             WHERE l.contract_id = upd.id AND upd.uplift_pct <> 0
            RETURNING l.id
        )
        SELECT array_agg(id) INTO ids FROM upd;
        EXIT WHEN ids IS NULL;
        renewed := renewed + cardinality(ids);
        PERFORM contracts.record_amendment(ids, 'renewed', as_of);
    END LOOP;

    -- Contracts that do not renew end at their term end.
    WITH upd AS (
        UPDATE contracts.contract c SET
            end_date = coalesce(c.end_date, c.term_end),
            status = CASE WHEN coalesce(c.end_date, c.term_end) < c.term_end THEN 'cancelled' ELSE 'ended' END::contracts.contract_status,
            version = c.version + 1,
            updated_at = now()
         WHERE c.status IN ('active', 'notice_given')
           AND ((c.end_date IS NOT NULL AND c.end_date <= as_of) OR (NOT c.auto_renew AND c.term_end <= as_of))
        RETURNING c.id
    )
    SELECT array_agg(id) INTO ids FROM upd;
    IF ids IS NOT NULL THEN
        PERFORM contracts.record_amendment(ids, 'ended', as_of);
    END IF;
    RETURN renewed;
END
$$;
-- +goose StatementEnd

-- Cancellation -----------------------------------------------------------------

-- Cancels a contract by policy, as asked on received_on:
--   immediate      service ends on received_on
--   end_of_period  service ends at the end of the billing period that
--                  contains received_on (the longest of the lines' periods)
--   end_of_term    a notice of non-renewal: the contract ends at term_end
--                  when the notice arrives before term_end - notice_days,
--                  else (late) at the end of the following term
--   on_date        service ends on end_on (not before received_on)
-- A proration credit for days already invoiced after the end is issued
-- only for immediate and on_date (the other policies end where billing
-- ends) and only when the site prorates (rule 'none' never credits). An
-- early-termination fee is charged when service ends before term_end, by
-- the contract's rule, on the remaining committed value: the lines' value
-- from the day after the end to term_end, or the minimum commitment less
-- the value served in the term, whichever is higher. The fee is a charge
-- billed by the next invoice run. Returns the notice id.
-- +goose StatementBegin
CREATE FUNCTION contracts.cancel(p_contract_id uuid, p_policy contracts.cancel_policy, received_on date, end_on date DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    c          contracts.contract;
    r          core.site_setting;
    last_day   date;
    on_time    boolean := true;
    remaining  numeric;
    fee        numeric;
    notice_id  uuid;
    inv        record;
BEGIN
    SELECT * INTO c FROM contracts.contract WHERE id = p_contract_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'contract % not found', p_contract_id USING ERRCODE = 'P0002';
    END IF;
    IF c.status NOT IN ('active', 'notice_given') THEN
        RAISE EXCEPTION 'contract % is %', c.number, c.status USING ERRCODE = 'MS010';
    END IF;
    IF received_on < c.start_date THEN
        RAISE EXCEPTION 'cancellation received % before the contract starts (%)', received_on, c.start_date
            USING ERRCODE = 'MS003', COLUMN = 'received_on';
    END IF;
    SELECT * INTO r FROM core.site_rules(c.site_id, received_on);

    CASE p_policy
    WHEN 'immediate' THEN
        last_day := received_on;
    WHEN 'end_of_period' THEN
        SELECT max((billing.period_start(received_on, l.billing_frequency)
                    + make_interval(months => core.frequency_months(l.billing_frequency)))::date - 1)
          INTO last_day
          FROM contracts.contract_line l WHERE l.contract_id = c.id;
    WHEN 'end_of_term' THEN
        -- Deadline: the notice must arrive before term_end - notice_days.
        on_time := received_on < c.term_end - c.notice_days;
        last_day := CASE WHEN on_time THEN c.term_end
                         ELSE (c.term_end + 1 + make_interval(months => c.renewal_term_months))::date - 1 END;
    WHEN 'on_date' THEN
        IF end_on IS NULL OR end_on < received_on THEN
            RAISE EXCEPTION 'end date % must be given and not before %', end_on, received_on
                USING ERRCODE = 'MS003', COLUMN = 'end_date';
        END IF;
        last_day := end_on;
    END CASE;
    IF c.end_date IS NOT NULL AND c.end_date <= last_day THEN
        RAISE EXCEPTION 'contract % already ends on %', c.number, c.end_date USING ERRCODE = 'MS010';
    END IF;

    INSERT INTO contracts.notice (contract_id, site_id, policy, received_on, requested_end, effective_end, on_time)
    VALUES (c.id, c.site_id, p_policy, received_on, end_on, last_day, on_time)
    RETURNING id INTO notice_id;

    UPDATE contracts.contract SET
        end_date = last_day,
        status = CASE WHEN last_day <= received_on THEN 'cancelled' ELSE 'notice_given' END::contracts.contract_status,
        version = version + 1,
        updated_at = now()
     WHERE id = c.id;

    -- Early-termination fee: service ends before the committed term does.
    IF last_day < c.term_end AND c.etf_rule <> 'none' THEN
        remaining := greatest(contracts.value_between(c.id, last_day + 1, c.term_end, r.proration),
                              c.minimum_commitment - contracts.value_between(c.id, c.term_start, last_day, r.proration));
        fee := billing.round_money(CASE c.etf_rule
                   WHEN 'fixed' THEN c.etf_value
                   WHEN 'pct' THEN remaining * c.etf_value / 100
                   ELSE remaining END, r.rounding_scale, r.rounding);
        IF fee > 0 THEN
            INSERT INTO contracts.charge (contract_id, site_id, kind, description, amount, charge_date)
            VALUES (c.id, c.site_id, 'etf', format('Early termination fee, contract %s ending %s', c.number, last_day),
                    fee, received_on);
        END IF;
    END IF;

    -- Proration credit for invoiced days after the last day of service.
    IF p_policy IN ('immediate', 'on_date') AND r.proration <> 'none' THEN
        FOR inv IN
            SELECT il.invoice_id,
                   jsonb_agg(jsonb_build_object('invoice_line_id', il.id, 'amount', x.amount)) AS lines
              FROM billing.invoice_line il
              JOIN billing.invoice i ON i.id = il.invoice_id AND i.status = 'posted'
              JOIN contracts.contract_line l ON l.id = il.contract_line_id
             CROSS JOIN LATERAL (
                   SELECT il.net
                          - CASE WHEN il.period_start > last_day THEN 0
                                 ELSE billing.round_money(l.quantity * il.unit_price * (1 - il.discount_pct / 100)
                                        * billing.months_billed(il.period_start, last_day,
                                              billing.period_start(il.period_start, l.billing_frequency),
                                              (billing.period_start(il.period_start, l.billing_frequency)
                                               + make_interval(months => core.frequency_months(l.billing_frequency)))::date - 1,
                                              core.frequency_months(l.billing_frequency), r.proration),
                                        r.rounding_scale, r.rounding) END
                          - coalesce((SELECT sum(cl.net) FROM billing.credit_note_line cl WHERE cl.invoice_line_id = il.id), 0)
                          AS amount) x
             WHERE il.contract_id = c.id AND il.period_end > last_day AND x.amount > 0
             GROUP BY il.invoice_id
        LOOP
            PERFORM billing.credit_invoice(inv.invoice_id, received_on,
                format('Cancellation of contract %s: service ends %s', c.number, last_day), inv.lines);
        END LOOP;
    END IF;

    PERFORM contracts.record_amendment(ARRAY[c.id], CASE WHEN p_policy = 'end_of_term' THEN 'notice' ELSE 'cancelled' END, received_on);
    RETURN notice_id;
END
$$;
-- +goose StatementEnd

-- Invoice runs -----------------------------------------------------------------

-- Every line due in a run, computed in one set-based query: for each
-- contract line of the run's site, the calendar-aligned periods from the
-- day after billed_through to the run date, clipped to the line's start,
-- the term end and the end of service; a period is due in advance when its
-- service starts by the run date, in arrears when it ended before it.
-- Plus the pending charges. Amounts, tax and cost per line by the site's
-- rules in force on the run date.
CREATE FUNCTION billing.due_lines(p_run_id uuid) RETURNS TABLE (
    contract_id      uuid,
    contract_line_id uuid,
    charge_id        uuid,
    customer_id      uuid,
    legal_entity_id  uuid,
    currency         char(3),
    description      text,
    period_start     date,
    period_end       date,
    quantity         numeric,
    unit_price       numeric,
    discount_pct     numeric,
    months           numeric,
    net              numeric,
    tax_rate         numeric,
    tax              numeric,
    cost             numeric,
    reverse_charge   boolean,
    customer_vat_id  text
)
    LANGUAGE sql STABLE
    AS $$
    -- The MATERIALIZED steps are fences: they hand the arithmetic of the
    -- next step plain columns, so round_money and months_billed are
    -- inlined instead of called per row.
    WITH run AS MATERIALIZED (
        SELECT ir.id, ir.site_id, ir.run_date, s.country, r.proration, r.tax_rate AS rate,
               r.reverse_charge AS rc_allowed, r.rounding, r.rounding_scale
          FROM billing.invoice_run ir
          JOIN core.site s ON s.id = ir.site_id
         CROSS JOIN LATERAL core.site_rules(ir.site_id, ir.run_date) r
         WHERE ir.id = p_run_id
    ), starts AS MATERIALIZED (
        -- Lines billed to the same day at the same frequency have the same
        -- periods to come: generate them once per (day, frequency), a
        -- handful, rather than once per line, and hash-join them back.
        SELECT DISTINCT l.billed_through + 1 AS from_day, l.billing_frequency
          FROM run JOIN contracts.contract_line l ON l.site_id = run.site_id AND l.billed_through < run.run_date
    ), periods AS MATERIALIZED (
        SELECT st.from_day, st.billing_frequency, g::date AS ps,
               (g + make_interval(months => core.frequency_months(st.billing_frequency)))::date - 1 AS pe
          FROM starts st, run,
               generate_series(billing.period_start(st.from_day, st.billing_frequency)::timestamp, run.run_date::timestamp,
                               make_interval(months => core.frequency_months(st.billing_frequency))) g
    ), due AS MATERIALIZED (
        SELECT l.contract_id, l.id AS contract_line_id, c.customer_id, c.legal_entity_id, c.currency, l.description,
               l.quantity, l.unit_price, l.discount_pct, l.unit_cost, x.f, x.bill_end, p.ps, p.pe,
               greatest(p.ps, l.billed_through + 1) AS s, least(p.pe, x.bill_end) AS e
          FROM run
          JOIN contracts.contract_line l ON l.site_id = run.site_id AND l.billed_through < run.run_date
          JOIN contracts.contract c ON c.id = l.contract_id
          JOIN periods p ON p.from_day = l.billed_through + 1 AND p.billing_frequency = l.billing_frequency
         CROSS JOIN LATERAL (
               SELECT core.frequency_months(l.billing_frequency) AS f,
                      least(c.term_end, coalesce(c.end_date, c.term_end), coalesce(l.end_date, c.term_end)) AS bill_end) x
         WHERE l.billed_through < x.bill_end
           AND greatest(p.ps, l.billed_through + 1) <= least(p.pe, x.bill_end)
           AND CASE l.billing_timing WHEN 'advance' THEN greatest(p.ps, l.billed_through + 1) <= run.run_date
                                     ELSE least(p.pe, x.bill_end) < run.run_date END
    ), months AS MATERIALIZED (
        SELECT d.*, billing.months_billed(d.s, d.e, d.ps, d.pe, d.f, run.proration) AS months
          FROM due d, run
    ), raw AS MATERIALIZED (
        SELECT m.contract_id, m.contract_line_id, NULL::uuid AS charge_id, m.customer_id, m.legal_entity_id, m.currency,
               m.description, m.s AS period_start, m.e AS period_end, m.quantity, m.unit_price, m.discount_pct, m.months,
               m.quantity * m.unit_price * (1 - m.discount_pct / 100) * m.months AS raw_net,
               m.quantity * m.unit_cost * m.months AS raw_cost
          FROM months m
        UNION ALL
        SELECT ch.contract_id, NULL, ch.id, c.customer_id, c.legal_entity_id, c.currency,
               ch.description, ch.charge_date, ch.charge_date, 1, ch.amount, 0, 0, ch.amount, 0
          FROM run
          JOIN contracts.charge ch ON ch.site_id = run.site_id AND ch.charge_date <= run.run_date
          JOIN contracts.contract c ON c.id = ch.contract_id
         WHERE NOT EXISTS (SELECT FROM billing.invoice_line il WHERE il.charge_id = ch.id)
    ), customers AS MATERIALIZED (
        SELECT cu.id, cu.vat_id, billing.is_reverse_charge(run.rc_allowed, cu.vat_id, run.country) AS rc
          FROM core.customer cu, run
         WHERE cu.id IN (SELECT DISTINCT customer_id FROM raw)
    ), net AS MATERIALIZED (
        SELECT r.*, billing.round_money(r.raw_net, run.rounding_scale, run.rounding) AS net,
               billing.round_money(r.raw_cost, run.rounding_scale, run.rounding) AS cost,
               CASE WHEN cu.rc THEN 0 ELSE run.rate END AS tax_rate, cu.rc, cu.vat_id
          FROM raw r JOIN customers cu ON cu.id = r.customer_id, run
    ), taxed AS MATERIALIZED (
        SELECT n.*, n.net * n.tax_rate AS raw_tax FROM net n
    )
    SELECT t.contract_id, t.contract_line_id, t.charge_id, t.customer_id, t.legal_entity_id, t.currency,
           t.description, t.period_start, t.period_end, t.quantity, t.unit_price, t.discount_pct, t.months,
           t.net, t.tax_rate, billing.round_money(t.raw_tax, run.rounding_scale, run.rounding), t.cost, t.rc, t.vat_id
      FROM taxed t, run
    $$;

-- Plans a run for a site and date.
CREATE FUNCTION billing.plan_run(p_site text, p_run_date date) RETURNS uuid
    LANGUAGE sql AS $$
        INSERT INTO billing.invoice_run (site_id, run_date) VALUES (p_site, p_run_date) RETURNING id
    $$;

-- Locks a run and checks its status is one of allowed.
-- +goose StatementBegin
CREATE FUNCTION billing.lock_run(p_run_id uuid, allowed billing.run_status[]) RETURNS billing.invoice_run
    LANGUAGE plpgsql AS $$
DECLARE
    run billing.invoice_run;
BEGIN
    SELECT * INTO run FROM billing.invoice_run WHERE id = p_run_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invoice run % not found', p_run_id USING ERRCODE = 'P0002';
    END IF;
    IF NOT run.status = ANY (allowed) THEN
        RAISE EXCEPTION 'invoice run % is %', p_run_id, run.status USING ERRCODE = 'MS010', DETAIL = array_to_string(allowed, ',');
    END IF;
    RETURN run;
END
$$;
-- +goose StatementEnd

-- jit is off for the run functions as for audit.capture: the cost
-- estimate of a 100k-line statement triggers a JIT compile that costs more
-- than it saves. Nested loops are off too: under row-level security the
-- policy's filter makes the planner expect a few rows where there are
-- 10k invoices, and a nested loop over them (measured) turns a second
-- into minutes; lookups that can only be nested loops (LATERAL calls)
-- still are.
-- Prepares a planned (or already previewed) run: writes the due lines as
-- draft invoices, one per customer, legal entity and currency, and moves
-- billed_through. Prepares of one site take turns (advisory lock), and
-- the unique key on (contract line, period) turns any period already
-- claimed by another run into a skipped row, so nothing is billed twice.
-- The run becomes 'previewed': its drafts are what people review.
-- Returns the number of lines written.
-- +goose StatementBegin
CREATE FUNCTION billing.prepare_run(p_run_id uuid) RETURNS integer
    LANGUAGE plpgsql SET jit = off SET enable_nestloop = off AS $$
DECLARE
    run billing.invoice_run;
    n   integer;
BEGIN
    run := billing.lock_run(p_run_id, '{planned,previewed}');
    PERFORM pg_advisory_xact_lock(hashtextextended('billing.prepare:' || run.site_id, 0));

    -- The due lines go through a temporary table with statistics, so the
    -- joins below are planned for their real size (a CTE of 100k rows
    -- joined to 10k invoices is otherwise estimated as a few rows and
    -- joined by nested loop).
    DROP TABLE IF EXISTS pg_temp.billing_due;
    CREATE TEMP TABLE billing_due ON COMMIT DROP AS SELECT * FROM billing.due_lines(p_run_id);
    ANALYZE pg_temp.billing_due;

    INSERT INTO billing.invoice AS i (run_id, site_id, legal_entity_id, customer_id, currency, issue_date, due_date,
                                      reverse_charge, customer_vat_id)
    SELECT DISTINCT ON (d.customer_id, d.legal_entity_id, d.currency)
           run.id, run.site_id, d.legal_entity_id, d.customer_id, d.currency, run.run_date,
           run.run_date + cu.payment_terms_days, d.reverse_charge, d.customer_vat_id
      FROM pg_temp.billing_due d JOIN core.customer cu ON cu.id = d.customer_id
    ON CONFLICT (run_id, customer_id, legal_entity_id, currency) DO NOTHING;

    INSERT INTO billing.invoice_line (invoice_id, site_id, contract_id, contract_line_id, charge_id, description,
                                      period_start, period_end, quantity, unit_price, discount_pct, months,
                                      net, tax_rate, tax, cost)
    SELECT i.id, run.site_id, d.contract_id, d.contract_line_id, d.charge_id, d.description,
           d.period_start, d.period_end, d.quantity, d.unit_price, d.discount_pct, d.months,
           d.net, d.tax_rate, d.tax, d.cost
      FROM pg_temp.billing_due d
      JOIN billing.invoice i ON i.run_id = run.id AND i.customer_id = d.customer_id
                            AND i.legal_entity_id = d.legal_entity_id AND i.currency = d.currency
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;

    UPDATE contracts.contract_line l SET billed_through = x.through
      FROM (SELECT d.contract_line_id, max(d.period_end) AS through FROM pg_temp.billing_due d
             WHERE d.contract_line_id IS NOT NULL GROUP BY d.contract_line_id) x
     WHERE l.id = x.contract_line_id AND l.billed_through < x.through;
    DROP TABLE pg_temp.billing_due;

    -- Totals from the rounded lines; invoices left empty (every line was
    -- claimed by another run) go.
    UPDATE billing.invoice i SET net = t.net, tax = t.tax, total = t.net + t.tax, cost = t.cost
      FROM (SELECT il.invoice_id, sum(il.net) AS net, sum(il.tax) AS tax, sum(il.cost) AS cost
              FROM billing.invoice_line il JOIN billing.invoice x ON x.id = il.invoice_id
             WHERE x.run_id = p_run_id GROUP BY il.invoice_id) t
     WHERE i.id = t.invoice_id;
    DELETE FROM billing.invoice i
     WHERE i.run_id = p_run_id AND NOT EXISTS (SELECT FROM billing.invoice_line il WHERE il.invoice_id = i.id);

    UPDATE billing.invoice_run SET
        status = 'previewed',
        prepared_at = now(),
        invoice_count = (SELECT count(*) FROM billing.invoice WHERE run_id = p_run_id),
        line_count = (SELECT count(*) FROM billing.invoice_line il JOIN billing.invoice i ON i.id = il.invoice_id
                       WHERE i.run_id = p_run_id)
     WHERE id = p_run_id;
    RETURN n;
END
$$;
-- +goose StatementEnd

-- The invoices and lines of a run as JSON (what preview_run returns).
CREATE FUNCTION billing.run_document(p_run_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
        SELECT coalesce(jsonb_agg(to_jsonb(i) || jsonb_build_object('lines',
                   (SELECT jsonb_agg(to_jsonb(il) ORDER BY il.contract_id, il.period_start, il.id)
                      FROM billing.invoice_line il WHERE il.invoice_id = i.id))
                   ORDER BY i.customer_id, i.legal_entity_id, i.currency), '[]')
          FROM billing.invoice i WHERE i.run_id = p_run_id
    $$;

-- A dry run: prepare_run itself (the same code path), inside a
-- subtransaction that is rolled back, so it leaves no trace; returns what
-- the run would invoice, as run_document does.
-- +goose StatementBegin
CREATE FUNCTION billing.preview_run(p_run_id uuid) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    doc jsonb;
BEGIN
    PERFORM billing.lock_run(p_run_id, '{planned,previewed}');
    BEGIN
        PERFORM billing.prepare_run(p_run_id);
        doc := billing.run_document(p_run_id);
        RAISE EXCEPTION 'preview rollback' USING ERRCODE = 'MS099';
    EXCEPTION WHEN SQLSTATE 'MS099' THEN
        NULL; -- everything prepare_run wrote is undone; doc survives.
    END;
    RETURN doc;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION billing.approve_run(p_run_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing.lock_run(p_run_id, '{previewed}');
    UPDATE billing.invoice_run SET status = 'approved', approved_at = now(),
           approved_by = coalesce(nullif(current_setting('messina.actor', true), ''), session_user)
     WHERE id = p_run_id;
END
$$;
-- +goose StatementEnd

-- Discards a run that is not posted: its drafts go and billed_through goes
-- back to the day before the first period they held, so the next run bills
-- those periods (periods another run holds are skipped by the unique key).
-- No number was taken, so none is lost.
-- +goose StatementBegin
CREATE FUNCTION billing.discard_run(p_run_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing.lock_run(p_run_id, '{planned,previewed,approved}');
    UPDATE contracts.contract_line l SET billed_through = x.first_start - 1
      FROM (SELECT il.contract_line_id, min(il.period_start) AS first_start
              FROM billing.invoice_line il JOIN billing.invoice i ON i.id = il.invoice_id
             WHERE i.run_id = p_run_id AND il.contract_line_id IS NOT NULL
             GROUP BY il.contract_line_id) x
     WHERE l.id = x.contract_line_id AND l.billed_through >= x.first_start;
    DELETE FROM billing.invoice_line il USING billing.invoice i WHERE i.id = il.invoice_id AND i.run_id = p_run_id;
    DELETE FROM billing.invoice WHERE run_id = p_run_id;
    UPDATE billing.invoice_run SET status = 'discarded', discarded_at = now(), invoice_count = 0, line_count = 0
     WHERE id = p_run_id;
END
$$;
-- +goose StatementEnd

-- Locks (creating when missing) the series rows of the given entities, in
-- entity order so two posting transactions cannot deadlock.
-- +goose StatementBegin
CREATE FUNCTION billing.lock_series(entities uuid[], k billing.series_kind) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing.number_series (legal_entity_id, kind, site_id)
    SELECT e.id, k, e.site_id FROM core.legal_entity e WHERE e.id = ANY (entities)
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM billing.number_series s
      WHERE s.legal_entity_id = ANY (entities) AND s.kind = k
      ORDER BY s.legal_entity_id
      FOR UPDATE;
END
$$;
-- +goose StatementEnd

-- Canonical text of a document line, hashed with its header.
CREATE FUNCTION billing.line_text(description text, period_start date, period_end date, quantity numeric,
                                  unit_price numeric, net numeric, tax_rate numeric, tax numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT concat_ws('|', description, period_start, period_end, quantity, unit_price, net, tax_rate, tax) $$;

-- Posts an approved run: numbers its invoices from each legal entity's
-- series (locked, so numbers are consecutive across concurrent posts and
-- taken only if this transaction commits), hashes each invoice's content
-- and chains it to the previous invoice of the series, and makes the
-- invoices immutable (status 'posted', see billing.invoice_guard).
-- Invoices are numbered per entity in customer name order. Returns the
-- number of invoices posted.
-- +goose StatementBegin
CREATE FUNCTION billing.post_run(p_run_id uuid) RETURNS integer
    LANGUAGE plpgsql SET jit = off SET enable_nestloop = off AS $$
DECLARE
    run      billing.invoice_run;
    entities uuid[];
    n        integer;
BEGIN
    run := billing.lock_run(p_run_id, '{approved}');
    SELECT array_agg(DISTINCT legal_entity_id) INTO entities FROM billing.invoice WHERE run_id = p_run_id;
    IF entities IS NOT NULL THEN
        PERFORM billing.lock_series(entities, 'invoice');
    END IF;

    -- Numbers and content hashes go through a temporary table with
    -- statistics, for the same reason as in prepare_run. The content is
    -- the header and the lines in a fixed order, as text.
    DROP TABLE IF EXISTS pg_temp.billing_post;
    CREATE TEMP TABLE billing_post ON COMMIT DROP AS
    SELECT nb.id, nb.legal_entity_id, nb.seq, nb.seed, nb.number,
           sha256(convert_to(concat_ws(E'\n',
               concat_ws('|', nb.number, i.issue_date, i.due_date, i.legal_entity_id, i.customer_id, i.customer_vat_id,
                         i.currency, i.reverse_charge, i.net, i.tax, i.total),
               lt.lines), 'UTF8')) AS content_hash
      FROM (SELECT n.*, billing.format_number(n.invoice_number_format, n.invoice_prefix, n.issue_date, n.seq) AS number
              FROM (SELECT i.id, i.legal_entity_id, i.issue_date, s.last_hash AS seed,
                           s.last_seq + row_number() OVER (PARTITION BY i.legal_entity_id
                                                           ORDER BY cu.name, i.customer_id, i.currency) AS seq,
                           e.invoice_prefix, r.invoice_number_format
                      FROM billing.invoice i
                      JOIN billing.number_series s ON s.legal_entity_id = i.legal_entity_id AND s.kind = 'invoice'
                      JOIN core.customer cu ON cu.id = i.customer_id
                      JOIN core.legal_entity e ON e.id = i.legal_entity_id
                     CROSS JOIN LATERAL core.site_rules(i.site_id, i.issue_date) r
                     WHERE i.run_id = p_run_id) n) nb
      JOIN billing.invoice i ON i.id = nb.id
      JOIN (SELECT il.invoice_id,
                   string_agg(billing.line_text(il.description, il.period_start, il.period_end, il.quantity,
                                                il.unit_price, il.net, il.tax_rate, il.tax),
                              E'\n' ORDER BY il.contract_id, il.period_start, il.id) AS lines
              FROM billing.invoice_line il JOIN billing.invoice x ON x.id = il.invoice_id
             WHERE x.run_id = p_run_id
             GROUP BY il.invoice_id) lt ON lt.invoice_id = i.id;
    ANALYZE pg_temp.billing_post;

    WITH chained AS (
        SELECT p.*, billing.hash_chain(p.seed, p.content_hash)
                        OVER (PARTITION BY p.legal_entity_id ORDER BY p.seq ROWS UNBOUNDED PRECEDING) AS chain_hash
          FROM pg_temp.billing_post p
    ), linked AS (
        SELECT ch.*, coalesce(lag(ch.chain_hash) OVER (PARTITION BY ch.legal_entity_id ORDER BY ch.seq), ch.seed) AS prev_hash
          FROM chained ch
    ), posted AS (
        UPDATE billing.invoice i SET
            status = 'posted', number = l.number, seq = l.seq, content_hash = l.content_hash,
            prev_hash = l.prev_hash, chain_hash = l.chain_hash, posted_at = now()
          FROM linked l WHERE i.id = l.id
        RETURNING i.legal_entity_id, i.seq, i.chain_hash
    )
    UPDATE billing.number_series s SET last_seq = t.seq, last_hash = t.chain_hash
      FROM (SELECT DISTINCT ON (p.legal_entity_id) p.legal_entity_id, p.seq, p.chain_hash
              FROM posted p ORDER BY p.legal_entity_id, p.seq DESC) t
     WHERE s.legal_entity_id = t.legal_entity_id AND s.kind = 'invoice';
    DROP TABLE pg_temp.billing_post;

    UPDATE billing.invoice_run SET status = 'posted', posted_at = now() WHERE id = p_run_id;
    SELECT count(*) INTO n FROM billing.invoice WHERE run_id = p_run_id;
    RETURN n;
END
$$;
-- +goose StatementEnd

-- Credit notes -----------------------------------------------------------------

-- Issues a credit note against a posted invoice, numbered from the legal
-- entity's credit-note series. lines is a JSON array of
-- {"invoice_line_id", "amount"} (net amounts to credit), or NULL to credit
-- everything not credited yet. Tax is credited at the line's rate; the
-- remainder of a line is credited with the remainder of its tax, so a full
-- credit returns exactly what was invoiced. When nothing of the invoice is
-- left uncredited the invoice becomes void. Returns the credit note id.
-- +goose StatementBegin
CREATE FUNCTION billing.credit_invoice(p_invoice_id uuid, p_issue_date date, p_reason text, p_lines jsonb DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    i      billing.invoice;
    r      core.site_setting;
    s      billing.number_series;
    cn_id  uuid;
    seq    bigint;
    num    text;
    bad    text;
    h      bytea;
    net    numeric;
    tax    numeric;
BEGIN
    SELECT * INTO i FROM billing.invoice WHERE id = p_invoice_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invoice % not found', p_invoice_id USING ERRCODE = 'P0002';
    END IF;
    IF i.status <> 'posted' THEN
        RAISE EXCEPTION 'invoice % is %; only posted invoices can be credited', coalesce(i.number, i.id::text), i.status
            USING ERRCODE = 'MS010';
    END IF;
    IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'a credit note needs a reason' USING ERRCODE = 'MS003', COLUMN = 'reason';
    END IF;
    SELECT * INTO r FROM core.site_rules(i.site_id, p_issue_date);

    CREATE TEMP TABLE IF NOT EXISTS pg_temp.credit_request (
        invoice_line_id uuid, description text, period_start date, period_end date, net numeric, tax numeric
    ) ON COMMIT DROP;
    TRUNCATE pg_temp.credit_request;
    INSERT INTO pg_temp.credit_request
    SELECT il.id, il.description, il.period_start, il.period_end, q.amount,
           CASE WHEN q.amount = il.net - done.credited_net THEN il.tax - done.credited_tax
                ELSE billing.round_money(q.amount * il.tax_rate, r.rounding_scale, r.rounding) END
      FROM billing.invoice_line il
     CROSS JOIN LATERAL (SELECT coalesce(sum(cl.net), 0) AS credited_net, coalesce(sum(cl.tax), 0) AS credited_tax
                           FROM billing.credit_note_line cl WHERE cl.invoice_line_id = il.id) done
     CROSS JOIN LATERAL (
           SELECT CASE WHEN p_lines IS NULL THEN il.net - done.credited_net
                       ELSE (SELECT sum((e ->> 'amount')::numeric) FROM jsonb_array_elements(p_lines) e
                              WHERE (e ->> 'invoice_line_id')::uuid = il.id) END AS amount) q
     WHERE il.invoice_id = i.id AND q.amount IS NOT NULL AND q.amount <> 0;

    IF p_lines IS NOT NULL THEN
        SELECT e ->> 'invoice_line_id' INTO bad FROM jsonb_array_elements(p_lines) e
         WHERE NOT EXISTS (SELECT FROM billing.invoice_line il
                            WHERE il.id = (e ->> 'invoice_line_id')::uuid AND il.invoice_id = i.id)
         LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'line % is not a line of invoice %', bad, i.number USING ERRCODE = 'MS003', COLUMN = 'lines';
        END IF;
    END IF;
    IF EXISTS (SELECT FROM pg_temp.credit_request c WHERE c.net < 0 OR c.net <> round(c.net, r.rounding_scale)) THEN
        RAISE EXCEPTION 'credit amounts must be positive with at most % decimals', r.rounding_scale
            USING ERRCODE = 'MS003', COLUMN = 'amount';
    END IF;
    IF EXISTS (SELECT FROM pg_temp.credit_request c JOIN billing.invoice_line il ON il.id = c.invoice_line_id
                WHERE c.net > il.net - coalesce((SELECT sum(cl.net) FROM billing.credit_note_line cl
                                                  WHERE cl.invoice_line_id = il.id), 0)) THEN
        RAISE EXCEPTION 'credit exceeds what is left of the line on invoice %', i.number
            USING ERRCODE = 'MS003', COLUMN = 'amount';
    END IF;
    SELECT sum(c.net), sum(c.tax) INTO net, tax FROM pg_temp.credit_request c;
    IF net IS NULL THEN
        RAISE EXCEPTION 'nothing to credit on invoice %', i.number USING ERRCODE = 'MS003', COLUMN = 'lines';
    END IF;

    PERFORM billing.lock_series(ARRAY[i.legal_entity_id], 'credit_note');
    SELECT * INTO s FROM billing.number_series WHERE legal_entity_id = i.legal_entity_id AND kind = 'credit_note';
    seq := s.last_seq + 1;
    num := billing.format_number(r.invoice_number_format, (SELECT invoice_prefix FROM core.legal_entity WHERE id = i.legal_entity_id) || 'CN',
                                 p_issue_date, seq);
    h := sha256(convert_to(concat_ws(E'\n',
            concat_ws('|', num, p_issue_date, i.number, p_reason, i.currency, net, tax, net + tax),
            (SELECT string_agg(billing.line_text(c.description, c.period_start, c.period_end, 1, c.net, c.net, 0, c.tax),
                               E'\n' ORDER BY c.period_start, c.invoice_line_id) FROM pg_temp.credit_request c)), 'UTF8'));
    INSERT INTO billing.credit_note (invoice_id, site_id, legal_entity_id, customer_id, currency, number, seq, issue_date,
                                     reason, net, tax, total, content_hash, prev_hash, chain_hash)
    VALUES (i.id, i.site_id, i.legal_entity_id, i.customer_id, i.currency, num, seq, p_issue_date,
            p_reason, net, tax, net + tax, h, s.last_hash, billing.hash_chain_step(NULL, s.last_hash, h))
    RETURNING id INTO cn_id;
    INSERT INTO billing.credit_note_line (credit_note_id, site_id, invoice_line_id, description, period_start, period_end, net, tax)
    SELECT cn_id, i.site_id, c.invoice_line_id, c.description, c.period_start, c.period_end, c.net, c.tax
      FROM pg_temp.credit_request c;
    UPDATE billing.number_series SET last_seq = seq, last_hash = billing.hash_chain_step(NULL, s.last_hash, h)
     WHERE legal_entity_id = i.legal_entity_id AND kind = 'credit_note';

    -- Fully credited: the invoice is void.
    IF (SELECT sum(cl.net) FROM billing.credit_note_line cl JOIN billing.credit_note cn ON cn.id = cl.credit_note_id
         WHERE cn.invoice_id = i.id) = i.net THEN
        UPDATE billing.invoice SET status = 'void', voided_at = now() WHERE id = i.id;
    END IF;
    TRUNCATE pg_temp.credit_request;
    RETURN cn_id;
END
$$;
-- +goose StatementEnd

-- Audit: row mode for what the service changes a row at a time, statement
-- mode for what runs write in bulk.
SELECT audit.enable('contracts.contract');
-- billed_through is bookkeeping derived from the invoice lines (which are
-- audited): logging its move for every line of every run would double the
-- cost of a run and say nothing new.
SELECT audit.enable('contracts.contract_line', '{billed_through}', 'statement');
SELECT audit.enable('contracts.amendment');
SELECT audit.enable('contracts.notice');
SELECT audit.enable('contracts.charge');
SELECT audit.enable('billing.invoice_run');
SELECT audit.enable('billing.number_series');
SELECT audit.enable('billing.invoice', '{}', 'statement');
SELECT audit.enable('billing.invoice_line', '{}', 'statement');
SELECT audit.enable('billing.credit_note');
SELECT audit.enable('billing.credit_note_line');

-- +goose Down
SELECT audit.disable('billing.credit_note_line');
SELECT audit.disable('billing.credit_note');
SELECT audit.disable('billing.invoice_line');
SELECT audit.disable('billing.invoice');
SELECT audit.disable('billing.number_series');
SELECT audit.disable('billing.invoice_run');
SELECT audit.disable('contracts.charge');
SELECT audit.disable('contracts.notice');
SELECT audit.disable('contracts.amendment');
SELECT audit.disable('contracts.contract_line');
SELECT audit.disable('contracts.contract');
DROP FUNCTION billing.credit_invoice(uuid, date, text, jsonb), billing.post_run(uuid),
    billing.line_text(text, date, date, numeric, numeric, numeric, numeric, numeric),
    billing.lock_series(uuid[], billing.series_kind), billing.discard_run(uuid), billing.approve_run(uuid),
    billing.preview_run(uuid), billing.run_document(uuid), billing.prepare_run(uuid),
    billing.lock_run(uuid, billing.run_status[]), billing.plan_run(text, date), billing.due_lines(uuid),
    contracts.cancel(uuid, contracts.cancel_policy, date, date), contracts.process_renewals(date),
    contracts.amend_terms(uuid, date, boolean, integer, integer, numeric, numeric, contracts.etf_rule, numeric),
    contracts.create_from_order(uuid, date, boolean, integer, integer, numeric, numeric, contracts.etf_rule, numeric, core.billing_timing),
    contracts.record_amendment(uuid[], text, date);
DROP AGGREGATE billing.hash_chain(bytea, bytea);
DROP FUNCTION billing.hash_chain_step(bytea, bytea, bytea), billing.format_number(text, text, date, bigint),
    billing.is_reverse_charge(boolean, text, text), contracts.value_between(uuid, date, date, core.proration_rule),
    billing.months_billed(date, date, date, date, integer, core.proration_rule), billing.days360(date, date),
    billing.period_start(date, core.billing_frequency), billing.round_money(numeric, integer, core.rounding_mode);
DROP TABLE billing.credit_note_line, billing.credit_note, billing.invoice_line, billing.invoice,
    billing.number_series, billing.invoice_run, contracts.charge, contracts.notice, contracts.amendment,
    contracts.contract_line, contracts.contract;
DROP FUNCTION billing.invoice_line_guard(), billing.invoice_guard(), billing.refuse_change();
DROP SEQUENCE contracts.contract_number_seq;
DROP TYPE billing.series_kind, billing.invoice_status, billing.run_status, contracts.cancel_policy,
    contracts.etf_rule, contracts.contract_status;
ALTER TABLE core.site_setting DROP COLUMN contract_grouping;
DROP TYPE core.contract_grouping;
