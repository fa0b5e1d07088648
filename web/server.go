package web

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/ratelimit"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
)

// Config is what the UI needs; zero values take the defaults of
// setDefaults.
type Config struct {
	Logger *slog.Logger
	// Pool connects as the application role, like the API's.
	Pool *pgxpool.Pool
	// Files stores attachments and their revisions.
	Files *filestore.Service
	// BootstrapToken is the admin token accepted without a database row
	// (MESSINA_BOOTSTRAP_TOKEN), so the token `make run` prints signs in.
	// Empty disables it.
	BootstrapToken string
	// MaxUploadBytes bounds one uploaded file, as in the API.
	MaxUploadBytes int64
	// SecureCookies marks the session cookie Secure on every request, for
	// a server behind a proxy that terminates TLS
	// (MESSINA_SECURE_COOKIES); otherwise only requests over TLS get it.
	SecureCookies bool
	// Now is the clock, replaceable in tests (token expiry).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = 1 << 30
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server is the web UI, an http.Handler meant to be mounted at /.
type Server struct {
	cfg       Config
	log       *slog.Logger
	pool      *pgxpool.Pool
	orders    *orders.Service
	contracts *contracts.Service
	kpi       *kpi.Service
	files     *filestore.Service
	pages     *pages
	csrf      *http.CrossOriginProtection
	signIns   *ratelimit.Buckets
	router    *mux.Router
}

// handlerFunc is a handler that returns its error instead of writing it,
// so that every error reaches the one function that renders error pages.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one row of the route table.
type route struct {
	method string
	path   string
	// roles may use the route; nil means no sign-in is needed.
	roles []auth.Role
	// maxBody overrides the limit of small form bodies (uploads).
	maxBody int64
	handle  handlerFunc
}

// The role sets of the UI. The api role is for integrations and cannot
// sign in (see signIn), so it appears in none of them.
var (
	readers = []auth.Role{auth.RoleAdmin, auth.RoleStaff, auth.RoleAuditor}
	writers = []auth.Role{auth.RoleAdmin, auth.RoleStaff}
	// billers plan, preview, prepare, approve, post and discard invoice
	// runs, render invoice documents and issue credit notes: the API's
	// billers (admin and staff), never auditors.
	billers  = []auth.Role{auth.RoleAdmin, auth.RoleStaff}
	auditors = []auth.Role{auth.RoleAdmin, auth.RoleAuditor}
)

// maxFormBytes bounds the urlencoded forms (sign-in, transitions,
// restore): a few fields of text.
const maxFormBytes = 64 << 10

// multipartOverhead is what a multipart body may hold beyond the file:
// boundaries, part headers and the small text fields.
const multipartOverhead = 1 << 20

// New builds the UI and its route table. It fails only when the embedded
// templates do not parse, which the tests catch.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if cfg.Pool == nil || cfg.Files == nil {
		return nil, errors.New("web: Config needs Pool and Files")
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		pool:      cfg.Pool,
		orders:    orders.New(cfg.Pool, cfg.Logger),
		contracts: contracts.New(cfg.Pool, cfg.Logger),
		kpi:       kpi.New(cfg.Pool, cfg.Logger),
		files:     cfg.Files,
		pages:     p,
		csrf:      http.NewCrossOriginProtection(),
		signIns:   newSignInLimiter(),
		router:    mux.NewRouter(),
	}
	s.router.NotFoundHandler = s.plain(func(w http.ResponseWriter, r *http.Request) error {
		return notFound("There is no page at this address.")
	})
	s.router.MethodNotAllowedHandler = s.plain(func(w http.ResponseWriter, r *http.Request) error {
		return &pageError{Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed here."}
	})
	for _, rt := range s.routeTable() {
		methods := []string{rt.method}
		if rt.method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
		s.router.Handle(rt.path, s.wrap(rt)).Methods(methods...)
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	s.router.PathPrefix("/static/").Methods(http.MethodGet, http.MethodHead).
		Handler(http.StripPrefix("/static/", staticHandler(static)))
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.outer(s.router).ServeHTTP(w, r)
}

// uuidPattern keeps malformed ids out of handlers: they are 404 at the
// router, like an id that names nothing.
const uuidPattern = "{id:[0-9a-fA-F-]{36}}"

// routeTable lists every page and action of the UI in one place.
func (s *Server) routeTable() []route {
	upload := s.cfg.MaxUploadBytes + multipartOverhead
	return []route{
		{method: http.MethodGet, path: "/", handle: s.home},
		{method: http.MethodGet, path: "/signin", handle: s.signInPage},
		{method: http.MethodPost, path: "/signin", handle: s.signIn},
		{method: http.MethodPost, path: "/signout", handle: s.signOut},

		{method: http.MethodGet, path: "/orders", roles: readers, handle: s.orderList},
		{method: http.MethodGet, path: "/orders/" + uuidPattern, roles: readers, handle: s.orderPage},
		{method: http.MethodPost, path: "/orders/" + uuidPattern + "/transition", roles: writers, handle: s.transition},
		{method: http.MethodPost, path: "/orders/" + uuidPattern + "/attachments", roles: writers, maxBody: upload, handle: s.createAttachment(s.orderOwner)},
		{method: http.MethodGet, path: "/orders/" + uuidPattern + "/timeline", roles: auditors, handle: s.orderTimeline},

		{method: http.MethodGet, path: "/contracts", roles: readers, handle: s.contractList},
		{method: http.MethodGet, path: "/contracts/" + uuidPattern, roles: readers, handle: s.contractPage},
		{method: http.MethodPost, path: "/contracts/" + uuidPattern + "/notice", roles: writers, handle: s.giveNotice},
		{method: http.MethodPost, path: "/contracts/" + uuidPattern + "/cancel", roles: writers, handle: s.cancelContract},
		{method: http.MethodPost, path: "/contracts/" + uuidPattern + "/attachments", roles: writers, maxBody: upload, handle: s.createAttachment(s.contractOwner)},

		{method: http.MethodGet, path: "/invoice-runs", roles: readers, handle: s.runList},
		{method: http.MethodPost, path: "/invoice-runs", roles: billers, handle: s.planRun},
		{method: http.MethodGet, path: "/invoice-runs/" + uuidPattern, roles: readers, handle: s.runPage},
		{method: http.MethodPost, path: "/invoice-runs/" + uuidPattern + "/preview", roles: billers, handle: s.previewRun},
		{method: http.MethodPost, path: "/invoice-runs/" + uuidPattern + "/{step:prepare|approve|post|discard}", roles: billers, handle: s.runStep},
		{method: http.MethodGet, path: "/invoices", roles: readers, handle: s.invoiceList},
		{method: http.MethodGet, path: "/invoices/" + uuidPattern, roles: readers, handle: s.invoicePage},
		{method: http.MethodPost, path: "/invoices/" + uuidPattern + "/documents", roles: billers, handle: s.renderDocuments},
		{method: http.MethodPost, path: "/invoices/" + uuidPattern + "/credit-notes", roles: billers, handle: s.creditInvoice},

		{method: http.MethodGet, path: "/kpi", roles: readers, handle: s.kpiHome},
		{method: http.MethodGet, path: "/kpi/{report:bookings|margin|mrr}", roles: readers, handle: s.kpiReport},

		{method: http.MethodGet, path: "/attachments/" + uuidPattern, roles: readers, handle: s.attachmentPage},
		{method: http.MethodPost, path: "/attachments/" + uuidPattern + "/revisions", roles: writers, maxBody: upload, handle: s.addRevision},
		{method: http.MethodPost, path: "/attachments/" + uuidPattern + "/restore", roles: writers, handle: s.restore},
		{method: http.MethodGet, path: "/attachments/" + uuidPattern + "/revisions/{n:[0-9]+}/content", roles: readers, handle: s.download},
		{method: http.MethodGet, path: "/attachments/" + uuidPattern + "/diff", roles: readers, handle: s.diff},

		{method: http.MethodGet, path: "/audit/events", roles: auditors, handle: s.auditEvents},
	}
}

// home sends the signed-in to the orders and everyone else to sign in.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authenticate(r); err != nil {
		if !errors.Is(err, errNoSession) && !errors.Is(err, auth.ErrUnauthenticated) {
			return err // the database did not answer: an error page, not a sign-in form
		}
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/orders", http.StatusSeeOther)
	return nil
}
