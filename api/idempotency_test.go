package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
)

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := map[string]any{"name": "replayed", "role": "api"}
	key := map[string]string{"Idempotency-Key": "create-replayed-1"}
	first := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: body, header: key})
	if first.Status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	again := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: body, header: key})
	if again.Status != http.StatusCreated || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s (replayed=%q)", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	other := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: map[string]any{"name": "other", "role": "api"}, header: key})
	if other.Status != http.StatusUnprocessableEntity || other.problemCode(t) != "idempotency_key_reused" {
		t.Fatalf("same key, other body: %d %s", other.Status, other.Body)
	}
	if n := countTokens(t, b, "replayed"); n != 1 {
		t.Fatalf("want 1 token created, got %d", n)
	}
}

func TestIdempotencyKeyStoresClientErrorsButNotServerErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := map[string]string{"Idempotency-Key": "bad-role"}
	body := map[string]any{"name": "x", "role": "root"}
	first := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: body, header: key, invalid: true})
	again := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: body, header: key, invalid: true})
	if first.Status != 422 || again.Status != 422 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a 422 is part of the stored answer: %d, then %d replayed=%q", first.Status, again.Status, again.Header.Get("Idempotent-Replayed"))
	}
	for _, k := range []string{string(make([]byte, 300)), "tab\tkey", "ünïcode"} {
		res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: map[string]any{"name": "x", "role": "api"},
			header: map[string]string{"Idempotency-Key": k}, invalid: true})
		if res.Status != 400 || res.problemCode(t) != "invalid_idempotency_key" {
			t.Fatalf("key %q: %d %s", k, res.Status, res.Body)
		}
	}
}

func TestConcurrentDuplicatesHaveOneEffect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := map[string]any{"name": "concurrent", "role": "staff"}
	var wg sync.WaitGroup
	statuses := make([]int, 12)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: body,
				header: map[string]string{"Idempotency-Key": "same-for-all"}})
			statuses[i] = res.Status
		}()
	}
	wg.Wait()
	for _, s := range statuses {
		if s != http.StatusCreated && s != http.StatusConflict {
			t.Fatalf("want 201 or 409 (in progress), got %v", statuses)
		}
	}
	if n := countTokens(t, b, "concurrent"); n != 1 {
		t.Fatalf("12 concurrent duplicates created %d tokens", n)
	}
}

func countTokens(t *testing.T, b *testBundle, name string) int {
	t.Helper()
	var n int
	if err := b.db.Owner.QueryRow(context.Background(), "SELECT count(*) FROM core.api_token WHERE name = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
