package orders

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/queries"
)

// List limits: a page holds DefaultLimit items unless asked otherwise, and
// never more than MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 500
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

func limit(n int) int32 {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return int32(n)
}

// Cursors are opaque to clients: base64url of the keyset values of the
// last item of a page, separated by a NUL (which no key contains).

func encodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

func decodeCursor(cursor string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if parts := strings.Split(string(b), "\x00"); len(parts) == n {
			return parts, nil
		}
	}
	return nil, &Error{Kind: ErrValidation, Code: CodeValidation, Message: "invalid cursor",
		Fields: []FieldError{{Field: "cursor", Message: "not a cursor returned by this list"}}}
}

func decodeTimeIDCursor(cursor string) (*time.Time, *uuid.UUID, error) {
	if cursor == "" {
		return nil, nil, nil
	}
	parts, err := decodeCursor(cursor, 2)
	if err != nil {
		return nil, nil, err
	}
	t, terr := time.Parse(time.RFC3339Nano, parts[0])
	id, ierr := uuid.Parse(parts[1])
	if terr != nil || ierr != nil {
		_, err := decodeCursor("", 2)
		return nil, nil, err
	}
	return &t, &id, nil
}

func decodeStringIDCursor(cursor string) (*string, *uuid.UUID, error) {
	if cursor == "" {
		return nil, nil, nil
	}
	parts, err := decodeCursor(cursor, 2)
	if err != nil {
		return nil, nil, err
	}
	id, ierr := uuid.Parse(parts[1])
	if ierr != nil {
		_, err := decodeCursor("", 2)
		return nil, nil, err
	}
	return &parts[0], &id, nil
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
