package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/queries"
)

// AsOfKeys rebuilds each row as AsOf does, through key changes, rows older
// than auditing, deletes and rows added later.
func TestAsOfKeysAnswersAsAsOfForEachKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.mixed (id int PRIMARY KEY, v int)`,
		`INSERT INTO public.mixed VALUES (1, 1), (2, 2), (3, 3)`, // before auditing
		`SELECT audit.enable('public.mixed')`,
		`INSERT INTO public.mixed VALUES (4, 4), (5, 5)`,
	)
	t0 := now(t, b)
	exec(t, b.db.Owner,
		`UPDATE public.mixed SET v = 20 WHERE id = 2`,
		`UPDATE public.mixed SET id = 50, v = 51 WHERE id = 5`,
		`UPDATE public.mixed SET id = 500 WHERE id = 50`,
		`DELETE FROM public.mixed WHERE id = 3`,
		`INSERT INTO public.mixed VALUES (6, 6)`,
	)
	t1 := now(t, b)
	exec(t, b.db.Owner, `UPDATE public.mixed SET v = 40 WHERE id = 4`)
	t2 := now(t, b)
	mixed := tbl(t, "public.mixed")
	var keys []json.RawMessage
	for _, id := range []int{1, 2, 3, 4, 5, 50, 500, 6, 99, 2} {
		keys = append(keys, json.RawMessage(fmt.Sprintf(`{"id": %d}`, id)))
	}
	// Worked out by hand, as id/v, in the order of keys.
	byHand := map[time.Time]string{
		t0: "1/1 2/2 3/3 4/4 5/5 2/2",
		t1: "1/1 2/20 4/4 500/51 6/6 2/20",
		t2: "1/1 2/20 4/40 500/51 6/6 2/20",
	}
	for _, at := range []time.Time{t0, t1, t2} {
		got, err := audit.AsOfKeys(b.ctx, b.db.Owner, mixed, keys, at)
		if err != nil {
			t.Fatal(err)
		}
		var idv []string
		for _, r := range got {
			idv = append(idv, field(t, r, "id")+"/"+field(t, r, "v"))
		}
		if strings.Join(idv, " ") != byHand[at] {
			t.Fatalf("rows at %s: %s, want %s", at.Format(time.RFC3339Nano), strings.Join(idv, " "), byHand[at])
		}
		var want []string
		for _, k := range keys {
			row, err := audit.AsOf(b.ctx, b.db.Owner, mixed, k, at)
			if errors.Is(err, audit.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, rowString(t, row))
		}
		var rows []string
		for _, r := range got {
			rows = append(rows, rowString(t, r))
		}
		requireEqual(t, "rows at "+at.Format(time.RFC3339Nano), rows, want)
	}
	if got, err := audit.AsOfKeys(b.ctx, b.db.Owner, mixed, keys[6:7], t1); err != nil || len(got) != 1 || field(t, got[0], "v") != "51" {
		t.Fatalf("the row moved twice, at t1: %v, %v; want v 51", got, err)
	}

	t.Run("an error other than not found is the answer", func(t *testing.T) {
		exec(t, b.db.Owner, `TRUNCATE public.mixed`)
		if _, err := audit.AsOfKeys(b.ctx, b.db.Owner, mixed, keys, t0); !errors.Is(err, audit.ErrIncomplete) {
			t.Fatalf("after a TRUNCATE: %v, want ErrIncomplete", err)
		}
	})
}

// field returns the text of field name of row, for comparing.
func field(t *testing.T, row audit.Row, name string) string {
	t.Helper()
	v, ok := row.Fields[name]
	if !ok {
		t.Fatalf("row %s has no field %s: %v", row.Key, name, row.Fields)
	}
	var s any
	if err := json.Unmarshal(v, &s); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(s)
}

func rowString(t *testing.T, r audit.Row) string {
	t.Helper()
	b, err := json.Marshal(r.Fields)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s %s v%d", r.Key, b, r.Version)
}

// A row older than auditing is rebuilt from today's row and the events
// after the time asked for. A change committed while AsOf reads must not
// leak into the past: the events are read after today's row.
func TestAsOfFromTodaysRowIgnoresAChangeMadeWhileReading(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.raced (id int PRIMARY KEY, v int)`,
		`INSERT INTO public.raced VALUES (1, 10)`, // before auditing
		`SELECT audit.enable('public.raced')`,
	)
	at := now(t, b)
	raced := tbl(t, "public.raced")
	db := &hookDB{DBTX: b.db.Owner, before: "current_rows", hook: func() {
		exec(t, b.db.Owner, `UPDATE public.raced SET v = 20 WHERE id = 1`)
	}}
	row, err := audit.AsOf(b.ctx, db, raced, json.RawMessage(`{"id": 1}`), at)
	if err != nil {
		t.Fatal(err)
	}
	if !db.fired {
		t.Fatal("the rebuild did not read today's row")
	}
	if got := string(row.Fields["v"]); got != "10" {
		t.Fatalf("v = %s at a time before the update, want 10", got)
	}
}

// hookDB runs hook once, just before the first statement whose SQL
// contains before: another session's write between two of AsOf's reads.
type hookDB struct {
	queries.DBTX
	before string
	hook   func()
	fired  bool
}

func (h *hookDB) maybe(sql string) {
	if !h.fired && strings.Contains(sql, h.before) {
		h.fired = true
		h.hook()
	}
}

func (h *hookDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	h.maybe(sql)
	return h.DBTX.Exec(ctx, sql, args...)
}

func (h *hookDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	h.maybe(sql)
	return h.DBTX.Query(ctx, sql, args...)
}

func (h *hookDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	h.maybe(sql)
	return h.DBTX.QueryRow(ctx, sql, args...)
}
