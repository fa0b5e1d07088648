-- Demo data set (orders.Seed). Runs as one script in one transaction;
-- sizes and the random seed come from transaction settings set by Seed:
-- messina.seed_customers, messina.seed_orders, messina.seed_random.
-- Everything is set-based: rows are generated with generate_series and
-- random choices are picked by index from numbered temp tables.

SELECT setseed(current_setting('messina.seed_random')::float8);

-- Sites, each with its own rules; a rule change in mid-2024 shows history.
INSERT INTO core.site (id, name, country, currency, timezone) VALUES
    ('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London'),
    ('FR', 'France', 'FR', 'EUR', 'Europe/Paris'),
    ('DE', 'Germany', 'DE', 'EUR', 'Europe/Berlin'),
    ('PT', 'Portugal', 'PT', 'EUR', 'Europe/Lisbon'),
    ('ES', 'Spain', 'ES', 'EUR', 'Europe/Madrid'),
    ('NL', 'Netherlands', 'NL', 'EUR', 'Europe/Amsterdam'),
    ('US', 'United States', 'US', 'USD', 'America/New_York');

-- Newest first: the guard lets history be filled in only before a site's
-- earliest rule.
INSERT INTO core.site_setting (site_id, effective_from, billing_timing, proration, default_renewal_months, notice_days,
    cancellation_policy, invoice_number_format, tax_rate, reverse_charge, rounding, rounding_scale, currency, timezone,
    approval_amount_threshold, approval_min_margin_pct)
SELECT r.* FROM (VALUES
    ('UK', date '2024-07-01', 'advance'::core.billing_timing, 'daily'::core.proration_rule, 12, 60, 'end_of_term'::core.cancellation_policy, '{prefix}-{yyyy}-{seq:6}', 0.2000, true, 'half_up'::core.rounding_mode, 2, 'GBP', 'Europe/London', 50000.00, 25.00),
    ('UK', date '2020-01-01', 'advance', 'daily', 12, 30, 'end_of_term', '{prefix}-{yyyy}-{seq:6}', 0.2000, true, 'half_up', 2, 'GBP', 'Europe/London', 25000.00, 20.00),
    ('FR', date '2024-07-01', 'advance', 'daily', 12, 90, 'end_of_notice', 'F{prefix}{yyyy}{seq:7}', 0.2000, true, 'half_even', 2, 'EUR', 'Europe/Paris', 40000.00, 22.00),
    ('FR', date '2020-01-01', 'advance', 'monthly', 12, 90, 'end_of_notice', 'F{prefix}{yyyy}{seq:7}', 0.2000, true, 'half_even', 2, 'EUR', 'Europe/Paris', 30000.00, 22.00),
    ('DE', date '2024-07-01', 'arrears', 'daily', 24, 90, 'end_of_notice', '{prefix}/{yyyy}/{seq:6}', 0.1900, true, 'half_up', 2, 'EUR', 'Europe/Berlin', 60000.00, 18.00),
    ('DE', date '2020-01-01', 'arrears', 'daily', 12, 90, 'end_of_notice', '{prefix}/{yyyy}/{seq:6}', 0.1900, true, 'half_up', 2, 'EUR', 'Europe/Berlin', 60000.00, 18.00),
    ('PT', date '2024-07-01', 'advance', 'none', 12, 30, 'immediate_with_fee', '{prefix} {yyyy}/{seq:5}', 0.2300, true, 'half_up', 2, 'EUR', 'Europe/Lisbon', 15000.00, 25.00),
    ('PT', date '2020-01-01', 'advance', 'none', 12, 30, 'immediate_with_fee', '{prefix} {yyyy}/{seq:5}', 0.2300, true, 'half_up', 2, 'EUR', 'Europe/Lisbon', 10000.00, 25.00),
    ('ES', date '2024-07-01', 'advance', 'daily', 12, 30, 'end_of_term', '{prefix}-{yyyy}-{seq:6}', 0.2100, true, 'half_up', 2, 'EUR', 'Europe/Madrid', 20000.00, 20.00),
    ('ES', date '2020-01-01', 'advance', 'daily', 12, 15, 'end_of_term', '{prefix}-{yyyy}-{seq:6}', 0.2100, true, 'half_up', 2, 'EUR', 'Europe/Madrid', 20000.00, 20.00),
    ('NL', date '2024-07-01', 'advance', 'monthly', 12, 30, 'end_of_notice', '{prefix}{yyyy}{seq:6}', 0.2100, true, 'half_even', 2, 'EUR', 'Europe/Amsterdam', 35000.00, 20.00),
    ('NL', date '2020-01-01', 'advance', 'monthly', 12, 30, 'end_of_notice', '{prefix}{yyyy}{seq:6}', 0.2100, true, 'half_even', 2, 'EUR', 'Europe/Amsterdam', 35000.00, 15.00),
    ('US', date '2024-07-01', 'arrears', 'daily', 36, 60, 'immediate_with_fee', '{prefix}-{seq:8}', 0.0000, false, 'half_up', 2, 'USD', 'America/New_York', 100000.00, 30.00),
    ('US', date '2020-01-01', 'arrears', 'daily', 12, 60, 'immediate_with_fee', '{prefix}-{seq:8}', 0.0000, false, 'half_up', 2, 'USD', 'America/New_York', 75000.00, 30.00)
) AS r;

-- With the postal addresses EN 16931 invoices show for the seller.
INSERT INTO core.legal_entity (site_id, name, vat_id, invoice_prefix, address_street, address_city, address_postcode, address_country) VALUES
    ('UK', 'Messina UK Ltd', 'GB293847561', 'MUK', '1 Fleet Street', 'London', 'EC4Y 1AA', 'GB'),
    ('UK', 'Messina Networks UK Ltd', 'GB384756192', 'MNUK', '40 Spring Gardens', 'Manchester', 'M2 1EN', 'GB'),
    ('FR', 'Messina France SAS', 'FR40123456824', 'MFR', '12 rue de la Paix', 'Paris', '75002', 'FR'),
    ('DE', 'Messina Deutschland GmbH', 'DE123456789', 'MDE', 'Friedrichstraße 68', 'Berlin', '10117', 'DE'),
    ('PT', 'Messina Portugal Lda', 'PT501234567', 'MPT', 'Avenida da Liberdade 110', 'Lisboa', '1269-046', 'PT'),
    ('ES', 'Messina Iberia SL', 'ESB12345678', 'MES', 'Calle de Alcalá 45', 'Madrid', '28014', 'ES'),
    ('NL', 'Messina Nederland BV', 'NL123456789B01', 'MNL', 'Herengracht 182', 'Amsterdam', '1016 BR', 'NL'),
    ('US', 'Messina Inc', 'US471234567', 'MUS', '350 Fifth Avenue', 'New York, NY', '10118', 'US'),
    ('US', 'Messina Federal LLC', 'US472345678', 'MFED', '1100 Wilson Boulevard', 'Arlington, VA', '22209', 'US');

-- Monthly list prices in GBP; other currencies derive from them.
CREATE TEMP TABLE seed_product (idx int PRIMARY KEY, id uuid, kind core.product_kind, price numeric, cost numeric) ON COMMIT DROP;
WITH p (sku, name, kind, freq, term, price, cost) AS (VALUES
    ('FIBRE-100M', 'Fibre 100 Mbit/s', 'recurring'::core.product_kind, 'monthly'::core.billing_frequency, 12, 89.00, 41.00),
    ('FIBRE-1G', 'Fibre 1 Gbit/s', 'recurring', 'monthly', 36, 249.00, 121.00),
    ('FIBRE-10G', 'Fibre 10 Gbit/s', 'recurring', 'quarterly', 36, 1190.00, 610.00),
    ('SDWAN-SITE', 'SD-WAN per site', 'recurring', 'monthly', 24, 149.00, 62.00),
    ('MPLS-PORT', 'MPLS port', 'recurring', 'monthly', 36, 420.00, 250.00),
    ('VOICE-SEAT', 'Cloud voice seat', 'recurring', 'monthly', 12, 14.50, 6.10),
    ('M365-E3', 'Microsoft 365 E3', 'recurring', 'annual', 12, 33.00, 28.40),
    ('BACKUP-TB', 'Managed backup per TB', 'recurring', 'monthly', 12, 39.00, 13.00),
    ('FIREWALL-MGD', 'Managed firewall', 'recurring', 'monthly', 36, 310.00, 140.00),
    ('COLO-RACK', 'Colocation rack', 'recurring', 'quarterly', 24, 990.00, 720.00),
    ('SUPPORT-247', '24/7 premium support', 'recurring', 'annual', 12, 450.00, 180.00),
    ('DDOS-PROT', 'DDoS protection', 'recurring', 'monthly', 12, 199.00, 70.00),
    ('INSTALL-STD', 'Standard installation', 'one_off', NULL, NULL, 350.00, 210.00),
    ('INSTALL-EXP', 'Expedited installation', 'one_off', NULL, NULL, 950.00, 480.00),
    ('ROUTER-SMB', 'Router, small business', 'one_off', NULL, NULL, 240.00, 165.00),
    ('ROUTER-ENT', 'Router, enterprise', 'one_off', NULL, NULL, 2900.00, 2150.00),
    ('SWITCH-48', '48-port switch', 'one_off', NULL, NULL, 1650.00, 1190.00),
    ('SURVEY', 'Site survey', 'one_off', NULL, NULL, 600.00, 260.00),
    ('PM-DAY', 'Project management day', 'one_off', NULL, NULL, 850.00, 420.00),
    ('TRAINING', 'Training session', 'one_off', NULL, NULL, 500.00, 150.00)
), ins AS (
    INSERT INTO core.product (sku, name, kind, billing_frequency, default_term_months)
    SELECT sku, name, kind, freq, term FROM p
    RETURNING id, sku, kind
)
INSERT INTO seed_product (idx, id, kind, price, cost)
SELECT row_number() OVER (ORDER BY ins.sku), ins.id, ins.kind, p.price, p.cost
FROM ins JOIN p USING (sku);

-- country, streets, cities and postcodes make customers' postal addresses:
-- a street, and a city with its postcode, are picked by index.
CREATE TEMP TABLE seed_site (site_id text PRIMARY KEY, currency text, fx numeric, lang text, tz text, weight int, lo int, hi int,
                             country text, streets text[], cities text[], postcodes text[]) ON COMMIT DROP;
INSERT INTO seed_site (site_id, currency, fx, lang, tz, weight, country, streets, cities, postcodes) VALUES
    ('UK', 'GBP', 1.00, 'en', 'Europe/London', 25, 'GB', '{High Street,Station Road,Church Lane,Mill Road}',
     '{London,Leeds,Bristol,Glasgow}', '{EC1A 1BB,LS1 4AP,BS1 5TR,G1 1XQ}'),
    ('FR', 'EUR', 1.17, 'fr', 'Europe/Paris', 15, 'FR', '{rue de la République,avenue Jean Jaurès,rue Victor Hugo,boulevard Pasteur}',
     '{Paris,Lyon,Marseille,Toulouse}', '{75011,69002,13001,31000}'),
    ('DE', 'EUR', 1.17, 'de', 'Europe/Berlin', 15, 'DE', '{Hauptstraße,Bahnhofstraße,Schillerstraße,Gartenweg}',
     '{Berlin,Hamburg,München,Köln}', '{10115,20095,80331,50667}'),
    ('PT', 'EUR', 1.17, 'pt', 'Europe/Lisbon', 8, 'PT', '{Rua Augusta,Avenida da República,Rua de Santa Catarina,Rua do Carmo}',
     '{Lisboa,Porto,Braga,Coimbra}', '{1100-048,4000-447,4700-001,3000-098}'),
    ('ES', 'EUR', 1.17, 'es', 'Europe/Madrid', 12, 'ES', '{Calle Mayor,Gran Vía,Calle de Serrano,Paseo de Gracia}',
     '{Madrid,Barcelona,Valencia,Sevilla}', '{28013,08007,46002,41001}'),
    ('NL', 'EUR', 1.17, 'nl', 'Europe/Amsterdam', 10, 'NL', '{Kerkstraat,Dorpsstraat,Stationsweg,Molenweg}',
     '{Amsterdam,Rotterdam,Utrecht,Eindhoven}', '{1017 GB,3011 AD,3511 LX,5611 AB}'),
    ('US', 'USD', 1.27, 'en-US', 'America/New_York', 15, 'US', '{Main Street,Oak Avenue,Maple Drive,Park Place}',
     '{"New York, NY","Boston, MA","Chicago, IL","Austin, TX"}', '{10001,02108,60601,73301}');
-- Cumulative weight ranges [lo, hi) out of 100 pick a site per customer.
UPDATE seed_site s SET lo = w.lo, hi = w.hi
FROM (SELECT site_id, sum(weight) OVER (ORDER BY site_id) - weight AS lo, sum(weight) OVER (ORDER BY site_id) AS hi FROM seed_site) w
WHERE w.site_id = s.site_id;

-- Standard price books; a 4 % price rise (costs +3 %) from 2025.
INSERT INTO core.price_book (site_id, name, currency)
SELECT site_id, site_id || ' standard ' || currency, currency FROM seed_site;
INSERT INTO core.price (price_book_id, site_id, product_id, effective_from, unit_price, unit_cost)
SELECT b.id, b.site_id, p.id, v.from_date, round(p.price * s.fx * v.up, 2), round(p.cost * s.fx * v.cost_up, 2)
FROM core.price_book b
JOIN seed_site s ON s.site_id = b.site_id
CROSS JOIN seed_product p
CROSS JOIN (VALUES (date '2020-01-01', 1.00, 1.00), (date '2025-01-01', 1.04, 1.03)) AS v (from_date, up, cost_up)
WHERE b.customer_id IS NULL;

-- Customers.
CREATE TEMP TABLE seed_customer (idx int PRIMARY KEY, id uuid, site_id text, po_required boolean) ON COMMIT DROP;
WITH g AS (
    -- Street and city come from i, not random(), so that adding addresses
    -- left every other random choice of a seed as it was.
    SELECT i, floor(random() * 100)::int AS pick, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
           1 + i % 4 AS street, 1 + (i / 4) % 4 AS city
    FROM generate_series(1, current_setting('messina.seed_customers')::int) AS i
), c AS (
    SELECT g.i, s.site_id, s.currency, s.lang, s.tz,
           CASE WHEN s.country IN ('FR', 'GB', 'US') THEN (1 + g.i % 180) || ' ' || s.streets[g.street]
                ELSE s.streets[g.street] || ' ' || (1 + g.i % 180) END AS street,
           s.cities[g.city] AS city, s.postcodes[g.city] AS postcode, s.country,
           (ARRAY['Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent',
                  'Hooli', 'Vandelay', 'Wonka', 'Gringotts', 'Oceanic', 'Monarch', 'Aperture', 'Black Mesa', 'Massive Dynamic', 'Pied Piper'])[1 + floor(g.r1 * 20)::int]
           || ' ' ||
           (ARRAY['Logistics', 'Retail', 'Foods', 'Health', 'Energy', 'Media', 'Insurance', 'Legal', 'Hotels', 'Pharma',
                  'Motors', 'Telecom', 'Finance', 'Studios', 'Airlines', 'Labs'])[1 + floor(g.r2 * 16)::int]
           || ' ' || g.i AS name,
           (ARRAY[14, 30, 30, 30, 45, 60])[1 + floor(g.r3 * 6)::int] AS terms,
           g.r4 < 0.15 AS po_required,
           g.r4 > 0.25 AS has_vat
    FROM g JOIN seed_site s ON g.pick >= s.lo AND g.pick < s.hi
), ins AS (
    INSERT INTO core.customer (id, site_id, name, vat_id, currency, language, timezone, payment_terms_days, po_required,
                               address_street, address_city, address_postcode, address_country)
    SELECT md5('customer' || c.i)::uuid, c.site_id, c.name,
           CASE WHEN c.has_vat THEN CASE c.site_id WHEN 'UK' THEN 'GB' WHEN 'US' THEN 'US' ELSE c.site_id END || lpad((100000000 + c.i)::text, 9, '0') END,
           c.currency, c.lang, c.tz, c.terms, c.po_required, c.street, c.city, c.postcode, c.country
    FROM c
    RETURNING id, site_id, po_required
)
INSERT INTO seed_customer (idx, id, site_id, po_required)
SELECT row_number() OVER (ORDER BY id), id, site_id, po_required FROM ins;

-- One customer in twenty has negotiated prices on two products: only those
-- rows, never a copy of the catalogue.
WITH vip AS (
    SELECT c.id, c.site_id, s.currency FROM seed_customer c JOIN seed_site s USING (site_id) WHERE random() < 0.05
), book AS (
    INSERT INTO core.price_book (site_id, name, currency, customer_id)
    SELECT site_id, 'Negotiated prices', currency, id FROM vip
    RETURNING id, site_id, customer_id
)
INSERT INTO core.price (price_book_id, site_id, product_id, effective_from, unit_price, unit_cost)
SELECT book.id, book.site_id, p.id, date '2024-01-01', round(p.price * s.fx * 0.88, 2), NULL
FROM book
JOIN seed_site s ON s.site_id = book.site_id
JOIN seed_product p ON p.idx IN (1 + (abs(hashtext(book.customer_id::text)) % 20), 1 + (abs(hashtext(book.customer_id::text || 'b')) % 20));

CREATE TEMP TABLE seed_entity (site_id text, n int, id uuid, PRIMARY KEY (site_id, n)) ON COMMIT DROP;
INSERT INTO seed_entity SELECT site_id, row_number() OVER (PARTITION BY site_id ORDER BY name), id FROM core.legal_entity;

-- Orders spread over the last two years.
CREATE TEMP TABLE seed_order (id uuid PRIMARY KEY, target orders.order_status, reason text) ON COMMIT DROP;
WITH g AS (
    SELECT i, 1 + floor(random() * (SELECT count(*) FROM seed_customer))::int AS cust, random() AS r1, random() AS r2, random() AS r3, random() AS r4
    FROM generate_series(1, current_setting('messina.seed_orders')::int) AS i
), o AS (
    SELECT g.i, c.id AS customer_id, c.site_id, c.po_required, s.currency, g.r1, g.r2, g.r3, g.r4,
           (SELECT e.id FROM seed_entity e WHERE e.site_id = c.site_id
             ORDER BY e.n LIMIT 1 OFFSET floor(g.r2 * (SELECT count(*) FROM seed_entity x WHERE x.site_id = c.site_id))::int) AS entity_id,
           (current_date - floor(g.r1 * 730)::int) AS order_date
    FROM g JOIN seed_customer c ON c.idx = g.cust JOIN seed_site s ON s.site_id = c.site_id
), ins AS (
    INSERT INTO orders."order" (id, site_id, legal_entity_id, customer_id, salesperson, currency, po_number, notes, order_date, created_at, updated_at)
    SELECT md5('order' || o.i)::uuid, o.site_id, o.entity_id, o.customer_id,
           lower(o.site_id) || '.' || (ARRAY['alice', 'bruno', 'chen', 'dara', 'emeka', 'fatima'])[1 + floor(o.r3 * 6)::int],
           o.currency,
           CASE WHEN o.po_required OR o.r4 < 0.3 THEN 'PO-' || (100000 + o.i) END,
           '', o.order_date, o.order_date + time '09:00' + make_interval(secs => o.i % 28800), now()
    FROM o
    RETURNING id, order_date
)
-- Older orders have gone further through their lifecycle.
INSERT INTO seed_order (id, target, reason)
SELECT ins.id,
       CASE
           WHEN x.r < 0.04 THEN 'cancelled'
           WHEN x.r < 0.07 THEN 'rejected'
           WHEN ins.order_date > current_date - 20 THEN (ARRAY['draft', 'submitted', 'approved', 'booked']::orders.order_status[])[1 + floor(x.r2 * 4)::int]
           WHEN ins.order_date > current_date - 60 THEN (ARRAY['booked', 'provisioning', 'completed']::orders.order_status[])[1 + floor(x.r2 * 3)::int]
           ELSE 'completed'
       END,
       (ARRAY['customer chose a competitor', 'budget frozen', 'duplicate order', 'credit check failed', 'price too high'])[1 + floor(x.r2 * 5)::int]
FROM ins CROSS JOIN LATERAL (SELECT random() + 0 * length(ins.id::text) AS r, random() + 0 * length(ins.id::text) AS r2) x;

-- Lines: one to five per order, list prices, some discounts. line_no is
-- given: the trigger's max(line_no) lookup would scan the table, which has
-- no statistics yet inside this transaction.
INSERT INTO orders.order_line (order_id, site_id, line_no, product_id, quantity, discount_pct)
SELECT o.id, '', n, p.id,
       CASE WHEN p.kind = 'recurring' THEN 1 + floor(random() * 10) ELSE 1 + floor(random() * 3) END,
       (ARRAY[0, 0, 0, 0, 5, 10, 15])[1 + floor(random() * 7)::int]
FROM seed_order o
CROSS JOIN LATERAL generate_series(1, 1 + (abs(hashtext(o.id::text)) % 5)) AS n
JOIN seed_product p ON p.idx = 1 + (abs(hashtext(o.id::text || n)) % 20)
ORDER BY o.id, n;

-- A few lines share sales credit with an overlay specialist.
INSERT INTO orders.order_line_split (line_id, site_id, salesperson, share_pct)
SELECT l.id, l.site_id, lower(l.site_id) || '.specialist', 30
FROM orders.order_line l
WHERE abs(hashtext(l.id::text)) % 10 = 0;

-- Walk each order through the lifecycle to its target; the triggers check
-- every step and record it, and approve at submit what is within the rules.
UPDATE orders."order" o SET status = 'submitted'
FROM seed_order s WHERE s.id = o.id AND s.target NOT IN ('draft', 'cancelled');
UPDATE orders."order" o SET status = 'rejected', transition_reason = s.reason
FROM seed_order s WHERE s.id = o.id AND s.target = 'rejected' AND o.status = 'submitted';
UPDATE orders."order" o SET status = 'approved', transition_reason = 'approved by the sales director'
FROM seed_order s WHERE s.id = o.id AND s.target IN ('approved', 'booked', 'provisioning', 'completed') AND o.status = 'submitted';
UPDATE orders."order" o SET status = 'booked'
FROM seed_order s WHERE s.id = o.id AND s.target IN ('booked', 'provisioning', 'completed');
UPDATE orders."order" o SET status = 'provisioning'
FROM seed_order s WHERE s.id = o.id AND s.target IN ('provisioning', 'completed');
UPDATE orders."order" o SET status = 'completed'
FROM seed_order s WHERE s.id = o.id AND s.target = 'completed';
UPDATE orders."order" o SET status = 'cancelled', transition_reason = s.reason
FROM seed_order s WHERE s.id = o.id AND s.target = 'cancelled';
