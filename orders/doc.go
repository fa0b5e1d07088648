// Package orders is the order domain of Messina: sites and their
// effective-dated business rules, legal entities, customers, products,
// price books and prices, and orders with their lines, totals, margin and
// lifecycle (draft -> submitted -> approved -> booked -> provisioning ->
// completed, or rejected/cancelled).
//
// The rules that must hold whoever writes to the database (allowed
// transitions, approval thresholds, line edits only in draft, cost
// snapshots, site isolation) are enforced by PostgreSQL (migration 00004);
// Service validates input early to report every bad field at once, runs
// every read and write in one transaction opened by auth.InTx (so the audit
// actor, request id and row-level security sites are set), and translates
// driver errors into the typed errors of errors.go exactly once.
//
// Money is shopspring/decimal end to end; no float touches an amount.
//
// This package must not import net/http or api/: the HTTP layer calls it.
package orders
