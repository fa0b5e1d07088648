package filestore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
)

func TestParseRange(t *testing.T) {
	t.Parallel()
	r := func(off, n int64) filestore.Range { return filestore.Range{Offset: off, Length: n} }
	for _, tc := range []struct {
		name    string
		header  string
		size    int64
		want    []filestore.Range
		wantErr error
	}{
		{"no header", "", 100, nil, nil},
		{"first bytes", "bytes=0-9", 100, []filestore.Range{r(0, 10)}, nil},
		{"open end", "bytes=90-", 100, []filestore.Range{r(90, 10)}, nil},
		{"suffix", "bytes=-5", 100, []filestore.Range{r(95, 5)}, nil},
		{"suffix longer than content", "bytes=-500", 100, []filestore.Range{r(0, 100)}, nil},
		{"last past the end is cut", "bytes=50-1000", 100, []filestore.Range{r(50, 50)}, nil},
		{"several, spaces", "bytes=0-0, 10-19 ,-1", 100, []filestore.Range{r(0, 1), r(10, 10), r(99, 1)}, nil},
		{"unsatisfiable dropped among good", "bytes=200-300,0-1", 100, []filestore.Range{r(0, 2)}, nil},
		{"all beyond the end", "bytes=100-", 100, nil, filestore.ErrRangeNotSatisfiable},
		{"zero suffix", "bytes=-0", 100, nil, filestore.ErrRangeNotSatisfiable},
		{"empty content", "bytes=0-", 0, nil, filestore.ErrRangeNotSatisfiable},
		{"other unit", "items=0-1", 100, nil, filestore.ErrInvalid},
		{"last before first", "bytes=10-5", 100, nil, filestore.ErrInvalid},
		{"negative", "bytes=--5", 100, nil, filestore.ErrInvalid},
		{"signed", "bytes=+1-2", 100, nil, filestore.ErrInvalid},
		{"no dash", "bytes=5", 100, nil, filestore.ErrInvalid},
		{"overflow", "bytes=0-99999999999999999999", 100, nil, filestore.ErrInvalid},
		{"empty set", "bytes=", 100, nil, filestore.ErrInvalid},
		{"too many", "bytes=" + strings.Repeat("0-1,", filestore.MaxRanges) + "0-1", 100, nil, filestore.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := filestore.ParseRange(tc.header, tc.size)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=1-,2-3", "bytes=9223372036854775807-", "x"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 { // math.MinInt64
			size = 0
		}
		got, err := filestore.ParseRange(header, size)
		if err != nil {
			require.True(t, filestore.Code(err) == "invalid" || filestore.Code(err) == "range_not_satisfiable", err)
			require.Nil(t, got)
			return
		}
		require.LessOrEqual(t, len(got), filestore.MaxRanges)
		for _, r := range got {
			require.GreaterOrEqual(t, r.Offset, int64(0))
			require.Greater(t, r.Length, int64(0))
			require.LessOrEqual(t, r.Offset+r.Length, size, "every range lies within the content")
		}
	})
}
