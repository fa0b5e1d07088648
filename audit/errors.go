package audit

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Error is a domain error with a stable machine code, for the API's
// problem+json "code".
type Error struct {
	// Code is stable and machine-readable, e.g. "audit_not_found".
	Code string
	// Detail says what went wrong, for people.
	Detail string
	// Err is the cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches any *Error with the same code, so errors.Is(err, ErrNotFound)
// holds for a detailed not-found error too.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors; compare with errors.Is.
var (
	// ErrNotFound: the row, event or point asked for does not exist.
	ErrNotFound = &Error{Code: "audit_not_found", Detail: "not found"}
	// ErrNotAudited: the table was never audited.
	ErrNotAudited = &Error{Code: "audit_table_not_audited", Detail: "table is not audited"}
	// ErrInvalid: an argument is malformed (table name, key, cursor, range).
	ErrInvalid = &Error{Code: "audit_invalid_argument", Detail: "invalid argument"}
	// ErrIncomplete: the log cannot answer because the row existed before
	// auditing started (its INSERT was never logged).
	ErrIncomplete = &Error{Code: "audit_history_incomplete", Detail: "history starts after the row was created"}
)

// errorf returns a copy of sentinel with a specific detail and cause.
func errorf(sentinel *Error, cause error, format string, args ...any) error {
	return &Error{Code: sentinel.Code, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// dbError translates driver errors once, at the database boundary.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return errorf(ErrNotFound, nil, "%s: not found", op)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "22P02", "22023", "22032": // invalid text representation / parameter / json
			return errorf(ErrInvalid, err, "%s", op)
		}
	}
	return fmt.Errorf("audit: %s: %w", op, err)
}
