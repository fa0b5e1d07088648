package kpi

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/keyset"
	"github.com/messina-oms/messina/queries"
)

// Service reads the KPI reports. It is safe for concurrent use. Every
// method needs an auth.Principal in ctx: its transaction carries the
// principal's sites into PostgreSQL, whose row-level security decides
// which rows a report adds up.
type Service struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// New returns a Service on pool, opened with pgpool so that numeric maps to
// decimal.Decimal; log may be nil.
func New(pool *pgxpool.Pool, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: pool, log: log}
}

// single runs fn's statements each alone, in one round trip (auth.Single):
// for reads and writes of one statement, which a transaction of their own
// would make no more atomic or consistent but two round trips slower.
func (s *Service) single(ctx context.Context, fn func(q *queries.Queries) error) error {
	return auth.InSingle(ctx, s.pool, fn)
}

// Bookings returns a page of the bookings report: per group of f.GroupBy
// (and currency), the orders booked and the value, cost, margin and MRR
// booked, net of cancellations after booking. ErrValidation when f is
// invalid.
func (s *Service) Bookings(ctx context.Context, f Filter) (Page[Booking], error) {
	g, after, fe := f.check(salesDimensions)
	if err := fe.err(); err != nil {
		return Page[Booking]{}, err
	}
	p := queries.KPIBookingListParams{
		ByMonth: g[ByMonth], BySite: g[BySite], BySalesperson: g[BySalesperson], ByProduct: g[ByProduct],
		SiteID: nonEmpty(f.Site), Currency: nonEmpty(f.Currency), Salesperson: nonEmpty(f.Salesperson), ProductID: f.ProductID,
		FromMonth: f.From.datePtr(), ToMonth: f.To.datePtr(), After: after, MaxRows: keyset.Limit(f.Limit) + 1,
	}
	var rows []queries.KPIBookingListRow
	if err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		rows, err = q.KPIBookingList(ctx, p)
		return err
	}); err != nil {
		return Page[Booking]{}, fmt.Errorf("kpi bookings: %w", err)
	}
	return page(rows, int(p.MaxRows)-1, func(r queries.KPIBookingListRow) []string { return r.SortKey },
		func(r queries.KPIBookingListRow) (Booking, error) {
			grp, err := salesGroup(r.SortKey, r.ProductSku)
			return Booking{
				Group: grp, Orders: int(r.Orders), CancelledOrders: int(r.CancelledOrders),
				Amount: amount(r.Amount), Cost: amount(r.Cost), Margin: amount(r.Margin), MarginPct: r.MarginPct, MRR: amount(r.Mrr),
			}, err
		})
}

// Margin returns a page of the margin report: per group of f.GroupBy (and
// currency), revenue from posted invoices less credit notes, its cost and
// margin. ErrValidation when f is invalid.
func (s *Service) Margin(ctx context.Context, f Filter) (Page[Margin], error) {
	g, after, fe := f.check(salesDimensions)
	if err := fe.err(); err != nil {
		return Page[Margin]{}, err
	}
	p := queries.KPIMarginListParams{
		ByMonth: g[ByMonth], BySite: g[BySite], BySalesperson: g[BySalesperson], ByProduct: g[ByProduct],
		SiteID: nonEmpty(f.Site), Currency: nonEmpty(f.Currency), Salesperson: nonEmpty(f.Salesperson), ProductID: f.ProductID,
		FromMonth: f.From.datePtr(), ToMonth: f.To.datePtr(), After: after, MaxRows: keyset.Limit(f.Limit) + 1,
	}
	var rows []queries.KPIMarginListRow
	if err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		rows, err = q.KPIMarginList(ctx, p)
		return err
	}); err != nil {
		return Page[Margin]{}, fmt.Errorf("kpi margin: %w", err)
	}
	return page(rows, int(p.MaxRows)-1, func(r queries.KPIMarginListRow) []string { return r.SortKey },
		func(r queries.KPIMarginListRow) (Margin, error) {
			grp, err := salesGroup(r.SortKey, r.ProductSku)
			return Margin{
				Group: grp, Invoiced: amount(r.Invoiced), Credited: amount(r.Credited), Revenue: amount(r.Revenue),
				Cost: amount(r.Cost), Margin: amount(r.Margin), MarginPct: r.MarginPct,
			}, err
		})
}

// MRR returns a page of the MRR report: per group of f.GroupBy (and
// currency), MRR at the start and end of each month, or of the range when
// not grouped by month, and its movements classified per f.Level, as of
// the last RefreshMRR. ErrValidation when f is invalid.
func (s *Service) MRR(ctx context.Context, f MRRFilter) (MRRPage, error) {
	if f.Level == "" {
		f.Level = LevelCustomer
	}
	g, after, fe := f.check()
	if err := fe.err(); err != nil {
		return MRRPage{}, err
	}
	p := queries.KPIMRRListParams{
		Level: string(f.Level), ByMonth: g[ByMonth], BySite: g[BySite], ByCustomer: g[ByCustomer], ByContract: g[ByContract],
		SiteID: nonEmpty(f.Site), Currency: nonEmpty(f.Currency), CustomerID: f.CustomerID,
		FromMonth: f.From.datePtr(), ToMonth: f.To.datePtr(), After: after, MaxRows: keyset.Limit(f.Limit) + 1,
	}
	var out MRRPage
	var rows []queries.KPIMRRListRow
	if err := auth.InQueries(ctx, s.pool, func(q *queries.Queries) error {
		var err error
		if out.RefreshedAt, err = q.KPIRefreshedAt(ctx, mrrView); err != nil {
			return err
		}
		rows, err = q.KPIMRRList(ctx, p)
		return err
	}); err != nil {
		return MRRPage{}, fmt.Errorf("kpi mrr: %w", err)
	}
	pg, err := page(rows, int(p.MaxRows)-1, func(r queries.KPIMRRListRow) []string { return r.SortKey },
		func(r queries.KPIMRRListRow) (MRRMovement, error) {
			m := MRRMovement{
				Currency: r.Currency, CustomerName: deref(r.CustomerName), ContractNumber: deref(r.ContractNumber),
				Opening: amount(r.OpeningMrr), New: amount(r.NewMrr), Expansion: amount(r.ExpansionMrr),
				Contraction: amount(r.ContractionMrr), Churned: amount(r.ChurnedMrr), Reactivation: amount(r.ReactivationMrr),
				Closing: amount(r.ClosingMrr), ClosingUnits: int(r.ClosingUnits),
			}
			k, err := readKey(r.SortKey)
			if err != nil {
				return m, err
			}
			m.Month, m.Site = k.month, k.site
			if m.CustomerID, err = k.uuid(3); err != nil {
				return m, err
			}
			m.ContractID, err = k.uuid(4)
			return m, err
		})
	out.Page = pg
	return out, err
}

// mrrView names the materialized view in kpi.refresh.
const mrrView = "mrr_movement_all"

// RefreshMRR recomputes the materialized MRR view from the contracts as
// they are now (readers keep the previous rows until it commits) and
// returns the time its rows are as of. Contract changes show in MRR
// reports only after a refresh; the jobs package runs one every hour.
func (s *Service) RefreshMRR(ctx context.Context) (time.Time, error) {
	var at time.Time
	err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		at, err = q.KPIMRRRefresh(ctx)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("kpi refresh mrr: %w", err)
	}
	return at, nil
}

// Filter checks ------------------------------------------------------------------

var (
	salesDimensions = []Dimension{BySite, ByMonth, ByCurrency, BySalesperson, ByProduct}
	mrrDimensions   = []Dimension{BySite, ByMonth, ByCurrency, ByCustomer, ByContract}
	sitePattern     = regexp.MustCompile(`^[A-Z]{2,8}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// maxSalespersonLen bounds a salesperson filter; names are far shorter.
const maxSalespersonLen = 200

// Validate returns an ErrValidation naming every invalid field of f for
// the bookings and margin reports, or nil. Bookings and Margin check the
// same; callers that parse input call it to report their own errors and
// these in one answer.
func (f Filter) Validate() error {
	_, _, fe := f.check(salesDimensions)
	return fe.err()
}

// Validate returns an ErrValidation naming every invalid field of f for
// the MRR report, or nil, as MRR checks it.
func (f MRRFilter) Validate() error {
	_, _, fe := f.check()
	return fe.err()
}

func (f MRRFilter) check() (map[Dimension]bool, []string, fieldErrors) {
	rf := Filter{Site: f.Site, From: f.From, To: f.To, Currency: f.Currency, GroupBy: f.GroupBy, Cursor: f.Cursor}
	g, after, fe := rf.check(mrrDimensions)
	switch f.Level {
	case "", LevelCustomer:
		if g[ByContract] {
			fe.add("group_by", "contract rows need level=contract: per customer, a contract's changes are not classified on their own")
		}
	case LevelContract:
	default:
		fe.add("level", "must be %s or %s", LevelCustomer, LevelContract)
	}
	return g, after, fe
}

// check validates f for a report that takes the dimensions allowed, and
// returns the dimensions asked for (as a set), the keyset position of the
// cursor (nil for the first page) and every invalid field.
func (f Filter) check(allowed []Dimension) (map[Dimension]bool, []string, fieldErrors) {
	var fe fieldErrors
	if f.Site != "" && !sitePattern.MatchString(f.Site) {
		fe.add("site", "must be a site id, e.g. UK")
	}
	if f.Currency != "" && !currencyPattern.MatchString(f.Currency) {
		fe.add("currency", "must be an ISO 4217 code, e.g. EUR")
	}
	if len(f.Salesperson) > maxSalespersonLen || !text(f.Salesperson) {
		fe.add("salesperson", "must be text of at most %d bytes", maxSalespersonLen)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		fe.add("to", "must not be before from")
	}
	groupBy := f.GroupBy
	if groupBy == nil {
		groupBy = DefaultGroupBy
	}
	g := map[Dimension]bool{}
	for _, d := range groupBy {
		if !slices.Contains(allowed, d) {
			fe.add("group_by", "%q is not a dimension of this report; use %v", d, allowed)
			continue
		}
		g[d] = true
	}
	// The cursor is the sort key of the previous page's last row; none is
	// the first page.
	var after []string
	if f.Cursor != "" {
		var ok bool
		if after, ok = keyset.Decode(f.Cursor, sortKeyLen); !ok {
			after = nil
			fe.add("cursor", "is not a cursor this report returned")
		}
	}
	return g, after, fe
}

// text reports whether s can be a text value in PostgreSQL: valid UTF-8
// without NUL.
func text(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Rows -------------------------------------------------------------------------

// sortKeyLen is the length of every report's sort key: month, site,
// currency and two more dimensions (salesperson and product, or customer
// and contract), empty where not grouped.
const sortKeyLen = 5

// sortKey is a row's group read from its sort key.
type sortKey struct {
	month Month
	site  string
	parts []string
}

func readKey(k []string) (sortKey, error) {
	if len(k) != sortKeyLen {
		return sortKey{}, fmt.Errorf("kpi: sort key %q has %d parts, want %d", k, len(k), sortKeyLen)
	}
	out := sortKey{site: k[1], parts: k}
	if k[0] != "" {
		t, err := time.Parse(time.DateOnly, k[0])
		if err != nil {
			return sortKey{}, fmt.Errorf("kpi: sort key month %q: %w", k[0], err)
		}
		out.month = MonthOf(t)
	}
	return out, nil
}

// uuid reads part i of the key, nil when empty.
func (k sortKey) uuid(i int) (*uuid.UUID, error) {
	if k.parts[i] == "" {
		return nil, nil
	}
	id, err := uuid.Parse(k.parts[i])
	if err != nil {
		return nil, fmt.Errorf("kpi: sort key part %d %q: %w", i, k.parts[i], err)
	}
	return &id, nil
}

// salesGroup reads the group of a bookings or margin row.
func salesGroup(k []string, sku *string) (Group, error) {
	sk, err := readKey(k)
	if err != nil {
		return Group{}, err
	}
	g := Group{Month: sk.month, Site: sk.site, Currency: k[2], Salesperson: k[3], ProductSKU: deref(sku)}
	g.ProductID, err = sk.uuid(4)
	return g, err
}

// page makes a page of n report rows (keyset.Cut) whose conversion can
// fail; the first failure fails the page.
func page[R, T any](rows []R, n int, key func(R) []string, conv func(R) (T, error)) (Page[T], error) {
	var convErr error
	out := keyset.Cut(rows, n, func(r R) T {
		t, err := conv(r)
		if err != nil && convErr == nil {
			convErr = err
		}
		return t
	}, func(last R) string { return keyset.Encode(key(last)...) })
	if convErr != nil {
		return Page[T]{}, convErr
	}
	return out, nil
}

// amount gives an amount the places it needs, at least 2: shares of a
// split line multiply its cents by a percentage, and their exact product
// carries trailing zeros (450.000000) that say nothing.
func amount(d decimal.Decimal) decimal.Decimal {
	for places := int32(2); places < -d.Exponent(); places++ {
		if r := d.Round(places); r.Equal(d) {
			return r
		}
	}
	if d.Exponent() > -2 {
		return d.Round(2)
	}
	return d
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
