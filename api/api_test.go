package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/messina-oms/messina/api"
	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/pgtest"
)

const bootstrap = "msn_test-bootstrap-token-0123456789abcdef"

type testBundle struct {
	db  *pgtest.DB
	srv *api.Server
	// admin is the bootstrap token.
	admin string
	files *filestore.Service
}

func setup(t testing.TB, opts ...func(*api.Config)) *testBundle {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Owner.Exec(ctx, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES
		('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London'),
		('FR', 'France', 'FR', 'EUR', 'Europe/Paris')`); err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Pool:           db.App,
		BootstrapToken: bootstrap,
		MaxUploadBytes: 4 << 20,
	}
	for _, o := range opts {
		o(&cfg)
	}
	// Each test's blobs live under their own prefix of the real MinIO.
	store, err := filestore.OpenStore(ctx, os.Getenv("MESSINA_BLOB_URL")+"&prefix="+db.Name+"/", filestore.StoreConfig{
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), Logger: cfg.Logger})
	if err != nil {
		t.Fatalf("blob store (MESSINA_BLOB_URL): %v", err)
	}
	if cfg.Files, err = filestore.New(filestore.Config{Pool: db.App, Store: store, MaxUploadBytes: cfg.MaxUploadBytes, Logger: cfg.Logger}); err != nil {
		t.Fatal(err)
	}
	return &testBundle{db: db, srv: api.New(cfg), admin: bootstrap, files: cfg.Files}
}

// token creates an API token through the API and returns its secret.
func (b *testBundle) token(t *testing.T, role auth.Role, sites ...string) string {
	t.Helper()
	body := map[string]any{"name": "test " + string(role), "role": role}
	if len(sites) > 0 {
		body["sites"] = sites
	}
	res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: body})
	if res.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", res.Status, res.Body)
	}
	var tok struct {
		Token string `json:"token"`
	}
	res.json(t, &tok)
	return tok.Token
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if res := do(t, b.srv, request{method: "GET", path: "/healthz"}); res.Status != 200 {
		t.Fatalf("healthz: %d", res.Status)
	}
	if res := do(t, b.srv, request{method: "GET", path: "/readyz"}); res.Status != 200 {
		t.Fatalf("readyz: %d %s", res.Status, res.Body)
	}
	failing := setup(t, func(c *api.Config) {
		c.Ready = []api.Check{{Name: "blob_store", Fn: func(context.Context) error { return io.ErrUnexpectedEOF }}}
	})
	res := do(t, failing.srv, request{method: "GET", path: "/readyz"})
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	res.json(t, &body)
	if res.Status != 503 || body.Checks["blob_store"] != "unavailable" || body.Checks["database"] != "ok" {
		t.Fatalf("readyz with a failing blob store: %d %s", res.Status, res.Body)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t)
	staff := b.token(t, auth.RoleStaff)
	cases := []struct {
		name, header string
		want         int
	}{
		{"no header", "", 401},
		{"not bearer", "Basic dXNlcjpwYXNz", 401},
		{"unknown token", "Bearer msn_nope", 401},
		{"empty bearer", "Bearer ", 401},
		{"bootstrap", "Bearer " + bootstrap, 200},
		{"staff token", "Bearer " + staff, 200},
		{"lower-case scheme", "bearer " + staff, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, b.srv, request{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": tc.header}})
			if res.Status != tc.want {
				t.Fatalf("want %d, got %d %s", tc.want, res.Status, res.Body)
			}
			if tc.want == 401 {
				if code := res.problemCode(t); code != "unauthenticated" {
					t.Fatalf("code %q", code)
				}
				if res.Header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
			}
		})
	}
}

func TestRevokedTokenIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: map[string]any{"name": "ci", "role": "api"}})
	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	res.json(t, &tok)
	if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: tok.Token}); res.Status != 200 {
		t.Fatalf("fresh token refused: %d", res.Status)
	}
	if res := do(t, b.srv, request{method: "DELETE", path: "/v1/tokens/" + tok.ID, token: b.admin}); res.Status != 200 {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: tok.Token}); res.Status != 401 {
		t.Fatalf("revoked token accepted: %d", res.Status)
	}
}

func TestExpiredTokenIsRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	b := setup(t, func(c *api.Config) { c.Now = func() time.Time { return now } })
	exp := now.Add(time.Hour)
	res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: map[string]any{"name": "short", "role": "staff", "expires_at": exp}})
	var tok struct {
		Token string `json:"token"`
	}
	res.json(t, &tok)
	if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: tok.Token}); res.Status != 200 {
		t.Fatalf("unexpired token refused: %d", res.Status)
	}
	now = exp
	if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: tok.Token}); res.Status != 401 {
		t.Fatalf("expired token accepted: %d", res.Status)
	}
}

func TestTokenSecretIsStoredOnlyAsHash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secret := b.token(t, auth.RoleAPI)
	var n int
	if err := b.db.Owner.QueryRow(context.Background(),
		`SELECT count(*) FROM core.api_token WHERE hash = sha256(convert_to($1, 'UTF8')) AND position($1 in name || prefix || created_by) = 0`, secret).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("want the token stored once, as its SHA-256 only; found %d", n)
	}
}

func TestTokenCreateValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"no name", map[string]any{"role": "staff"}, "name"},
		{"bad role", map[string]any{"name": "x", "role": "root"}, "role"},
		{"unknown site", map[string]any{"name": "x", "role": "staff", "sites": []string{"ZZ"}}, "sites"},
		{"past expiry", map[string]any{"name": "x", "role": "staff", "expires_at": time.Now().Add(-time.Hour)}, "expires_at"},
		{"unknown field", map[string]any{"name": "x", "role": "staff", "admin": true}, "admin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: tc.body, invalid: true})
			if res.Status != 422 || res.problemCode(t) != "validation_failed" {
				t.Fatalf("want 422 validation_failed, got %d %s", res.Status, res.Body)
			}
			var p struct {
				Errors []struct{ Field string } `json:"errors"`
			}
			res.json(t, &p)
			if len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Fatalf("want an error on %q, got %s", tc.field, res.Body)
			}
		})
	}
}

func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	deep := ""
	for i := 0; i < 100; i++ {
		deep += "["
	}
	cases := []struct {
		name string
		body string
		want int
	}{
		{"empty", "", 422},
		{"not json", "{nope", 422},
		{"trailing data", `{"name":"a","role":"staff"} {}`, 422},
		{"wrong type", `{"name": 5, "role": "staff"}`, 422},
		{"too deep", `{"name": ` + deep, 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: tc.body, invalid: true})
			if res.Status != tc.want {
				t.Fatalf("want %d, got %d %s", tc.want, res.Status, res.Body)
			}
		})
	}
	big := make([]byte, 2<<20)
	res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: big, invalid: true})
	if res.Status != 413 || res.problemCode(t) != "body_too_large" {
		t.Fatalf("2 MiB JSON body: %d %s", res.Status, res.Body)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := 0; i < 7; i++ {
		b.token(t, auth.RoleStaff)
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		path := "/v1/tokens?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := do(t, b.srv, request{method: "GET", path: path, token: b.admin})
		if res.Status != 200 {
			t.Fatalf("list: %d %s", res.Status, res.Body)
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		res.json(t, &page)
		pages++
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("token %s listed twice", it.ID)
			}
			seen[it.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != 7 || pages != 3 {
		t.Fatalf("want 7 tokens on 3 pages, got %d on %d", len(seen), pages)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=!!!", "cursor=bm90LWEtdXVpZA"} {
		res := do(t, b.srv, request{method: "GET", path: "/v1/tokens?" + q, token: b.admin, invalid: true})
		if res.Status != 422 {
			t.Fatalf("%s: want 422, got %d %s", q, res.Status, res.Body)
		}
	}
}

func TestRequestIDAndPanicRecovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := do(t, b.srv, request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "abc-123"}})
	if res.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("request id not echoed: %q", res.Header.Get("X-Request-Id"))
	}
	res = do(t, b.srv, request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "bad id\r\nx"}})
	if id := res.Header.Get("X-Request-Id"); id == "" || id == "bad id\r\nx" {
		t.Fatalf("unsafe request id accepted: %q", id)
	}
}

func TestRoleIsChecked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	staff := b.token(t, auth.RoleStaff)
	res := do(t, b.srv, request{method: "GET", path: "/v1/tokens", token: staff})
	if res.Status != 403 || res.problemCode(t) != "forbidden" {
		t.Fatalf("staff listing tokens: %d %s", res.Status, res.Body)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *api.Config) { c.RateLimit = 1; c.RateBurst = 2 })
	for i := 0; i < 2; i++ {
		if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: b.admin}); res.Status != 200 {
			t.Fatalf("request %d: %d", i, res.Status)
		}
	}
	res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: b.admin})
	if res.Status != 429 || res.Header.Get("Retry-After") == "" || res.problemCode(t) != "rate_limited" {
		t.Fatalf("third request: %d %v %s", res.Status, res.Header, res.Body)
	}
}

func TestTokenUseIsRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok := createToken(t, b, map[string]any{"name": "used", "role": "api"})
	var before *time.Time
	if err := b.db.Owner.QueryRow(context.Background(), "SELECT last_used_at FROM core.api_token WHERE id = $1", tok.ID).Scan(&before); err != nil || before != nil {
		t.Fatalf("a new token has last_used_at %v (%v)", before, err)
	}
	if res := do(t, b.srv, request{method: "GET", path: "/v1/me", token: tok.Token}); res.Status != 200 {
		t.Fatal(res.Status)
	}
	var after *time.Time
	if err := b.db.Owner.QueryRow(context.Background(), "SELECT last_used_at FROM core.api_token WHERE id = $1", tok.ID).Scan(&after); err != nil || after == nil {
		t.Fatalf("last_used_at after use: %v (%v)", after, err)
	}
}
