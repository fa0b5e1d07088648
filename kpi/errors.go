package kpi

import (
	"errors"
	"fmt"
	"strings"
)

// ErrValidation is the kind of every error about the caller's input: a
// filter, a dimension, a cursor. Error.Fields says which.
var ErrValidation = errors.New("validation failed")

// CodeValidation is the stable machine code of an ErrValidation.
const CodeValidation = "validation_failed"

// FieldError is one invalid input field, named as in the API (snake_case).
type FieldError struct {
	Field   string
	Message string
}

// Error is a domain error: a kind, a stable code, a message for people and
// the invalid fields.
type Error struct {
	Kind    error
	Code    string
	Message string
	Fields  []FieldError
}

// Error gives the code, message and fields, for logs.
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
	return b.String()
}

// Unwrap exposes the kind, for errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

// fieldErrors collects every invalid field of a filter, so one answer
// names them all.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: ErrValidation, Code: CodeValidation, Message: "invalid report filter", Fields: f}
}
