package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/fault"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/invoicedoc"
)

// domainProblem maps the domain packages' typed errors to HTTP. It is the
// only place that knows both sides.
func domainProblem(err error) (*Problem, bool) {
	var av *auth.ValidationError
	var fe *fault.Error
	var ae *audit.Error
	var ie *invoicedoc.IncompleteError
	switch {
	case errors.As(err, &fe):
		return faultProblem(fe)
	case filestore.Code(err) != "":
		return filesProblem(err)
	case errors.As(err, &ae):
		return auditProblem(ae), true
	case errors.As(err, &ie):
		// The invoice is fine; its parties' data is not yet enough for a
		// conforming document. Each missing part is listed as a field.
		p := problem(http.StatusConflict, "invoice_document_incomplete",
			"EN 16931 requires what the invoice's parties lack: "+strings.Join(ie.Missing, ", "))
		for _, m := range ie.Missing {
			p.Errors = append(p.Errors, FieldError{Field: m, Message: "is required on an EN 16931 invoice"})
		}
		return p, true
	case errors.Is(err, invoicedoc.ErrNotPosted):
		return problem(http.StatusConflict, "invalid_state", "only a posted invoice has documents"), true
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

// domainFields are the invalid fields of a domain validation error, for a
// 422 that adds fields of its own; none for any other error.
func domainFields(err error) []FieldError {
	var fe *fault.Error
	if !errors.As(err, &fe) || !errors.Is(fe, fault.ErrValidation) {
		return nil
	}
	fields := make([]FieldError, len(fe.Fields))
	for i, f := range fe.Fields {
		fields[i] = FieldError{Field: f.Field, Message: f.Message}
	}
	return fields
}

// faultProblem maps a domain error (orders, contracts, kpi) by its kind;
// its code and message pass through, since they are stable and written
// for clients. An error of an unknown kind is not mapped, so it is logged
// as a 500.
func faultProblem(e *fault.Error) (*Problem, bool) {
	switch {
	case errors.Is(e, fault.ErrValidation):
		return validationProblem(e.Message, domainFields(e)...), true
	case errors.Is(e, fault.ErrConflict):
		p := problem(http.StatusConflict, e.Code, e.Message)
		p.Allowed = e.Allowed
		return p, true
	case errors.Is(e, fault.ErrNotFound):
		return problem(http.StatusNotFound, e.Code, e.Message), true
	case errors.Is(e, fault.ErrStale):
		return problem(http.StatusPreconditionFailed, e.Code,
			fmt.Sprintf("the resource changed since you read it (its version is now %d): fetch it again", e.CurrentVersion)), true
	case errors.Is(e, fault.ErrForbidden):
		// A write for a site outside the caller's answers as if the site
		// did not exist: 404, like a read of another site's row, so that
		// site-limited callers cannot tell other sites' rows from none.
		return problem(http.StatusNotFound, "site_not_found", "no such site among the caller's sites"), true
	}
	return nil, false
}

// filesProblem maps the filestore's codes. Its messages may name internal
// object keys, so the detail is ours.
func filesProblem(err error) (*Problem, bool) {
	switch filestore.Code(err) {
	case "not_found":
		return problem(http.StatusNotFound, "not_found", "no such attachment or revision"), true
	case "too_large":
		return problem(http.StatusRequestEntityTooLarge, "upload_too_large", "the file exceeds the upload size limit"), true
	case "empty_body":
		return problem(http.StatusBadRequest, "empty_body", "the file is empty"), true
	case "digest_mismatch":
		p := problem(http.StatusBadRequest, "digest_mismatch", "the content does not match Content-Digest")
		var dm *filestore.DigestMismatchError
		if errors.As(err, &dm) {
			p.Detail += "; the content's digest is " + filestore.FormatContentDigest(dm.Computed)
		}
		return p, true
	case "size_mismatch":
		return problem(http.StatusBadRequest, "size_mismatch", "the body length does not match Content-Length"), true
	case "invalid":
		return validationProblem("invalid upload: " + filestore.InvalidReason(err)), true
	case "range_not_satisfiable":
		return problem(http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", "the range is outside the content"), true
	case "store_unavailable":
		return problem(http.StatusServiceUnavailable, "store_unavailable", "the blob store is unavailable; retry later").withHeader("Retry-After", "5"), true
	case "conflict":
		return problem(http.StatusConflict, "conflict", "a concurrent change got in the way; retrying is safe").withHeader("Retry-After", "1"), true
	case "rendered_document":
		return problem(http.StatusConflict, "rendered_document", "an invoice's documents change only by rendering them again (POST /v1/invoices/{id}/documents)"), true
	}
	return nil, false
}

// auditProblem maps the audit package's codes; its details are written
// for people and name no internals.
func auditProblem(e *audit.Error) *Problem {
	switch e.Code {
	case audit.ErrNotFound.Code, audit.ErrNotAudited.Code:
		return problem(http.StatusNotFound, e.Code, e.Detail)
	case audit.ErrIncomplete.Code:
		return problem(http.StatusConflict, e.Code, e.Detail)
	}
	return validationProblem(e.Detail)
}
