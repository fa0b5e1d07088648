package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A panic in a handler is answered 500 with the request id, and neither
// the panic value nor a stack reaches the client; both go to the log.
func TestPanicsBecome500WithRequestIDAndNoStack(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Server{cfg: Config{Now: time.Now}, log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: newMetrics(prometheus.NewRegistry())}
	h := s.outer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom: secret detail") }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/anything", nil)
	req.Header.Set("X-Request-Id", "req-42")
	h.ServeHTTP(rec, req)

	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("body is not problem+json: %q", rec.Body)
	}
	if rec.Code != 500 || p.Code != "internal" || p.RequestID != "req-42" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("answer: %d %+v", rec.Code, p)
	}
	if body := rec.Body.String(); strings.Contains(body, "boom") || strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
		t.Fatalf("the answer leaks the panic: %s", body)
	}
	if l := logs.String(); !strings.Contains(l, "boom: secret detail") || !strings.Contains(l, "req-42") {
		t.Fatalf("the panic is not logged with the request id: %s", l)
	}
}
