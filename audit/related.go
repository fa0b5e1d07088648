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
	q := queries.New(db)
	id, err := resolveTable(ctx, q, t)
	if err != nil {
		return nil, err
	}
	rows, err := q.AuditInsertedKeysWhere(ctx, queries.AuditInsertedKeysWhereParams{TableID: id, ColumnName: column, Value: value})
	if err != nil {
		return nil, dbError("keys where", err)
	}
	keys := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		keys[i] = json.RawMessage(r)
	}
	return keys, nil
}
