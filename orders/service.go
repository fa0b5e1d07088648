package orders

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/fault"
	"github.com/messina-oms/messina/keyset"
	"github.com/messina-oms/messina/queries"
)

// List limits: a page holds DefaultLimit items unless asked otherwise, and
// never more than MaxLimit.
const (
	DefaultLimit = keyset.DefaultLimit
	MaxLimit     = keyset.MaxLimit
)

// Service is the order domain's entry point. It is safe for concurrent use.
// Every method needs an auth.Principal in ctx: the transaction it opens
// carries the principal's actor, request id and sites into PostgreSQL.
type Service struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// New returns a Service on pool, opened with pgpool so that numeric maps to
// decimal.Decimal; log may be nil.
func New(pool *pgxpool.Pool, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: pool, log: log}
}

// inTx runs fn in one transaction with the principal's settings; fn's
// error decides commit or rollback, so nothing is partly written.
func (s *Service) inTx(ctx context.Context, fn func(q *queries.Queries) error) error {
	return auth.InQueries(ctx, s.pool, fn)
}

// single runs fn's statements each alone, in one round trip (auth.Single):
// for reads and writes of one statement, which a transaction of their own
// would make no more atomic or consistent but two round trips slower.
func (s *Service) single(ctx context.Context, fn func(q *queries.Queries) error) error {
	return auth.InSingle(ctx, s.pool, fn)
}

// badCursor is the error of a cursor this package did not make.
func badCursor() error {
	return fault.Validation("invalid cursor", FieldError{Field: "cursor", Message: "not a cursor returned by this list"})
}

func decodeCursor(cursor string, n int) ([]string, error) {
	if key, ok := keyset.Decode(cursor, n); ok {
		return key, nil
	}
	return nil, badCursor()
}

func decodeTimeIDCursor(cursor string) (*time.Time, *uuid.UUID, error) {
	if t, id, ok := keyset.DecodeTimeID(cursor); ok {
		return t, id, nil
	}
	return nil, nil, badCursor()
}

func decodeStringIDCursor(cursor string) (*string, *uuid.UUID, error) {
	if text, id, ok := keyset.DecodeTextID(cursor); ok {
		return text, id, nil
	}
	return nil, nil, badCursor()
}

func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	if ErrorCode(err) != "" {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// date truncates t to its calendar date (as written), for date columns.
func date(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
