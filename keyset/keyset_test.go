package keyset_test

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/keyset"
)

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		in   int
		want int32
	}{{-1, keyset.DefaultLimit}, {0, keyset.DefaultLimit}, {1, 1}, {keyset.MaxLimit, keyset.MaxLimit}, {keyset.MaxLimit + 1, keyset.MaxLimit}} {
		if got := keyset.Limit(tc.in); got != tc.want {
			t.Errorf("Limit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestDecodeRefusesWhatEncodeDidNotMake(t *testing.T) {
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, cursor string
		n            int
	}{
		{"not base64", "!!", 1},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte("a")), 1},
		{"too few parts", keyset.Encode("a"), 2},
		{"too many parts", keyset.Encode("a", "b", "c"), 2},
		{"not UTF-8", raw("\xff\x00x"), 2},
	} {
		if _, ok := keyset.Decode(tc.cursor, tc.n); ok {
			t.Errorf("%s: Decode(%q, %d) accepted", tc.name, tc.cursor, tc.n)
		}
	}
	key, ok := keyset.Decode(keyset.Encode("Zoë's", ""), 2)
	if !ok || key[0] != "Zoë's" || key[1] != "" {
		t.Fatalf("round trip: %q %v", key, ok)
	}
}

func TestTypedCursors(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	id := uuid.New()
	gotAt, gotID, ok := keyset.DecodeTimeID(keyset.TimeID(at, id))
	if !ok || !gotAt.Equal(at) || *gotID != id {
		t.Fatalf("TimeID round trip: %v %v %v", gotAt, gotID, ok)
	}
	if a, b, ok := keyset.DecodeTimeID(""); !ok || a != nil || b != nil {
		t.Fatal("an empty TimeID cursor is the first page")
	}
	if _, _, ok := keyset.DecodeTimeID(keyset.Encode("yesterday", id.String())); ok {
		t.Fatal("a TimeID cursor with a bad time was accepted")
	}
	if _, _, ok := keyset.DecodeTextID(keyset.Encode("name", "not-a-uuid")); ok {
		t.Fatal("a TextID cursor with a bad id was accepted")
	}
	if n, ok := keyset.DecodeInt(keyset.Encode("42")); !ok || n != 42 {
		t.Fatalf("DecodeInt: %d %v", n, ok)
	}
	if _, ok := keyset.DecodeInt(keyset.Encode("-1")); ok {
		t.Fatal("a negative int cursor was accepted")
	}
}

func TestCut(t *testing.T) {
	rows := []int{1, 2, 3}
	double := func(r int) int { return 2 * r }
	cursor := func(last int) string { return keyset.Encode(fmt.Sprint(last)) }
	p := keyset.Cut(rows, 2, double, cursor)
	if len(p.Items) != 2 || p.Items[1] != 4 || p.NextCursor != keyset.Encode("2") {
		t.Fatalf("a page of 2 of 3 rows: %+v", p)
	}
	last := keyset.Cut(rows[:2], 2, double, cursor)
	if len(last.Items) != 2 || last.NextCursor != "" {
		t.Fatalf("the last page: %+v", last)
	}
	if empty := keyset.Cut(nil, 2, double, cursor); empty.Items == nil || len(empty.Items) != 0 {
		t.Fatalf("no rows: %+v (items must be empty, not nil, for JSON)", empty)
	}
}
