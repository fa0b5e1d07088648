// Package fault is the error of the domain packages (orders, contracts,
// kpi): a kind that errors.Is tests, a stable machine code, a message
// written for people, and the details some kinds carry. The HTTP API and
// the web UI each map a kind to a status in one place.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// The kinds of failure. Every error a domain service returns that is not
// an infrastructure failure is an *Error whose Kind is one of these, or a
// package's own kind that wraps one of these.
var (
	// ErrNotFound: the id does not exist or is not visible to the caller's
	// sites (row-level security makes the two indistinguishable on purpose).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is well-formed but the current state forbids
	// it; Error.Allowed may name the states that would have allowed it.
	ErrConflict = errors.New("conflict")
	// ErrValidation: the input is invalid; Error.Fields says where.
	ErrValidation = errors.New("validation failed")
	// ErrStale: the expected version is not the current one (optimistic
	// locking; If-Match in HTTP); Error.CurrentVersion says which it is.
	ErrStale = errors.New("stale version")
	// ErrForbidden: the caller may not write rows of that site.
	ErrForbidden = errors.New("forbidden")
)

// CodeValidation is the machine code of every ErrValidation.
const CodeValidation = "validation_failed"

// FieldError is one invalid input field, named as in the API (snake_case,
// with list positions: "lines[2].quantity").
type FieldError struct {
	Field   string
	Message string
}

// Error is a domain error.
type Error struct {
	// Kind is one of the Err* kinds, or wraps one.
	Kind error
	// Code is stable and machine-readable; clients may rely on it.
	Code string
	// Message explains the error to a person; it names no internals.
	Message string
	// Fields lists the invalid fields of an ErrValidation.
	Fields []FieldError
	// Allowed names what would have been accepted, for some conflicts (the
	// statuses an order may go to, the states a run needs).
	Allowed []string
	// CurrentVersion is the row's version, for ErrStale.
	CurrentVersion int32
	// Err is the underlying cause, if any (for logs, not for clients).
	Err error
}

// Error gives the code, message and details, for logs; clients should use
// the fields.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if len(e.Allowed) > 0 {
		fmt.Fprintf(&b, " (allowed: %v)", e.Allowed)
	}
	return b.String()
}

// Unwrap exposes the kind (for errors.Is) and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Code returns the machine code of the *Error that err wraps, or "" when
// it wraps none (an infrastructure failure: the HTTP layer answers 500).
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Validation returns an ErrValidation with message about the given fields.
func Validation(message string, fields ...FieldError) *Error {
	return &Error{Kind: ErrValidation, Code: CodeValidation, Message: message, Fields: fields}
}
