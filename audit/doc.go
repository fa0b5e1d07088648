// Package audit is the Go side of the audit trail kept by schema audit
// (migrations/00002_audit.sql, design.md section 4): a row's history by
// table and key with cursor pagination, the field diff between two points
// (time or txid), a row as of a time reconstructed from the log, a
// timeline merging the events of several rows, sealing and verifying the
// hash chain, and CSV export.
//
// Writing the log is not done here: one PL/pgSQL trigger does it inside
// every audited transaction. This package only reads, seals and verifies.
// It must not import net/http or api/; the API turns its *Error values
// into problem+json by their Code.
package audit
