-- +goose Up
-- The rest of issue 8 (contracts and invoicing): postal addresses of
-- sellers and buyers for EN 16931 invoices; one attachment per name of an
-- invoice's rendered documents; cancellations by the site's policy.

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

-- +goose Down
DROP FUNCTION contracts.cancel_by_site_policy(uuid, date);
DROP INDEX files.attachment_invoice_name;
ALTER TABLE core.customer DROP CONSTRAINT customer_address_whole,
    DROP COLUMN address_country, DROP COLUMN address_postcode, DROP COLUMN address_city, DROP COLUMN address_street;
ALTER TABLE core.legal_entity DROP CONSTRAINT legal_entity_address_whole,
    DROP COLUMN address_country, DROP COLUMN address_postcode, DROP COLUMN address_city, DROP COLUMN address_street;
DROP FUNCTION core.is_country_code(text);
