package kpi

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/messina-oms/messina/keyset"
	"github.com/shopspring/decimal"
)

// Month is a calendar month. The zero Month means "none": an open end of a
// range, or a row not grouped by month.
type Month struct {
	// first is the month's first day at midnight UTC; zero for none.
	first time.Time
}

// MonthOf returns the month of t's calendar date (in t's location).
func MonthOf(t time.Time) Month {
	return Month{first: time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)}
}

// NewMonth returns month m of year y.
func NewMonth(y int, m time.Month) Month {
	return MonthOf(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
}

// ParseMonth reads "YYYY-MM", e.g. "2026-03", of year 1 or later. Anything
// else, including a day ("2026-03-01") or a month without its zero
// ("2026-3"), is an error.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != len("2006-01") || t.Year() < 1 {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM, e.g. 2026-03", s)
	}
	return MonthOf(t), nil
}

// IsZero reports whether m is no month.
func (m Month) IsZero() bool { return m.first.IsZero() }

// First returns the month's first day, midnight UTC (the zero time for no
// month).
func (m Month) First() time.Time { return m.first }

// Before reports whether m is an earlier month than o.
func (m Month) Before(o Month) bool { return m.first.Before(o.first) }

// String formats m as "YYYY-MM", or "" for no month.
func (m Month) String() string {
	if m.IsZero() {
		return ""
	}
	return m.first.Format("2006-01")
}

// datePtr is the month's first day for a query parameter, nil for none.
func (m Month) datePtr() *time.Time {
	if m.IsZero() {
		return nil
	}
	t := m.first
	return &t
}

// Dimension is what report rows may be grouped by. Every report groups by
// currency as well, whatever is asked: amounts in different currencies are
// never added up.
type Dimension string

// The dimensions. Bookings and margin take site, month, salesperson and
// product; MRR takes site, month, customer and contract.
const (
	BySite        Dimension = "site"
	ByMonth       Dimension = "month"
	ByCurrency    Dimension = "currency"
	BySalesperson Dimension = "salesperson"
	ByProduct     Dimension = "product"
	ByCustomer    Dimension = "customer"
	ByContract    Dimension = "contract"
)

// DefaultGroupBy is the grouping of a report that asks for none: per site
// and month (and currency).
var DefaultGroupBy = []Dimension{BySite, ByMonth}

// Level is the unit whose MRR changes are classified as new, expansion,
// contraction, churn or reactivation.
type Level string

// The levels. Per customer (the default), a customer moving from one
// contract to another is neither churn nor new business; per contract it
// is both.
const (
	LevelCustomer Level = "customer"
	LevelContract Level = "contract"
)

// List limits: a page holds DefaultLimit rows unless asked otherwise, and
// never more than MaxLimit.
const (
	DefaultLimit = keyset.DefaultLimit
	MaxLimit     = keyset.MaxLimit
)

// Filter selects and groups the rows of the bookings and margin reports.
// Zero fields do not filter.
type Filter struct {
	// Site is a site id, e.g. "UK"; rows of sites the caller cannot see are
	// never in a report, whatever the filter.
	Site string
	// From and To bound the month, both inclusive.
	From, To    Month
	Salesperson string
	ProductID   *uuid.UUID
	// Currency is an ISO 4217 code, e.g. "EUR".
	Currency string
	// GroupBy lists the dimensions of a row; nil means DefaultGroupBy.
	GroupBy []Dimension
	// Limit is the page size (DefaultLimit when 0, at most MaxLimit).
	Limit int
	// Cursor is a page's NextCursor, to read the page after it.
	Cursor string
}

// MRRFilter selects and groups the rows of the MRR report. Zero fields do
// not filter.
type MRRFilter struct {
	Site       string
	From, To   Month
	Currency   string
	CustomerID *uuid.UUID
	// Level is LevelCustomer when empty.
	Level Level
	// GroupBy lists the dimensions of a row (site, month, customer,
	// contract; contract only at LevelContract); nil means DefaultGroupBy.
	GroupBy []Dimension
	Limit   int
	Cursor  string
}

// Group is the key of a report row: the values of the dimensions it is
// grouped by, zero values for the others. Currency is always set.
type Group struct {
	Month       Month
	Site        string
	Currency    string
	Salesperson string
	// ProductID is nil when not grouped by product, and in a margin row
	// grouped by product, for charges (early-termination fees), which have
	// no product.
	ProductID  *uuid.UUID
	ProductSKU string
}

// Booking is one row of the bookings report. Amounts are in Currency and
// cover whole terms; a cancellation after booking counts negative in the
// month of the cancellation.
type Booking struct {
	Group
	// Orders booked and orders whose booking was cancelled in the group.
	Orders, CancelledOrders int
	// Amount is the value booked (recurring lines over their term), Cost our
	// cost over the same terms, Margin the difference.
	Amount, Cost, Margin decimal.Decimal
	// MarginPct is Margin / Amount x 100, invalid when Amount is not positive.
	MarginPct decimal.NullDecimal
	// MRR is the monthly recurring revenue booked.
	MRR decimal.Decimal
}

// Margin is one row of the margin report: invoiced revenue, net of tax and
// of credit notes, and its cost, in Currency.
type Margin struct {
	Group
	// Invoiced is the net of posted invoice lines, Credited that of credit
	// note lines, Revenue the difference.
	Invoiced, Credited, Revenue decimal.Decimal
	// Cost is the invoice lines' cost snapshots less what credit notes took
	// back; Margin is Revenue - Cost.
	Cost, Margin decimal.Decimal
	// MarginPct is Margin / Revenue x 100, invalid when Revenue is not positive.
	MarginPct decimal.NullDecimal
}

// MRRMovement is one row of the MRR report, in Currency: the MRR at the
// start and end of a month (or of the filter's range, when not grouped by
// month) and the changes between them. Decreases are negative, so Opening +
// New + Expansion + Contraction + Churned + Reactivation = Closing.
type MRRMovement struct {
	Month    Month
	Site     string
	Currency string
	// CustomerID and CustomerName are set when grouped by customer or by
	// contract; ContractID and ContractNumber when grouped by contract.
	CustomerID     *uuid.UUID
	CustomerName   string
	ContractID     *uuid.UUID
	ContractNumber string

	Opening, New, Expansion, Contraction, Churned, Reactivation, Closing decimal.Decimal
	// ClosingUnits counts the customers (or contracts, at LevelContract)
	// with MRR at the end.
	ClosingUnits int
}

// Page is one page of a report; NextCursor reads the next page, "" on the
// last page.
type Page[T any] = keyset.Page[T]

// MRRPage is a page of the MRR report and how fresh it is: MRR is read
// from a materialized view, recomputed by RefreshMRR.
type MRRPage struct {
	Page[MRRMovement]
	// RefreshedAt is when the rows were computed: changes to contracts
	// after it are not in them yet.
	RefreshedAt time.Time
}
