package audit

import (
	"context"
	"encoding/json"

	"github.com/messina-oms/messina/queries"
)

// KeysWhere returns the keys of the rows of t that were inserted with
// column equal to value (compared as text), deleted ones included: the
// children of a parent row (an order's lines) across their whole life.
// It returns ErrNotAudited when t was never audited.
func KeysWhere(ctx context.Context, db queries.DBTX, t Table, column, value string) ([]json.RawMessage, error) {
	keys, err := KeysWhereIn(ctx, db, t, column, []string{value})
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// KeysWhereIn is KeysWhere for many values at once, in one statement
// whatever their number: the children of many parents (the splits of all
// of an order's lines). keys[i] holds the keys for values[i], never nil.
// It returns ErrNotAudited when t was never audited, and asks the database
// nothing when values is empty.
func KeysWhereIn(ctx context.Context, db queries.DBTX, t Table, column string, values []string) (keys [][]json.RawMessage, err error) {
	keys = make([][]json.RawMessage, len(values))
	if len(values) == 0 {
		return keys, nil
	}
	q := queries.New(db)
	id, err := resolveTable(ctx, q, t)
	if err != nil {
		return nil, err
	}
	rows, err := q.AuditInsertedKeysWhereAny(ctx, queries.AuditInsertedKeysWhereAnyParams{TableID: id, ColumnName: column, Values: values})
	if err != nil {
		return nil, dbError("keys where", err)
	}
	byValue := make(map[string][]json.RawMessage, len(values))
	for _, r := range rows {
		byValue[r.Value] = append(byValue[r.Value], json.RawMessage(r.Key))
	}
	for i, v := range values {
		// A value given twice gets its keys twice, as two KeysWhere
		// calls would.
		keys[i] = append([]json.RawMessage{}, byValue[v]...)
	}
	return keys, nil
}
