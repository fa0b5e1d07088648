package orders

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/messina-oms/messina/fault"
)

// Kinds of failure. Every error returned by Service that is not an
// infrastructure failure is an *Error whose Kind is one of these, so
// errors.Is(err, ErrNotFound) etc. work and the HTTP layer maps a kind to a
// status once.
var (
	// ErrNotFound: the id does not exist or is not visible to the caller's
	// sites (row-level security makes the two indistinguishable on purpose).
	ErrNotFound = fault.ErrNotFound
	// ErrConflict: the request is well-formed but the current state forbids
	// it (an order no longer in draft, a duplicate, a rule already in force).
	ErrConflict = fault.ErrConflict
	// ErrInvalidTransition: the order's status cannot go to the requested
	// one; Error.Allowed lists where it can go. It is also an ErrConflict.
	ErrInvalidTransition = fmt.Errorf("invalid transition: %w", ErrConflict)
	// ErrValidation: the input is invalid; Error.Fields says where.
	ErrValidation = fault.ErrValidation
	// ErrStale: the expected version does not match the current one
	// (optimistic locking; If-Match in HTTP).
	ErrStale = fault.ErrStale
	// ErrForbidden: the caller may not write rows of that site.
	ErrForbidden = fault.ErrForbidden
)

// Stable machine codes carried by Error.Code. Clients may rely on them;
// they never change meaning.
const (
	CodeNotFound           = "not_found"
	CodeSiteNotFound       = "site_not_found"
	CodeRulesNotFound      = "site_rules_not_found"
	CodeLegalEntityMissing = "legal_entity_not_found"
	CodeCustomerNotFound   = "customer_not_found"
	CodeProductNotFound    = "product_not_found"
	CodePriceBookNotFound  = "price_book_not_found"
	CodePriceNotFound      = "price_not_found"
	CodeOrderNotFound      = "order_not_found"
	CodeLineNotFound       = "order_line_not_found"
	CodeValidation         = fault.CodeValidation
	CodeInvalidTransition  = "invalid_transition"
	CodeNotEditable        = "order_not_editable"
	CodeRuleInPast         = "rule_rewrites_past"
	CodeAlreadyExists      = "already_exists"
	CodeStale              = "stale_version"
	CodeForbidden          = "site_forbidden"
	CodeConflict           = "conflict"
)

// FieldError is one invalid input field, named as in the API.
type FieldError = fault.FieldError

// Error is the domain error of the package (see package fault); Allowed
// lists the statuses an order may go to, for ErrInvalidTransition.
type Error = fault.Error

// ErrorCode returns the machine code of err, or "" when err is not a
// domain error (an infrastructure failure the HTTP layer answers with 500).
func ErrorCode(err error) string { return fault.Code(err) }

func notFound(code, format string, args ...any) *Error {
	return &Error{Kind: ErrNotFound, Code: code, Message: fmt.Sprintf(format, args...)}
}

func stale(current int32) *Error {
	return &Error{Kind: ErrStale, Code: CodeStale, Message: fmt.Sprintf("the current version is %d", current), CurrentVersion: current}
}

// fieldErrors collects validation failures so one response lists them all.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return fault.Validation("invalid input", f...)
}

// SQLSTATEs raised by the triggers of migration 00004.
const (
	stateInvalidTransition = "MS001"
	stateNotEditable       = "MS002"
	stateValidation        = "MS003"
	stateRuleInPast        = "MS004"
)

// constraintFields names the input field behind a constraint whose name
// does not say it plainly (foreign keys over (id, site_id) pairs).
var constraintFields = map[string]string{
	"order_legal_entity_id_site_id_fkey":  "legal_entity_id",
	"order_customer_id_site_id_fkey":      "customer_id",
	"order_line_product_id_fkey":          "product_id",
	"order_line_order_id_site_id_fkey":    "order_id",
	"price_book_customer_id_site_id_fkey": "customer_id",
	"price_price_book_id_site_id_fkey":    "price_book_id",
	"price_product_id_fkey":               "product_id",
	"customer_site_id_fkey":               "site_id",
	"legal_entity_site_id_fkey":           "site_id",
	"site_setting_site_id_fkey":           "site_id",
	"price_book_site_id_fkey":             "site_id",
	"order_line_term_check":               "term_months",
	"product_recurring_check":             "billing_frequency",
	// Address columns (migration 00010), named as the API nests them.
	"legal_entity_address_street_check":   "address.street",
	"legal_entity_address_city_check":     "address.city",
	"legal_entity_address_postcode_check": "address.postcode",
	"legal_entity_address_country_check":  "address.country",
	"legal_entity_address_whole":          "address",
	"customer_address_street_check":       "address.street",
	"customer_address_city_check":         "address.city",
	"customer_address_postcode_check":     "address.postcode",
	"customer_address_country_check":      "address.country",
	"customer_address_whole":              "address",
}

// translate turns a driver error into a domain error, once, at the
// database boundary. notFoundCode is the code for pgx.ErrNoRows; field
// prefixes the field of a validation error ("lines[0]." for a line).
// Anything it does not recognise is returned wrapped, as an internal error.
func translate(err error, notFoundCode, fieldPrefix string) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Kind: ErrNotFound, Code: notFoundCode, Message: "not found", Err: err}
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	field := func() string {
		f := pe.ColumnName
		if mapped, ok := constraintFields[pe.ConstraintName]; ok {
			f = mapped
		} else if f == "" && pe.ConstraintName != "" {
			f = strings.TrimSuffix(strings.TrimPrefix(pe.ConstraintName, pe.TableName+"_"), "_check")
		}
		return fieldPrefix + f
	}
	switch pe.Code {
	case stateInvalidTransition:
		var allowed []string
		for s := range strings.SplitSeq(pe.Detail, ",") {
			if s != "" {
				allowed = append(allowed, s)
			}
		}
		return &Error{Kind: ErrInvalidTransition, Code: CodeInvalidTransition, Message: pe.Message, Allowed: allowed, Err: err}
	case stateNotEditable:
		return &Error{Kind: ErrConflict, Code: CodeNotEditable, Message: pe.Message, Err: err}
	case stateValidation:
		return &Error{Kind: ErrValidation, Code: CodeValidation, Message: pe.Message,
			Fields: []FieldError{{Field: field(), Message: pe.Message}}, Err: err}
	case stateRuleInPast:
		return &Error{Kind: ErrConflict, Code: CodeRuleInPast, Message: pe.Message, Err: err}
	case "23505": // unique_violation
		return &Error{Kind: ErrConflict, Code: CodeAlreadyExists, Message: pe.Detail, Err: err}
	case "23503": // foreign_key_violation: an id in the input names nothing visible
		return &Error{Kind: ErrValidation, Code: CodeValidation, Message: "unknown reference",
			Fields: []FieldError{{Field: field(), Message: "does not exist or is not visible"}}, Err: err}
	case "23514", "23502", "22P02", "22003", "22023": // check, not null, bad text, out of range, bad parameter
		return &Error{Kind: ErrValidation, Code: CodeValidation, Message: pe.Message,
			Fields: []FieldError{{Field: field(), Message: pe.Message}}, Err: err}
	case "42501": // row-level security refused the row: another site
		return &Error{Kind: ErrForbidden, Code: CodeForbidden, Message: "the row belongs to a site outside the caller's sites", Err: err}
	case "40001", "40P01": // serialization failure, deadlock: the client may retry
		return &Error{Kind: ErrConflict, Code: CodeConflict, Message: "concurrent update, retry", Err: err}
	case "P0001":
		return &Error{Kind: ErrConflict, Code: CodeConflict, Message: pe.Message, Err: err}
	}
	return err
}
