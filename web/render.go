package web

import (
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/internal/bytesize"
	"github.com/messina-oms/messina/orders"
)

// assets are the templates and the static files, compiled into the binary.
//
//go:embed templates/*.html static
var assets embed.FS

// pages holds one template set per page: the layout plus the page's own
// "content" block.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses every templates/*.html page with the layout and the
// partials (templates/_*.html, blocks that several pages use).
func parsePages() (*pages, error) {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html", "templates/_*.html", f)
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", f, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page template gets: the layout's fields and the
// page's own Data.
type view struct {
	Title     string
	User      *userView
	RequestID string
	Flash     string
	Data      any
}

// userView is the signed-in principal as the layout shows it, with what
// the role may do, so templates never compare role names.
type userView struct {
	Actor    string
	Role     string
	Sites    []string
	CanWrite bool
	// CanBill may plan and post invoice runs, render invoice documents and
	// credit invoices.
	CanBill  bool
	CanAudit bool
}

func userOf(r *http.Request) *userView {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return nil
	}
	return &userView{
		Actor: p.Actor, Role: string(p.Role), Sites: p.Sites,
		CanWrite: slices.Contains(writers, p.Role),
		CanBill:  slices.Contains(billers, p.Role),
		CanAudit: slices.Contains(auditors, p.Role),
	}
}

// flashes are the notices a redirect after a change may ask for with
// ?msg=; only these fixed texts can appear, whatever the URL says.
var flashes = map[string]string{
	"signed_out":    "You are signed out.",
	"session_ended": "Your session has ended: the token was revoked or has expired, or its user was disabled. Sign in again.",
	"status":        "The order's status was changed.",
	"uploaded":      "The document was uploaded.",
	"revision":      "A new revision was uploaded.",
	"restored":      "The revision was restored as a new revision.",
	"notice":        "The notice was recorded.",
	"cancelled":     "The cancellation was recorded.",
	"planned":       "The invoice run was planned.",
	"prepare":       "The run's draft invoices were prepared.",
	"approve":       "The invoice run was approved.",
	"post":          "The invoice run was posted: its invoices are numbered.",
	"discard":       "The invoice run was discarded.",
	"rendered":      "The invoice's documents were rendered.",
	"credited":      "The credit note was issued.",
}

// render executes page into a buffer and sends it with status, so that a
// template failure is a clean 500 and never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, title string, data any) error {
	t, ok := s.pages.byName[page]
	if !ok {
		return fmt.Errorf("web: no page template %q", page)
	}
	v := view{Title: title, User: userOf(r), RequestID: requestID(r.Context()), Flash: flashes[r.URL.Query().Get("msg")], Data: data}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// staticHandler serves the embedded static files; they change only with
// the binary, so an hour of caching is safe enough without fingerprints.
func staticHandler(static fs.FS) http.Handler {
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// templateFuncs format values for people; everything they return is
// plain text that html/template escapes.
var templateFuncs = template.FuncMap{
	"amount":     amount,
	"pct":        pct,
	"when":       when,
	"day":        func(t time.Time) string { return t.Format("2006-01-02") },
	"optDay":     optDay,
	"percent":    percent,
	"yesno":      yesno,
	"hexHash":    func(b []byte) string { return hex.EncodeToString(b) },
	"policyName": policyName,
	"size":       bytesize.Format,
	"short":      func(s string) string { return s[:min(len(s), 12)] },
	"prev":       func(n int) int { return n - 1 },
	"actionName": actionName,
	"reasonRule": reasonRule,
}

// amount shows money with at least two decimals ("12.50"), and more when
// the value needs them ("8.3325"); zeros a column's scale adds say nothing
// ("120.0000" of a contract's unit price is "120.00").
func amount(d decimal.Decimal) string {
	for places := int32(2); places < -d.Exponent(); places++ {
		if d.Round(places).Equal(d) {
			return d.StringFixed(places)
		}
	}
	return d.StringFixed(max(2, -d.Exponent()))
}

func pct(d decimal.NullDecimal) string {
	if !d.Valid {
		return "—"
	}
	return d.Decimal.StringFixed(1) + " %"
}

// optDay is a date that may be unset ("—").
func optDay(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.Format("2006-01-02")
}

// percent shows a percentage as computed, e.g. a KPI's margin % rounded
// to 2 places by the database; "—" when there is none.
func percent(d decimal.NullDecimal) string {
	if !d.Valid {
		return "—"
	}
	return d.Decimal.StringFixed(2) + " %"
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// policyName says what a cancellation policy does, in a few words.
func policyName(p contracts.Policy) string {
	switch p {
	case contracts.PolicyImmediate:
		return "immediately"
	case contracts.PolicyEndOfPeriod:
		return "at the end of the billing period"
	case contracts.PolicyEndOfTerm:
		return "at the end of the term (notice of non-renewal)"
	case contracts.PolicyOnDate:
		return "on a date"
	}
	return string(p)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// actionName is the button that moves an order to status to.
func actionName(to orders.Status) string {
	switch to {
	case orders.StatusSubmitted:
		return "Submit"
	case orders.StatusApproved:
		return "Approve"
	case orders.StatusRejected:
		return "Reject"
	case orders.StatusBooked:
		return "Book"
	case orders.StatusProvisioning:
		return "Start provisioning"
	case orders.StatusCompleted:
		return "Complete"
	case orders.StatusCancelled:
		return "Cancel order"
	}
	return "Move to " + string(to)
}

// reasonRule says whether the move to status to takes a reason: the
// domain requires one to reject or cancel and accepts one to approve.
func reasonRule(to orders.Status) string {
	switch to {
	case orders.StatusRejected, orders.StatusCancelled:
		return "required"
	case orders.StatusApproved:
		return "optional"
	}
	return ""
}
