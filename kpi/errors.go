package kpi

import (
	"fmt"

	"github.com/messina-oms/messina/fault"
)

// ErrValidation is the kind of every error about the caller's input: a
// filter, a dimension, a cursor. Error.Fields says which.
var ErrValidation = fault.ErrValidation

// CodeValidation is the stable machine code of an ErrValidation.
const CodeValidation = fault.CodeValidation

// FieldError is one invalid input field, named as in the API (snake_case).
type FieldError = fault.FieldError

// Error is the domain error of the package (see package fault).
type Error = fault.Error

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
	return fault.Validation("invalid report filter", f...)
}
