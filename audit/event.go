package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/messina-oms/messina/keyset"
	"github.com/messina-oms/messina/queries"
)

// Op is the kind of change an event records.
type Op string

// The operations of audit.log.op.
const (
	OpInsert   Op = "I"
	OpUpdate   Op = "U"
	OpDelete   Op = "D"
	OpTruncate Op = "T"
)

// Table names a table by schema and name, as in the catalogs (unquoted,
// case-sensitive).
type Table struct {
	Schema string
	Name   string
}

// String returns "schema.name" (unquoted).
func (t Table) String() string { return t.Schema + "." + t.Name }

// MarshalText encodes t as "schema.name", quoting a part that holds a dot
// or a double quote so ParseTable reads it back.
func (t Table) MarshalText() ([]byte, error) {
	return []byte(quotePart(t.Schema) + "." + quotePart(t.Name)), nil
}

// UnmarshalText parses "schema.name" as ParseTable does.
func (t *Table) UnmarshalText(b []byte) error {
	x, err := ParseTable(string(b))
	if err != nil {
		return err
	}
	*t = x
	return nil
}

func quotePart(s string) string {
	if strings.ContainsAny(s, `."`) {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// ParseTable parses "schema.name" (each part may be double-quoted, as in
// SQL, to hold dots or capitals verbatim). A missing schema is an error,
// not "public", because audited tables live in named schemas.
func ParseTable(s string) (Table, error) {
	parts, err := splitIdent(s)
	if err != nil || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return Table{}, errorf(ErrInvalid, err, "table %q: want schema.name", s)
	}
	return Table{Schema: parts[0], Name: parts[1]}, nil
}

func splitIdent(s string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '"' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
		case c == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	return append(parts, cur.String()), nil
}

// Event is one row of audit.log. Its JSON form is the audit event of
// design.md section 6 (snake_case, "table" as "schema.name") plus a few
// more fields.
type Event struct {
	ID int64 `json:"id"`
	// At is the clock time of the statement that made the change.
	At   time.Time `json:"at"`
	TxID uint64    `json:"txid"`
	// Table is the table's name when the event was written.
	Table Table `json:"table"`
	Op    Op    `json:"op"`
	// KeyKind says what Key holds: "pk", "replica", "unique" or "row".
	KeyKind string `json:"key_kind"`
	// Key identifies the row: its old key for U and D, new key for I,
	// null for T.
	Key json.RawMessage `json:"key"`
	// NewKey is set when an UPDATE changed the key.
	NewKey json.RawMessage `json:"new_key,omitempty"`
	// Old and New hold the changed columns of an UPDATE, the whole row of
	// a DELETE (Old) or INSERT (New).
	Old             json.RawMessage `json:"old"`
	New             json.RawMessage `json:"new"`
	DBUser          string          `json:"db_user"`
	Actor           string          `json:"actor"`
	RequestID       string          `json:"request_id"`
	ApplicationName string          `json:"application_name,omitempty"`
	ClientAddr      string          `json:"client_addr,omitempty"`
	// TableVersion is the audit.table_version id describing the columns
	// and key at the time.
	TableVersion int64 `json:"table_version"`
	// Site is the site of the changed row, for tables with a site column
	// (audit.set_site_column); empty for the others.
	Site string `json:"site,omitempty"`
}

func eventFromRow(r queries.AuditLog) Event {
	e := Event{
		ID:           r.ID,
		At:           r.At,
		TxID:         r.Txid.Uint64,
		Table:        Table{Schema: r.TableSchema, Name: r.TableName},
		Op:           Op(r.Op),
		KeyKind:      r.KeyKind,
		Key:          raw(r.Key),
		NewKey:       raw(r.NewKey),
		Old:          raw(r.Old),
		New:          raw(r.New),
		DBUser:       r.DbUser,
		TableVersion: r.TableVersion,
	}
	if r.Actor != nil {
		e.Actor = *r.Actor
	}
	if r.RequestID != nil {
		e.RequestID = *r.RequestID
	}
	if r.ApplicationName != nil {
		e.ApplicationName = *r.ApplicationName
	}
	if r.ClientAddr != nil {
		e.ClientAddr = r.ClientAddr.String()
	}
	if r.Site != nil {
		e.Site = *r.Site
	}
	return e
}

func raw(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

// Page is one page of events in id order. NextCursor is empty on the last
// page.
type Page struct {
	Events     []Event
	NextCursor string
}

// Cursors are opaque to callers: the last id seen, as a keyset cursor.
func encodeCursor(id int64) string {
	return keyset.Encode(strconv.FormatInt(id, 10))
}

func decodeCursor(c string) (int64, error) {
	if id, ok := keyset.DecodeInt(c); ok {
		return id, nil
	}
	return 0, errorf(ErrInvalid, nil, "cursor %q is malformed", c)
}

// DefaultLimit and MaxLimit bound a page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func clampLimit(n int) int32 {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return int32(n)
}

// normalizeKey checks that key is a JSON object and returns it compact.
// PostgreSQL compares jsonb by value, so spacing and key order do not
// matter, but a non-object can never match and is a caller error.
func normalizeKey(key json.RawMessage) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(key, &obj); err != nil || obj == nil {
		return nil, errorf(ErrInvalid, err, "key must be a JSON object, got %q", string(key))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, key); err != nil {
		return nil, errorf(ErrInvalid, err, "key")
	}
	return buf.Bytes(), nil
}
