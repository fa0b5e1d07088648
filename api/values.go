package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// amountPattern is the text of an amount: plain decimal notation, no
// exponent, so "1e9" cannot smuggle in a huge number.
var amountPattern = regexp.MustCompile(`^-?[0-9]{1,18}(\.[0-9]{1,8})?$`)

// amount is a decimal number sent as a JSON string ("12.50"). Money and
// quantities never travel as JSON numbers, which many clients parse into
// binary floats; a number is refused with a field error.
type amount struct{ decimal.Decimal }

func (amount) wantJSON() string { return `a decimal number in a string, e.g. "12.50"` }

// UnmarshalJSON accepts only a string holding a plain decimal.
func (a *amount) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil || !amountPattern.MatchString(s) {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[amount]()}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[amount]()}
	}
	a.Decimal = d
	return nil
}

// dec returns the amount, or zero when it was not sent.
func (a *amount) dec() decimal.Decimal {
	if a == nil {
		return decimal.Zero
	}
	return a.Decimal
}

// nullDec returns the amount, invalid when it was not sent.
func (a *amount) nullDec() decimal.NullDecimal {
	if a == nil {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(a.Decimal)
}

// money formats d as a JSON string keeping the scale it has in the
// database ("12.50", not "12.5"), so amounts read the same everywhere.
func money(d decimal.Decimal) string {
	if d.Exponent() < 0 {
		return d.StringFixed(-d.Exponent())
	}
	return d.String()
}

// nullMoney is money, or nil (JSON null) for an invalid value.
func nullMoney(d decimal.NullDecimal) *string {
	if !d.Valid {
		return nil
	}
	s := money(d.Decimal)
	return &s
}

// date is a calendar date, "2006-01-02" in JSON.
type date struct{ time.Time }

func (date) wantJSON() string { return `a date, e.g. "2026-01-31"` }

// UnmarshalJSON accepts only a string holding a date.
func (d *date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			d.Time = t
			return nil
		}
	}
	return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[date]()}
}

// MarshalJSON writes the date without a time.
func (d date) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Format(time.DateOnly))
}

// queryDate reads an optional ?name=YYYY-MM-DD; a bad value is a 422 on
// that field.
func queryDate(r *http.Request, name string) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return nil, validationProblem("invalid "+name, FieldError{Field: name, Message: "must be a date, e.g. 2026-01-31"})
	}
	return &t, nil
}

// queryUUID reads an optional ?name=<uuid>; a bad value is a 422 on that
// field.
func queryUUID(r *http.Request, name string) (*uuid.UUID, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return nil, validationProblem("invalid "+name, FieldError{Field: name, Message: "must be a UUID"})
	}
	return &id, nil
}

// optionalIfMatch reads If-Match where the service accepts no version
// check: 0 when the header is absent, else the version it names.
func optionalIfMatch(r *http.Request) (int32, error) {
	if r.Header.Get("If-Match") == "" {
		return 0, nil
	}
	return ifMatchVersion(r)
}

// decodeOptionalJSON is decodeJSON for routes whose body may be absent:
// an empty body leaves v as it is.
func decodeOptionalJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil || len(body) == 0 {
		return err
	}
	return decodeJSONBytes(body, v)
}

// readBody reads a request body that may be empty (nil then); a body that
// is not JSON is refused.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, problem(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json")
	}
	return body, nil
}

// nonEmpty is s, or nil (JSON null) when s is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
