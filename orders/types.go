package orders

import (
	"time"

	"github.com/google/uuid"
	"github.com/messina-oms/messina/keyset"
	"github.com/shopspring/decimal"
)

// Status is an order's place in its lifecycle.
type Status string

// The statuses of design.md section 3; orders.status_transition in the
// database says which moves are allowed.
const (
	StatusDraft        Status = "draft"
	StatusSubmitted    Status = "submitted"
	StatusApproved     Status = "approved"
	StatusBooked       Status = "booked"
	StatusProvisioning Status = "provisioning"
	StatusCompleted    Status = "completed"
	StatusRejected     Status = "rejected"
	StatusCancelled    Status = "cancelled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusDraft, StatusSubmitted, StatusApproved, StatusBooked, StatusProvisioning,
		StatusCompleted, StatusRejected, StatusCancelled:
		return true
	}
	return false
}

// ProductKind says whether a product is billed once or every period.
type ProductKind string

// Product kinds.
const (
	OneOff    ProductKind = "one_off"
	Recurring ProductKind = "recurring"
)

// BillingFrequency is the period of a recurring line.
type BillingFrequency string

// Billing frequencies.
const (
	Monthly    BillingFrequency = "monthly"
	Quarterly  BillingFrequency = "quarterly"
	Semiannual BillingFrequency = "semiannual"
	Annual     BillingFrequency = "annual"
)

// Months is the length of one period in months, 0 for an unknown value.
func (f BillingFrequency) Months() int {
	switch f {
	case Monthly:
		return 1
	case Quarterly:
		return 3
	case Semiannual:
		return 6
	case Annual:
		return 12
	}
	return 0
}

// Site is a country business unit; its id (e.g. "UK") is what row-level
// security and principals' site lists use.
type Site struct {
	ID        string
	Name      string
	Country   string
	Currency  string
	Timezone  string
	CreatedAt time.Time
	Version   int32
}

// SiteRules is the complete set of a site's business rules from
// EffectiveFrom until the next set. Setting new rules adds a set; rules in
// force are never edited, so the past stays as it was.
type SiteRules struct {
	SiteID        string
	EffectiveFrom time.Time // a date in the site's timezone
	// BillingTiming is "advance" or "arrears".
	BillingTiming string
	// Proration is "daily", "monthly" or "none".
	Proration            string
	DefaultRenewalMonths int
	NoticeDays           int
	// CancellationPolicy is "end_of_term", "end_of_notice" or "immediate_with_fee".
	CancellationPolicy string
	// InvoiceNumberFormat uses {prefix}, {yyyy} and {seq:N}.
	InvoiceNumberFormat string
	// TaxRate is a fraction: 0.2 for 20 %.
	TaxRate       decimal.Decimal
	ReverseCharge bool
	// Rounding is "half_up" or "half_even", to RoundingScale decimals.
	Rounding      string
	RoundingScale int
	Currency      string
	Timezone      string
	// An order needs approval when its total value exceeds
	// ApprovalAmountThreshold or its margin % is below ApprovalMinMarginPct.
	ApprovalAmountThreshold decimal.Decimal
	ApprovalMinMarginPct    decimal.Decimal
	CreatedAt               time.Time // zero on input
	CreatedBy               string    // ignored on input
}

// Address is a postal address as invoices show it (EN 16931 BG-5 and
// BG-8). It is whole or absent: every field is required when one is given.
type Address struct {
	Street   string
	City     string
	Postcode string
	// Country is an ISO 3166-1 alpha-2 code, e.g. "GB"; the database
	// refuses a code that is not assigned.
	Country string
}

// LegalEntity is the company of a site that contracts and invoices.
type LegalEntity struct {
	ID            uuid.UUID
	SiteID        string
	Name          string
	VATID         string
	InvoicePrefix string
	// Address is nil for entities made before addresses were recorded.
	Address   *Address
	CreatedAt time.Time
	Version   int32
}

// LegalEntityInput creates a legal entity.
type LegalEntityInput struct {
	SiteID        string
	Name          string
	VATID         string
	InvoicePrefix string
	Address       *Address // optional
}

// Customer is a buyer of one site with its billing profile.
type Customer struct {
	ID               uuid.UUID
	SiteID           string
	Name             string
	VATID            string // "" when none
	Currency         string
	Language         string // e.g. "en", "fr-FR"
	Timezone         string
	PaymentTermsDays int
	PORequired       bool
	// Address is nil when none was recorded.
	Address   *Address
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int32
}

// CustomerInput creates or replaces a customer's fields. On update SiteID
// must be empty or the customer's site: customers do not move.
type CustomerInput struct {
	SiteID           string
	Name             string
	VATID            string
	Currency         string
	Language         string
	Timezone         string
	PaymentTermsDays int
	PORequired       bool
	// Address is the whole address, or nil for none (on update: remove it).
	Address *Address
}

// CustomerFilter selects customers for ListCustomers.
type CustomerFilter struct {
	SiteID string // "" = every visible site
	Search string // case-insensitive substring of the name
	Limit  int    // 0 = DefaultLimit; at most MaxLimit
	Cursor string // NextCursor of the previous page
}

// Product is an item of the catalogue shared by all sites.
type Product struct {
	ID                uuid.UUID
	SKU               string
	Name              string
	Kind              ProductKind
	BillingFrequency  BillingFrequency // "" for one-off products
	DefaultTermMonths int              // 0 for one-off products
	Active            bool
	CreatedAt         time.Time
	Version           int32
}

// ProductInput creates a product.
type ProductInput struct {
	SKU               string
	Name              string
	Kind              ProductKind
	BillingFrequency  BillingFrequency
	DefaultTermMonths int
}

// ProductFilter selects products for ListProducts.
type ProductFilter struct {
	Kind   ProductKind // "" = any
	Active *bool       // nil = any
	Limit  int
	Cursor string
}

// PriceBook holds prices of one site in one currency: the standard book
// when CustomerID is nil, else one customer's negotiated prices, which
// override the standard ones product by product.
type PriceBook struct {
	ID         uuid.UUID
	SiteID     string
	Name       string
	Currency   string
	CustomerID *uuid.UUID
	CreatedAt  time.Time
}

// PriceBookInput creates a price book.
type PriceBookInput struct {
	SiteID     string
	Name       string
	Currency   string
	CustomerID *uuid.UUID
}

// Price is a product's price and cost in a book from EffectiveFrom until
// the next price of the same book and product. For recurring products both
// are per month.
type Price struct {
	ID            uuid.UUID
	PriceBookID   uuid.UUID
	SiteID        string
	ProductID     uuid.UUID
	EffectiveFrom time.Time
	UnitPrice     decimal.Decimal
	// UnitCost is required in standard books; in a customer book an
	// invalid (NULL) cost means "the standard cost".
	UnitCost  decimal.NullDecimal
	CreatedAt time.Time
}

// PriceInput adds a price to a book.
type PriceInput struct {
	PriceBookID   uuid.UUID
	ProductID     uuid.UUID
	EffectiveFrom time.Time
	UnitPrice     decimal.Decimal
	UnitCost      decimal.NullDecimal
}

// PriceQuery asks for the price in force.
type PriceQuery struct {
	SiteID     string
	CustomerID *uuid.UUID // nil = the standard price
	ProductID  uuid.UUID
	Currency   string
	On         time.Time // a date
}

// PriceQuote is the price and cost in force for a query.
type PriceQuote struct {
	UnitPrice decimal.Decimal
	UnitCost  decimal.Decimal
	// PriceID is the price row of the unit price.
	PriceID uuid.UUID
	// Source is "customer" when a customer override applies, else "standard".
	Source string
}

// Order is an order header with, when read singly, its lines and totals.
type Order struct {
	ID               uuid.UUID
	Number           string
	SiteID           string
	LegalEntityID    uuid.UUID
	CustomerID       uuid.UUID
	Salesperson      string
	Currency         string
	PONumber         string // "" when none
	Notes            string
	OrderDate        time.Time
	Status           Status
	StatusReason     string
	StatusChangedAt  time.Time
	StatusChangedBy  string
	ApprovalRequired *bool // nil until submitted
	ApprovalReason   string
	CreatedAt        time.Time
	CreatedBy        string
	UpdatedAt        time.Time
	// Version changes with every change of the order or its lines; pass it
	// back as the expected version (If-Match) to update.
	Version int32
	// Lines is nil in list results.
	Lines  []Line
	Totals Totals
}

// Line is an order line with its amounts in the order's currency.
type Line struct {
	ID               uuid.UUID
	OrderID          uuid.UUID
	LineNo           int
	ProductID        uuid.UUID
	Description      string
	Kind             ProductKind
	BillingFrequency BillingFrequency // "" for one-off
	TermMonths       int              // 0 for one-off
	Quantity         decimal.Decimal
	// UnitPrice and UnitCost of recurring lines are per month, whatever the
	// billing frequency (which only sets how often we invoice).
	UnitPrice decimal.Decimal
	// UnitCost is our cost when the line was added, kept as it was.
	UnitCost    decimal.Decimal
	DiscountPct decimal.Decimal
	Currency    string
	PriceID     *uuid.UUID
	// Periods is the number of billing periods (invoices) in the term; 1
	// for one-off.
	Periods int
	// NetAmount and CostAmount are per month for recurring lines and in all
	// for one-off lines: quantity x unit price less discount, rounded to
	// cents.
	NetAmount  decimal.Decimal
	CostAmount decimal.Decimal
	// Value, Cost and Margin cover the whole term (NetAmount x TermMonths
	// for recurring lines).
	Value     decimal.Decimal
	Cost      decimal.Decimal
	Margin    decimal.Decimal
	MarginPct decimal.NullDecimal // invalid when Value is zero
	// Splits share the line's sales credit; the rest goes to the order's
	// salesperson.
	Splits    []Split
	CreatedAt time.Time
}

// Split gives a salesperson a share of a line's sales credit.
type Split struct {
	Salesperson string
	SharePct    decimal.Decimal
}

// Totals sums an order's lines.
type Totals struct {
	LineCount int
	OneOff    decimal.Decimal // one-off amounts
	MRR       decimal.Decimal // monthly recurring revenue
	Value     decimal.Decimal // total contract value over the terms
	Cost      decimal.Decimal
	Margin    decimal.Decimal
	MarginPct decimal.NullDecimal // invalid when Value is zero
}

// OrderInput creates an order with its lines.
type OrderInput struct {
	// SiteID may be empty: it is then the customer's site.
	SiteID        string
	LegalEntityID uuid.UUID
	CustomerID    uuid.UUID
	Salesperson   string
	// Currency may be empty: it is then the customer's currency.
	Currency string
	PONumber string
	Notes    string
	Lines    []LineInput
}

// LineInput adds or replaces an order line.
type LineInput struct {
	ProductID   uuid.UUID
	Description string // "" = the product name
	Quantity    decimal.Decimal
	// UnitPrice invalid = the price in force for the customer.
	UnitPrice   decimal.NullDecimal
	DiscountPct decimal.Decimal
	// Currency "" = the order's; any other currency is refused.
	Currency string
	// BillingFrequency and TermMonths default to the product's for
	// recurring products and must be empty for one-off products.
	BillingFrequency BillingFrequency
	TermMonths       int
	Splits           []Split
}

// OrderPatch changes an order header; nil fields stay as they are.
// Customer and legal entity can change only in draft.
type OrderPatch struct {
	LegalEntityID *uuid.UUID
	CustomerID    *uuid.UUID
	Salesperson   *string
	PONumber      *string // "" clears it
	Notes         *string
}

// OrderFilter selects orders for ListOrders. Zero fields do not filter.
type OrderFilter struct {
	SiteID      string
	Status      Status
	CustomerID  *uuid.UUID
	Salesperson string
	// From and To bound the order date, both inclusive.
	From   *time.Time
	To     *time.Time
	Limit  int
	Cursor string
}

// Page is one page of a list; NextCursor is "" on the last page.
type Page[T any] = keyset.Page[T]

// Transition is one recorded status change.
type Transition struct {
	From   Status
	To     Status
	Actor  string
	Reason string
	At     time.Time
}

// Approval is one approval decision: "auto" (under the site thresholds),
// "approved" or "rejected".
type Approval struct {
	Decision  string
	DecidedBy string
	Reason    string
	DecidedAt time.Time
}
