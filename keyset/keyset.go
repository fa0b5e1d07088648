// Package keyset is the keyset pagination the domain services share: page
// sizes, and cursors that name the sort key of a page's last item.
//
// Cursors are opaque to clients: base64url of the key's parts separated by
// NUL, which no part contains (PostgreSQL text cannot hold it). A cursor
// that does not decode to the expected parts is refused, never guessed at.
package keyset

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// A page holds DefaultLimit items unless asked otherwise, and never more
// than MaxLimit.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Limit is the page size for a request of n items (0: the default).
func Limit(n int) int32 {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return int32(n)
}

// Encode returns the cursor of a page whose last item sorts by key.
func Encode(key ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(key, "\x00")))
}

// Decode returns the n parts of a cursor Encode made; ok is false for
// anything else.
func Decode(cursor string, n int) (key []string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !utf8.Valid(b) {
		return nil, false
	}
	key = strings.Split(string(b), "\x00")
	return key, len(key) == n
}

// TimeID is the cursor of lists sorted by a time and an id.
func TimeID(t time.Time, id uuid.UUID) string {
	return Encode(t.UTC().Format(time.RFC3339Nano), id.String())
}

// DecodeTimeID reads a TimeID cursor; "" is the first page (nil, nil).
func DecodeTimeID(cursor string) (*time.Time, *uuid.UUID, bool) {
	if cursor == "" {
		return nil, nil, true
	}
	key, ok := Decode(cursor, 2)
	if !ok {
		return nil, nil, false
	}
	t, terr := time.Parse(time.RFC3339Nano, key[0])
	id, ierr := uuid.Parse(key[1])
	if terr != nil || ierr != nil {
		return nil, nil, false
	}
	return &t, &id, true
}

// DecodeTextID reads the cursor of lists sorted by a text and an id
// (Encode(text, id.String())); "" is the first page (nil, nil).
func DecodeTextID(cursor string) (*string, *uuid.UUID, bool) {
	if cursor == "" {
		return nil, nil, true
	}
	key, ok := Decode(cursor, 2)
	if !ok {
		return nil, nil, false
	}
	id, err := uuid.Parse(key[1])
	if err != nil {
		return nil, nil, false
	}
	return &key[0], &id, true
}

// DecodeInt reads the cursor of lists sorted by one non-negative integer
// (Encode(strconv.FormatInt(n, 10))); "" is 0, before the first.
func DecodeInt(cursor string) (int64, bool) {
	if cursor == "" {
		return 0, true
	}
	key, ok := Decode(cursor, 1)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(key[0], 10, 64)
	return n, err == nil && n >= 0
}

// Page is one page of a list: its items and the cursor of the next page
// ("" on the last page).
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// Cut makes a page of n items from rows, fetched with a limit of n+1: the
// extra row only says that there is a next page, which starts after the
// nth row, whose cursor gives NextCursor.
func Cut[R, T any](rows []R, n int, item func(R) T, cursor func(last R) string) Page[T] {
	out := Page[T]{Items: make([]T, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = cursor(rows[i-1])
			break
		}
		out.Items = append(out.Items, item(r))
	}
	return out
}
