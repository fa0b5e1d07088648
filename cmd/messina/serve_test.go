package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/messina-oms/messina/internal/pgtest"
)

// One server answers both: the JSON API under /v1 (and its probes and
// metrics), the web UI at every other path.
func TestServeMountsTheWebUIBesideTheAPI(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	addr, cmd, stdout, stderr := serve(t, db)
	base := "http://" + addr
	if !strings.Contains(stdout.String(), "Web UI for staff and auditors: "+base+"/") {
		t.Errorf("the UI's address is not printed: %q", stdout.String())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	res, body := get("/v1/me")
	if res.StatusCode != 401 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("/v1/me: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if res, body = get("/v1/no-such-route"); res.StatusCode != 404 || !strings.Contains(body, "route_not_found") {
		t.Errorf("an unknown API route is not the API's 404: %d %s", res.StatusCode, body)
	}
	if res, _ = get("/healthz"); res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/healthz: %d", res.StatusCode)
	}
	if res, _ = get("/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("/: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, body = get("/signin"); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `name="token"`) {
		t.Errorf("/signin: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	// The bootstrap token signs in, and the orders page answers.
	req, _ := http.NewRequest(http.MethodPost, base+"/signin", strings.NewReader(url.Values{"token": {cliToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	signin, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	signin.Body.Close()
	if signin.StatusCode != http.StatusSeeOther || signin.Header.Get("Location") != "/orders" {
		t.Fatalf("sign in: %d", signin.StatusCode)
	}
	if res, body = get("/orders"); res.StatusCode != 200 || !strings.Contains(body, "bootstrap") {
		t.Errorf("/orders after sign-in: %d", res.StatusCode)
	}
	if strings.Contains(stderr.String(), cliToken) {
		t.Error("the token appears in the logs")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd, stderr)
}
