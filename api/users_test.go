package api_test

import (
	"net/http"
	"testing"
)

func TestUserLifecycleWithOptimisticLocking(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := newUser(t, b)
	path := "/v1/users/" + u.ID
	get := do(t, b.srv, request{method: "GET", path: path, token: b.admin})
	if get.Status != 200 || get.Header.Get("ETag") != `"1"` {
		t.Fatalf("get: %d etag %q", get.Status, get.Header.Get("ETag"))
	}
	patch := map[string]any{"name": "Renamed"}
	if res := do(t, b.srv, request{method: "PATCH", path: path, token: b.admin, body: patch, invalid: true}); res.Status != http.StatusPreconditionRequired || res.problemCode(t) != "if_match_required" {
		t.Fatalf("without If-Match: %d %s", res.Status, res.Body)
	}
	if res := do(t, b.srv, request{method: "PATCH", path: path, token: b.admin, body: patch, header: map[string]string{"If-Match": "3"}, invalid: true}); res.Status != http.StatusBadRequest {
		t.Fatalf("unquoted If-Match: %d %s", res.Status, res.Body)
	}
	res := do(t, b.srv, request{method: "PATCH", path: path, token: b.admin, body: patch, header: map[string]string{"If-Match": `"1"`}})
	if res.Status != 200 || res.Header.Get("ETag") != `"2"` {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	stale := do(t, b.srv, request{method: "PATCH", path: path, token: b.admin, body: map[string]any{"name": "Lost update"}, header: map[string]string{"If-Match": `"1"`}})
	if stale.Status != http.StatusPreconditionFailed || stale.problemCode(t) != "stale_version" {
		t.Fatalf("stale patch: %d %s", stale.Status, stale.Body)
	}
	missing := do(t, b.srv, request{method: "PATCH", path: "/v1/users/00000000-0000-0000-0000-000000000001", token: b.admin, body: patch, header: map[string]string{"If-Match": `"1"`}})
	if missing.Status != http.StatusNotFound {
		t.Fatalf("unknown user: %d %s", missing.Status, missing.Body)
	}
	dup := do(t, b.srv, request{method: "POST", path: "/v1/users", token: b.admin, body: map[string]any{"email": "dup@example.com", "name": "A", "role": "staff"}})
	again := do(t, b.srv, request{method: "POST", path: "/v1/users", token: b.admin, body: map[string]any{"email": "dup@example.com", "name": "B", "role": "staff"}})
	if dup.Status != 201 || again.Status != http.StatusConflict || again.problemCode(t) != "email_taken" {
		t.Fatalf("duplicate email: %d then %d %s", dup.Status, again.Status, again.Body)
	}
}

// A token that acts for a user is the user in the audit trail, has the
// user's role, and stops working the moment the user is disabled.
func TestUserTokensFollowTheUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := newUser(t, b) // staff, limited to UK
	tok := createToken(t, b, map[string]any{"name": "laptop", "user_id": u.ID})
	me := do(t, b.srv, request{method: "GET", path: "/v1/me", token: tok.Token})
	var who struct {
		Actor string   `json:"actor"`
		Role  string   `json:"role"`
		Sites []string `json:"sites"`
	}
	me.json(t, &who)
	if me.Status != 200 || who.Role != "staff" || len(who.Sites) != 1 || who.Sites[0] != "UK" || who.Actor[:5] != "user:" {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}
	res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: map[string]any{"name": "x", "user_id": u.ID, "role": "admin"}, invalid: true})
	if res.Status != 422 {
		t.Fatalf("a user token with another role than the user's: %d %s", res.Status, res.Body)
	}
	// A token limited to FR for a UK-only user has no site left: refused.
	fr := createToken(t, b, map[string]any{"name": "fr", "user_id": u.ID, "sites": []string{"FR"}})
	if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: fr.Token}); res.Status != 401 {
		t.Fatalf("token with no site in common with its user: %d", res.Status)
	}
	do(t, b.srv, request{method: "PATCH", path: "/v1/users/" + u.ID, token: b.admin, body: map[string]any{"disabled": true}, header: map[string]string{"If-Match": `"1"`}})
	if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: tok.Token}); res.Status != 401 {
		t.Fatalf("token of a disabled user: %d", res.Status)
	}
}
