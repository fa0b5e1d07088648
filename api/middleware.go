package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/internal/httplog"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	routeKey
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// outer is the middleware every request passes: request id, recovery,
// access log and metrics.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.Now()
		id := httplog.RequestID(r)
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		routeName := new(string)
		*routeName = "unmatched"
		ctx = context.WithValue(ctx, routeKey, routeName)
		r = r.WithContext(ctx)
		sw := &httplog.StatusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", slog.String("request_id", id), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				if sw.Status == 0 {
					s.writeError(sw, r, problem(http.StatusInternalServerError, "internal", "internal error"))
				}
			}
			elapsed := s.cfg.Now().Sub(start)
			s.metrics.observe(*routeName, r.Method, sw.Status, elapsed)
			s.log.InfoContext(ctx, "request",
				slog.String("request_id", id), slog.String("method", r.Method),
				slog.String("route", *routeName), slog.String("path", r.URL.Path),
				slog.Int("status", sw.Status), slog.Int64("bytes", sw.Bytes),
				slog.Duration("duration", elapsed))
		}()
		next.ServeHTTP(sw, r)
	})
}

// plain adapts a handlerFunc without authentication.
func (s *Server) plain(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// wrap builds the per-route chain: body limit, authentication and role
// check, rate limit, idempotency, then the handler.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := r.Context().Value(routeKey).(*string); ok {
			*name = rt.name
		}
		limit := s.cfg.MaxJSONBytes
		if rt.maxBody > 0 {
			limit = rt.maxBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		err := s.serveRoute(w, r, rt)
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt route) error {
	if rt.roles == nil {
		return rt.handle(w, r)
	}
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if !slices.Contains(rt.roles, p.Role) {
		return problem(http.StatusForbidden, "forbidden", fmt.Sprintf("role %s may not call %s", p.Role, rt.name))
	}
	if wait, ok := s.limiter.Take(p.Actor, s.cfg.Now()); !ok {
		secs := int(wait/time.Second) + 1
		return problem(http.StatusTooManyRequests, "rate_limited", "too many requests").withHeader("Retry-After", fmt.Sprint(secs))
	}
	p.RequestID = requestID(r.Context())
	r = r.WithContext(auth.WithPrincipal(r.Context(), p))
	if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" {
		return s.idempotent(w, r, p, rt)
	}
	return rt.handle(w, r)
}

var errUnauthenticated = problem(http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required").
	withHeader("WWW-Authenticate", `Bearer realm="messina"`)

// authenticate resolves the bearer token. Every failure answers the same,
// so that a caller learns nothing about which tokens exist.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return auth.Principal{}, errUnauthenticated
	}
	p, err := auth.Verifier{DB: s.pool, BootstrapToken: s.cfg.BootstrapToken, Now: s.cfg.Now}.Verify(r.Context(), strings.TrimSpace(token))
	if errors.Is(err, auth.ErrUnauthenticated) {
		return auth.Principal{}, errUnauthenticated
	}
	if err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}
