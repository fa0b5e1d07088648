package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/fault"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/invoicedoc"
	"github.com/messina-oms/messina/orders"
)

// pageError is an error answered with the HTML error page. Handlers
// return it for their own refusals; pageErrorOf makes one from any error.
type pageError struct {
	Status int
	// Title defaults to a plain phrase for Status.
	Title  string
	Detail string
	Fields []fieldError
	// Allowed names what would have been accepted (order statuses, or the
	// statuses a run or invoice needs), after AllowedIntro.
	Allowed      []string
	AllowedIntro string
}

// fieldError names one invalid input and why.
type fieldError struct {
	Field, Message string
}

func (e *pageError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Detail) }

func notFound(detail string) *pageError {
	return &pageError{Status: http.StatusNotFound, Detail: detail}
}

func invalid(detail string, fields ...fieldError) *pageError {
	return &pageError{Status: http.StatusUnprocessableEntity, Detail: detail, Fields: fields}
}

func badForm(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return &pageError{Status: http.StatusBadRequest, Detail: "The form could not be read."}
}

// titles are the headings of the error page.
var titles = map[int]string{
	http.StatusBadRequest:                   "The request could not be read",
	http.StatusUnauthorized:                 "Please sign in",
	http.StatusForbidden:                    "Not allowed",
	http.StatusNotFound:                     "Not found",
	http.StatusMethodNotAllowed:             "Not allowed here",
	http.StatusConflict:                     "Not possible now",
	http.StatusPreconditionFailed:           "Changed in the meantime",
	http.StatusRequestEntityTooLarge:        "Too large",
	http.StatusUnprocessableEntity:          "Please check what you entered",
	http.StatusRequestedRangeNotSatisfiable: "Range not available",
	http.StatusInternalServerError:          "Something went wrong",
	http.StatusServiceUnavailable:           "Temporarily unavailable",
}

// pageErrorOf is the one place that turns any error into an HTTP status
// and the text of the error page, with the API's semantics (api's
// domainProblem): another site's record is 404 like a missing one, a
// refused transition 409 naming the allowed ones, a stale version 412.
// Unknown errors are a 500 whose cause is logged, never shown.
func pageErrorOf(err error) (*pageError, bool) {
	var pe *pageError
	var fe *fault.Error
	var ie *invoicedoc.IncompleteError
	var ae *audit.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &pe):
		return pe, true
	case errors.As(err, &mbe):
		return &pageError{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("The request is larger than the limit of %d bytes.", mbe.Limit)}, true
	case errors.As(err, &fe):
		return faultPageError(fe)
	case errors.As(err, &ie):
		// The invoice is fine; its parties lack what a conforming document
		// needs. Each missing part is named, so whoever keeps it can add it.
		out := &pageError{Status: http.StatusConflict, Title: "The documents cannot be made yet",
			Detail: "EN 16931 requires data the invoice's seller or buyer lacks: add it, then render again."}
		for _, m := range ie.Missing {
			out.Fields = append(out.Fields, fieldError{Field: m, Message: "is required on an EN 16931 invoice"})
		}
		return out, true
	case errors.Is(err, invoicedoc.ErrNotPosted):
		return &pageError{Status: http.StatusConflict, Detail: "Only a posted invoice has documents."}, true
	case filestore.Code(err) != "":
		return filesPageError(err)
	case errors.As(err, &ae):
		return auditPageError(ae), true
	case errors.Is(err, auth.ErrNoPrincipal):
		return &pageError{Status: http.StatusUnauthorized, Detail: "Sign in first."}, true
	}
	return &pageError{Status: http.StatusInternalServerError,
		Detail: "The server could not complete this request. If it happens again, quote the request id below."}, false
}

// faultPageError maps a domain error (orders, contracts, kpi) by its
// kind, as the API's faultProblem does; its message is written for people
// and passes through.
func faultPageError(e *fault.Error) (*pageError, bool) {
	switch {
	case errors.Is(e, fault.ErrValidation):
		out := invalid(sentence(e.Message))
		for _, f := range e.Fields {
			out.Fields = append(out.Fields, fieldError{Field: f.Field, Message: f.Message})
		}
		return out, true
	case errors.Is(e, orders.ErrInvalidTransition):
		out := &pageError{Status: http.StatusConflict, Title: "This status change is not allowed",
			Detail: sentence(e.Message), Allowed: e.Allowed, AllowedIntro: "From its current status the order may go to:"}
		if len(out.Allowed) == 0 {
			out.Detail += " No status change is possible from here."
		}
		return out, true
	case errors.Is(e, fault.ErrConflict):
		out := &pageError{Status: http.StatusConflict, Detail: sentence(e.Message), Allowed: e.Allowed}
		if len(e.Allowed) > 0 {
			out.AllowedIntro = "This is possible only in the status:"
		}
		return out, true
	case errors.Is(e, fault.ErrNotFound), errors.Is(e, fault.ErrForbidden):
		// Another site's record, or a write for another site, reads as if
		// it did not exist.
		return notFound("No such record among the sites you can see."), true
	case errors.Is(e, fault.ErrStale):
		return &pageError{Status: http.StatusPreconditionFailed,
			Detail: "The record changed since you opened it. Reload it, check the changes, and try again."}, true
	}
	return nil, false
}

// filesPageError maps the filestore's codes. Its messages may name
// internal object keys, so the text is ours.
func filesPageError(err error) (*pageError, bool) {
	switch filestore.Code(err) {
	case "not_found":
		return notFound("No such attachment or revision among the sites you can see."), true
	case "too_large":
		return &pageError{Status: http.StatusRequestEntityTooLarge, Detail: "The file exceeds the upload size limit."}, true
	case "empty_body":
		return &pageError{Status: http.StatusBadRequest, Detail: "The file is empty."}, true
	case "digest_mismatch", "size_mismatch":
		return &pageError{Status: http.StatusBadRequest, Detail: "The file did not arrive intact. Try the upload again."}, true
	case "invalid":
		return invalid("The upload was refused: " + filestore.InvalidReason(err) + "."), true
	case "range_not_satisfiable":
		return &pageError{Status: http.StatusRequestedRangeNotSatisfiable, Detail: "The range is outside the content."}, true
	case "store_unavailable":
		return &pageError{Status: http.StatusServiceUnavailable, Detail: "The document store is unavailable. Try again in a minute."}, true
	case "conflict":
		return &pageError{Status: http.StatusConflict, Detail: "A concurrent change got in the way. Trying again is safe."}, true
	case "rendered_document":
		return &pageError{Status: http.StatusConflict, Title: "Rendered from the invoice",
			Detail: "An invoice's documents change only by rendering them again from the invoice's page."}, true
	}
	return nil, false
}

// auditPageError maps the audit package's codes; its details name no
// internals.
func auditPageError(e *audit.Error) *pageError {
	switch e.Code {
	case audit.ErrNotFound.Code, audit.ErrNotAudited.Code:
		return notFound(sentence(e.Detail))
	case audit.ErrIncomplete.Code:
		return &pageError{Status: http.StatusConflict, Detail: sentence(e.Detail)}
	}
	return invalid(sentence(e.Detail))
}

// sentence capitalises a domain message and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	first, size := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(first)) + s[size:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// errorData is the error page.
type errorData struct {
	*pageError
}

// fail answers with the error page. Unknown errors are logged with the
// request id, which the page shows, so a user can quote it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	pe, known := pageErrorOf(err)
	if !known {
		s.log.ErrorContext(r.Context(), "web request failed", slog.String("request_id", requestID(r.Context())), slog.Any("error", err))
	}
	out := *pe
	if out.Title == "" {
		out.Title = titles[out.Status]
		if out.Title == "" {
			out.Title = http.StatusText(out.Status)
		}
	}
	// A download that failed before its first byte must not keep the
	// headers it had set for the file.
	w.Header().Del("Content-Disposition")
	w.Header().Del("ETag")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("Cache-Control", "no-store")
	if rerr := s.render(w, r, out.Status, "error", out.Title, errorData{pageError: &out}); rerr != nil {
		s.log.ErrorContext(r.Context(), "render error page", slog.String("request_id", requestID(r.Context())), slog.Any("error", rerr))
	}
}
