package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"time"

	"github.com/messina-oms/messina/queries"
)

// Point is a point in the log: a clock time, or a transaction id (the
// state after every event whose txid is at most TxID). Exactly one is set.
type Point struct {
	At   time.Time
	TxID uint64
}

// AtTime is the point at clock time t.
func AtTime(t time.Time) Point { return Point{At: t} }

// AtTx is the point after transaction txid.
func AtTx(txid uint64) Point { return Point{TxID: txid} }

func (p Point) valid() bool { return (p.TxID != 0) != !p.At.IsZero() }

// includes reports whether event e happened at or before p.
func (p Point) includes(e Event) bool {
	if p.TxID != 0 {
		return e.TxID <= p.TxID
	}
	return !e.At.After(p.At)
}

// Row is a row reconstructed from the log.
type Row struct {
	Table Table
	Key   json.RawMessage
	// Version is the table version whose column names Fields uses.
	Version int64
	// Fields holds each column's value, excluded columns left out.
	Fields map[string]json.RawMessage
}

// Change is one field that differs between two points. Old or New is nil
// when the row did not exist on that side.
type Change struct {
	Field string
	Old   json.RawMessage
	New   json.RawMessage
}

// AsOf reconstructs the row of t with key key as it was at time at, by
// replaying its log from its INSERT (following key changes back). It
// returns ErrNotFound when the row did not exist then and ErrIncomplete
// when its INSERT predates auditing.
func AsOf(ctx context.Context, db queries.DBTX, t Table, key json.RawMessage, at time.Time) (Row, error) {
	q := queries.New(db)
	tableID, err := resolveTable(ctx, q, t)
	if err != nil {
		return Row{}, err
	}
	p := AtTime(at)
	events, err := rowEvents(ctx, q, tableID, key, p)
	if err != nil {
		return Row{}, err
	}
	vm, err := loadVersions(ctx, q, tableID)
	if err != nil {
		return Row{}, err
	}
	var (
		state   map[string]json.RawMessage
		exists  bool
		started bool
		ver     int64
		curKey  = key
	)
	for _, e := range events {
		if exists && e.TableVersion != ver {
			state = vm.remap(state, ver, e.TableVersion)
		}
		ver = e.TableVersion
		switch e.Op {
		case OpInsert:
			state, exists, started = fields(e.New), true, true
			curKey = e.Key
		case OpUpdate:
			if !started || state == nil {
				return Row{}, errorf(ErrIncomplete, nil, "row %s %s: first logged event is an update", t, key)
			}
			for k, v := range fields(e.New) {
				state[k] = v
			}
			if e.NewKey != nil {
				curKey = e.NewKey
				// The row moved away from the key asked for.
				exists = jsonEqual(e.NewKey, key)
			}
		case OpDelete:
			state, exists, started = nil, false, true
		case OpTruncate:
			state, exists = nil, false
		}
	}
	if !exists {
		if !started && len(events) == 0 {
			return Row{}, errorf(ErrNotFound, nil, "row %s %s has no history before %s", t, key, at.Format(time.RFC3339Nano))
		}
		return Row{}, errorf(ErrNotFound, nil, "row %s %s did not exist at %s", t, key, at.Format(time.RFC3339Nano))
	}
	return Row{Table: t, Key: curKey, Version: ver, Fields: state}, nil
}

// Diff returns the fields of the row of t with key key that differ between
// points from and to (from before to), sorted by field name, with column
// renames in between followed. It works from the events in between, so it
// needs no history before from.
func Diff(ctx context.Context, db queries.DBTX, t Table, key json.RawMessage, from, to Point) ([]Change, error) {
	if !from.valid() || !to.valid() {
		return nil, errorf(ErrInvalid, nil, "a point is a time or a txid")
	}
	q := queries.New(db)
	tableID, err := resolveTable(ctx, q, t)
	if err != nil {
		return nil, err
	}
	events, err := rowEvents(ctx, q, tableID, key, to)
	if err != nil {
		return nil, err
	}
	vm, err := loadVersions(ctx, q, tableID)
	if err != nil {
		return nil, err
	}
	var between []Event
	for _, e := range events {
		if !from.includes(e) {
			between = append(between, e)
		}
	}
	if len(between) == 0 {
		return []Change{}, nil
	}
	last := between[len(between)-1].TableVersion
	type span struct {
		old, new       json.RawMessage
		oldSet, newSet bool
	}
	spans := map[string]*span{}
	get := func(name string, ver int64) *span {
		if n, ok := vm.rename(name, ver, last); ok {
			name = n
		}
		s := spans[name]
		if s == nil {
			s = &span{}
			spans[name] = s
		}
		return s
	}
	for _, e := range between {
		switch e.Op {
		case OpInsert:
			for k, v := range fields(e.New) {
				s := get(k, e.TableVersion)
				if !s.oldSet {
					s.oldSet = true // absent before the insert
				}
				s.new, s.newSet = v, true
			}
		case OpUpdate:
			old := fields(e.Old)
			for k, v := range fields(e.New) {
				s := get(k, e.TableVersion)
				if !s.oldSet {
					s.old, s.oldSet = old[k], true
				}
				s.new, s.newSet = v, true
			}
		case OpDelete:
			for k, v := range fields(e.Old) {
				s := get(k, e.TableVersion)
				if !s.oldSet {
					s.old, s.oldSet = v, true
				}
				s.new, s.newSet = nil, true
			}
		case OpTruncate:
			for _, s := range spans {
				s.new = nil
			}
		}
	}
	changes := []Change{}
	for name, s := range spans {
		if !jsonEqual(s.old, s.new) {
			changes = append(changes, Change{Field: name, Old: s.old, New: s.new})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Field < changes[j].Field })
	return changes, nil
}

// rowEvents returns the events of one row up to point p in id order,
// following key changes backwards: when the row came to key via an UPDATE
// of its key, the events of its former key before that UPDATE come first.
func rowEvents(ctx context.Context, q *queries.Queries, tableID int32, key json.RawMessage, p Point) ([]Event, error) {
	k, err := normalizeKey(key)
	if err != nil {
		return nil, err
	}
	var out []Event
	before := int64(-1) // only events with id < before; -1 = no bound
	for hops := 0; hops < 1000; hops++ {
		var chunk []Event
		after := int64(0)
		for {
			rows, err := q.AuditEventListByKey(ctx, queries.AuditEventListByKeyParams{AfterID: after, TableID: tableID, Key: k, MaxRows: MaxLimit})
			if err != nil {
				return nil, dbError("row history", err)
			}
			for _, r := range rows {
				e := eventFromRow(r)
				if (before >= 0 && e.ID >= before) || !p.includes(e) {
					continue
				}
				chunk = append(chunk, e)
			}
			if len(rows) < MaxLimit {
				break
			}
			after = rows[len(rows)-1].ID
		}
		out = append(chunk, out...)
		// Did the row arrive at this key through a key change?
		var from *Event
		for i := range chunk {
			e := chunk[i]
			if e.Op == OpInsert {
				from = nil
				break
			}
			if e.Op == OpUpdate && e.NewKey != nil && jsonEqual(e.NewKey, k) && !jsonEqual(e.Key, k) {
				from = &chunk[i]
				break
			}
			if e.Op == OpUpdate {
				break
			}
		}
		if from == nil {
			return out, nil
		}
		if k, err = normalizeKey(from.Key); err != nil {
			return nil, err
		}
		before = from.ID
		// Drop T events duplicated by the next chunk (they match any key).
		out = dropTruncatesBefore(out, from.ID)
	}
	return out, nil
}

func dropTruncatesBefore(events []Event, id int64) []Event {
	kept := events[:0]
	for _, e := range events {
		if e.Op == OpTruncate && e.ID < id {
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// versions maps column names between table versions through attnums,
// which a rename keeps.
type versions map[int64]map[string]int

func loadVersions(ctx context.Context, q *queries.Queries, tableID int32) (versions, error) {
	rows, err := q.AuditTableVersionList(ctx, tableID)
	if err != nil {
		return nil, dbError("table versions", err)
	}
	vm := versions{}
	for _, r := range rows {
		var cols []struct {
			Name   string `json:"name"`
			Attnum int    `json:"attnum"`
		}
		if err := json.Unmarshal(r.Columns, &cols); err != nil {
			return nil, err
		}
		m := map[string]int{}
		for _, c := range cols {
			m[c.Name] = c.Attnum
		}
		vm[r.ID] = m
	}
	return vm, nil
}

// rename returns the name in version to of column name of version from.
func (vm versions) rename(name string, from, to int64) (string, bool) {
	if from == to {
		return name, true
	}
	attnum, ok := vm[from][name]
	if !ok {
		return "", false
	}
	for n, a := range vm[to] {
		if a == attnum {
			return n, true
		}
	}
	return "", false
}

// remap renames a row's fields from version from to version to, dropping
// columns that no longer exist.
func (vm versions) remap(state map[string]json.RawMessage, from, to int64) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(state))
	for k, v := range state {
		if n, ok := vm.rename(k, from, to); ok {
			out[n] = v
		}
	}
	return out
}

func fields(b json.RawMessage) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &m) // the log holds jsonb objects only
	}
	return m
}

// jsonEqual compares two JSON values by meaning (spacing and key order do
// not matter; numbers compare by their text). nil equals only nil.
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}
