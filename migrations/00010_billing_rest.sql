-- +goose Up
-- The rest of issue 8 (contracts and invoicing): postal addresses of
-- sellers and buyers for EN 16931 invoices; one attachment per name of an
-- invoice's rendered documents.

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

-- +goose Down
DROP INDEX files.attachment_invoice_name;
ALTER TABLE core.customer DROP CONSTRAINT customer_address_whole,
    DROP COLUMN address_country, DROP COLUMN address_postcode, DROP COLUMN address_city, DROP COLUMN address_street;
ALTER TABLE core.legal_entity DROP CONSTRAINT legal_entity_address_whole,
    DROP COLUMN address_country, DROP COLUMN address_postcode, DROP COLUMN address_city, DROP COLUMN address_street;
DROP FUNCTION core.is_country_code(text);
