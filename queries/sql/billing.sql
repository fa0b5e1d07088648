-- Invoice runs, invoices and credit notes. The computation, numbering and
-- immutability live in the PL/pgSQL functions of migration 00009.

-- name: RunPlan :one
SELECT billing.plan_run(@site_id::text, @run_date::date)::uuid AS id;

-- name: RunGet :one
SELECT * FROM billing.invoice_run WHERE id = @id;

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

-- name: InvoiceLineList :many
SELECT * FROM billing.invoice_line WHERE invoice_id = @invoice_id ORDER BY contract_id, period_start, id;

-- name: InvoiceLineListByContract :many
SELECT il.* FROM billing.invoice_line il
WHERE il.contract_id = @contract_id
ORDER BY il.period_start, il.id;

-- name: CreditNoteIssue :one
SELECT billing.credit_invoice(@invoice_id::uuid, @issue_date::date, @reason::text, sqlc.narg('lines')::jsonb)::uuid AS id;

-- name: CreditNoteGet :one
SELECT * FROM billing.credit_note WHERE id = @id;

-- name: CreditNoteListByInvoice :many
SELECT * FROM billing.credit_note WHERE invoice_id = @invoice_id ORDER BY seq;

-- name: CreditNoteLineList :many
SELECT * FROM billing.credit_note_line WHERE credit_note_id = @credit_note_id ORDER BY period_start, invoice_line_id;

-- name: NumberSeriesGet :one
SELECT * FROM billing.number_series WHERE legal_entity_id = @legal_entity_id AND kind = @kind;

-- name: CreditNoteListByContract :many
SELECT DISTINCT cn.* FROM billing.credit_note cn
JOIN billing.credit_note_line cl ON cl.credit_note_id = cn.id
JOIN billing.invoice_line il ON il.id = cl.invoice_line_id
WHERE il.contract_id = @contract_id
ORDER BY cn.seq;
