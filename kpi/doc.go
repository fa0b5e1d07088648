// Package kpi reads Messina's sales-performance and margin KPIs: bookings,
// MRR and its movements, and revenue, cost and margin from invoices and
// credit notes, per site, currency, month, salesperson, product, customer
// or contract.
//
// The database is the heart and the brain: every figure is defined and
// computed by the views of migration 00012 (schema kpi) and the report
// queries of queries/sql/kpi.sql; docs/kpi.md says what each one means.
// This package validates typed filters, runs one query in a transaction of
// the caller's principal (auth.InQueries, so row-level security limits the
// rows to the principal's sites), and turns rows into the types of
// types.go. It also refreshes the materialized MRR view (RefreshMRR), which
// the jobs package does periodically.
//
// Money is shopspring/decimal end to end and is never added across
// currencies: every row carries its currency.
//
// This package must not import net/http or api/: the HTTP layer and the
// jobs call it.
package kpi
