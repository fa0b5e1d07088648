-- Contracts, notices, renewals and cancellations. The rules live in the
-- PL/pgSQL functions of migration 00009; these queries call them and read
-- the results.

-- name: ContractCreateFromOrder :one
SELECT contracts.create_from_order(
    @order_id::uuid, sqlc.narg('start_date')::date, sqlc.narg('auto_renew')::boolean,
    sqlc.narg('renewal_term_months')::integer, sqlc.narg('notice_days')::integer,
    sqlc.narg('uplift_pct')::numeric, sqlc.narg('minimum_commitment')::numeric,
    sqlc.narg('etf_rule')::contracts.etf_rule, sqlc.narg('etf_value')::numeric,
    sqlc.narg('billing_timing')::core.billing_timing)::uuid AS id;

-- name: ContractAmendTerms :one
SELECT contracts.amend_terms(
    @contract_id::uuid, @effective_date::date, sqlc.narg('auto_renew')::boolean,
    sqlc.narg('renewal_term_months')::integer, sqlc.narg('notice_days')::integer,
    sqlc.narg('uplift_pct')::numeric, sqlc.narg('minimum_commitment')::numeric,
    sqlc.narg('etf_rule')::contracts.etf_rule, sqlc.narg('etf_value')::numeric)::integer AS version;

-- name: ContractAmendLines :one
SELECT contracts.amend_lines(@contract_id::uuid, @effective_date::date, @lines::jsonb)::integer AS version;

-- name: ContractGet :one
SELECT * FROM contracts.contract WHERE id = @id;

-- name: ContractLineList :many
SELECT * FROM contracts.contract_line WHERE contract_id = @contract_id ORDER BY line_no;

-- name: ContractLineListByContracts :many
SELECT * FROM contracts.contract_line WHERE contract_id = ANY (@contract_ids::uuid[]) ORDER BY contract_id, line_no;

-- Keyset pagination on (created_at, id) descending: newest first, stable.
-- name: ContractList :many
SELECT * FROM contracts.contract c
WHERE (sqlc.narg('site_id')::text IS NULL OR c.site_id = sqlc.narg('site_id')::text)
  AND (sqlc.narg('status')::contracts.contract_status IS NULL OR c.status = sqlc.narg('status')::contracts.contract_status)
  AND (sqlc.narg('customer_id')::uuid IS NULL OR c.customer_id = sqlc.narg('customer_id')::uuid)
  AND (sqlc.narg('after_created_at')::timestamptz IS NULL
       OR (c.created_at, c.id) < (sqlc.narg('after_created_at')::timestamptz, sqlc.narg('after_id')::uuid))
ORDER BY c.created_at DESC, c.id DESC
LIMIT @max_rows;

-- name: ContractListByOrder :many
SELECT DISTINCT c.* FROM contracts.contract c
JOIN contracts.contract_line l ON l.contract_id = c.id
JOIN orders.order_line ol ON ol.id = l.order_line_id
WHERE ol.order_id = @order_id
ORDER BY c.number;

-- name: AmendmentList :many
SELECT * FROM contracts.amendment WHERE contract_id = @contract_id ORDER BY version;

-- Oldest first, after a version (0: from the first).
-- name: AmendmentPage :many
SELECT * FROM contracts.amendment
WHERE contract_id = @contract_id AND version > @after_version
ORDER BY version
LIMIT @max_rows;

-- name: AmendmentGet :one
SELECT * FROM contracts.amendment WHERE contract_id = @contract_id AND version = @version;

-- name: ContractCancel :one
SELECT contracts.cancel(
    @contract_id::uuid, @policy::contracts.cancel_policy, @received_on::date,
    sqlc.narg('end_date')::date)::uuid AS notice_id;

-- name: ContractCancelBySitePolicy :one
SELECT contracts.cancel_by_site_policy(@contract_id::uuid, @received_on::date)::uuid AS notice_id;

-- name: NoticeGet :one
SELECT * FROM contracts.notice WHERE id = @id;

-- name: NoticeList :many
SELECT * FROM contracts.notice WHERE contract_id = @contract_id ORDER BY received_on, created_at;

-- name: ChargeList :many
SELECT * FROM contracts.charge WHERE contract_id = @contract_id ORDER BY charge_date, created_at;

-- name: RenewalsProcess :one
SELECT contracts.process_renewals(@as_of::date)::integer AS renewed;

-- name: ContractSiteGet :one
-- The site of a contract, for callers that only need to know it exists, is
-- visible and where it belongs (attachments).
SELECT site_id FROM contracts.contract WHERE id = @id;

-- name: ContractListByInvoice :many
-- The visible contracts an invoice's lines bill, in the lines' order (by
-- contract id), without their lines.
SELECT c.* FROM contracts.contract c
WHERE c.id IN (SELECT il.contract_id FROM billing.invoice_line il WHERE il.invoice_id = @invoice_id)
ORDER BY c.id;
