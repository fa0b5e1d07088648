package web_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/web"
)

func sessionCookie(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "messina_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", h.Values("Set-Cookie"))
	return nil
}

func TestSignInKeepsTheTokenInAStrictCookieAndSignOutClearsIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	staff := b.token(t, auth.RoleStaff)
	br := b.browser(t)

	// A page without a session sends to the sign-in form, and back after.
	res := br.get("/orders?status=draft").wantStatus(t, http.StatusSeeOther)
	if loc := res.location(t); loc != "/signin?next="+url.QueryEscape("/orders?status=draft") {
		t.Fatalf("redirect to %q", loc)
	}
	form := br.get("/signin?next="+url.QueryEscape("/orders?status=draft")).wantStatus(t, http.StatusOK)
	token := form.mustID(t, "token")
	if attr(token, "type") != "password" || attr(token, "name") != "token" {
		t.Fatalf("token input: %v", token.Attr)
	}
	if got := form.postActions(); len(got) != 1 || got[0] != "/signin" {
		t.Fatalf("sign-in forms: %v", got)
	}

	bad := br.post("/signin", url.Values{"token": {"msn_not-a-token"}}).wantStatus(t, http.StatusUnauthorized)
	if len(bad.Header.Values("Set-Cookie")) != 0 || !strings.Contains(text(bad.Doc), "was not accepted") {
		t.Fatalf("a bad token: cookies %v, page %s", bad.Header.Values("Set-Cookie"), text(bad.Doc))
	}

	ok := br.post("/signin", url.Values{"token": {" " + staff + "\n"}, "next": {"/orders?status=draft"}}).wantStatus(t, http.StatusSeeOther)
	if loc := ok.location(t); loc != "/orders?status=draft" {
		t.Fatalf("after sign-in: %q", loc)
	}
	c := sessionCookie(t, ok.Header)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Fatalf("cookie over plain HTTP: %s", ok.Header.Get("Set-Cookie"))
	}
	if strings.Contains(c.Value, staff) {
		t.Fatal("the cookie holds the token in the clear form the user pasted; want it encoded")
	}
	orders := br.get("/orders").wantStatus(t, http.StatusOK)
	if who := text(findAll(orders.Doc, func(n *html.Node) bool { return attr(n, "class") == "who" })[0]); !strings.Contains(who, "token:web staff:") || !strings.Contains(who, "staff") {
		t.Fatalf("the page does not say who is signed in: %q", who)
	}

	out := br.post("/signout", nil).wantStatus(t, http.StatusSeeOther)
	if c := sessionCookie(t, out.Header); c.MaxAge >= 0 || c.Value != "" || !c.HttpOnly {
		t.Fatalf("sign-out cookie: %s", out.Header.Get("Set-Cookie"))
	}
	if loc := out.location(t); loc != "/signin?msg=signed_out" {
		t.Fatalf("after sign-out: %q", loc)
	}
	if !strings.Contains(text(br.get("/signin?msg=signed_out").Doc), "You are signed out.") {
		t.Fatal("no sign-out notice")
	}
	br.get("/orders").wantStatus(t, http.StatusSeeOther)
}

func TestTheSessionCookieIsSecureOverTLS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := httptest.NewRequest(http.MethodPost, "https://messina.example/signin", strings.NewReader(url.Values{"token": {bootstrap}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	b.ui.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign in with the bootstrap token: %d %s", rec.Code, rec.Body)
	}
	if c := sessionCookie(t, rec.Header()); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie over TLS: %s", rec.Header().Get("Set-Cookie"))
	}
}

func TestSignInNeverRedirectsToAnotherSite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for next, want := range map[string]string{
		"//evil.example/x":        "/orders",
		"/\\evil.example":         "/orders",
		"https://evil.example/":   "/orders",
		"orders":                  "/orders",
		"/orders/abc?status=open": "/orders/abc?status=open",
	} {
		res := b.browser(t).post("/signin", url.Values{"token": {bootstrap}, "next": {next}}).wantStatus(t, http.StatusSeeOther)
		if got := res.Header.Get("Location"); got != want {
			t.Errorf("next %q: redirected to %q, want %q", next, got, want)
		}
	}
}

func TestIntegrationTokensCannotSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.browser(t).post("/signin", url.Values{"token": {b.token(t, auth.RoleAPI)}}).wantStatus(t, http.StatusForbidden)
	if len(res.Header.Values("Set-Cookie")) != 0 || !strings.Contains(text(res.Doc), "integration (api) token") {
		t.Fatalf("api token sign-in: %v %s", res.Header.Values("Set-Cookie"), text(res.Doc))
	}
}

// A session is its token, checked on every request: revoking the token,
// letting it expire or disabling its user ends the session at the next
// page, like the API refuses the token at its next call.
func TestSessionsEndAtOnceWhenTheTokenOrUserStopsBeingValid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	users := auth.NewUsers(b.db.App)
	ended := func(t *testing.T, br *browser) {
		t.Helper()
		res := br.get("/orders").wantStatus(t, http.StatusSeeOther)
		if loc := res.location(t); !strings.HasPrefix(loc, "/signin?") || !strings.Contains(loc, "msg=session_ended") {
			t.Fatalf("redirect to %q", loc)
		}
		if c := sessionCookie(t, res.Header); c.MaxAge >= 0 {
			t.Fatalf("the dead session's cookie is kept: %s", res.Header.Get("Set-Cookie"))
		}
	}

	t.Run("revoked token", func(t *testing.T) {
		tok, secret, err := b.tokens.Create(b.admin, auth.NewTokenInput{Name: "soon revoked", Role: auth.RoleStaff})
		must(t, err)
		br := b.signedIn(t, secret)
		br.get("/orders").wantStatus(t, http.StatusOK)
		_, err = b.tokens.Revoke(b.admin, tok.ID)
		must(t, err)
		ended(t, br)
	})
	t.Run("disabled user", func(t *testing.T) {
		u, err := users.Create(b.admin, "ana@example.com", "Ana", auth.RoleStaff, nil)
		must(t, err)
		_, secret, err := b.tokens.Create(b.admin, auth.NewTokenInput{Name: "ana's", UserID: &u.ID})
		must(t, err)
		br := b.signedIn(t, secret)
		if who := br.get("/orders").wantStatus(t, http.StatusOK); !strings.Contains(who.Body, "user:ana@example.com") {
			t.Fatal("the page does not name the user")
		}
		disabled := true
		_, err = users.Update(b.admin, u.ID, u.Version, auth.UserPatch{Disabled: &disabled})
		must(t, err)
		ended(t, br)
		res := br.post("/signin", url.Values{"token": {secret}}).wantStatus(t, http.StatusUnauthorized)
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Fatal("a disabled user's token signed in again")
		}
	})
	t.Run("expired token", func(t *testing.T) {
		// Not parallel with the others: it moves the bundle's clock.
		exp := b.clock().Add(time.Hour)
		_, secret, err := b.tokens.Create(b.admin, auth.NewTokenInput{Name: "short", Role: auth.RoleStaff, ExpiresAt: &exp})
		must(t, err)
		br := b.signedIn(t, secret)
		br.get("/orders").wantStatus(t, http.StatusOK)
		b.setClock(exp)
		ended(t, br)
	})
}

// Refused tokens are limited per client address: after ten, even a good
// token waits (429 with Retry-After), until the allowance refills. Good
// sign-ins spend nothing.
func TestRefusedSignInsAreThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	staff := b.token(t, auth.RoleStaff)
	br := b.browser(t)
	for range 5 {
		br.post("/signin", url.Values{"token": {staff}}).wantStatus(t, http.StatusSeeOther)
	}
	for i := range 10 {
		res := br.post("/signin", url.Values{"token": {fmt.Sprintf("msn_guess-%d", i)}})
		res.wantStatus(t, http.StatusUnauthorized)
	}
	res := br.post("/signin", url.Values{"token": {staff}}).wantStatus(t, http.StatusTooManyRequests)
	if ra := res.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	if !strings.Contains(text(res.Doc), "Too many tokens were refused") {
		t.Fatalf("page does not say why: %q", text(res.Doc))
	}
	// Six seconds later one more attempt is allowed.
	b.setClock(b.clock().Add(7 * time.Second))
	br.post("/signin", url.Values{"token": {staff}}).wantStatus(t, http.StatusSeeOther)
}

// Behind a proxy that terminates TLS the server sees plain HTTP; with
// SecureCookies the cookie is Secure all the same, and a forged
// X-Forwarded-Proto alone never makes it so.
func TestSecureCookiesBehindATLSProxy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	signIn := func(ui http.Handler) *http.Cookie {
		req := httptest.NewRequest(http.MethodPost, "http://messina.internal/signin", strings.NewReader(url.Values{"token": {bootstrap}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
		}
		return sessionCookie(t, rec.Header())
	}
	if c := signIn(b.ui); c.Secure {
		t.Fatal("a plain HTTP request got a Secure cookie from X-Forwarded-Proto alone")
	}
	behindProxy, err := web.New(web.Config{Pool: b.db.App, Files: b.files, BootstrapToken: bootstrap, SecureCookies: true})
	must(t, err)
	if c := signIn(behindProxy); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie behind a TLS proxy: %+v", c)
	}
}
