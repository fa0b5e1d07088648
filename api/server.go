package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/ratelimit"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
	"github.com/messina-oms/messina/queries"
)

// Check is one readiness probe: a dependency that must answer for /readyz.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Config is what the server needs; zero values take the defaults below.
type Config struct {
	Logger *slog.Logger
	// Pool connects as the application role.
	Pool *pgxpool.Pool
	// BootstrapToken is an admin token accepted without a database row, for
	// first login and tests. Empty disables it.
	BootstrapToken string
	// Ready lists the dependencies /readyz checks.
	Ready []Check
	// Registry receives the server's metrics; nil makes a private one.
	Registry *prometheus.Registry
	// RateLimit is requests per second per token, with RateBurst.
	RateLimit float64
	RateBurst int
	// MaxJSONBytes bounds JSON request bodies.
	MaxJSONBytes int64
	// MaxUploadBytes bounds uploaded files.
	MaxUploadBytes int64
	// Files stores attachments and their revisions.
	Files *filestore.Service
	// IdempotencyTTL is how long a stored response can be replayed.
	IdempotencyTTL time.Duration
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RateLimit == 0 {
		c.RateLimit = 100
	}
	if c.RateBurst == 0 {
		c.RateBurst = 200
	}
	if c.MaxJSONBytes == 0 {
		c.MaxJSONBytes = 1 << 20
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = 1 << 30
	}
	if c.IdempotencyTTL == 0 {
		c.IdempotencyTTL = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server is the HTTP API.
type Server struct {
	cfg    Config
	log    *slog.Logger
	pool   *pgxpool.Pool
	q      *queries.Queries
	orders *orders.Service
	files  *filestore.Service
	// contracts is read by the attachment routes of contracts.
	contracts *contracts.Service
	kpi       *kpi.Service
	router    *mux.Router
	metrics   *metrics
	limiter   *ratelimit.Buckets
	routes    []route
}

// handlerFunc is a handler that returns its error instead of writing it, so
// that errors reach the one function that maps them to HTTP.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one row of the route table.
type route struct {
	// name is the OpenAPI operationId.
	name   string
	method string
	path   string
	// roles may call the route; nil means no authentication.
	roles []auth.Role
	// maxBody overrides Config.MaxJSONBytes (uploads).
	maxBody int64
	handle  handlerFunc
}

// The role sets routes use.
var (
	anyRole   = []auth.Role{auth.RoleAdmin, auth.RoleStaff, auth.RoleAPI, auth.RoleAuditor}
	writers   = []auth.Role{auth.RoleAdmin, auth.RoleStaff, auth.RoleAPI}
	adminOnly = []auth.Role{auth.RoleAdmin}
	auditors  = []auth.Role{auth.RoleAdmin, auth.RoleAuditor}
)

// maxRateLimitedPrincipals bounds the rate limiter's memory (one bucket
// per principal seen); past it, every bucket starts afresh.
const maxRateLimitedPrincipals = 100_000

// New builds the server and its route table.
func New(cfg Config) *Server {
	cfg.setDefaults()
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		pool:      cfg.Pool,
		q:         queries.New(cfg.Pool),
		orders:    orders.New(cfg.Pool, cfg.Logger),
		files:     cfg.Files,
		contracts: contracts.New(cfg.Pool, cfg.Logger),
		kpi:       kpi.New(cfg.Pool, cfg.Logger),
		router:    mux.NewRouter(),
		metrics:   newMetrics(reg),
		limiter:   ratelimit.New(rate.Limit(cfg.RateLimit), cfg.RateBurst, maxRateLimitedPrincipals),
	}
	s.routes = s.routeTable()
	s.router.NotFoundHandler = s.plain(func(w http.ResponseWriter, r *http.Request) error {
		return problem(http.StatusNotFound, "route_not_found", "no route for "+r.URL.Path)
	})
	s.router.MethodNotAllowedHandler = s.plain(func(w http.ResponseWriter, r *http.Request) error {
		return problem(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
	})
	for _, rt := range s.routes {
		s.router.Handle(rt.path, s.wrap(rt)).Methods(rt.method).Name(rt.name)
	}
	s.router.Handle("/metrics", promHandler(reg)).Methods(http.MethodGet)
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.outer(s.router).ServeHTTP(w, r)
}

// routeTable lists every route of the API: one table, so that the
// authorization matrix test and the OpenAPI check can walk it.
func (s *Server) routeTable() []route {
	rts := []route{
		{name: "healthz", method: http.MethodGet, path: "/healthz", handle: s.healthz},
		{name: "readyz", method: http.MethodGet, path: "/readyz", handle: s.readyz},
		{name: "openapi", method: http.MethodGet, path: "/v1/openapi.yaml", handle: s.openapiSpec},
		{name: "whoami", method: http.MethodGet, path: "/v1/me", roles: anyRole, handle: s.whoami},
	}
	rts = append(rts, s.tokenRoutes()...)
	rts = append(rts, s.userRoutes()...)
	rts = append(rts, s.attachmentRoutes()...)
	rts = append(rts, s.auditRoutes()...)
	rts = append(rts, s.catalogRoutes()...)
	rts = append(rts, s.orderRoutes()...)
	rts = append(rts, s.contractRoutes()...)
	rts = append(rts, s.invoiceDocumentRoutes()...)
	rts = append(rts, s.kpiRoutes()...)
	return rts
}

// RouteInfo describes one route, for tests and documentation.
type RouteInfo struct {
	Name, Method, Path string
	// Roles may call the route; nil means it needs no token.
	Roles []auth.Role
}

// Routes lists the route table.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, rt := range s.routes {
		out[i] = RouteInfo{Name: rt.name, Method: rt.method, Path: rt.path, Roles: rt.roles}
	}
	return out
}
