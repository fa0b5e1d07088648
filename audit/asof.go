package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
// replaying its log forwards from its INSERT (following key changes back).
// When the INSERT predates auditing, it works backwards instead, from the
// row as it is now (key in today's column names) undoing the logged
// changes made after at. It returns ErrNotFound when the row did not exist
// then and ErrIncomplete when the log cannot tell.
func AsOf(ctx context.Context, db queries.DBTX, t Table, key json.RawMessage, at time.Time) (Row, error) {
	rows, errs, err := asOfEach(ctx, db, t, []json.RawMessage{key}, at)
	if err != nil {
		return Row{}, err
	}
	return rows[0], errs[0]
}

// AsOfKeys reconstructs the rows of t with the given keys as they were at
// time at, each as AsOf does, with a number of statements that does not
// grow with the number of keys. It returns the rows that existed then, in
// the order of keys, leaving out the keys AsOf answers ErrNotFound for (a
// row added later or already removed); any other error of a key is
// returned, that of the first such key.
func AsOfKeys(ctx context.Context, db queries.DBTX, t Table, keys []json.RawMessage, at time.Time) ([]Row, error) {
	out := []Row{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, errs, err := asOfEach(ctx, db, t, keys, at)
	if err != nil {
		return nil, err
	}
	for i, row := range rows {
		if isCode(errs[i], ErrNotFound) {
			continue
		}
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, row)
	}
	return out, nil
}

// asOfEach is AsOf for every key: rows[i] and errs[i] are AsOf's answer
// for keys[i]. err is an error of the whole call (table, keys, database),
// when rows and errs are nil. The table, its versions and the events of
// every key are read once for all keys; the keys that need a backward
// replay take two more statements: today's rows, then their events again.
func asOfEach(ctx context.Context, db queries.DBTX, t Table, keys []json.RawMessage, at time.Time) (rows []Row, errs []error, err error) {
	q := queries.New(db)
	tableID, err := resolveTable(ctx, q, t)
	if err != nil {
		return nil, nil, err
	}
	norm := make([][]byte, len(keys))
	for i, key := range keys {
		if norm[i], err = normalizeKey(key); err != nil {
			return nil, nil, err
		}
	}
	src := newEventSource(q, tableID)
	events, err := src.rowEvents(ctx, norm, AtTime(at))
	if err != nil {
		return nil, nil, err
	}
	vm, err := loadVersions(ctx, q, tableID)
	if err != nil {
		return nil, nil, err
	}
	rows = make([]Row, len(keys))
	errs = make([]error, len(keys))
	var backward []int // indexes of the keys to rebuild from today's row
	for i, key := range keys {
		if len(events[i]) == 0 {
			// Nothing logged by then: the row did not exist, or it existed
			// before auditing started.
			backward = append(backward, i)
			continue
		}
		rows[i], errs[i] = replayForward(t, key, at, events[i], vm)
		if isCode(errs[i], ErrIncomplete) {
			backward = append(backward, i)
		}
	}
	if len(backward) == 0 {
		return rows, errs, nil
	}
	backKeys := make([][]byte, len(backward))
	for j, i := range backward {
		backKeys[j] = norm[i]
	}
	current, err := currentRows(ctx, q, tableID, backKeys)
	if err != nil {
		return nil, nil, err
	}
	// The events were read before today's rows: a change committed in
	// between would show in a row and not be undone. Read the events of
	// those keys again, after the rows: in READ COMMITTED every change a
	// row shows has its log row committed by then, and undoing a change
	// the row does not show yet is harmless (an undo sets old values).
	if err := src.reload(ctx, backKeys); err != nil {
		return nil, nil, err
	}
	for j, i := range backward {
		rows[i], errs[i] = replayBackward(t, keys[i], norm[i], current[j], src.after(norm[i], at), at, vm)
	}
	return rows, errs, nil
}

// currentRows reads today's rows of keys (normalized), in one statement:
// current[j] is that of keys[j], nil when it does not exist.
func currentRows(ctx context.Context, q *queries.Queries, tableID int32, keys [][]byte) ([]json.RawMessage, error) {
	list := make([]json.RawMessage, len(keys))
	for j, k := range keys {
		list[j] = k
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("audit: current rows: %w", err)
	}
	rows, err := q.AuditCurrentRows(ctx, queries.AuditCurrentRowsParams{TableID: tableID, Keys: b})
	if err != nil {
		return nil, dbError("current rows", err)
	}
	current := make([]json.RawMessage, len(keys))
	for _, r := range rows {
		current[r.Ord-1] = r.Current
	}
	return current, nil
}

// replayForward rebuilds the row from its INSERT through events (all at or
// before at, in id order).
func replayForward(t Table, key json.RawMessage, at time.Time, events []Event, vm versions) (Row, error) {
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
	then := vm.at(at)
	if then < ver {
		then = ver // a version is never older than an event written under it
	}
	return Row{Table: t, Key: curKey, Version: then, Fields: vm.remap(state, ver, then)}, nil
}

// replayBackward rebuilds the row at time at from cur, the row as it is
// now (nil when it does not exist), undoing in reverse after, the events
// of key k (key normalized) after at in id order.
func replayBackward(t Table, key json.RawMessage, k []byte, cur json.RawMessage, after []Event, at time.Time, vm versions) (Row, error) {
	notFound := errorf(ErrNotFound, nil, "row %s %s did not exist at %s", t, key, at.Format(time.RFC3339Nano))
	if len(after) > 0 {
		// The first change after at created the row or moved it to this
		// key: it was not there at at (keys are unique).
		if e := after[0]; e.Op == OpInsert || (e.Op == OpUpdate && e.NewKey != nil && jsonEqual(e.NewKey, k) && !jsonEqual(e.Key, k)) {
			return Row{}, notFound
		}
	}
	var state map[string]json.RawMessage
	if cur != nil {
		state = fields(cur)
	}
	ver := vm.latest()
	incomplete := errorf(ErrIncomplete, nil, "row %s %s: the log cannot rebuild it at %s", t, key, at.Format(time.RFC3339Nano))
	for i := len(after) - 1; i >= 0; i-- {
		e := after[i]
		if state != nil && e.TableVersion != ver {
			state = vm.remap(state, ver, e.TableVersion)
		}
		ver = e.TableVersion
		switch e.Op {
		case OpInsert:
			state = nil // before its insert the row did not exist
		case OpDelete:
			state = fields(e.Old)
		case OpTruncate:
			return Row{}, incomplete
		case OpUpdate:
			movedHere := e.NewKey != nil && jsonEqual(e.NewKey, k) && !jsonEqual(e.Key, k)
			if movedHere {
				// Before this update the row had another key.
				state = nil
				continue
			}
			if state == nil {
				return Row{}, incomplete
			}
			for f, v := range fields(e.Old) {
				state[f] = v
			}
		}
	}
	if state == nil {
		return Row{}, notFound
	}
	then := vm.at(at)
	return Row{Table: t, Key: k, Version: then, Fields: vm.remap(state, ver, then)}, nil
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
	events, err := newEventSource(q, tableID).rowEvents(ctx, [][]byte{k}, p)
	if err != nil {
		return nil, err
	}
	return events[0], nil
}

// maxHops bounds how many key changes rowEvents follows back.
const maxHops = 1000

// eventSource reads the events of rows of one table many keys at a time
// and keeps them, so that rebuilding many rows costs a statement per
// round of keys rather than one per key.
type eventSource struct {
	q       *queries.Queries
	tableID int32
	// byKey holds every visible event of each key loaded (by its
	// normalized text), in id order, whatever its time.
	byKey map[string][]Event
}

func newEventSource(q *queries.Queries, tableID int32) *eventSource {
	return &eventSource{q: q, tableID: tableID, byKey: map[string][]Event{}}
}

// load reads, in one statement, the events of those keys (normalized) not
// read yet.
func (s *eventSource) load(ctx context.Context, keys [][]byte) error {
	var todo []json.RawMessage
	for _, k := range keys {
		if _, ok := s.byKey[string(k)]; !ok {
			s.byKey[string(k)] = []Event{}
			todo = append(todo, k)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	b, err := json.Marshal(todo)
	if err != nil {
		return fmt.Errorf("audit: row history keys: %w", err)
	}
	rows, err := s.q.AuditEventListByKeys(ctx, queries.AuditEventListByKeysParams{TableID: s.tableID, Keys: b})
	if err != nil {
		for _, k := range todo {
			delete(s.byKey, string(k))
		}
		return dbError("row history", err)
	}
	for _, r := range rows {
		k := string(todo[r.Ref-1])
		s.byKey[k] = append(s.byKey[k], eventFromRow(r.AuditLog))
	}
	return nil
}

// reload reads the events of keys (normalized) again, in one statement.
func (s *eventSource) reload(ctx context.Context, keys [][]byte) error {
	for _, k := range keys {
		delete(s.byKey, string(k))
	}
	return s.load(ctx, keys)
}

// rowEvents returns what the function rowEvents returns for each of keys
// (normalized), reading the keys asked for in one statement and then the
// former keys that key changes lead back to, one statement per hop for
// all keys at once.
func (s *eventSource) rowEvents(ctx context.Context, keys [][]byte, p Point) ([][]Event, error) {
	out := make([][]Event, len(keys))
	pending := make([]int, len(keys))
	for i := range keys {
		pending[i] = i
	}
	need := keys
	// Each round reads at least one key never read before, and a row's
	// chain of keys is at most maxHops long.
	for round := 0; len(pending) > 0 && round <= maxHops; round++ {
		if err := s.load(ctx, need); err != nil {
			return nil, err
		}
		var next []int
		need = nil
		for _, i := range pending {
			events, missing, err := s.chain(keys[i], p)
			if err != nil {
				return nil, err
			}
			if missing != nil {
				next = append(next, i)
				need = append(need, missing)
				continue
			}
			out[i] = events
		}
		pending = next
	}
	return out, nil
}

// chain is rowEvents for key k from the events loaded so far. When it
// needs the events of a former key that is not loaded, it returns that key
// as missing instead.
func (s *eventSource) chain(k []byte, p Point) (out []Event, missing []byte, err error) {
	before := int64(-1) // only events with id < before; -1 = no bound
	for hops := 0; hops < maxHops; hops++ {
		all, ok := s.byKey[string(k)]
		if !ok {
			return nil, k, nil
		}
		var chunk []Event
		for _, e := range all {
			if (before >= 0 && e.ID >= before) || !p.includes(e) {
				continue
			}
			chunk = append(chunk, e)
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
			return out, nil, nil
		}
		if k, err = normalizeKey(from.Key); err != nil {
			return nil, nil, err
		}
		before = from.ID
		// Drop T events duplicated by the next chunk (they match any key).
		out = dropTruncatesBefore(out, from.ID)
	}
	return out, nil, nil
}

// after returns the loaded events of key k (normalized) later than at, in
// id order.
func (s *eventSource) after(k []byte, at time.Time) []Event {
	var out []Event
	for _, e := range s.byKey[string(k)] {
		if e.At.After(at) {
			out = append(out, e)
		}
	}
	return out
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
// which a rename keeps, and knows when each version began.
type versions struct {
	cols    map[int64]map[string]int
	created map[int64]time.Time
}

func loadVersions(ctx context.Context, q *queries.Queries, tableID int32) (versions, error) {
	rows, err := q.AuditTableVersionList(ctx, tableID)
	if err != nil {
		return versions{}, dbError("table versions", err)
	}
	vm := versions{cols: map[int64]map[string]int{}, created: map[int64]time.Time{}}
	for _, r := range rows {
		var cols []struct {
			Name   string `json:"name"`
			Attnum int    `json:"attnum"`
		}
		if err := json.Unmarshal(r.Columns, &cols); err != nil {
			return versions{}, fmt.Errorf("audit: table version %d columns: %w", r.ID, err)
		}
		m := map[string]int{}
		for _, c := range cols {
			m[c.Name] = c.Attnum
		}
		vm.cols[r.ID] = m
		vm.created[r.ID] = r.CreatedAt
	}
	return vm, nil
}

// at returns the version in force at time t: the newest one created at or
// before t, or the first one.
func (vm versions) at(t time.Time) int64 {
	var best, first int64
	for id, c := range vm.created {
		if first == 0 || id < first {
			first = id
		}
		if !c.After(t) && id > best {
			best = id
		}
	}
	if best == 0 {
		return first
	}
	return best
}

// latest returns the newest version id.
func (vm versions) latest() int64 {
	var max int64
	for id := range vm.cols {
		if id > max {
			max = id
		}
	}
	return max
}

// rename returns the name in version to of column name of version from.
func (vm versions) rename(name string, from, to int64) (string, bool) {
	if from == to {
		return name, true
	}
	attnum, ok := vm.cols[from][name]
	if !ok {
		return "", false
	}
	for n, a := range vm.cols[to] {
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
