package audit_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/messina-oms/messina/audit"
)

// KeysWhereIn gives each value the keys KeysWhere gives it alone.
func TestKeysWhereInAnswersAsKeysWhereForEachValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.db.Owner,
		`CREATE TABLE public.parent_child (id int PRIMARY KEY, parent int)`,
		`SELECT audit.enable('public.parent_child')`,
		`INSERT INTO public.parent_child SELECT g, g % 3 FROM generate_series(1, 12) g`,
		`DELETE FROM public.parent_child WHERE id = 3`,
	)
	pc := tbl(t, "public.parent_child")
	values := []string{"2", "0", "7", "2"}
	got, err := audit.KeysWhereIn(b.ctx, b.db.Owner, pc, "parent", values)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(values) {
		t.Fatalf("%d key lists for %d values", len(got), len(values))
	}
	for i, v := range values {
		one, err := audit.KeysWhere(b.ctx, b.db.Owner, pc, "parent", v)
		if err != nil {
			t.Fatal(err)
		}
		requireEqual(t, "keys of parent "+v, rawStrings(got[i]), rawStrings(one))
		if got[i] == nil {
			t.Fatalf("keys of parent %s are nil, want empty", v)
		}
	}
	requireEqual(t, "keys of parent 0", rawStrings(got[1]), []string{`{"id": 3}`, `{"id": 6}`, `{"id": 9}`, `{"id": 12}`})
	if _, err := audit.KeysWhereIn(b.ctx, b.db.Owner, tbl(t, "public.nope"), "parent", values); !errors.Is(err, audit.ErrNotAudited) {
		t.Fatalf("a table never audited: %v, want ErrNotAudited", err)
	}
}

func rawStrings(keys []json.RawMessage) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return out
}

func requireEqual(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}
