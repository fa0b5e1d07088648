package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/messina-oms/messina/fault"
)

func TestKindCodeAndCause(t *testing.T) {
	cause := errors.New("pq: duplicate key")
	transition := fmt.Errorf("invalid transition: %w", fault.ErrConflict) // a package's own kind
	err := fmt.Errorf("create order: %w", &fault.Error{Kind: transition, Code: "invalid_transition",
		Message: "the order is already booked", Allowed: []string{"provisioning", "cancelled"}, Err: cause})
	for _, target := range []error{transition, fault.ErrConflict, cause} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %v) = false", target)
		}
	}
	if errors.Is(err, fault.ErrNotFound) {
		t.Error("a conflict is not a not-found")
	}
	if got := fault.Code(err); got != "invalid_transition" {
		t.Errorf("Code = %q", got)
	}
	if got := fault.Code(cause); got != "" {
		t.Errorf("Code of an infrastructure error = %q, want empty", got)
	}
	want := "invalid_transition: the order is already booked (allowed: [provisioning cancelled])"
	if got := errors.Unwrap(err).Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	v := fault.Validation("invalid lines", fault.FieldError{Field: "lines[1].quantity", Message: "must be positive"})
	if !errors.Is(v, fault.ErrValidation) || v.Code != fault.CodeValidation || v.Error() != "validation_failed: invalid lines; lines[1].quantity: must be positive" {
		t.Errorf("Validation: %v", v)
	}
}
