package api

import (
	"errors"
	"net/http"

	"github.com/messina-oms/messina/auth"
)

// domainProblem maps the domain packages' typed errors to HTTP. It is the
// only place that knows both sides.
func domainProblem(err error) (*Problem, bool) {
	var av *auth.ValidationError
	switch {
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
