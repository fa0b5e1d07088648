// Package contracts is Messina's contract and billing domain: contracts made
// from booked orders, their immutable versions (amendments), notices,
// renewals and cancellations, invoice runs (plan, preview, prepare,
// approve, post, discard), invoices and credit notes.
//
// The database is the heart and the brain: every rule lives in the
// PL/pgSQL functions of migrations 00009 and 00010
// (contracts.create_from_order, contracts.amend_lines,
// contracts.process_renewals, contracts.cancel,
// contracts.cancel_by_site_policy, billing.prepare_run,
// billing.preview_run, billing.post_run, billing.credit_invoice, ...),
// which are set-based where they touch many rows. Lists are keyset pages
// (list.go) whose cursors only this package reads. This package is a thin
// caller: each method runs one transaction opened by auth.InTx (actor,
// request id and row-level security sites set), calls the function through
// the sqlc queries of queries/sql/contracts.sql and billing.sql, turns rows
// into the domain types of types.go and driver errors into the typed errors
// of errors.go, once.
//
// Money is shopspring/decimal end to end; no float touches an amount.
//
// This package must not import net/http or api/: the HTTP layer and the
// CLI call it.
package contracts
