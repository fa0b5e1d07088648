package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	set, err := settings(ctx)
	if err != nil {
		return nil, err
	}
	begin, err := beginQuery(set)
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
func beginQuery(values [3]string) (string, error) {
	var b strings.Builder
	b.WriteString("BEGIN; SELECT ")
	for i, name := range settingNames {
		if strings.IndexByte(values[i], 0) >= 0 {
			return "", fmt.Errorf("set transaction context: %s contains NUL", name)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "set_config('%s', E'%s', true)", name, literalEscaper.Replace(values[i]))
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

// contextQuery sets what beginQuery sets, the values as parameters:
// Single sends it in the same pipeline as the statement it prepares for.
var contextQuery = func() string {
	calls := make([]string, len(settingNames))
	for i, name := range settingNames {
		calls[i] = fmt.Sprintf("set_config('%s', $%d, true)", name, i+1)
	}
	return "SELECT " + strings.Join(calls, ", ")
}()

// Single returns the generated queries bound to a connection that runs
// every statement alone, in a transaction of its own, after the
// principal's context is set: the settings and the statement travel in one
// round trip, a pipeline that PostgreSQL runs as one implicit transaction
// (until its Sync). A transaction opened by Begin costs two more (BEGIN and
// COMMIT). It is for operations of one statement: several statements
// through it neither share a snapshot nor commit together.
func Single(ctx context.Context, pool *pgxpool.Pool) (*queries.Queries, error) {
	set, err := settings(ctx)
	if err != nil {
		return nil, err
	}
	return queries.New(single{pool: pool, args: []any{set[0], set[1], set[2]}}), nil
}

// settingNames are the transaction settings the audit trigger and the
// row-level security policies read, in the order settings gives them.
var settingNames = [3]string{"messina.actor", "messina.request_id", "messina.sites"}

// settings are the values of settingNames ("*" for all sites) for the
// principal in ctx.
func settings(ctx context.Context) ([3]string, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return [3]string{}, ErrNoPrincipal
	}
	sites := "*"
	if !p.AllSites() {
		sites = strings.Join(p.Sites, ",")
	}
	return [3]string{p.Actor, p.RequestID, sites}, nil
}

// single is the queries.DBTX of Single.
type single struct {
	pool *pgxpool.Pool
	args []any // contextQuery's
}

func (s single) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(contextQuery, s.args...)
	b.Queue(sql, args...)
	br := s.pool.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, fmt.Errorf("set transaction context: %w", err)
	}
	return br, nil
}

func (s single) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := s.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (s single) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := s.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &singleRows{Rows: rows, br: br}, nil
}

func (s single) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	br, err := s.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return singleRow{row: br.QueryRow(), br: br}
}

// singleRows releases the connection when the rows are closed or read to
// the end. Generated code reads Err after the last Next and closes later,
// so the last Next ends the pipeline: a failure of the implicit
// transaction's commit (a deferred constraint) then reaches Err.
type singleRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *singleRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *singleRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.err = r.br.Close()
	}
}

func (r *singleRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// singleRow releases the connection once scanned, reporting a failed end
// of the implicit transaction when the scan itself succeeded.
type singleRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r singleRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// InSingle runs fn with the queries of Single.
func InSingle(ctx context.Context, pool *pgxpool.Pool, fn func(*queries.Queries) error) error {
	q, err := Single(ctx, pool)
	if err != nil {
		return err
	}
	return fn(q)
}
