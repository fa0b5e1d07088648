package filestore

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// Error is a domain error with a stable machine code. The api package maps
// codes to HTTP statuses; the message is safe to show to clients.
type Error struct {
	// Code is stable and machine-readable, e.g. "not_found".
	Code string
	// Msg explains the code to a person.
	Msg string
}

// Error returns the message, which is safe to show to clients.
func (e *Error) Error() string { return e.Msg }

// The domain errors of the package. Callers test with errors.Is; each error
// returned by the package wraps at most one of these.
var (
	// ErrNotFound: the attachment, revision, blob or object does not exist
	// (or is not visible to the caller's sites). HTTP 404.
	ErrNotFound = &Error{Code: "not_found", Msg: "not found"}
	// ErrTooLarge: the body is larger than the configured upload limit.
	// HTTP 413.
	ErrTooLarge = &Error{Code: "too_large", Msg: "body exceeds the upload size limit"}
	// ErrEmpty: the body has no bytes. HTTP 400.
	ErrEmpty = &Error{Code: "empty_body", Msg: "body is empty"}
	// ErrDigestMismatch: the content does not hash to the digest the client
	// announced. The error is a *DigestMismatchError carrying the computed
	// digest. HTTP 400.
	ErrDigestMismatch = &Error{Code: "digest_mismatch", Msg: "content does not match the announced digest"}
	// ErrSizeMismatch: the body is shorter or longer than its announced size.
	// HTTP 400.
	ErrSizeMismatch = &Error{Code: "size_mismatch", Msg: "body size does not match the announced size"}
	// ErrInvalid: a malformed argument (digest header, owner, range, key,
	// store URL). HTTP 400.
	ErrInvalid = &Error{Code: "invalid", Msg: "invalid argument"}
	// ErrRangeNotSatisfiable: the requested range starts at or beyond the
	// end of the content. HTTP 416.
	ErrRangeNotSatisfiable = &Error{Code: "range_not_satisfiable", Msg: "range not satisfiable"}
	// ErrUnavailable: the object store (or database) cannot be reached or
	// answered with a server error; retrying later may succeed. HTTP 503.
	ErrUnavailable = &Error{Code: "store_unavailable", Msg: "blob store unavailable"}
	// ErrCorrupt: stored bytes do not hash to their address or the object is
	// missing; the blob has been marked corrupt. A download fails with it
	// mid-stream (the client sees a broken transfer). HTTP 500.
	ErrCorrupt = &Error{Code: "blob_corrupt", Msg: "stored content is corrupt or missing"}
	// ErrConflict: the operation lost a race it cannot safely retry (e.g. the
	// stored object vanished under an upload). Retrying the request is
	// safe. HTTP 409.
	ErrConflict = &Error{Code: "conflict", Msg: "concurrent change, retry"}
	// ErrRendered: the attachment's revisions are made by rendering its
	// owner (an invoice's documents, PutNamed), never uploaded or restored
	// by hand: an issued invoice's documents show the invoice. HTTP 409.
	ErrRendered = &Error{Code: "rendered_document", Msg: "this document changes only by rendering it again from its owner"}
)

// DigestMismatchError reports the digest computed from the bytes received,
// so the client can tell a corrupted transfer from a wrong header.
type DigestMismatchError struct {
	Expected []byte
	Computed []byte
}

// Error names both digests in hex.
func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("content digest mismatch: announced sha-256 %s, computed %s",
		hex.EncodeToString(e.Expected), hex.EncodeToString(e.Computed))
}

// Is makes errors.Is(err, ErrDigestMismatch) true.
func (e *DigestMismatchError) Is(target error) bool { return target == ErrDigestMismatch }

// Code returns the machine code of the domain error err wraps, or "" when
// it wraps none (an unexpected error: the API answers 500).
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrInvalid) {
		return ErrInvalid.Code
	}
	if errors.Is(err, ErrDigestMismatch) {
		return ErrDigestMismatch.Code
	}
	return ""
}

// InvalidError is an ErrInvalid with the reason, written for the person
// who sent the argument.
type InvalidError struct{ Reason string }

// Error says what was invalid.
func (e *InvalidError) Error() string { return ErrInvalid.Msg + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// InvalidReason returns the reason of the ErrInvalid that err wraps, for
// the person who sent the argument: unlike err's message, it carries no
// context of where the error arose. Without a reason it is ErrInvalid's
// message.
func InvalidReason(err error) string {
	var e *InvalidError
	if errors.As(err, &e) {
		return e.Reason
	}
	return ErrInvalid.Msg
}

// invalidf returns an ErrInvalid with a specific reason.
func invalidf(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}
