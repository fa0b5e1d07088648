package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/messina-oms/messina/audit"
)

func tbl(t *testing.T, s string) audit.Table {
	t.Helper()
	x, err := audit.ParseTable(s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// now returns the database's clock, which stamps the events.
func now(t *testing.T, b *testBundle) time.Time {
	t.Helper()
	var ts time.Time
	if err := b.db.Owner.QueryRow(b.ctx, "SELECT clock_timestamp()").Scan(&ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestHistoryStaysReadableAcrossSchemaChanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.cust (id int PRIMARY KEY, name text, city text, score int)`,
		`SELECT audit.enable('public.cust')`,
		`INSERT INTO public.cust VALUES (1, 'Ana', 'Lisbon', 5)`,
	)
	t1 := now(t, b)
	exec(t, b.db.Owner,
		`ALTER TABLE public.cust RENAME COLUMN name TO full_name`,
		`UPDATE public.cust SET full_name = 'Ana Lima'`,
		`ALTER TABLE public.cust ADD COLUMN email text`,
		`UPDATE public.cust SET email = 'ana@example.com'`,
		`ALTER TABLE public.cust DROP COLUMN city`,
		`ALTER TABLE public.cust ALTER COLUMN score TYPE numeric(5,1)`,
		`UPDATE public.cust SET score = 6.5`,
	)
	t2 := now(t, b)
	exec(t, b.db.Owner,
		`ALTER TABLE public.cust RENAME TO client`,
		`UPDATE public.client SET score = 7`,
	)
	key := json.RawMessage(`{"id": 1}`)

	t.Run("history by the new and the old table name", func(t *testing.T) {
		for _, name := range []string{"public.client", "public.cust"} {
			p, err := audit.History(b.ctx, b.db.Owner, tbl(t, name), key, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			requireShapes(t, p.Events, []shape{
				{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"name":"Ana","city":"Lisbon","score":5}`},
				{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"full_name":"Ana"}`, New: `{"full_name":"Ana Lima"}`},
				{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"email":null}`, New: `{"email":"ana@example.com"}`},
				{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"score":5.0}`, New: `{"score":6.5}`},
				{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"score":6.5}`, New: `{"score":7.0}`},
			})
			if got := p.Events[4].Table; got != tbl(t, "public.client") {
				t.Fatalf("last event names table %s, want public.client", got)
			}
			if p.Events[0].TableVersion == p.Events[4].TableVersion {
				t.Fatal("schema changes did not make new table versions")
			}
		}
	})

	t.Run("as of a time uses the names of that time", func(t *testing.T) {
		row, err := audit.AsOf(b.ctx, b.db.Owner, tbl(t, "public.client"), key, t1)
		if err != nil {
			t.Fatal(err)
		}
		fieldsAre(t, row.Fields, `{"id":1,"name":"Ana","city":"Lisbon","score":5}`)
		row, err = audit.AsOf(b.ctx, b.db.Owner, tbl(t, "public.client"), key, t2)
		if err != nil {
			t.Fatal(err)
		}
		fieldsAre(t, row.Fields, `{"id":1,"full_name":"Ana Lima","email":"ana@example.com","score":6.5}`)
	})

	t.Run("diff follows the rename", func(t *testing.T) {
		changes, err := audit.Diff(b.ctx, b.db.Owner, tbl(t, "public.client"), key, audit.AtTime(t1), audit.AtTime(t2))
		if err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, c := range changes {
			fields = append(fields, c.Field+":"+string(c.Old)+"->"+string(c.New))
		}
		want := `email:null->"ana@example.com" full_name:"Ana"->"Ana Lima" score:5.0->6.5`
		if got := strings.Join(fields, " "); got != want {
			t.Fatalf("diff = %s, want %s", got, want)
		}
	})
}

func fieldsAre(t *testing.T, got map[string]json.RawMessage, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	jsonIs(t, "fields", b, want)
}

func TestAsOfAndDiffFollowTheRowThroughAKeyChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.item (sku text PRIMARY KEY, price numeric)`,
		`SELECT audit.enable('public.item')`,
	)
	before := now(t, b)
	exec(t, b.db.Owner, `INSERT INTO public.item VALUES ('A-1', 10)`)
	t1 := now(t, b)
	var tx1 uint64
	if err := b.db.Owner.QueryRow(b.ctx, `SELECT max(txid)::text::bigint FROM audit.log`).Scan(&tx1); err != nil {
		t.Fatal(err)
	}
	exec(t, b.db.Owner, `UPDATE public.item SET sku = 'B-1', price = 12`)
	t2 := now(t, b)
	exec(t, b.db.Owner, `UPDATE public.item SET price = 15`, `DELETE FROM public.item`)
	t3 := now(t, b)

	newKey := json.RawMessage(`{"sku":"B-1"}`)
	oldKey := json.RawMessage(`{"sku":"A-1"}`)
	item := tbl(t, "public.item")
	cases := []struct {
		name string
		key  json.RawMessage
		at   time.Time
		want string // "" = not found
	}{
		{"before the insert the row did not exist", oldKey, before, ""},
		{"after the insert under the old key", oldKey, t1, `{"sku":"A-1","price":10}`},
		{"after the key change under the new key, replayed from the insert", newKey, t2, `{"sku":"B-1","price":12}`},
		{"after the key change the old key is gone", oldKey, t2, ""},
		{"after the delete", newKey, t3, ""},
	}
	for _, tc := range cases {
		row, err := audit.AsOf(b.ctx, b.db.Owner, item, tc.key, tc.at)
		if tc.want == "" {
			if !errors.Is(err, audit.ErrNotFound) {
				t.Fatalf("%s: got %v %v, want ErrNotFound", tc.name, row.Fields, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fieldsAre(t, row.Fields, tc.want)
	}

	changes, err := audit.Diff(b.ctx, b.db.Owner, item, newKey, audit.AtTx(tx1), audit.AtTime(t3))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].Field != "price" || string(changes[0].Old) != "10" || changes[0].New != nil ||
		changes[1].Field != "sku" || string(changes[1].Old) != `"A-1"` || changes[1].New != nil {
		t.Fatalf("diff from insert to after delete = %+v", changes)
	}
	changes, err = audit.Diff(b.ctx, b.db.Owner, item, newKey, audit.AtTime(t1), audit.AtTime(t2))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || string(changes[0].New) != "12" || string(changes[1].New) != `"B-1"` {
		t.Fatalf("diff over the key change = %+v", changes)
	}
}

func TestAsOfRebuildsRowsOlderThanAuditingBackwards(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.legacy (id int PRIMARY KEY, v int, note text)`,
		`INSERT INTO public.legacy VALUES (1, 1, 'a'), (2, 5, 'b'), (3, 7, 'c')`,
		`SELECT audit.enable('public.legacy')`,
	)
	t0 := now(t, b)
	exec(t, b.db.Owner, `UPDATE public.legacy SET v = 2 WHERE id = 1`)
	t1 := now(t, b)
	exec(t, b.db.Owner,
		`ALTER TABLE public.legacy RENAME COLUMN note TO memo`,
		`UPDATE public.legacy SET memo = 'z' WHERE id = 1`,
	)
	t2 := now(t, b)
	exec(t, b.db.Owner, `DELETE FROM public.legacy WHERE id = 2`)
	t3 := now(t, b)
	exec(t, b.db.Owner, `INSERT INTO public.legacy VALUES (4, 9, 'd')`)

	legacy := tbl(t, "public.legacy")
	cases := []struct {
		name string
		key  string
		at   time.Time
		want string // "" = ErrNotFound
	}{
		{"before any logged change, with the names of that time", `{"id":1}`, t0, `{"id":1,"v":1,"note":"a"}`},
		{"between changes", `{"id":1}`, t1, `{"id":1,"v":2,"note":"a"}`},
		{"after the rename", `{"id":1}`, t2, `{"id":1,"v":2,"memo":"z"}`},
		{"a row deleted later is rebuilt from its delete", `{"id":2}`, t2, `{"id":2,"v":5,"memo":"b"}`},
		{"a row never changed is today's row", `{"id":3}`, t0, `{"id":3,"v":7,"note":"c"}`},
		{"after its delete the row is gone", `{"id":2}`, t3, ""},
		{"before its insert the row did not exist", `{"id":4}`, t3, ""},
		{"a key that never existed", `{"id":99}`, t0, ""},
	}
	for _, tc := range cases {
		row, err := audit.AsOf(b.ctx, b.db.Owner, legacy, json.RawMessage(tc.key), tc.at)
		if tc.want == "" {
			if !errors.Is(err, audit.ErrNotFound) {
				t.Fatalf("%s: got %v, %v; want ErrNotFound", tc.name, row.Fields, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fieldsAre(t, row.Fields, tc.want)
	}

	t.Run("a TRUNCATE in between makes the answer incomplete", func(t *testing.T) {
		exec(t, b.db.Owner, `TRUNCATE public.legacy`, `INSERT INTO public.legacy VALUES (1, 100, 'new')`)
		_, err := audit.AsOf(b.ctx, b.db.Owner, legacy, json.RawMessage(`{"id":3}`), t0)
		if !errors.Is(err, audit.ErrIncomplete) {
			t.Fatalf("got %v, want ErrIncomplete", err)
		}
		var ae *audit.Error
		if !errors.As(err, &ae) || ae.Code != "audit_history_incomplete" {
			t.Fatalf("error %v has no machine code", err)
		}
	})
}

func TestTimelineMergesSeveralRowsInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.ord (id int PRIMARY KEY, status text)`,
		`CREATE TABLE public.ord_line (order_id int, n int, qty int, PRIMARY KEY (order_id, n))`,
		`SELECT audit.enable('public.ord')`,
		`SELECT audit.enable('public.ord_line')`,
		`INSERT INTO public.ord VALUES (1, 'draft'), (2, 'draft')`,
		`INSERT INTO public.ord_line VALUES (1, 1, 1)`,
		`UPDATE public.ord SET status = 'submitted' WHERE id = 1`,
		`INSERT INTO public.ord_line VALUES (2, 1, 5)`,
		`UPDATE public.ord_line SET qty = 3 WHERE order_id = 1`,
	)
	refs := []audit.RowRef{
		{Table: tbl(t, "public.ord"), Key: json.RawMessage(`{"id":1}`)},
		{Table: tbl(t, "public.ord_line"), Key: json.RawMessage(`{"order_id":1,"n":1}`)},
		{Table: tbl(t, "public.ord_line"), Key: json.RawMessage(`{"n":1, "order_id":1}`)}, // same row again
	}
	var got []audit.Event
	cursor := ""
	for {
		p, err := audit.Timeline(b.ctx, b.db.Owner, refs, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Events...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	requireShapes(t, got, []shape{
		{Op: audit.OpInsert, Key: `{"id":1}`, New: `{"id":1,"status":"draft"}`},
		{Op: audit.OpInsert, Key: `{"order_id":1,"n":1}`, New: `{"order_id":1,"n":1,"qty":1}`},
		{Op: audit.OpUpdate, Key: `{"id":1}`, Old: `{"status":"draft"}`, New: `{"status":"submitted"}`},
		{Op: audit.OpUpdate, Key: `{"order_id":1,"n":1}`, Old: `{"qty":1}`, New: `{"qty":3}`},
	})

	t.Run("unknown tables and bad input are typed errors", func(t *testing.T) {
		_, err := audit.Timeline(b.ctx, b.db.Owner, []audit.RowRef{{Table: tbl(t, "public.nope"), Key: json.RawMessage(`{"id":1}`)}}, "", 0)
		if !errors.Is(err, audit.ErrNotAudited) {
			t.Fatalf("unknown table: %v", err)
		}
		_, err = audit.Timeline(b.ctx, b.db.Owner, refs, "not-a-cursor", 0)
		if !errors.Is(err, audit.ErrInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
		_, err = audit.History(b.ctx, b.db.Owner, tbl(t, "public.ord"), json.RawMessage(`[1]`), "", 0)
		if !errors.Is(err, audit.ErrInvalid) {
			t.Fatalf("bad key: %v", err)
		}
		if _, err = audit.ParseTable("nodot"); !errors.Is(err, audit.ErrInvalid) {
			t.Fatalf("bad table: %v", err)
		}
	})
}

func TestListFiltersByTimeAndExportsCSV(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.note (id int PRIMARY KEY, body text)`,
		`SELECT audit.enable('public.note')`,
		`INSERT INTO public.note VALUES (1, '=HYPERLINK("http://evil")')`,
	)
	mid := now(t, b)
	exec(t, b.db.Owner, `INSERT INTO public.note VALUES (2, 'plain, "quoted"')`, `SET application_name = '@app'`)
	p, err := audit.List(b.ctx, b.db.Owner, audit.Filter{Table: tbl(t, "public.note"), Since: mid})
	if err != nil {
		t.Fatal(err)
	}
	requireShapes(t, p.Events, []shape{{Op: audit.OpInsert, Key: `{"id":2}`, New: `{"id":2,"body":"plain, \"quoted\""}`}})
	p, err = audit.List(b.ctx, b.db.Owner, audit.Filter{Table: tbl(t, "public.note"), Until: mid})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 1 || p.Events[0].Op != audit.OpInsert {
		t.Fatalf("until filter: %+v", p.Events)
	}

	var buf bytes.Buffer
	if err := audit.Export(b.ctx, b.db.Owner, audit.Filter{Table: tbl(t, "public.note")}, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse: %v", err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(audit.CSVHeader, ",") {
		t.Fatalf("csv = %q", recs)
	}
	if recs[1][3] != "public.note" || recs[1][4] != "I" {
		t.Fatalf("csv row = %q", recs[1])
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(recs[2][9]), &row); err != nil || row["body"] != `plain, "quoted"` {
		t.Fatalf("csv new column %q does not round-trip: %v", recs[2][9], err)
	}

	t.Run("an empty export still has the header", func(t *testing.T) {
		var buf bytes.Buffer
		if err := audit.WriteCSV(&buf, nil); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(buf.String()); got != strings.Join(audit.CSVHeader, ",") {
			t.Fatalf("empty csv = %q", got)
		}
	})
	t.Run("spreadsheet formulas are neutralized in text cells", func(t *testing.T) {
		var buf bytes.Buffer
		if err := audit.WriteCSV(&buf, []audit.Event{{ID: 1, Actor: "=cmd()", Table: audit.Table{Schema: "s", Name: "t"}}}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if recs[1][11] != "'=cmd()" {
			t.Fatalf("actor cell = %q", recs[1][11])
		}
	})
}

func TestVerifyFindsTheFirstTamperedRow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.pay (id int PRIMARY KEY, amount numeric)`,
		`SELECT audit.enable('public.pay')`,
		`INSERT INTO public.pay SELECT g, g * 10 FROM generate_series(1, 5) g`,
	)
	seals, err := audit.Seal(b.ctx, b.db.App)
	if err != nil {
		t.Fatal(err)
	}
	if len(seals) != 1 || seals[0].Rows != 5 {
		t.Fatalf("seals = %+v", seals)
	}
	exec(t, b.db.Owner, `UPDATE public.pay SET amount = 0 WHERE id = 2`)
	if seals, err = audit.Seal(b.ctx, b.db.App); err != nil || len(seals) != 1 || seals[0].Rows != 1 {
		t.Fatalf("second seal = %+v, %v", seals, err)
	}
	if seals, err = audit.Seal(b.ctx, b.db.App); err != nil || len(seals) != 0 {
		t.Fatalf("seal with nothing new = %+v, %v", seals, err)
	}
	exec(t, b.db.Owner, `INSERT INTO public.pay VALUES (6, 60)`)

	rep, err := audit.Verify(b.ctx, b.db.App)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Seals != 2 || rep.SealedRows != 6 || rep.UnsealedRows != 1 || !rep.EventTriggers {
		t.Fatalf("clean log: %+v", rep)
	}

	// The owner (or a superuser) tampers by switching off the guard.
	var third int64
	if err := b.db.Owner.QueryRow(b.ctx, `SELECT id FROM audit.log ORDER BY id OFFSET 2 LIMIT 1`).Scan(&third); err != nil {
		t.Fatal(err)
	}
	parts := []string{`audit.log_default`}
	rows, err := b.db.Owner.Query(b.ctx, `SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'audit.log'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		exec(t, b.db.Owner, `ALTER TABLE `+p+` DISABLE TRIGGER log_append_only`)
	}
	exec(t, b.db.Owner, `UPDATE audit.log SET new = '{"id": 3, "amount": 1}' WHERE id = `+itoa(third))
	rep, err = audit.Verify(b.ctx, b.db.App)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.FirstBadRow != third || !strings.Contains(rep.Problem, "altered") {
		t.Fatalf("altered row %d: %+v", third, rep)
	}
	exec(t, b.db.Owner, `DELETE FROM audit.log WHERE id = `+itoa(third-1))
	rep, err = audit.Verify(b.ctx, b.db.App)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.FirstBadRow != third-1 || !strings.Contains(rep.Problem, "removed") {
		t.Fatalf("removed row %d: %+v", third-1, rep)
	}
	if !strings.Contains(rep.String(), "TAMPERED") {
		t.Fatalf("report string = %q", rep.String())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestEventJSONHasTheAPIShape(t *testing.T) {
	t.Parallel()
	e := audit.Event{ID: 7, TxID: 9, Table: audit.Table{Schema: "Sales.Dept", Name: "order"}, Op: audit.OpUpdate,
		Key: json.RawMessage(`{"id":1}`), Old: json.RawMessage(`{"a":1}`), New: json.RawMessage(`{"a":2}`), Actor: "user:x"}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"id", "at", "txid", "table", "op", "key", "old", "new", "actor", "request_id"} {
		if _, ok := m[f]; !ok {
			t.Fatalf("event JSON %s lacks %q", b, f)
		}
	}
	if m["table"] != `"Sales.Dept".order` || m["op"] != "U" {
		t.Fatalf("event JSON %s", b)
	}
	var back audit.Event
	if err := json.Unmarshal(b, &back); err != nil || back.Table != e.Table {
		t.Fatalf("round trip: %+v, %v", back.Table, err)
	}
}
