package contracts

import (
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Status is a contract's state: active, notice_given (an end date is
// set), cancelled (ended before its term end) or ended (at its term end).
type Status string

// Contract statuses.
const (
	StatusActive      Status = "active"
	StatusNoticeGiven Status = "notice_given"
	StatusCancelled   Status = "cancelled"
	StatusEnded       Status = "ended"
)

// ETFRule says how an early-termination fee is computed: none, a fixed
// amount (ETFValue), a percentage (ETFValue) of the remaining committed
// value, or all of it.
type ETFRule string

// Early-termination fee rules.
const (
	ETFNone      ETFRule = "none"
	ETFFixed     ETFRule = "fixed"
	ETFPct       ETFRule = "pct"
	ETFRemaining ETFRule = "remaining"
)

// Policy is how a cancellation takes effect (see Service.Cancel).
type Policy string

// Cancellation policies.
const (
	PolicyImmediate   Policy = "immediate"
	PolicyEndOfPeriod Policy = "end_of_period"
	PolicyEndOfTerm   Policy = "end_of_term"
	PolicyOnDate      Policy = "on_date"
)

// Timing is when a line is billed: at the start of its period (advance)
// or after it ended (arrears).
type Timing string

// Billing timings.
const (
	Advance Timing = "advance"
	Arrears Timing = "arrears"
)

// Contract is a contract with its lines.
type Contract struct {
	ID                uuid.UUID
	Number            string
	SiteID            string
	CustomerID        uuid.UUID
	LegalEntityID     uuid.UUID
	Currency          string
	OrderID           uuid.UUID
	StartDate         time.Time
	InitialTermMonths int
	RenewalTermMonths int
	// TermNo counts terms: 1 for the initial term, +1 per renewal.
	TermNo            int
	TermStart         time.Time
	TermEnd           time.Time
	AutoRenew         bool
	NoticeDays        int
	UpliftPct         decimal.Decimal
	MinimumCommitment decimal.Decimal
	ETFRule           ETFRule
	ETFValue          decimal.Decimal
	Status            Status
	// EndDate is the last day of service once known.
	EndDate *time.Time
	Version int
	Lines   []Line
}

// Line is a contract line: a recurring service priced per month.
type Line struct {
	ID               uuid.UUID
	LineNo           int
	OrderLineID      *uuid.UUID
	ProductID        uuid.UUID
	Description      string
	Quantity         decimal.Decimal
	UnitPrice        decimal.Decimal // per month
	UnitCost         decimal.Decimal // per month
	DiscountPct      decimal.Decimal
	BillingFrequency string
	BillingTiming    Timing
	StartDate        time.Time
	EndDate          *time.Time
	// BilledThrough is the last day invoiced (StartDate - 1 before the first).
	BilledThrough time.Time
}

// Terms are the contract terms a caller may set; nil keeps the default
// (the site's rules in force at the start date, else the column default).
type Terms struct {
	StartDate         *time.Time // default: the order date
	AutoRenew         *bool
	RenewalTermMonths *int
	NoticeDays        *int
	UpliftPct         *decimal.Decimal
	MinimumCommitment *decimal.Decimal
	ETFRule           *ETFRule
	ETFValue          *decimal.Decimal
	BillingTiming     *Timing // only at creation
}

// Amendment is one immutable version of a contract.
type Amendment struct {
	ContractID    uuid.UUID
	Version       int
	Kind          string // created, lines_added, terms, notice, cancelled, renewed, ended, lines_changed
	EffectiveDate time.Time
	// Snapshot is the contract and its lines after the change, as JSON.
	Snapshot  []byte
	CreatedAt time.Time
	CreatedBy string
}

// Cancellation asks to end a contract by Policy, received on ReceivedOn;
// EndDate is the last day of service for PolicyOnDate. Policy "" means the
// site's cancellation policy in force on ReceivedOn (see Service.Cancel).
type Cancellation struct {
	Policy     Policy
	ReceivedOn time.Time
	EndDate    *time.Time
}

// Notice is a notice of non-renewal or a cancellation as recorded.
type Notice struct {
	ID           uuid.UUID
	ContractID   uuid.UUID
	Policy       Policy
	ReceivedOn   time.Time
	RequestedEnd *time.Time
	// EffectiveEnd is the last day of service it leads to.
	EffectiveEnd time.Time
	// OnTime is false for a notice of non-renewal that arrived after
	// term_end - notice_days: the contract then ends a term later.
	OnTime bool
}

// Charge is a one-off charge of a contract billed by the next run (the
// early-termination fee).
type Charge struct {
	ID          uuid.UUID
	ContractID  uuid.UUID
	Kind        string
	Description string
	Amount      decimal.Decimal
	ChargeDate  time.Time
}

// RunStatus is an invoice run's state: planned -> previewed (drafts
// prepared) -> approved -> posted, or discarded.
type RunStatus string

// Invoice run statuses.
const (
	RunPlanned   RunStatus = "planned"
	RunPreviewed RunStatus = "previewed"
	RunApproved  RunStatus = "approved"
	RunPosted    RunStatus = "posted"
	RunDiscarded RunStatus = "discarded"
)

// Run is an invoice run of a site up to a date.
type Run struct {
	ID           uuid.UUID
	SiteID       string
	RunDate      time.Time
	Status       RunStatus
	InvoiceCount int
	LineCount    int
	CreatedAt    time.Time
}

// InvoiceStatus is draft (prepared, no number), posted (numbered,
// immutable) or void (fully credited).
type InvoiceStatus string

// Invoice statuses.
const (
	InvoiceDraft  InvoiceStatus = "draft"
	InvoicePosted InvoiceStatus = "posted"
	InvoiceVoid   InvoiceStatus = "void"
)

// Invoice is one invoice of a run with its lines.
type Invoice struct {
	ID            uuid.UUID
	RunID         uuid.UUID
	SiteID        string
	LegalEntityID uuid.UUID
	CustomerID    uuid.UUID
	Currency      string
	Status        InvoiceStatus
	Number        string // "" until posted
	Seq           int64  // 0 until posted
	IssueDate     time.Time
	DueDate       time.Time
	ReverseCharge bool
	CustomerVATID string
	Net           decimal.Decimal
	Tax           decimal.Decimal
	Total         decimal.Decimal
	Cost          decimal.Decimal
	ContentHash   []byte
	PrevHash      []byte
	ChainHash     []byte
	// Seller and Buyer are the parties as they were when the invoice was
	// posted, which its documents show; nil for a draft.
	Seller *Party
	Buyer  *Party
	Lines  []InvoiceLine
}

// Party is the seller or the buyer of an invoice, as posted.
type Party struct {
	Name  string `json:"name"`
	VATID string `json:"vat_id"` // "" for a buyer without one
	// Address is nil when the party had none (the documents refuse that).
	Address *PartyAddress `json:"address"`
}

// PartyAddress is a party's postal address (EN 16931 BG-5, BG-8).
type PartyAddress struct {
	Street   string `json:"street"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"` // ISO 3166-1 alpha-2
}

// InvoiceLine is one line of an invoice: a service period of a contract
// line, or a one-off charge (ChargeID set, a one-day period).
type InvoiceLine struct {
	ID             uuid.UUID
	ContractID     uuid.UUID
	ContractLineID *uuid.UUID
	ChargeID       *uuid.UUID
	Description    string
	PeriodStart    time.Time
	PeriodEnd      time.Time
	Quantity       decimal.Decimal
	UnitPrice      decimal.Decimal
	DiscountPct    decimal.Decimal
	// Months billed: the period's months times the day-count fraction.
	Months  decimal.Decimal
	Net     decimal.Decimal
	TaxRate decimal.Decimal
	Tax     decimal.Decimal
	Cost    decimal.Decimal
}

// CreditLine asks to credit Amount (net) of an invoice line.
type CreditLine struct {
	InvoiceLineID uuid.UUID
	Amount        decimal.Decimal
}

// CreditNote is an issued (numbered, immutable) credit note with its lines.
type CreditNote struct {
	ID            uuid.UUID
	InvoiceID     uuid.UUID
	LegalEntityID uuid.UUID
	CustomerID    uuid.UUID
	Currency      string
	Number        string
	Seq           int64
	IssueDate     time.Time
	Reason        string
	Net           decimal.Decimal
	Tax           decimal.Decimal
	Total         decimal.Decimal
	ContentHash   []byte
	PrevHash      []byte
	ChainHash     []byte
	Lines         []CreditNoteLine
}

// CreditNoteLine is one credited invoice line.
type CreditNoteLine struct {
	InvoiceLineID uuid.UUID
	Description   string
	PeriodStart   time.Time
	PeriodEnd     time.Time
	Net           decimal.Decimal
	Tax           decimal.Decimal
}
