package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/messina-oms/messina/auth"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the API contract.
func OpenAPI() []byte { return openapiYAML }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks every dependency in parallel, each with its own deadline,
// and names the ones that fail.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := append([]Check{{Name: "database", Fn: func(ctx context.Context) error { return s.pool.Ping(ctx) }}}, s.cfg.Ready...)
	results := make([]error, len(checks))
	done := make(chan int)
	for i, c := range checks {
		go func() {
			results[i] = c.Fn(ctx)
			done <- i
		}()
	}
	for range checks {
		<-done
	}
	out := map[string]string{}
	status := http.StatusOK
	for i, c := range checks {
		if results[i] != nil {
			status = http.StatusServiceUnavailable
			out[c.Name] = "unavailable"
			s.log.WarnContext(r.Context(), "readiness check failed", "check", c.Name, "error", results[i])
		} else {
			out[c.Name] = "ok"
		}
	}
	body := map[string]any{"status": "ok", "checks": out}
	if status != http.StatusOK {
		body["status"] = "unavailable"
	}
	return writeJSON(w, status, body)
}

func (s *Server) openapiSpec(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, err := w.Write(openapiYAML)
	return err
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	sites := p.Sites
	if sites == nil {
		sites = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"actor": p.Actor, "role": p.Role, "sites": sites})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
