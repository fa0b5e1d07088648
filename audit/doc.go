// Package audit is the Go side of the audit trail kept by schema audit
// (migrations/00002_audit.sql, design.md section 4): a row's history by
// table and key with cursor pagination, the field diff between two points
// (time or txid), a row as of a time reconstructed from the log, a
// timeline merging the events of several rows, sealing and verifying the
// hash chain, and CSV export.
//
// Writing the log is not done here: one generic PL/pgSQL trigger does it
// inside every audited transaction. This package only reads, seals and
// verifies. It must not import net/http or api/; the API turns its *Error
// values into problem+json by their Code.
//
// For other migrations: a table is audited by
//
//	SELECT audit.enable('orders.order');                       -- row triggers
//	SELECT audit.enable('core.api_token', '{hash}');           -- never log hash
//	SELECT audit.enable('billing.invoice_line', '{}', 'statement')
//
// 'statement' mode suits tables written mostly by set-based statements
// (invoice runs, renewals): one INSERT ... SELECT logs a whole statement.
// A table with a site column names it, so that readers limited to sites
// see its events (migrations/00013_audit_site.sql):
//
//	SELECT audit.set_site_column('orders.order', 'site_id');
//
// The service must set messina.actor and messina.request_id in every
// transaction (auth.Begin does). DDL is followed by event triggers, which
// only a superuser can create: run SELECT audit.install_event_triggers()
// as a superuser once per database (the migration does it when it runs
// as one); Verify reports whether they are installed. Jobs should call
// SELECT audit.create_partitions() monthly and Seal periodically.
package audit
