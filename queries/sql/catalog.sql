-- Sites, their rules, legal entities, customers, products, price books and
-- prices. Every query runs under row-level security: callers see only the
-- sites of their principal.

-- name: SiteCreate :one
INSERT INTO core.site (id, name, country, currency, timezone)
VALUES (@id, @name, @country, @currency, @timezone)
RETURNING *;

-- name: SiteGet :one
SELECT * FROM core.site WHERE id = @id;

-- name: SiteList :many
SELECT * FROM core.site ORDER BY id;

-- name: SiteSettingCreate :one
INSERT INTO core.site_setting (
    site_id, effective_from, billing_timing, proration, default_renewal_months, notice_days,
    cancellation_policy, invoice_number_format, tax_rate, reverse_charge, rounding, rounding_scale,
    currency, timezone, approval_amount_threshold, approval_min_margin_pct)
VALUES (
    @site_id, @effective_from, @billing_timing, @proration, @default_renewal_months, @notice_days,
    @cancellation_policy, @invoice_number_format, @tax_rate, @reverse_charge, @rounding, @rounding_scale,
    @currency, @timezone, @approval_amount_threshold, @approval_min_margin_pct)
RETURNING *;

-- name: SiteSettingInForce :one
SELECT * FROM core.site_rules(@site_id, @on_date::date);

-- name: SiteSettingList :many
SELECT * FROM core.site_setting WHERE site_id = @site_id ORDER BY effective_from;

-- name: SiteToday :one
SELECT core.site_today(@site_id)::date AS today;

-- name: LegalEntityCreate :one
INSERT INTO core.legal_entity (site_id, name, vat_id, invoice_prefix,
                               address_street, address_city, address_postcode, address_country)
VALUES (@site_id, @name, @vat_id, @invoice_prefix,
        sqlc.narg('address_street'), sqlc.narg('address_city'), sqlc.narg('address_postcode'), sqlc.narg('address_country'))
RETURNING *;

-- The address is the only thing of a legal entity that changes: its name,
-- VAT id and prefix are what its posted invoices were issued under.
-- name: LegalEntitySetAddress :one
UPDATE core.legal_entity SET
    address_street = sqlc.narg('address_street'), address_city = sqlc.narg('address_city'),
    address_postcode = sqlc.narg('address_postcode'), address_country = sqlc.narg('address_country'),
    version = version + 1
WHERE id = @id AND version = @expected_version
RETURNING *;

-- name: LegalEntityGet :one
SELECT * FROM core.legal_entity WHERE id = @id;

-- name: LegalEntityList :many
SELECT * FROM core.legal_entity
WHERE (sqlc.narg('site_id')::text IS NULL OR site_id = sqlc.narg('site_id')::text)
ORDER BY site_id, name, id;

-- name: CustomerCreate :one
INSERT INTO core.customer (site_id, name, vat_id, currency, language, timezone, payment_terms_days, po_required,
                           address_street, address_city, address_postcode, address_country)
VALUES (@site_id, @name, sqlc.narg('vat_id'), @currency, @language, @timezone, @payment_terms_days, @po_required,
        sqlc.narg('address_street'), sqlc.narg('address_city'), sqlc.narg('address_postcode'), sqlc.narg('address_country'))
RETURNING *;

-- name: CustomerGet :one
SELECT * FROM core.customer WHERE id = @id;

-- name: CustomerUpdate :one
UPDATE core.customer SET
    name = @name, vat_id = sqlc.narg('vat_id'), currency = @currency, language = @language,
    timezone = @timezone, payment_terms_days = @payment_terms_days, po_required = @po_required,
    address_street = sqlc.narg('address_street'), address_city = sqlc.narg('address_city'),
    address_postcode = sqlc.narg('address_postcode'), address_country = sqlc.narg('address_country'),
    updated_at = now(), version = version + 1
WHERE id = @id AND version = @expected_version
RETURNING *;

-- Keyset pagination on (name, id): stable under inserts.
-- name: CustomerList :many
SELECT * FROM core.customer
WHERE (sqlc.narg('site_id')::text IS NULL OR site_id = sqlc.narg('site_id')::text)
  AND (sqlc.narg('search')::text IS NULL OR name ILIKE '%' || sqlc.narg('search')::text || '%')
  AND (sqlc.narg('after_name')::text IS NULL
       OR (name, id) > (sqlc.narg('after_name')::text, sqlc.narg('after_id')::uuid))
ORDER BY name, id
LIMIT @max_rows;

-- name: ProductCreate :one
INSERT INTO core.product (sku, name, kind, billing_frequency, default_term_months)
VALUES (@sku, @name, @kind, sqlc.narg('billing_frequency'), sqlc.narg('default_term_months'))
RETURNING *;

-- name: ProductGet :one
SELECT * FROM core.product WHERE id = @id;

-- name: ProductSetActive :one
UPDATE core.product SET active = @active, version = version + 1 WHERE id = @id RETURNING *;

-- name: ProductList :many
SELECT * FROM core.product
WHERE (sqlc.narg('kind')::core.product_kind IS NULL OR kind = sqlc.narg('kind')::core.product_kind)
  AND (sqlc.narg('active')::boolean IS NULL OR active = sqlc.narg('active')::boolean)
  AND (sqlc.narg('after_sku')::text IS NULL OR sku > sqlc.narg('after_sku')::text)
ORDER BY sku
LIMIT @max_rows;

-- name: PriceBookCreate :one
INSERT INTO core.price_book (site_id, name, currency, customer_id)
VALUES (@site_id, @name, @currency, sqlc.narg('customer_id'))
RETURNING *;

-- name: PriceBookGet :one
SELECT * FROM core.price_book WHERE id = @id;

-- name: PriceBookList :many
SELECT * FROM core.price_book
WHERE (sqlc.narg('site_id')::text IS NULL OR site_id = sqlc.narg('site_id')::text)
  AND (sqlc.narg('customer_id')::uuid IS NULL OR customer_id = sqlc.narg('customer_id')::uuid)
ORDER BY site_id, currency, customer_id NULLS FIRST, id;

-- name: PriceCreate :one
INSERT INTO core.price (price_book_id, site_id, product_id, effective_from, unit_price, unit_cost)
SELECT b.id, b.site_id, @product_id, @effective_from, @unit_price, sqlc.narg('unit_cost')
FROM core.price_book b WHERE b.id = @price_book_id
RETURNING *;

-- name: PriceList :many
SELECT * FROM core.price
WHERE price_book_id = @price_book_id
  AND (sqlc.narg('product_id')::uuid IS NULL OR product_id = sqlc.narg('product_id')::uuid)
ORDER BY product_id, effective_from;

-- name: PriceLookup :one
SELECT p.unit_price::numeric AS unit_price, p.unit_cost::numeric AS unit_cost,
       p.price_id::uuid AS price_id, p.source::text AS source
FROM core.price_at(@site_id, sqlc.narg('customer_id')::uuid, @product_id, @currency, @on_date::date) p
WHERE p.unit_cost IS NOT NULL;

-- name: CustomerNames :many
-- The names of the visible customers among ids, for lists that show them.
SELECT id, name FROM core.customer WHERE id = ANY(@ids::uuid[]);

-- name: SeedLock :exec
-- Serializes concurrent demo seeders until commit, so that "only when
-- empty" holds.
SELECT pg_advisory_xact_lock(7270004);

-- name: AnySite :one
-- Whether the database holds any site yet (the demo seed runs only when
-- none).
SELECT EXISTS (SELECT FROM core.site) AS any;
