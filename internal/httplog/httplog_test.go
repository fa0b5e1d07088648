package httplog_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/messina-oms/messina/internal/httplog"
)

func TestRequestID(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		kept     bool
	}{
		{"plain proxy id", "abc-123_X.y", true},
		{"none", "", false},
		{"newline (log forging)", "abc\nlevel=ERROR", false},
		{"space", "a b", false},
		{"too long", strings.Repeat("a", 65), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("X-Request-Id", tc.in)
			got := httplog.RequestID(r)
			if tc.kept && got != tc.in {
				t.Fatalf("got %q, want %q kept", got, tc.in)
			}
			if !tc.kept && (got == tc.in || len(got) != 24) {
				t.Fatalf("got %q, want a new 24-hex-digit id", got)
			}
		})
	}
}

func TestStatusWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &httplog.StatusWriter{ResponseWriter: rec}
	_, _ = w.Write([]byte("hello"))
	w.WriteHeader(http.StatusTeapot) // too late: the first status stays
	if w.Status != http.StatusOK || w.Bytes != 5 {
		t.Fatalf("status %d bytes %d, want 200 and 5", w.Status, w.Bytes)
	}
	if http.NewResponseController(w).Flush() != nil {
		t.Fatal("Unwrap does not reach the recorder's Flush")
	}
}
