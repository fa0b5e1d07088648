package invoicedoc

import (
	"bytes"
	"encoding/xml"
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/contracts"
)

// UBL namespaces and identifiers.
const (
	nsInvoice       = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
	nsCAC           = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
	nsCBC           = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
	customizationID = "urn:cen.eu:en16931:2017"
	invoiceTypeCode = "380" // commercial invoice
	unitCodeEach    = "C62" // UN/ECE rec 20 "one"
	unitCodeMonth   = "MON" // UN/ECE rec 20 "month"
	// roundingReason explains a line allowance or charge that carries the
	// difference between the line's net, rounded once from the exact
	// proration, and the product of the quantity shown (whose months are
	// stored to 6 decimals) and the price.
	roundingReason = "Rounding of the prorated quantity"

	// Tax categories (UNCL 5305).
	categoryStandard      = "S"
	categoryZero          = "Z"
	categoryReverseCharge = "AE"
	reverseChargeReason   = "Reverse charge"
	reverseChargeCode     = "VATEX-EU-AE"
)

type ublAmount struct {
	Currency string `xml:"currencyID,attr"`
	Value    string `xml:",chardata"`
}

type ublQuantity struct {
	Unit  string `xml:"unitCode,attr"`
	Value string `xml:",chardata"`
}

type ublTaxScheme struct {
	ID string `xml:"cbc:ID"`
}

type ublPartyTaxScheme struct {
	CompanyID string       `xml:"cbc:CompanyID"`
	TaxScheme ublTaxScheme `xml:"cac:TaxScheme"`
}

type ublLegalEntity struct {
	RegistrationName string `xml:"cbc:RegistrationName"`
}

// ublAddress is a cac:PostalAddress; UBL's schema fixes the order of its
// elements (street, city, postal zone, country).
type ublAddress struct {
	StreetName  string `xml:"cbc:StreetName"`
	CityName    string `xml:"cbc:CityName"`
	PostalZone  string `xml:"cbc:PostalZone"`
	CountryCode string `xml:"cac:Country>cbc:IdentificationCode"`
}

// ublParty's fields follow the order of UBL's PartyType: name, postal
// address, tax scheme, legal entity.
type ublParty struct {
	Name           string             `xml:"cac:PartyName>cbc:Name"`
	PostalAddress  ublAddress         `xml:"cac:PostalAddress"`
	PartyTaxScheme *ublPartyTaxScheme `xml:"cac:PartyTaxScheme,omitempty"`
	LegalEntity    ublLegalEntity     `xml:"cac:PartyLegalEntity"`
}

type ublTaxCategory struct {
	ID                     string       `xml:"cbc:ID"`
	Percent                string       `xml:"cbc:Percent"`
	TaxExemptionReasonCode string       `xml:"cbc:TaxExemptionReasonCode,omitempty"`
	TaxExemptionReason     string       `xml:"cbc:TaxExemptionReason,omitempty"`
	TaxScheme              ublTaxScheme `xml:"cac:TaxScheme"`
}

type ublTaxSubtotal struct {
	TaxableAmount ublAmount      `xml:"cbc:TaxableAmount"`
	TaxAmount     ublAmount      `xml:"cbc:TaxAmount"`
	TaxCategory   ublTaxCategory `xml:"cac:TaxCategory"`
}

type ublTaxTotal struct {
	TaxAmount ublAmount        `xml:"cbc:TaxAmount"`
	Subtotals []ublTaxSubtotal `xml:"cac:TaxSubtotal"`
}

type ublMonetaryTotal struct {
	LineExtensionAmount ublAmount `xml:"cbc:LineExtensionAmount"`
	TaxExclusiveAmount  ublAmount `xml:"cbc:TaxExclusiveAmount"`
	TaxInclusiveAmount  ublAmount `xml:"cbc:TaxInclusiveAmount"`
	PayableAmount       ublAmount `xml:"cbc:PayableAmount"`
}

type ublPeriod struct {
	StartDate string `xml:"cbc:StartDate"`
	EndDate   string `xml:"cbc:EndDate"`
}

// ublAllowanceCharge is a cac:AllowanceCharge; its fields follow the order
// of UBL's AllowanceChargeType.
type ublAllowanceCharge struct {
	ChargeIndicator bool       `xml:"cbc:ChargeIndicator"`
	Reason          string     `xml:"cbc:AllowanceChargeReason,omitempty"`
	Amount          ublAmount  `xml:"cbc:Amount"`
	BaseAmount      *ublAmount `xml:"cbc:BaseAmount,omitempty"`
}

// ublPrice is the item net price (BT-146) and, for a discounted line, the
// discount (BT-147) off the gross price (BT-148) it comes from.
type ublPrice struct {
	PriceAmount ublAmount           `xml:"cbc:PriceAmount"`
	Discount    *ublAllowanceCharge `xml:"cac:AllowanceCharge,omitempty"`
}

type ublItem struct {
	Name                  string         `xml:"cbc:Name"`
	ClassifiedTaxCategory ublTaxCategory `xml:"cac:ClassifiedTaxCategory"`
}

// ublLine's fields follow the order of UBL's InvoiceLineType.
type ublLine struct {
	ID                  string               `xml:"cbc:ID"`
	InvoicedQuantity    ublQuantity          `xml:"cbc:InvoicedQuantity"`
	LineExtensionAmount ublAmount            `xml:"cbc:LineExtensionAmount"`
	InvoicePeriod       ublPeriod            `xml:"cac:InvoicePeriod"`
	AllowanceCharges    []ublAllowanceCharge `xml:"cac:AllowanceCharge"`
	Item                ublItem              `xml:"cac:Item"`
	Price               ublPrice             `xml:"cac:Price"`
}

// halfCent is the most a two-decimal amount may differ from the exact
// value it was rounded from, whatever the rounding mode.
var halfCent = decimal.New(5, -3)

// invoiceLine renders line number no of inv so that EN 16931's line
// arithmetic holds exactly: LineExtensionAmount (the invoice line's net)
// is InvoicedQuantity x PriceAmount, plus line charges, minus line
// allowances, rounded to two decimals (PEPPOL-EN16931-R120 checks it).
//
// A service line is billed per month, for Quantity units over Months
// months (a quarterly line covers 3, a prorated one a fraction), so its
// quantity is Quantity x Months in unit-months (MON) and its price the
// monthly unit price after the line's discount, which the price shows as
// an allowance off the gross price (BT-146 = BT-148 - BT-147). A one-off
// charge is Quantity units (C62) at its unit price.
//
// The net was rounded once from the exact proration, while Months is
// stored to 6 decimals; for a large prorated amount the two can differ by
// more than half a cent. Then a line allowance or charge carries the
// difference, so that the document adds up and still shows the invoiced
// net, never a recomputed one.
func invoiceLine(no int, inv contracts.Invoice, l contracts.InvoiceLine, cat ublTaxCategory) ublLine {
	amt := func(d decimal.Decimal) ublAmount { return ublAmount{Currency: inv.Currency, Value: money(d)} }
	exact := func(d decimal.Decimal) ublAmount { return ublAmount{Currency: inv.Currency, Value: d.String()} }
	out := ublLine{
		ID:                  strconv.Itoa(no),
		LineExtensionAmount: amt(l.Net),
		InvoicePeriod:       ublPeriod{StartDate: l.PeriodStart.Format(dateLayout), EndDate: l.PeriodEnd.Format(dateLayout)},
		Item:                ublItem{Name: l.Description, ClassifiedTaxCategory: cat},
	}
	qty, unit := l.Quantity, unitCodeEach
	if l.ChargeID == nil {
		qty, unit = l.Quantity.Mul(l.Months), unitCodeMonth
	}
	price := l.UnitPrice
	if l.DiscountPct.IsPositive() {
		price = l.UnitPrice.Mul(decimal.NewFromInt(1).Sub(l.DiscountPct.Shift(-2)))
		out.Price.Discount = &ublAllowanceCharge{Amount: exact(l.UnitPrice.Sub(price)), BaseAmount: ptr(exact(l.UnitPrice))}
	}
	out.InvoicedQuantity = ublQuantity{Unit: unit, Value: qty.String()}
	out.Price.PriceAmount = exact(price)
	product := qty.Mul(price)
	if product.Sub(l.Net).Abs().GreaterThan(halfCent) {
		diff := l.Net.Sub(product.Round(2))
		out.AllowanceCharges = append(out.AllowanceCharges, ublAllowanceCharge{
			ChargeIndicator: diff.IsPositive(), Reason: roundingReason, Amount: amt(diff.Abs()),
		})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

type ublInvoice struct {
	XMLName                 xml.Name         `xml:"Invoice"`
	NS                      string           `xml:"xmlns,attr"`
	NSCAC                   string           `xml:"xmlns:cac,attr"`
	NSCBC                   string           `xml:"xmlns:cbc,attr"`
	CustomizationID         string           `xml:"cbc:CustomizationID"`
	ID                      string           `xml:"cbc:ID"`
	IssueDate               string           `xml:"cbc:IssueDate"`
	DueDate                 string           `xml:"cbc:DueDate"`
	InvoiceTypeCode         string           `xml:"cbc:InvoiceTypeCode"`
	DocumentCurrencyCode    string           `xml:"cbc:DocumentCurrencyCode"`
	AccountingSupplierParty ublParty         `xml:"cac:AccountingSupplierParty>cac:Party"`
	AccountingCustomerParty ublParty         `xml:"cac:AccountingCustomerParty>cac:Party"`
	TaxTotal                ublTaxTotal      `xml:"cac:TaxTotal"`
	LegalMonetaryTotal      ublMonetaryTotal `xml:"cac:LegalMonetaryTotal"`
	Lines                   []ublLine        `xml:"cac:InvoiceLine"`
}

func party(p Party, vatID string) ublParty {
	a := p.Address // not nil: check refused a document without one
	out := ublParty{Name: p.Name, LegalEntity: ublLegalEntity{RegistrationName: p.Name},
		PostalAddress: ublAddress{StreetName: a.Street, CityName: a.City, PostalZone: a.Postcode, CountryCode: a.Country}}
	if vatID != "" {
		out.PartyTaxScheme = &ublPartyTaxScheme{CompanyID: vatID, TaxScheme: ublTaxScheme{ID: "VAT"}}
	}
	return out
}

// taxCategory is the category of a line at rate: AE (0 %, with the
// exemption reason) on a reverse-charge invoice, S for a positive rate,
// Z for a zero rate.
func taxCategory(reverseCharge bool, rate decimal.Decimal) ublTaxCategory {
	c := ublTaxCategory{Percent: rate.String(), TaxScheme: ublTaxScheme{ID: "VAT"}}
	switch {
	case reverseCharge:
		c.ID, c.Percent = categoryReverseCharge, "0"
		c.TaxExemptionReasonCode, c.TaxExemptionReason = reverseChargeCode, reverseChargeReason
	case rate.IsPositive():
		c.ID = categoryStandard
	default:
		c.ID = categoryZero
	}
	return c
}

// UBL renders the document as an EN 16931 (UBL 2.1) Invoice: both
// parties with their postal address, one TaxSubtotal per tax category and
// rate, in the order they first occur on the lines, amounts with two
// decimals. It returns ErrNotPosted for an invoice without a number and an
// *IncompleteError for a document without the parties' addresses or the
// seller's VAT id.
func UBL(doc Document) ([]byte, error) {
	if err := doc.check(); err != nil {
		return nil, err
	}
	inv := doc.Invoice
	amt := func(d decimal.Decimal) ublAmount { return ublAmount{Currency: inv.Currency, Value: money(d)} }
	out := ublInvoice{
		NS: nsInvoice, NSCAC: nsCAC, NSCBC: nsCBC,
		CustomizationID: customizationID, ID: inv.Number,
		IssueDate: inv.IssueDate.Format(dateLayout), DueDate: inv.DueDate.Format(dateLayout),
		InvoiceTypeCode: invoiceTypeCode, DocumentCurrencyCode: inv.Currency,
		AccountingSupplierParty: party(doc.Seller, doc.Seller.VATID),
		AccountingCustomerParty: party(doc.Buyer, buyerVATID(doc)),
		LegalMonetaryTotal: ublMonetaryTotal{
			LineExtensionAmount: amt(inv.Net), TaxExclusiveAmount: amt(inv.Net),
			TaxInclusiveAmount: amt(inv.Total), PayableAmount: amt(inv.Total),
		},
	}
	type group struct {
		cat      ublTaxCategory
		net, tax decimal.Decimal
	}
	var groups []*group
	byKey := map[string]*group{}
	for i, l := range inv.Lines {
		cat := taxCategory(inv.ReverseCharge, l.TaxRate)
		key := cat.ID + "/" + cat.Percent
		g, ok := byKey[key]
		if !ok {
			g = &group{cat: cat}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.net = g.net.Add(l.Net)
		g.tax = g.tax.Add(l.Tax)
		out.Lines = append(out.Lines, invoiceLine(i+1, inv, l, cat))
	}
	out.TaxTotal.TaxAmount = amt(inv.Tax)
	for _, g := range groups {
		out.TaxTotal.Subtotals = append(out.TaxTotal.Subtotals, ublTaxSubtotal{TaxableAmount: amt(g.net), TaxAmount: amt(g.tax), TaxCategory: g.cat})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
