-- +goose Up
-- Audit every business table of 00004 (orders) and 00005 (files). Left out
-- on purpose: orders.status_transition (reference data that only
-- migrations write), files.blob and files.upload (the store's own
-- bookkeeping: pins and GC marks change constantly and say nothing about
-- the business; a document's history is its revisions, audited here).
SELECT audit.enable('core.site_setting');
SELECT audit.enable('core.legal_entity');
SELECT audit.enable('core.customer');
SELECT audit.enable('core.product');
SELECT audit.enable('core.price_book');
SELECT audit.enable('core.price');
SELECT audit.enable('orders."order"');
SELECT audit.enable('orders.order_line');
SELECT audit.enable('orders.order_line_split');
SELECT audit.enable('orders.approval');
SELECT audit.enable('orders.order_transition');
SELECT audit.enable('files.attachment');
SELECT audit.enable('files.revision');

-- +goose Down
SELECT audit.disable('files.revision');
SELECT audit.disable('files.attachment');
SELECT audit.disable('orders.order_transition');
SELECT audit.disable('orders.approval');
SELECT audit.disable('orders.order_line_split');
SELECT audit.disable('orders.order_line');
SELECT audit.disable('orders."order"');
SELECT audit.disable('core.price');
SELECT audit.disable('core.price_book');
SELECT audit.disable('core.product');
SELECT audit.disable('core.customer');
SELECT audit.disable('core.legal_entity');
SELECT audit.disable('core.site_setting');
