package main

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type pgxTx = pgx.Tx

// seed makes site BENCH (advance billing, daily proration, 20 % tax), one
// legal entity, customers with one contract each of perContract monthly
// lines from Jan 1, 2025, and the baseline's table, set-based as the
// owner. Contracts need an order: they all point at one draft order, which
// is all the foreign key asks.
func seed(ctx context.Context, owner *pgxpool.Pool, customers, perContract int) error {
	_, err := owner.Exec(ctx, `
		INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('BENCH', 'Bench', 'FR', 'EUR', 'UTC');
		INSERT INTO core.site_setting (site_id, effective_from, billing_timing, proration, default_renewal_months,
			notice_days, cancellation_policy, invoice_number_format, tax_rate, reverse_charge, rounding, rounding_scale,
			currency, timezone, approval_amount_threshold, approval_min_margin_pct)
		VALUES ('BENCH', '2020-01-01', 'advance', 'daily', 12, 30, 'end_of_term', '{prefix}-{yyyy}-{seq:7}', 0.2, true,
			'half_up', 2, 'EUR', 'UTC', 1000000, 0);
		INSERT INTO core.legal_entity (site_id, name, vat_id, invoice_prefix, address_street, address_city, address_postcode, address_country)
		VALUES ('BENCH', 'Bench SAS', 'FR00000000000', 'BENCH', '1 rue du Banc', 'Paris', '75001', 'FR');
		INSERT INTO core.product (sku, name, kind, billing_frequency, default_term_months)
		VALUES ('BENCH-SVC', 'Bench service', 'recurring', 'monthly', 12);
		CREATE SCHEMA bench;
		CREATE TABLE bench.baseline_line (
			contract_id uuid NOT NULL, contract_line_id uuid NOT NULL, description text NOT NULL,
			period_start date NOT NULL, period_end date NOT NULL, quantity numeric(12, 3) NOT NULL,
			unit_price numeric(14, 4) NOT NULL, net numeric(16, 2) NOT NULL, tax_rate numeric(6, 4) NOT NULL,
			tax numeric(16, 2) NOT NULL, cost numeric(16, 2) NOT NULL);
		GRANT USAGE ON SCHEMA bench TO messina_app;
		GRANT SELECT, INSERT, TRUNCATE ON bench.baseline_line TO messina_app;`)
	if err != nil {
		return err
	}
	_, err = owner.Exec(ctx, `
		WITH e AS (SELECT id FROM core.legal_entity WHERE site_id = 'BENCH'),
		cu AS (
			INSERT INTO core.customer (site_id, name, vat_id, currency, language, timezone,
			                           address_street, address_city, address_postcode, address_country)
			SELECT 'BENCH', 'Customer ' || g, CASE WHEN g % 5 = 0 THEN 'DE' || lpad(g::text, 9, '0') END, 'EUR', 'en', 'UTC',
			       g || ' Benchstraße', 'Berlin', '10115', 'DE'
			  FROM generate_series(1, $1::integer) g
			RETURNING id),
		o AS (
			INSERT INTO orders."order" (site_id, legal_entity_id, customer_id, salesperson, currency)
			SELECT 'BENCH', e.id, (SELECT id FROM cu LIMIT 1), 'bench', 'EUR' FROM e
			RETURNING id),
		c AS (
			INSERT INTO contracts.contract (number, site_id, customer_id, legal_entity_id, currency, order_id, start_date,
				initial_term_months, renewal_term_months, term_start, term_end, notice_days)
			SELECT 'BENCH-C' || lpad(row_number() OVER ()::text, 7, '0'), 'BENCH', cu.id, e.id, 'EUR', o.id,
				'2025-01-01', 12, 12, '2025-01-01', '2025-12-31', 30
			  FROM cu, e, o
			RETURNING id)
		INSERT INTO contracts.contract_line (contract_id, site_id, line_no, product_id, description, quantity, unit_price,
			unit_cost, billing_frequency, billing_timing, start_date, billed_through)
		SELECT c.id, 'BENCH', n, p.id, 'Bench service ' || n, 1 + n % 3, 10 + n * 1.25, 6 + n, 'monthly', 'advance',
			'2025-01-01', '2024-12-31'
		  FROM c, generate_series(1, $2::integer) n, core.product p
		 WHERE p.sku = 'BENCH-SVC'`, customers, perContract)
	if err != nil {
		return err
	}
	_, err = owner.Exec(ctx, `ANALYZE`)
	return err
}
