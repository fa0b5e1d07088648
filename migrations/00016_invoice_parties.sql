-- +goose Up
-- The parties of an invoice as they were when it was posted. An issued
-- invoice is never edited, so its documents (UBL, JSON, PDF) must show the
-- seller's and the buyer's name, VAT id and postal address of the day it
-- was issued, not whatever the legal entity or customer says today: a
-- document rendered again after a customer moved must be the same
-- document. post_run takes the snapshot in the statement that numbers the
-- invoices, and the content hash (and so the chain) covers it. Since a
-- party without an address can then never be completed on the invoice,
-- approving or posting a run with such parties is refused.

-- +goose StatementBegin
-- A party of an invoice: {"name", "vat_id", "address": {"street", "city",
-- "postcode", "country"} or null}.
CREATE FUNCTION billing.party(name text, vat_id text, street text, city text, postcode text, country text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('name', name, 'vat_id', vat_id, 'address',
        CASE WHEN street IS NULL THEN NULL
             ELSE jsonb_build_object('street', street, 'city', city, 'postcode', postcode, 'country', country) END)
$$;
-- +goose StatementEnd

ALTER TABLE billing.invoice ADD COLUMN seller jsonb, ADD COLUMN buyer jsonb;

-- Invoices posted before this migration get today's parties, the best
-- there is (and what their documents showed until now). The guard that
-- keeps posted invoices immutable is lifted for this one statement; the
-- audit trigger records every row it changes.
ALTER TABLE billing.invoice DISABLE TRIGGER invoice_guard;
UPDATE billing.invoice i
   SET seller = billing.party(e.name, e.vat_id, e.address_street, e.address_city, e.address_postcode, e.address_country),
       buyer = billing.party(cu.name, i.customer_vat_id, cu.address_street, cu.address_city, cu.address_postcode, cu.address_country)
  FROM core.legal_entity e, core.customer cu
 WHERE e.id = i.legal_entity_id AND cu.id = i.customer_id AND i.status <> 'draft';
ALTER TABLE billing.invoice ENABLE TRIGGER invoice_guard;

ALTER TABLE billing.invoice ADD CONSTRAINT invoice_parties_when_posted
    CHECK ((status = 'draft') = (seller IS NULL) AND (seller IS NULL) = (buyer IS NULL));

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing.post_run(p_run_id uuid) RETURNS integer
    LANGUAGE plpgsql SET jit = off SET enable_nestloop = off AS $$
DECLARE
    run      billing.invoice_run;
    entities uuid[];
    n        integer;
BEGIN
    run := billing.lock_run(p_run_id, '{approved}');
    -- Again at posting: an address may have been removed since approval.
    PERFORM billing.require_party_addresses(p_run_id);
    SELECT array_agg(DISTINCT legal_entity_id) INTO entities FROM billing.invoice WHERE run_id = p_run_id;
    IF entities IS NOT NULL THEN
        PERFORM billing.lock_series(entities, 'invoice');
    END IF;

    -- Numbers and content hashes go through a temporary table with
    -- statistics, for the same reason as in prepare_run. The content is
    -- the header (with the parties as posted) and the lines in a fixed
    -- order, as text.
    DROP TABLE IF EXISTS pg_temp.billing_post;
    CREATE TEMP TABLE billing_post ON COMMIT DROP AS
    SELECT nb.id, nb.legal_entity_id, nb.seq, nb.seed, nb.number, nb.seller, nb.buyer,
           sha256(convert_to(concat_ws(E'\n',
               concat_ws('|', nb.number, i.issue_date, i.due_date, i.legal_entity_id, i.customer_id, i.customer_vat_id,
                         i.currency, i.reverse_charge, i.net, i.tax, i.total, nb.seller, nb.buyer),
               lt.lines), 'UTF8')) AS content_hash
      FROM (SELECT n.*, billing.format_number(n.invoice_number_format, n.invoice_prefix, n.issue_date, n.seq) AS number
              FROM (SELECT i.id, i.legal_entity_id, i.issue_date, s.last_hash AS seed,
                           s.last_seq + row_number() OVER (PARTITION BY i.legal_entity_id
                                                           ORDER BY cu.name, i.customer_id, i.currency) AS seq,
                           e.invoice_prefix, r.invoice_number_format,
                           billing.party(e.name, e.vat_id, e.address_street, e.address_city, e.address_postcode, e.address_country) AS seller,
                           billing.party(cu.name, i.customer_vat_id, cu.address_street, cu.address_city, cu.address_postcode, cu.address_country) AS buyer
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
            prev_hash = l.prev_hash, chain_hash = l.chain_hash, posted_at = now(),
            seller = l.seller, buyer = l.buyer
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

-- +goose StatementBegin
-- A run whose seller or buyers lack the postal address EN 16931 requires
-- would post invoices that can never have documents (their parties are
-- recorded at posting, for good): approving and posting it are refused,
-- naming them, until the addresses are given.
CREATE FUNCTION billing.require_party_addresses(p_run_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(p.what, '; ' ORDER BY p.what) INTO missing
      FROM (SELECT format('legal entity %s', e.name) AS what
              FROM billing.invoice i JOIN core.legal_entity e ON e.id = i.legal_entity_id
             WHERE i.run_id = p_run_id AND e.address_street IS NULL
            UNION
            SELECT format('customer %s', cu.name)
              FROM billing.invoice i JOIN core.customer cu ON cu.id = i.customer_id
             WHERE i.run_id = p_run_id AND cu.address_street IS NULL) p;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'no postal address, which EN 16931 invoices need: %', missing
            USING ERRCODE = 'MS003', COLUMN = 'address';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing.approve_run(p_run_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing.lock_run(p_run_id, '{previewed}');
    PERFORM billing.require_party_addresses(p_run_id);
    UPDATE billing.invoice_run SET status = 'approved', approved_at = now(),
           approved_by = coalesce(nullif(current_setting('messina.actor', true), ''), session_user)
     WHERE id = p_run_id;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing.approve_run(p_run_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing.lock_run(p_run_id, '{previewed}');
    UPDATE billing.invoice_run SET status = 'approved', approved_at = now(),
           approved_by = coalesce(nullif(current_setting('messina.actor', true), ''), session_user)
     WHERE id = p_run_id;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION billing.post_run(p_run_id uuid) RETURNS integer
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
ALTER TABLE billing.invoice DISABLE TRIGGER invoice_guard;
ALTER TABLE billing.invoice DROP CONSTRAINT invoice_parties_when_posted, DROP COLUMN buyer, DROP COLUMN seller;
ALTER TABLE billing.invoice ENABLE TRIGGER invoice_guard;
DROP FUNCTION billing.require_party_addresses(uuid);
DROP FUNCTION billing.party(text, text, text, text, text, text);
