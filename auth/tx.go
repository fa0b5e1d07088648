package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/queries"
)

// ErrNoPrincipal means a database transaction was started without a
// principal in the context: every change must be attributable.
var ErrNoPrincipal = errors.New("no principal in context")

// Begin starts a transaction and sets, with SET LOCAL semantics, the audit
// actor, request id and visible sites of the principal in ctx. The audit
// trigger and the row-level security policies read these settings. BEGIN
// and the settings travel in one round trip.
func Begin(ctx context.Context, pool *pgxpool.Pool) (pgx.Tx, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, ErrNoPrincipal
	}
	sites := "*"
	if !p.AllSites() {
		sites = strings.Join(p.Sites, ",")
	}
	begin, err := beginQuery(p.Actor, p.RequestID, sites)
	if err != nil {
		return nil, err
	}
	// A failed BEGIN query leaves its connection outside the idle state,
	// and the pool then closes it rather than reuse it.
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
	if err != nil {
		return nil, fmt.Errorf("begin with transaction context: %w", err)
	}
	return tx, nil
}

// literalEscaper escapes text for an E'...' literal.
var literalEscaper = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// beginQuery is BEGIN followed by the set_config calls, as one simple
// query (no parameters), so the values are written as escape-string
// literals: backslash and quote doubled, which is safe whatever
// standard_conforming_strings says. NUL cannot be sent in a query; it is
// refused, as PostgreSQL refuses it in a text parameter.
func beginQuery(actor, requestID, sites string) (string, error) {
	var b strings.Builder
	b.WriteString("BEGIN; SELECT ")
	for i, kv := range [...][2]string{{"messina.actor", actor}, {"messina.request_id", requestID}, {"messina.sites", sites}} {
		if strings.IndexByte(kv[1], 0) >= 0 {
			return "", fmt.Errorf("set transaction context: %s contains NUL", kv[0])
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "set_config('%s', E'%s', true)", kv[0], literalEscaper.Replace(kv[1]))
	}
	return b.String(), nil
}

// InTx runs fn in a transaction opened by Begin, committing when fn returns
// nil and rolling back otherwise.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	tx, err := Begin(ctx, pool)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// InQueries is InTx for callers that only need the generated queries: fn
// gets them bound to the transaction.
func InQueries(ctx context.Context, pool *pgxpool.Pool, fn func(*queries.Queries) error) error {
	return InTx(ctx, pool, func(tx pgx.Tx) error { return fn(queries.New(tx)) })
}
