package contracts

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/messina-oms/messina/fault"
)

// Kinds of failure. Every error returned by Service that is not an
// infrastructure failure is an *Error whose Kind is one of these, so
// errors.Is(err, ErrNotFound) etc. work and the HTTP layer maps a kind to a
// status once.
var (
	// ErrNotFound: the id does not exist or is not visible to the caller's
	// sites (row-level security makes the two indistinguishable on purpose).
	ErrNotFound = fault.ErrNotFound
	// ErrConflict: the request is well-formed but the current state forbids
	// it (a run not approved, a contract already ended, an order not booked).
	ErrConflict = fault.ErrConflict
	// ErrImmutable: the request would change a posted invoice, its lines, a
	// credit note, a notice or an amendment. It is also an ErrConflict.
	ErrImmutable = fmt.Errorf("immutable: %w", ErrConflict)
	// ErrValidation: the input is invalid; Error.Fields says where.
	ErrValidation = fault.ErrValidation
	// ErrForbidden: the caller may not write rows of that site.
	ErrForbidden = fault.ErrForbidden
)

// Stable machine codes carried by Error.Code. Clients may rely on them;
// they never change meaning.
const (
	CodeContractNotFound   = "contract_not_found"
	CodeOrderNotFound      = "order_not_found"
	CodeRunNotFound        = "invoice_run_not_found"
	CodeInvoiceNotFound    = "invoice_not_found"
	CodeCreditNoteNotFound = "credit_note_not_found"
	CodeNoticeNotFound     = "notice_not_found"
	CodeInvalidState       = "invalid_state"
	CodeImmutable          = "immutable"
	CodeValidation         = fault.CodeValidation
	CodeAlreadyExists      = "already_exists"
	CodeForbidden          = "site_forbidden"
	CodeConflict           = "conflict"
)

// FieldError is one invalid input field, named as in the API (snake_case).
type FieldError = fault.FieldError

// Error is the domain error of the package (see package fault); Allowed
// lists, for CodeInvalidState, the states the request needs.
type Error = fault.Error

// ErrorCode returns the machine code of err, or "" when err is not a
// domain error (an infrastructure failure the HTTP layer answers with 500).
func ErrorCode(err error) string { return fault.Code(err) }

func validation(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return fault.Validation(msg, FieldError{Field: field, Message: msg})
}

// SQLSTATEs raised by the functions and triggers of migrations 00004 and
// 00009.
const (
	stateValidation   = "MS003"
	stateInvalidState = "MS010"
	stateImmutable    = "MS011"
	stateNoData       = "P0002"
)

// translate turns a driver error into a domain error, once, at the
// database boundary. notFoundCode is the code for a missing row (pgx's
// ErrNoRows or P0002 raised by a function). Anything it does not recognise
// is returned as is, an internal error.
func translate(err error, notFoundCode string) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Kind: ErrNotFound, Code: notFoundCode, Message: "not found", Err: err}
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case stateNoData:
		return &Error{Kind: ErrNotFound, Code: notFoundCode, Message: pe.Message, Err: err}
	case stateInvalidState:
		var allowed []string
		if pe.Detail != "" {
			allowed = strings.Split(pe.Detail, ",")
		}
		return &Error{Kind: ErrConflict, Code: CodeInvalidState, Message: pe.Message, Allowed: allowed, Err: err}
	case stateImmutable:
		return &Error{Kind: ErrImmutable, Code: CodeImmutable, Message: pe.Message, Err: err}
	case stateValidation, "23514", "23502", "22P02", "22003", "22023", "22007", "22008":
		field := pe.ColumnName
		if field == "" {
			field = strings.TrimSuffix(strings.TrimPrefix(pe.ConstraintName, pe.TableName+"_"), "_check")
		}
		e := validation(field, "%s", pe.Message)
		e.Err = err
		return e
	case "23505": // unique_violation
		return &Error{Kind: ErrConflict, Code: CodeAlreadyExists, Message: pe.Detail, Err: err}
	case "23503": // foreign_key_violation: an id in the input names nothing visible
		e := validation(pe.ConstraintName, "unknown reference")
		e.Err = err
		return e
	case "42501": // row-level security refused the row: another site
		return &Error{Kind: ErrForbidden, Code: CodeForbidden, Message: "the row belongs to a site outside the caller's sites", Err: err}
	case "40001", "40P01": // serialization failure, deadlock: the client may retry
		return &Error{Kind: ErrConflict, Code: CodeConflict, Message: "concurrent update, retry", Err: err}
	}
	return err
}
