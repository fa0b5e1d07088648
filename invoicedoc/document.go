package invoicedoc

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/contracts"
)

// Party is the seller (a legal entity) or the buyer (a customer) as the
// documents show it.
type Party struct {
	Name  string
	VATID string // "" when none
	// Address is the postal address; EN 16931 requires one for both
	// parties (BR-08, BR-10), so every renderer refuses a nil one.
	Address *Address
}

// Address is a party's postal address.
type Address struct {
	Street   string
	City     string
	Postcode string
	Country  string // ISO 3166-1 alpha-2
}

// Document is everything a rendered invoice shows: the invoice with its
// lines, the seller and the buyer.
type Document struct {
	Invoice contracts.Invoice
	Seller  Party
	Buyer   Party
}

// ErrNotPosted is returned by every renderer for an invoice without a
// number: only posted invoices are documents.
var ErrNotPosted = errors.New("invoicedoc: the invoice is not posted")

// ErrIncomplete is what an *IncompleteError is (errors.Is): the document
// lacks something EN 16931 requires of every invoice.
var ErrIncomplete = errors.New("invoicedoc: the document lacks data EN 16931 requires")

// IncompleteError names what a document lacks, as "seller.address",
// "buyer.address" or "seller.vat_id", so that whoever keeps that data can
// add it. Rendering without it would give a document that claims EN 16931
// conformance and breaks it.
type IncompleteError struct {
	Missing []string
}

// Error lists the missing parts.
func (e *IncompleteError) Error() string {
	return ErrIncomplete.Error() + ": " + strings.Join(e.Missing, ", ")
}

// Is makes errors.Is(err, ErrIncomplete) true.
func (e *IncompleteError) Is(target error) bool { return target == ErrIncomplete }

func (d Document) check() error {
	if d.Invoice.Number == "" {
		return ErrNotPosted
	}
	var missing []string
	if d.Seller.VATID == "" {
		missing = append(missing, "seller.vat_id") // BR-CO-26: our only seller identifier
	}
	if d.Seller.Address == nil {
		missing = append(missing, "seller.address")
	}
	if d.Buyer.Address == nil {
		missing = append(missing, "buyer.address")
	}
	if len(missing) > 0 {
		return &IncompleteError{Missing: missing}
	}
	return nil
}

// money formats an amount with two decimals, the way every document shows
// amounts.
func money(d decimal.Decimal) string { return d.StringFixed(2) }

const dateLayout = time.DateOnly

type jsonAddress struct {
	Street   string `json:"street"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

type jsonParty struct {
	Name    string      `json:"name"`
	VATID   string      `json:"vat_id,omitempty"`
	Address jsonAddress `json:"address"`
}

// jsonPartyOf is p as the JSON document shows it, with the VAT id that
// applies to the invoice.
func jsonPartyOf(p Party, vatID string) jsonParty {
	a := p.Address // not nil: check refused a document without one
	return jsonParty{Name: p.Name, VATID: vatID,
		Address: jsonAddress{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}}
}

// jsonLine is a line: for a service, Quantity units at UnitPrice a month
// for Months months, less DiscountPct; for a one-off charge, Months is
// absent.
type jsonLine struct {
	Description string `json:"description"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
	Months      string `json:"months,omitempty"`
	DiscountPct string `json:"discount_pct"`
	Net         string `json:"net"`
	TaxRate     string `json:"tax_rate"`
	Tax         string `json:"tax"`
}

type jsonDocument struct {
	Number        string     `json:"number"`
	IssueDate     string     `json:"issue_date"`
	DueDate       string     `json:"due_date"`
	Currency      string     `json:"currency"`
	ReverseCharge bool       `json:"reverse_charge"`
	Seller        jsonParty  `json:"seller"`
	Buyer         jsonParty  `json:"buyer"`
	Lines         []jsonLine `json:"lines"`
	Net           string     `json:"net"`
	Tax           string     `json:"tax"`
	Total         string     `json:"total"`
}

// JSON renders the document as indented JSON: amounts are strings with two
// decimals, quantities and unit prices exact, dates YYYY-MM-DD. It returns
// ErrNotPosted for an invoice without a number and an *IncompleteError for
// a document without the parties' addresses or the seller's VAT id.
func JSON(doc Document) ([]byte, error) {
	if err := doc.check(); err != nil {
		return nil, err
	}
	inv := doc.Invoice
	out := jsonDocument{
		Number: inv.Number, IssueDate: inv.IssueDate.Format(dateLayout), DueDate: inv.DueDate.Format(dateLayout),
		Currency: inv.Currency, ReverseCharge: inv.ReverseCharge,
		Seller: jsonPartyOf(doc.Seller, doc.Seller.VATID),
		Buyer:  jsonPartyOf(doc.Buyer, buyerVATID(doc)),
		Lines:  make([]jsonLine, len(inv.Lines)),
		Net:    money(inv.Net), Tax: money(inv.Tax), Total: money(inv.Total),
	}
	for i, l := range inv.Lines {
		out.Lines[i] = jsonLine{
			Description: l.Description, PeriodStart: l.PeriodStart.Format(dateLayout), PeriodEnd: l.PeriodEnd.Format(dateLayout),
			Quantity: l.Quantity.String(), UnitPrice: l.UnitPrice.String(), DiscountPct: l.DiscountPct.String(),
			Net: money(l.Net), TaxRate: l.TaxRate.String(), Tax: money(l.Tax),
		}
		if l.ChargeID == nil {
			out.Lines[i].Months = l.Months.String()
		}
	}
	return json.MarshalIndent(out, "", "  ")
}

// buyerVATID is the VAT id the invoice was issued against (the one that
// decided reverse charge), else the customer's current one.
func buyerVATID(doc Document) string {
	if doc.Invoice.CustomerVATID != "" {
		return doc.Invoice.CustomerVATID
	}
	return doc.Buyer.VATID
}
