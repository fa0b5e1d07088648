package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/messina-oms/messina/queries"
)

// Filter selects events for List. Zero fields do not filter.
type Filter struct {
	// Table limits events to one audited table (under any of its names).
	Table Table
	// Key limits events to one row (old or new key), plus the table's
	// TRUNCATE events; it needs Table.
	Key json.RawMessage
	// Since and Until bound the events' clock time, inclusive.
	Since time.Time
	Until time.Time
	// Cursor continues after the previous page's NextCursor.
	Cursor string
	// Limit is the page size (DefaultLimit when 0, at most MaxLimit).
	Limit int
}

// List returns one page of events in id order. It returns ErrNotAudited
// when Filter.Table was never audited and ErrInvalid for a malformed key
// or cursor, or a key without a table.
func List(ctx context.Context, db queries.DBTX, f Filter) (Page, error) {
	q := queries.New(db)
	after, err := decodeCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	params := queries.AuditEventListParams{AfterID: after, MaxRows: clampLimit(f.Limit) + 1}
	if f.Table != (Table{}) {
		id, err := resolveTable(ctx, q, f.Table)
		if err != nil {
			return Page{}, err
		}
		params.TableID = &id
	}
	if !f.Since.IsZero() {
		params.Since = &f.Since
	}
	if !f.Until.IsZero() {
		params.Until = &f.Until
	}
	if params.Since != nil && params.Until != nil && params.Until.Before(*params.Since) {
		return Page{}, errorf(ErrInvalid, nil, "until is before since")
	}
	var rows []queries.AuditLog
	if f.Key != nil {
		if params.TableID == nil {
			return Page{}, errorf(ErrInvalid, nil, "a key needs a table")
		}
		key, err := normalizeKey(f.Key)
		if err != nil {
			return Page{}, err
		}
		rows, err = q.AuditEventListByKey(ctx, queries.AuditEventListByKeyParams{
			AfterID: after, TableID: *params.TableID, Key: key, Since: params.Since, Until: params.Until, MaxRows: params.MaxRows,
		})
		if err != nil {
			return Page{}, dbError("list events of a row", err)
		}
	} else if rows, err = q.AuditEventList(ctx, params); err != nil {
		return Page{}, dbError("list events", err)
	}
	return page(rows, int(params.MaxRows)-1), nil
}

// History returns one page of the events of the row of table t with key
// key (a JSON object of the key columns, as Event.Key holds it), oldest
// first. It follows the row under its key: an UPDATE that changed the key
// appears in the history of both keys.
func History(ctx context.Context, db queries.DBTX, t Table, key json.RawMessage, cursor string, limit int) (Page, error) {
	if key == nil {
		return Page{}, errorf(ErrInvalid, nil, "history needs a key")
	}
	return List(ctx, db, Filter{Table: t, Key: key, Cursor: cursor, Limit: limit})
}

// RowRef names one row: a table and the row's key.
type RowRef struct {
	Table Table
	Key   json.RawMessage
}

// Timeline returns one page of the events of several rows, possibly of
// different tables (an order, its lines, its attachment revisions), merged
// in id order. An event that matches two refs appears once. Tables never
// audited are ErrNotAudited.
func Timeline(ctx context.Context, db queries.DBTX, refs []RowRef, cursor string, limit int) (Page, error) {
	q := queries.New(db)
	after, err := decodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	if len(refs) == 0 {
		return Page{}, errorf(ErrInvalid, nil, "timeline needs at least one row")
	}
	type ref struct {
		TableID int32           `json:"table_id"`
		Key     json.RawMessage `json:"key"`
	}
	ids := map[Table]int32{}
	list := make([]ref, 0, len(refs))
	for _, r := range refs {
		id, ok := ids[r.Table]
		if !ok {
			if id, err = resolveTable(ctx, q, r.Table); err != nil {
				return Page{}, err
			}
			ids[r.Table] = id
		}
		key, err := normalizeKey(r.Key)
		if err != nil {
			return Page{}, err
		}
		list = append(list, ref{TableID: id, Key: key})
	}
	b, err := json.Marshal(list)
	if err != nil {
		return Page{}, err
	}
	max := clampLimit(limit) + 1
	rows, err := q.AuditTimelineList(ctx, queries.AuditTimelineListParams{Refs: b, AfterID: after, MaxRows: max})
	if err != nil {
		return Page{}, dbError("timeline", err)
	}
	return page(rows, int(max)-1), nil
}

// page turns limit+1 fetched rows into a page and its cursor.
func page(rows []queries.AuditLog, limit int) Page {
	p := Page{Events: make([]Event, 0, min(len(rows), limit))}
	for i, r := range rows {
		if i == limit {
			p.NextCursor = encodeCursor(rows[i-1].ID)
			break
		}
		p.Events = append(p.Events, eventFromRow(r))
	}
	return p
}

func resolveTable(ctx context.Context, q *queries.Queries, t Table) (int32, error) {
	id, err := q.AuditTableResolve(ctx, queries.AuditTableResolveParams{TableSchema: t.Schema, TableName: t.Name})
	if err != nil {
		if err := dbError("resolve table", err); isCode(err, ErrNotFound) {
			return 0, errorf(ErrNotAudited, nil, "table %s is not audited", t)
		} else {
			return 0, err
		}
	}
	return id, nil
}

func isCode(err error, target *Error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == target.Code
}
