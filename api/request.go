package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting so a hostile body cannot make the decoder
// recurse deeply.
const maxJSONDepth = 32

// decodeJSON reads one JSON object into v, refusing unknown fields,
// trailing data and nesting deeper than maxJSONDepth.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return problem(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return decodeJSONBytes(body, v)
}

func decodeJSONBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return validationProblem("the request body is empty")
	}
	if !utf8.Valid(body) {
		return validationProblem("the request body is not valid UTF-8")
	}
	if err := checkDepth(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return validationProblem("unexpected data after the JSON object")
	}
	return nil
}

func jsonProblem(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return validationProblem(fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		want := typ.Type.String()
		// Types of ours that decode text (amounts, dates) say what they want.
		if typ.Type != nil {
			if d, ok := reflect.New(typ.Type).Interface().(interface{ wantJSON() string }); ok {
				want = d.wantJSON()
			}
		}
		return validationProblem("a field has the wrong type", FieldError{Field: field, Message: "must be " + want})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return validationProblem("unknown field", FieldError{Field: name, Message: "is not a known field"})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return validationProblem("truncated JSON")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return validationProblem("invalid JSON: " + err.Error())
}

// checkDepth scans for nesting deeper than maxJSONDepth, skipping strings,
// and refuses NUL characters (\u0000), which no text column can hold.
func checkDepth(b []byte) error {
	depth, inString, escaped := 0, false, false
	for i, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
				if c == 'u' && bytes.HasPrefix(b[i+1:], []byte("0000")) {
					return validationProblem("JSON strings must not contain NUL characters")
				}
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > maxJSONDepth {
				return validationProblem(fmt.Sprintf("JSON nested deeper than %d levels", maxJSONDepth))
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// page is a validated ?limit=&cursor= pair. The cursor is opaque to
// clients: the base64url of the last key of the previous page.
type page struct {
	limit int
	after string
}

const (
	defaultPageLimit = 50
	maxPageLimit     = 500
)

func parsePage(r *http.Request) (page, error) {
	p := page{limit: defaultPageLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return p, validationProblem("invalid limit", FieldError{Field: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d", maxPageLimit)})
		}
		p.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 || len(b) > 512 || !utf8.Valid(b) {
			return p, validationProblem("invalid cursor", FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
		}
		p.after = string(b)
	}
	return p, nil
}

func encodeCursor(key string) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(key))
	return &c
}

// list is the shape of every list response.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// newList builds a page from up to limit+1 fetched rows: the extra row only
// says that there is a next page.
func newList[T any](rows []T, limit int, key func(T) string) list[T] {
	out := list[T]{Items: rows}
	if out.Items == nil {
		out.Items = []T{}
	}
	if len(rows) > limit {
		out.Items = rows[:limit]
		out.NextCursor = encodeCursor(key(rows[limit-1]))
	}
	return out
}

// ifMatchVersion reads the row version a PATCH or DELETE expects. ETags are
// the version in quotes, e.g. "3".
func ifMatchVersion(r *http.Request) (int32, error) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return 0, problem(http.StatusPreconditionRequired, "if_match_required", "send If-Match with the ETag of the version you are changing")
	}
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 32)
	if err != nil || n < 1 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) || len(v) < 3 {
		return 0, problem(http.StatusBadRequest, "invalid_if_match", `If-Match must be an ETag this API returned, e.g. "3"`)
	}
	return int32(n), nil
}

func etag(version int32) string { return `"` + strconv.Itoa(int(version)) + `"` }
