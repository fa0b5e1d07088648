-- Invoice runs, invoices and credit notes. The computation, numbering and
-- immutability live in the PL/pgSQL functions of migration 00009.

-- name: RunPlan :one
SELECT billing.plan_run(@site_id::text, @run_date::date)::uuid AS id;

-- name: RunGet :one
SELECT * FROM billing.invoice_run WHERE id = @id;

-- Keyset pagination on (created_at, id) descending: newest first, stable.
-- name: RunList :many
SELECT * FROM billing.invoice_run r
WHERE (sqlc.narg('site_id')::text IS NULL OR r.site_id = sqlc.narg('site_id')::text)
  AND (sqlc.narg('status')::billing.run_status IS NULL OR r.status = sqlc.narg('status')::billing.run_status)
  AND (sqlc.narg('after_created_at')::timestamptz IS NULL
       OR (r.created_at, r.id) < (sqlc.narg('after_created_at')::timestamptz, sqlc.narg('after_id')::uuid))
ORDER BY r.created_at DESC, r.id DESC
LIMIT @max_rows;

-- name: RunPrepare :one
SELECT billing.prepare_run(@run_id::uuid)::integer AS lines;

-- name: RunPreview :one
SELECT billing.preview_run(@run_id::uuid)::jsonb AS document;

-- name: RunApprove :exec
SELECT billing.approve_run(@run_id::uuid);

-- name: RunPost :one
SELECT billing.post_run(@run_id::uuid)::integer AS invoices;

-- name: RunDiscard :exec
SELECT billing.discard_run(@run_id::uuid);

-- name: InvoiceGet :one
SELECT * FROM billing.invoice WHERE id = @id;

-- name: InvoiceListByRun :many
SELECT * FROM billing.invoice WHERE run_id = @run_id ORDER BY seq NULLS LAST, customer_id, legal_entity_id, currency;

-- A page of a run's invoices: numbered ones in number order (per legal
-- entity; drafts have none and count as 0), then by id, after the key
-- (after_seq, after_id).
-- name: InvoicePageByRun :many
SELECT * FROM billing.invoice i
WHERE i.run_id = @run_id
  AND (sqlc.narg('after_seq')::bigint IS NULL
       OR (coalesce(i.seq, 0), i.id) > (sqlc.narg('after_seq')::bigint, sqlc.narg('after_id')::uuid))
ORDER BY coalesce(i.seq, 0), i.id
LIMIT @max_rows;

-- Keyset pagination on (issue_date, id) descending: newest first, stable.
-- name: InvoiceList :many
SELECT * FROM billing.invoice i
WHERE (sqlc.narg('site_id')::text IS NULL OR i.site_id = sqlc.narg('site_id')::text)
  AND (sqlc.narg('customer_id')::uuid IS NULL OR i.customer_id = sqlc.narg('customer_id')::uuid)
  AND (sqlc.narg('status')::billing.invoice_status IS NULL OR i.status = sqlc.narg('status')::billing.invoice_status)
  AND (sqlc.narg('date_from')::date IS NULL OR i.issue_date >= sqlc.narg('date_from')::date)
  AND (sqlc.narg('date_to')::date IS NULL OR i.issue_date <= sqlc.narg('date_to')::date)
  AND (sqlc.narg('after_issue_date')::date IS NULL
       OR (i.issue_date, i.id) < (sqlc.narg('after_issue_date')::date, sqlc.narg('after_id')::uuid))
ORDER BY i.issue_date DESC, i.id DESC
LIMIT @max_rows;

-- The lines of a page of invoices, in one query.
-- name: InvoiceLineListByInvoices :many
SELECT * FROM billing.invoice_line WHERE invoice_id = ANY (@invoice_ids::uuid[])
ORDER BY invoice_id, contract_id, period_start, id;

-- name: InvoiceLineList :many
SELECT * FROM billing.invoice_line WHERE invoice_id = @invoice_id ORDER BY contract_id, period_start, id;

-- name: CreditNoteIssue :one
SELECT billing.credit_invoice(@invoice_id::uuid, @issue_date::date, @reason::text, sqlc.narg('lines')::jsonb)::uuid AS id;

-- name: CreditNoteGet :one
SELECT * FROM billing.credit_note WHERE id = @id;

-- An invoice's credit notes in number order, after a seq (0: from the
-- first). One invoice, one legal entity: seq is unique among them.
-- name: CreditNotePageByInvoice :many
SELECT * FROM billing.credit_note
WHERE invoice_id = @invoice_id AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;

-- name: CreditNoteLineListByNotes :many
SELECT * FROM billing.credit_note_line WHERE credit_note_id = ANY (@credit_note_ids::uuid[])
ORDER BY credit_note_id, period_start, invoice_line_id;

-- name: CreditNoteLineList :many
SELECT * FROM billing.credit_note_line WHERE credit_note_id = @credit_note_id ORDER BY period_start, invoice_line_id;

-- name: CreditNoteListByContract :many
SELECT DISTINCT cn.* FROM billing.credit_note cn
JOIN billing.credit_note_line cl ON cl.credit_note_id = cn.id
JOIN billing.invoice_line il ON il.id = cl.invoice_line_id
WHERE il.contract_id = @contract_id
ORDER BY cn.seq;

-- name: InvoiceSiteGet :one
-- The site of an invoice, for callers that only need to know it exists, is
-- visible and where it belongs (its documents).
SELECT site_id FROM billing.invoice WHERE id = @id;
