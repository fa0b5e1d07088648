package web

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/internal/httplog"
)

type ctxKey int

const requestIDKey ctxKey = iota

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// contentSecurityPolicy allows nothing but our own stylesheet and forms
// posting to ourselves: no script at all, inline or not, and no framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// outer is what every request passes: request id, security headers,
// recovery, access log, and the cross-origin check of state-changing
// requests.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.Now()
		id := httplog.RequestID(r)
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		// Pages show private data: no shared cache may keep them, and the
		// back button after sign-out must not show them either.
		h.Set("Cache-Control", "no-store")
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		sw := &httplog.StatusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.String("request_id", id), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				if sw.Status == 0 {
					s.fail(sw, r, &pageError{Status: http.StatusInternalServerError})
				}
			}
			elapsed := s.cfg.Now().Sub(start)
			s.log.InfoContext(r.Context(), "web request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.Status), slog.Int64("bytes", sw.Bytes), slog.Duration("duration", elapsed))
		}()
		// A form another site makes the browser post is refused before
		// any handler, and before authentication, runs; SameSite=Strict
		// keeps the cookie off such requests too.
		if err := s.csrf.Check(r); err != nil {
			s.log.WarnContext(r.Context(), "cross-origin request refused", slog.String("request_id", id), slog.Any("error", err))
			s.fail(sw, r, &pageError{Status: http.StatusForbidden, Title: "Cross-site request refused",
				Detail: "This form was sent from another site, so it was not accepted. Open Messina directly and try again."})
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// plain adapts a handlerFunc without authentication.
func (s *Server) plain(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// wrap builds the per-route chain: body limit, then for signed-in routes
// authentication from the cookie and the role check, then the handler.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxFormBytes)
		if rt.maxBody > 0 {
			limit = rt.maxBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		s.serveRoute(w, r, rt)
	})
}

// serveRoute authenticates, checks the role and runs the handler; errors
// are rendered with the request that carries the principal, so that the
// error page still shows who is signed in.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt route) {
	if rt.roles != nil {
		p, err := s.authenticate(r)
		if err != nil {
			s.unauthenticated(w, r, err)
			return
		}
		p.RequestID = requestID(r.Context())
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		if !slices.Contains(rt.roles, p.Role) {
			s.fail(w, r, &pageError{Status: http.StatusForbidden,
				Detail: "Your role (" + string(p.Role) + ") may not " + actionOf(r) + "."})
			return
		}
	}
	if err := rt.handle(w, r); err != nil {
		s.fail(w, r, err)
	}
}

// actionOf names what a refused request tried, for the 403 page.
func actionOf(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return "open this page"
	}
	return "make this change"
}
