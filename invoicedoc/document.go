package invoicedoc

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/contracts"
)

// Party is the seller (a legal entity) or the buyer (a customer) as the
// documents show it.
type Party struct {
	Name  string
	VATID string // "" when none
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

func (d Document) check() error {
	if d.Invoice.Number == "" {
		return ErrNotPosted
	}
	return nil
}

// money formats an amount with two decimals, the way every document shows
// amounts.
func money(d decimal.Decimal) string { return d.StringFixed(2) }

const dateLayout = time.DateOnly

type jsonParty struct {
	Name  string `json:"name"`
	VATID string `json:"vat_id,omitempty"`
}

type jsonLine struct {
	Description string `json:"description"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	Quantity    string `json:"quantity"`
	UnitPrice   string `json:"unit_price"`
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
// ErrNotPosted for an invoice without a number.
func JSON(doc Document) ([]byte, error) {
	if err := doc.check(); err != nil {
		return nil, err
	}
	inv := doc.Invoice
	out := jsonDocument{
		Number: inv.Number, IssueDate: inv.IssueDate.Format(dateLayout), DueDate: inv.DueDate.Format(dateLayout),
		Currency: inv.Currency, ReverseCharge: inv.ReverseCharge,
		Seller: jsonParty{Name: doc.Seller.Name, VATID: doc.Seller.VATID},
		Buyer:  jsonParty{Name: doc.Buyer.Name, VATID: buyerVATID(doc)},
		Lines:  make([]jsonLine, len(inv.Lines)),
		Net:    money(inv.Net), Tax: money(inv.Tax), Total: money(inv.Total),
	}
	for i, l := range inv.Lines {
		out.Lines[i] = jsonLine{
			Description: l.Description, PeriodStart: l.PeriodStart.Format(dateLayout), PeriodEnd: l.PeriodEnd.Format(dateLayout),
			Quantity: l.Quantity.String(), UnitPrice: l.UnitPrice.String(), Net: money(l.Net), TaxRate: l.TaxRate.String(), Tax: money(l.Tax),
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
