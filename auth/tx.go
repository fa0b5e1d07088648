package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNoPrincipal means a database transaction was started without a
// principal in the context: every change must be attributable.
var ErrNoPrincipal = errors.New("no principal in context")

// Begin starts a transaction and sets, with SET LOCAL semantics, the audit
// actor, request id and visible sites of the principal in ctx. The audit
// trigger and the row-level security policies read these settings.
func Begin(ctx context.Context, pool *pgxpool.Pool) (pgx.Tx, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, ErrNoPrincipal
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	sites := "*"
	if !p.AllSites() {
		sites = strings.Join(p.Sites, ",")
	}
	if _, err := tx.Exec(ctx,
		"SELECT set_config('messina.actor', $1, true), set_config('messina.request_id', $2, true), set_config('messina.sites', $3, true)",
		p.Actor, p.RequestID, sites); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("set transaction context: %w", err)
	}
	return tx, nil
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
