package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/queries"
)

// The tables an order's history spans.
var (
	orderTable      = Table{Schema: "orders", Name: "order"}
	lineTable       = Table{Schema: "orders", Name: "order_line"}
	splitTable      = Table{Schema: "orders", Name: "order_line_split"}
	approvalTable   = Table{Schema: "orders", Name: "approval"}
	transitionTable = Table{Schema: "orders", Name: "order_transition"}
	attachmentTable = Table{Schema: "files", Name: "attachment"}
	revisionTable   = Table{Schema: "files", Name: "revision"}
)

// OrderRows lists every row that belongs to an order over its whole life:
// the order, its lines (deleted ones too) and their salesperson splits,
// approvals, status transitions, attachments and their revisions, table by
// table, the children of each line or attachment together in its order.
// The number of statements does not grow with the number of lines or
// attachments. The caller checks that the order exists and is visible.
func OrderRows(ctx context.Context, db queries.DBTX, orderID uuid.UUID) ([]RowRef, error) {
	id := orderID.String()
	refs := []RowRef{{Table: orderTable, Key: keyOf("id", id)}}
	// children adds the rows of t under each of parents (values of column)
	// and returns their keys, keys[i] those under parents[i].
	children := func(t Table, column string, parents ...string) ([][]json.RawMessage, error) {
		keys, err := KeysWhereIn(ctx, db, t, column, parents)
		if err != nil {
			return nil, fmt.Errorf("%s of order %s: %w", t, id, err)
		}
		for _, ks := range keys {
			for _, k := range ks {
				refs = append(refs, RowRef{Table: t, Key: k})
			}
		}
		return keys, nil
	}
	lines, err := children(lineTable, "order_id", id)
	if err != nil {
		return nil, err
	}
	if _, err := children(splitTable, "line_id", fieldsOf(lines[0], "id")...); err != nil {
		return nil, err
	}
	for _, t := range []Table{approvalTable, transitionTable} {
		if _, err := children(t, "order_id", id); err != nil {
			return nil, err
		}
	}
	atts, err := children(attachmentTable, "owner_id", id)
	if err != nil {
		return nil, err
	}
	if _, err := children(revisionTable, "attachment_id", fieldsOf(atts[0], "id")...); err != nil {
		return nil, err
	}
	return refs, nil
}

// OrderTimeline is one page of the events of every row of an order, in
// the order they happened: row changes and document revisions together.
func OrderTimeline(ctx context.Context, db queries.DBTX, orderID uuid.UUID, cursor string, limit int) (Page, error) {
	refs, err := OrderRows(ctx, db, orderID)
	if err != nil {
		return Page{}, err
	}
	return Timeline(ctx, db, refs, cursor, limit)
}

// OrderAsOf is an order's header and lines as they were at a time.
type OrderAsOf struct {
	Order Row
	Lines []Row
}

// OrderAt reconstructs the order and the lines it had at time at. It
// returns ErrNotFound when the order did not exist then.
func OrderAt(ctx context.Context, db queries.DBTX, orderID uuid.UUID, at time.Time) (OrderAsOf, error) {
	id := orderID.String()
	order, err := AsOf(ctx, db, orderTable, keyOf("id", id), at)
	if err != nil {
		return OrderAsOf{}, err
	}
	keys, err := KeysWhere(ctx, db, lineTable, "order_id", id)
	if err != nil {
		return OrderAsOf{}, err
	}
	// AsOfKeys leaves out the lines added later or already removed then.
	lines, err := AsOfKeys(ctx, db, lineTable, keys, at)
	if err != nil {
		return OrderAsOf{}, fmt.Errorf("lines of order %s: %w", id, err)
	}
	return OrderAsOf{Order: order, Lines: lines}, nil
}

func keyOf(column, value string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{column: value})
	return b
}

// fieldsOf reads one field of each JSON object key as text.
func fieldsOf(keys []json.RawMessage, field string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fieldOf(k, field)
	}
	return out
}

// fieldOf reads one field of a JSON object key as text.
func fieldOf(key json.RawMessage, field string) string {
	var m map[string]any
	if json.Unmarshal(key, &m) != nil {
		return ""
	}
	return fmt.Sprint(m[field])
}
