-- +goose Up
-- The rest of issue 8 (contracts and invoicing): postal addresses of
-- sellers and buyers for EN 16931 invoices; one attachment per name of an
-- invoice's rendered documents; cancellations by the site's policy;
-- amendments of contract lines; indexes of the lists of contracts, runs
-- and invoices.

-- Postal addresses ---------------------------------------------------------------

-- Whether code is an ISO 3166-1 alpha-2 country code (the officially
-- assigned ones), the code list EN 16931 uses for BT-40 and BT-55.
-- IMMUTABLE so that a CHECK may use it; the list changes only by migration.
CREATE FUNCTION core.is_country_code(code text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT code = ANY ('{AD,AE,AF,AG,AI,AL,AM,AO,AQ,AR,AS,AT,AU,AW,AX,AZ,
            BA,BB,BD,BE,BF,BG,BH,BI,BJ,BL,BM,BN,BO,BQ,BR,BS,BT,BV,BW,BY,BZ,
            CA,CC,CD,CF,CG,CH,CI,CK,CL,CM,CN,CO,CR,CU,CV,CW,CX,CY,CZ,
            DE,DJ,DK,DM,DO,DZ,EC,EE,EG,EH,ER,ES,ET,FI,FJ,FK,FM,FO,FR,
            GA,GB,GD,GE,GF,GG,GH,GI,GL,GM,GN,GP,GQ,GR,GS,GT,GU,GW,GY,
            HK,HM,HN,HR,HT,HU,ID,IE,IL,IM,IN,IO,IQ,IR,IS,IT,JE,JM,JO,JP,
            KE,KG,KH,KI,KM,KN,KP,KR,KW,KY,KZ,LA,LB,LC,LI,LK,LR,LS,LT,LU,LV,LY,
            MA,MC,MD,ME,MF,MG,MH,MK,ML,MM,MN,MO,MP,MQ,MR,MS,MT,MU,MV,MW,MX,MY,MZ,
            NA,NC,NE,NF,NG,NI,NL,NO,NP,NR,NU,NZ,OM,PA,PE,PF,PG,PH,PK,PL,PM,PN,PR,PS,PT,PW,PY,
            QA,RE,RO,RS,RU,RW,SA,SB,SC,SD,SE,SG,SH,SI,SJ,SK,SL,SM,SN,SO,SR,SS,ST,SV,SX,SY,SZ,
            TC,TD,TF,TG,TH,TJ,TK,TL,TM,TN,TO,TR,TT,TV,TW,TZ,UA,UG,UM,US,UY,UZ,
            VA,VC,VE,VG,VI,VN,VU,WF,WS,YE,YT,ZA,ZM,ZW}'::text[])
    $$;

-- The seller's (legal entity's) and the buyer's (customer's) postal
-- address, which EN 16931 requires on every invoice (BG-5, BG-8). Nullable
-- because rows made before this migration have none; when an address is
-- given it is whole (street, city, postcode, country), so a document never
-- shows half of one.
ALTER TABLE core.legal_entity
    ADD COLUMN address_street   text CONSTRAINT legal_entity_address_street_check CHECK (btrim(address_street) <> '' AND length(address_street) <= 200),
    ADD COLUMN address_city     text CONSTRAINT legal_entity_address_city_check CHECK (btrim(address_city) <> '' AND length(address_city) <= 100),
    ADD COLUMN address_postcode text CONSTRAINT legal_entity_address_postcode_check CHECK (btrim(address_postcode) <> '' AND length(address_postcode) <= 20),
    ADD COLUMN address_country  text CONSTRAINT legal_entity_address_country_check CHECK (core.is_country_code(address_country)),
    ADD CONSTRAINT legal_entity_address_whole CHECK (num_nulls(address_street, address_city, address_postcode, address_country) IN (0, 4));
ALTER TABLE core.customer
    ADD COLUMN address_street   text CONSTRAINT customer_address_street_check CHECK (btrim(address_street) <> '' AND length(address_street) <= 200),
    ADD COLUMN address_city     text CONSTRAINT customer_address_city_check CHECK (btrim(address_city) <> '' AND length(address_city) <= 100),
    ADD COLUMN address_postcode text CONSTRAINT customer_address_postcode_check CHECK (btrim(address_postcode) <> '' AND length(address_postcode) <= 20),
    ADD COLUMN address_country  text CONSTRAINT customer_address_country_check CHECK (core.is_country_code(address_country)),
    ADD CONSTRAINT customer_address_whole CHECK (num_nulls(address_street, address_city, address_postcode, address_country) IN (0, 4));

-- Invoice documents ----------------------------------------------------------------

-- An invoice's attachments are its rendered documents (invoice.xml,
-- invoice.json, invoice.pdf), one attachment per name whose revisions are
-- the renders. filestore.PutNamed decides "that attachment or a new one"
-- under a lock; this index makes a second attachment of a name impossible
-- whoever writes. Orders' and contracts' attachments are users' files,
-- which may share a name, so the index is partial.
--
-- Two first renders at once could make two attachments of a name before
-- this: the later ones (by id, UUIDv7: creation order) keep their
-- revisions under a name that says what they are, and the first keeps the
-- name, as the documents route always read the first.
UPDATE files.attachment a SET name = left(a.name, 200) || ' (duplicate ' || a.id || ')'
 WHERE a.owner_type = 'invoice'
   AND EXISTS (SELECT FROM files.attachment b
                WHERE b.owner_type = 'invoice' AND b.owner_id = a.owner_id AND b.name = a.name AND b.id < a.id);
CREATE UNIQUE INDEX attachment_invoice_name ON files.attachment (owner_id, name) WHERE owner_type = 'invoice';

-- Cancellation by the site's policy ------------------------------------------------

-- Cancels a contract by its site's cancellation policy in force on
-- received_on (core.site_setting.cancellation_policy, read as every site
-- rule is: the set in force that day), for a request that names none. The
-- site's policies are said in contracts.cancel's terms:
--   end_of_term        a notice of non-renewal: end_of_term
--   end_of_notice      service ends when the contract's notice period,
--                      counted from the day after received_on, runs out:
--                      on_date received_on + notice_days
--   immediate_with_fee service ends on received_on: immediate, which
--                      charges the contract's early-termination fee (by
--                      its etf_rule; none for rule 'none') and credits
--                      what was invoiced beyond that day
-- The notice records the policy applied. Returns the notice id.
-- +goose StatementBegin
CREATE FUNCTION contracts.cancel_by_site_policy(p_contract_id uuid, received_on date) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    c   contracts.contract;
    pol core.cancellation_policy;
BEGIN
    -- Locked here, before the rules are read, so notice_days cannot change
    -- between the reading and contracts.cancel (which locks it again).
    SELECT * INTO c FROM contracts.contract WHERE id = p_contract_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'contract % not found', p_contract_id USING ERRCODE = 'P0002';
    END IF;
    SELECT r.cancellation_policy INTO pol FROM core.site_rules(c.site_id, received_on) r;
    IF pol IS NULL THEN
        RAISE EXCEPTION 'site % has no rules in force on %: name a cancellation policy', c.site_id, received_on
            USING ERRCODE = 'MS003', COLUMN = 'policy';
    END IF;
    RETURN CASE pol
        WHEN 'end_of_term' THEN contracts.cancel(c.id, 'end_of_term', received_on)
        WHEN 'end_of_notice' THEN contracts.cancel(c.id, 'on_date', received_on, received_on + c.notice_days)
        WHEN 'immediate_with_fee' THEN contracts.cancel(c.id, 'immediate', received_on)
    END;
END
$$;
-- +goose StatementEnd

-- Amendments of contract lines ------------------------------------------------------

ALTER TABLE contracts.amendment DROP CONSTRAINT amendment_kind_check,
    ADD CONSTRAINT amendment_kind_check
        CHECK (kind IN ('created', 'lines_added', 'terms', 'notice', 'cancelled', 'renewed', 'ended', 'lines_changed'));

-- Changes the quantity and/or the monthly unit price (before discount) of
-- contract lines from p_effective on, as one new immutable version of the
-- contract. p_lines is a JSON array of {"line_id", "quantity",
-- "unit_price"}, either of the last two absent to keep it.
--
-- Lines are never rewritten: each line changed ends on p_effective - 1
-- and a new line, the same but for the change, starts on p_effective and
-- ends when the old one did. Periods before the change are billed as they
-- were and those after at the new terms; a billing period that straddles
-- the change is billed in two parts, prorated by the site's day-count rule
-- (both rules add up to the whole period).
--
-- Refused:
--   MS010 a contract that is not active or notice_given; a line invoiced
--         through p_effective or later (an invoiced period is not re-priced
--         here: amend from the day after, or credit the period first)
--   MS003 effective_date outside the contract's service, or, at a site
--         that bills partial periods whole (proration none), not the first
--         day of a billing period of the line (else that period would be
--         billed whole twice); lines empty, naming a line twice, a line of
--         another contract or not in force on p_effective, or changing
--         nothing
-- Returns the new version.
-- +goose StatementBegin
CREATE FUNCTION contracts.amend_lines(p_contract_id uuid, p_effective date, p_lines jsonb) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    c     contracts.contract;
    r     core.site_setting;
    l     contracts.contract_line;
    ch    record;
    twice text;
    v     integer;
BEGIN
    SELECT * INTO c FROM contracts.contract WHERE id = p_contract_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'contract % not found', p_contract_id USING ERRCODE = 'P0002';
    END IF;
    IF c.status NOT IN ('active', 'notice_given') THEN
        RAISE EXCEPTION 'contract % is %; its lines cannot change', c.number, c.status
            USING ERRCODE = 'MS010', DETAIL = 'active,notice_given';
    END IF;
    IF p_effective < c.start_date OR p_effective > least(c.term_end, coalesce(c.end_date, c.term_end)) THEN
        RAISE EXCEPTION 'effective date % is outside the service of contract % (% to %)', p_effective, c.number,
            c.start_date, least(c.term_end, coalesce(c.end_date, c.term_end))
            USING ERRCODE = 'MS003', COLUMN = 'effective_date';
    END IF;
    IF p_lines IS NULL OR jsonb_typeof(p_lines) <> 'array' OR jsonb_array_length(p_lines) = 0 THEN
        RAISE EXCEPTION 'an amendment changes at least one line' USING ERRCODE = 'MS003', COLUMN = 'lines';
    END IF;
    SELECT e ->> 'line_id' INTO twice FROM jsonb_array_elements(p_lines) e GROUP BY 1 HAVING count(*) > 1 LIMIT 1;
    IF twice IS NOT NULL THEN
        RAISE EXCEPTION 'line % is named twice', twice USING ERRCODE = 'MS003', COLUMN = 'lines';
    END IF;
    SELECT * INTO r FROM core.site_rules(c.site_id, p_effective);

    FOR ch IN
        SELECT (e ->> 'line_id')::uuid AS line_id, (e ->> 'quantity')::numeric AS quantity,
               (e ->> 'unit_price')::numeric AS unit_price
          FROM jsonb_array_elements(p_lines) e
    LOOP
        SELECT * INTO l FROM contracts.contract_line WHERE id = ch.line_id AND contract_id = c.id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'line % is not a line of contract %', ch.line_id, c.number USING ERRCODE = 'MS003', COLUMN = 'lines';
        END IF;
        IF l.start_date > p_effective OR l.end_date < p_effective THEN
            RAISE EXCEPTION 'line % of contract % is not in force on %', l.line_no, c.number, p_effective
                USING ERRCODE = 'MS003', COLUMN = 'lines';
        END IF;
        IF coalesce(ch.quantity, l.quantity) = l.quantity AND coalesce(ch.unit_price, l.unit_price) = l.unit_price THEN
            RAISE EXCEPTION 'the amendment changes nothing on line % of contract %', l.line_no, c.number
                USING ERRCODE = 'MS003', COLUMN = 'lines';
        END IF;
        IF l.billed_through >= p_effective THEN
            RAISE EXCEPTION 'line % of contract % is invoiced through %: amend from % or later, or credit the invoiced period first',
                l.line_no, c.number, l.billed_through, l.billed_through + 1 USING ERRCODE = 'MS010';
        END IF;
        IF r.proration = 'none' AND billing.period_start(p_effective, l.billing_frequency) <> p_effective THEN
            RAISE EXCEPTION 'site % bills partial periods whole: a change of line % must start a billing period (e.g. %)',
                c.site_id, l.line_no,
                (billing.period_start(p_effective, l.billing_frequency) + make_interval(months => core.frequency_months(l.billing_frequency)))::date
                USING ERRCODE = 'MS003', COLUMN = 'effective_date';
        END IF;

        UPDATE contracts.contract_line SET end_date = p_effective - 1 WHERE id = l.id;
        INSERT INTO contracts.contract_line (
            contract_id, site_id, line_no, product_id, description, quantity, unit_price, unit_cost, discount_pct,
            billing_frequency, billing_timing, start_date, end_date, billed_through)
        SELECT c.id, c.site_id, max(x.line_no) + 1, l.product_id, l.description, coalesce(ch.quantity, l.quantity),
               coalesce(ch.unit_price, l.unit_price), l.unit_cost, l.discount_pct, l.billing_frequency, l.billing_timing,
               p_effective, l.end_date, p_effective - 1
          FROM contracts.contract_line x WHERE x.contract_id = c.id;
    END LOOP;

    UPDATE contracts.contract SET version = version + 1, updated_at = now() WHERE id = c.id RETURNING version INTO v;
    PERFORM contracts.record_amendment(ARRAY[c.id], 'lines_changed', p_effective);
    RETURN v;
END
$$;
-- +goose StatementEnd

-- Lists -----------------------------------------------------------------------------

-- The keys the lists page on (newest first); invoices also by customer,
-- the filter a customer's account uses.
CREATE INDEX contract_listing ON contracts.contract (created_at, id);
CREATE INDEX invoice_run_listing ON billing.invoice_run (created_at, id);
CREATE INDEX invoice_listing ON billing.invoice (issue_date, id);
CREATE INDEX invoice_customer ON billing.invoice (customer_id, issue_date, id);

-- +goose Down
DROP INDEX billing.invoice_customer, billing.invoice_listing, billing.invoice_run_listing, contracts.contract_listing;
DROP FUNCTION contracts.amend_lines(uuid, date, jsonb);
-- NOT VALID: versions of kind lines_changed stay (history is never
-- deleted); only new ones are refused.
ALTER TABLE contracts.amendment DROP CONSTRAINT amendment_kind_check,
    ADD CONSTRAINT amendment_kind_check
        CHECK (kind IN ('created', 'lines_added', 'terms', 'notice', 'cancelled', 'renewed', 'ended')) NOT VALID;
DROP FUNCTION contracts.cancel_by_site_policy(uuid, date);
DROP INDEX files.attachment_invoice_name;
ALTER TABLE core.customer DROP CONSTRAINT customer_address_whole,
    DROP COLUMN address_country, DROP COLUMN address_postcode, DROP COLUMN address_city, DROP COLUMN address_street;
ALTER TABLE core.legal_entity DROP CONSTRAINT legal_entity_address_whole,
    DROP COLUMN address_country, DROP COLUMN address_postcode, DROP COLUMN address_city, DROP COLUMN address_street;
DROP FUNCTION core.is_country_code(text);
