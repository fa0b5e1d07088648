package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/messina-oms/messina/auth"
)

// Problem is an RFC 9457 problem+json body with Messina's stable code.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// RequestID lets a caller quote the request to support.
	RequestID string `json:"request_id,omitempty"`
	// Allowed lists what would have been accepted (e.g. transitions).
	Allowed []string `json:"allowed,omitempty"`

	headers http.Header
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error makes a Problem usable as an error returned by handlers.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

func problem(status int, code, detail string) *Problem {
	return &Problem{Status: status, Code: code, Detail: detail}
}

func validationProblem(detail string, fields ...FieldError) *Problem {
	return &Problem{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Detail: detail, Errors: fields}
}

func (p *Problem) withHeader(k, v string) *Problem {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	p.headers.Set(k, v)
	return p
}

// toProblem is the one place that turns any error into an HTTP answer.
// Unknown errors become a plain 500; the caller logs them.
func toProblem(err error) (*Problem, bool) {
	var p *Problem
	if errors.As(err, &p) {
		return p, true
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return problem(http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes"), true
	case errors.Is(err, auth.ErrNoPrincipal):
		return problem(http.StatusUnauthorized, "unauthenticated", "authentication required"), true
	}
	if p, ok := domainProblem(err); ok {
		return p, true
	}
	return problem(http.StatusInternalServerError, "internal", "internal error"), false
}

// writeError answers with err as problem+json. Unknown errors are logged
// with the request id and answered without detail.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p, known := toProblem(err)
	reqID := requestID(r.Context())
	if !known {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("request_id", reqID), slog.Any("error", err))
	}
	out := *p
	out.RequestID = reqID
	if out.Type == "" {
		out.Type = "https://messina.dev/problems/" + out.Code
	}
	if out.Title == "" {
		out.Title = http.StatusText(out.Status)
	}
	for k, vs := range p.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Del("ETag")
	w.Header().Del("Content-Disposition")
	w.WriteHeader(out.Status)
	_ = json.NewEncoder(w).Encode(out)
}
