package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/orders"
)

// domainProblem maps the domain packages' typed errors to HTTP. It is the
// only place that knows both sides.
func domainProblem(err error) (*Problem, bool) {
	var av *auth.ValidationError
	var oe *orders.Error
	switch {
	case errors.As(err, &oe):
		return ordersProblem(oe)
	case errors.As(err, &av):
		fields := make([]FieldError, len(av.Fields))
		for i, f := range av.Fields {
			fields[i] = FieldError{Field: f.Field, Message: f.Message}
		}
		return validationProblem("the request has invalid fields", fields...), true
	case errors.Is(err, auth.ErrTokenNotFound):
		return problem(http.StatusNotFound, "token_not_found", "no such token"), true
	case errors.Is(err, auth.ErrUserNotFound):
		return problem(http.StatusNotFound, "user_not_found", "no such user"), true
	case errors.Is(err, auth.ErrEmailTaken):
		return problem(http.StatusConflict, "email_taken", "a user with this email exists"), true
	case errors.Is(err, auth.ErrStale):
		return problem(http.StatusPreconditionFailed, "stale_version", "the resource changed since you read it: fetch it again"), true
	}
	return nil, false
}

// ordersProblem maps an orders.Error by its kind; its code and message
// pass through, since they are stable and written for clients.
// An error of an unknown kind is not mapped, so it is logged as a 500.
func ordersProblem(e *orders.Error) (*Problem, bool) {
	switch {
	case errors.Is(e, orders.ErrValidation):
		fields := make([]FieldError, len(e.Fields))
		for i, f := range e.Fields {
			fields[i] = FieldError{Field: f.Field, Message: f.Message}
		}
		return validationProblem(e.Message, fields...), true
	case errors.Is(e, orders.ErrInvalidTransition):
		p := problem(http.StatusConflict, e.Code, e.Message)
		p.Allowed = make([]string, len(e.Allowed))
		for i, s := range e.Allowed {
			p.Allowed[i] = string(s)
		}
		return p, true
	case errors.Is(e, orders.ErrConflict):
		return problem(http.StatusConflict, e.Code, e.Message), true
	case errors.Is(e, orders.ErrNotFound):
		return problem(http.StatusNotFound, e.Code, e.Message), true
	case errors.Is(e, orders.ErrStale):
		return problem(http.StatusPreconditionFailed, e.Code,
			fmt.Sprintf("the resource changed since you read it (its version is now %d): fetch it again", e.CurrentVersion)), true
	case errors.Is(e, orders.ErrForbidden):
		// A write for a site outside the caller's answers as if the site
		// did not exist: 404, like a read of another site's row, so that
		// site-limited callers cannot tell other sites' rows from none.
		return problem(http.StatusNotFound, "site_not_found", "no such site among the caller's sites"), true
	}
	return nil, false
}
