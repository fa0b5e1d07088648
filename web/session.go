package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/messina-oms/messina/auth"
)

// cookieName holds the session: the API token the user pasted. The token
// is verified again on every request, so revoking it, letting it expire
// or disabling its user ends the session at once; nothing else is stored.
const cookieName = "messina_session"

// errNoSession means the request carries no session cookie at all.
var errNoSession = errors.New("no session cookie")

// sessionCookie builds the cookie that keeps token (or, with an empty
// token, the one that deletes it). The value is base64url so that any
// bootstrap token, whatever characters it holds, survives as a cookie.
// secure forces the Secure attribute, for a server behind a proxy that
// terminates TLS (Config.SecureCookies).
func sessionCookie(r *http.Request, token string, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name:     cookieName,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(token)),
		Path:     "/",
		HttpOnly: true,
		// Strict: no other site can make the browser send it, not even by
		// a top-level link; the price is signing in again when arriving
		// from a link in another site.
		SameSite: http.SameSiteStrictMode,
		// Secure when the request came over TLS, or when the operator says
		// a TLS-terminating proxy is in front: its X-Forwarded-Proto is not
		// trusted blindly.
		Secure: secure || r.TLS != nil,
	}
	if token == "" {
		c.Value = ""
		c.MaxAge = -1
	}
	return c
}

// authenticate resolves the session cookie to a principal, exactly as the
// API resolves a bearer token.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return auth.Principal{}, errNoSession
	}
	token, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return auth.Principal{}, auth.ErrUnauthenticated
	}
	return s.verify(r.Context(), string(token))
}

// verify checks a session's token as the API checks a bearer token.
func (s *Server) verify(ctx context.Context, token string) (auth.Principal, error) {
	p, err := auth.Verifier{DB: s.pool, BootstrapToken: s.cfg.BootstrapToken, Now: s.cfg.Now}.Verify(ctx, token)
	if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
		return auth.Principal{}, fmt.Errorf("verify session token: %w", err)
	}
	return p, err
}

// unauthenticated answers a request to a signed-in page without a valid
// session: pages redirect to the sign-in form (and back afterwards),
// actions get a 401 page, since a redirect would lose what was sent. A
// cookie that no longer verifies is deleted.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errNoSession) && !errors.Is(err, auth.ErrUnauthenticated) {
		s.fail(w, r, err) // the database did not answer: not the user's fault
		return
	}
	ended := !errors.Is(err, errNoSession)
	if ended {
		http.SetCookie(w, sessionCookie(r, "", s.cfg.SecureCookies))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.fail(w, r, &pageError{Status: http.StatusUnauthorized, Detail: "Your session has ended or you are not signed in. Sign in and try again."})
		return
	}
	q := url.Values{"next": {r.URL.RequestURI()}}
	if ended {
		q.Set("msg", "session_ended")
	}
	http.Redirect(w, r, "/signin?"+q.Encode(), http.StatusSeeOther)
}

// safeNext returns where to go after signing in: a path of this site, never
// another host (//evil.example, /\evil.example or a full URL).
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/orders"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/orders"
	}
	return next
}

// signInData is the sign-in page.
type signInData struct {
	Next  string
	Error string
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) error {
	// A valid session shows who is signed in; the form stays, to switch.
	if p, err := s.authenticate(r); err == nil {
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
	}
	return s.render(w, r, http.StatusOK, "signin", "Sign in", signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

// signIn verifies the pasted token and keeps it in the session cookie.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	next := safeNext(r.PostForm.Get("next"))
	if wait := s.signIns.Wait(clientAddress(r), s.cfg.Now()); wait > 0 {
		s.log.WarnContext(r.Context(), "web sign-in throttled", "request_id", requestID(r.Context()), "client", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		return s.render(w, r, http.StatusTooManyRequests, "signin", "Sign in", signInData{Next: next,
			Error: "Too many tokens were refused from your address. Wait a minute and try again."})
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	p, err := s.verify(r.Context(), token)
	if errors.Is(err, auth.ErrUnauthenticated) {
		s.signIns.Take(clientAddress(r), s.cfg.Now())
		s.log.InfoContext(r.Context(), "web sign-in refused", "request_id", requestID(r.Context()))
		return s.render(w, r, http.StatusUnauthorized, "signin", "Sign in", signInData{Next: next,
			Error: "This token was not accepted: it is unknown, revoked or expired, or its user is disabled."})
	}
	if err != nil {
		return err
	}
	if p.Role == auth.RoleAPI {
		return s.render(w, r, http.StatusForbidden, "signin", "Sign in", signInData{Next: next,
			Error: "This is an integration (api) token; sign in with a staff, auditor or admin token."})
	}
	http.SetCookie(w, sessionCookie(r, token, s.cfg.SecureCookies))
	s.log.InfoContext(r.Context(), "web sign-in", "request_id", requestID(r.Context()), "actor", p.Actor, "role", string(p.Role))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signOut deletes the session cookie. It is a POST, so that no link or
// image of another page can sign anybody out.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, sessionCookie(r, "", s.cfg.SecureCookies))
	http.Redirect(w, r, "/signin?msg=signed_out", http.StatusSeeOther)
	return nil
}
