package invoicedoc_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ledongthuc/pdf"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/invoicedoc"
)

// parsed reads back what the tests check of a UBL invoice; untagged
// namespaces match any, so cbc:ID reads as ID.
type parsedAmount struct {
	Currency string `xml:"currencyID,attr"`
	Value    string `xml:",chardata"`
}

type parsedCategory struct {
	ID                 string `xml:"ID"`
	Percent            string `xml:"Percent"`
	TaxExemptionReason string `xml:"TaxExemptionReason"`
}

type parsedAddress struct {
	Street   string `xml:"StreetName"`
	City     string `xml:"CityName"`
	Postcode string `xml:"PostalZone"`
	Country  string `xml:"Country>IdentificationCode"`
}

type parsedInvoice struct {
	XMLName         xml.Name
	CustomizationID string        `xml:"CustomizationID"`
	ID              string        `xml:"ID"`
	IssueDate       string        `xml:"IssueDate"`
	DueDate         string        `xml:"DueDate"`
	InvoiceTypeCode string        `xml:"InvoiceTypeCode"`
	Currency        string        `xml:"DocumentCurrencyCode"`
	SellerName      string        `xml:"AccountingSupplierParty>Party>PartyName>Name"`
	SellerVAT       string        `xml:"AccountingSupplierParty>Party>PartyTaxScheme>CompanyID"`
	BuyerName       string        `xml:"AccountingCustomerParty>Party>PartyName>Name"`
	BuyerVAT        string        `xml:"AccountingCustomerParty>Party>PartyTaxScheme>CompanyID"`
	SellerAddress   parsedAddress `xml:"AccountingSupplierParty>Party>PostalAddress"`
	BuyerAddress    parsedAddress `xml:"AccountingCustomerParty>Party>PostalAddress"`
	TaxTotal        struct {
		TaxAmount parsedAmount `xml:"TaxAmount"`
		Subtotals []struct {
			TaxableAmount parsedAmount   `xml:"TaxableAmount"`
			TaxAmount     parsedAmount   `xml:"TaxAmount"`
			Category      parsedCategory `xml:"TaxCategory"`
		} `xml:"TaxSubtotal"`
	} `xml:"TaxTotal"`
	Totals struct {
		LineExtension parsedAmount `xml:"LineExtensionAmount"`
		TaxExclusive  parsedAmount `xml:"TaxExclusiveAmount"`
		TaxInclusive  parsedAmount `xml:"TaxInclusiveAmount"`
		Payable       parsedAmount `xml:"PayableAmount"`
	} `xml:"LegalMonetaryTotal"`
	Lines []struct {
		ID       string         `xml:"ID"`
		Quantity string         `xml:"InvoicedQuantity"`
		Amount   parsedAmount   `xml:"LineExtensionAmount"`
		Start    string         `xml:"InvoicePeriod>StartDate"`
		End      string         `xml:"InvoicePeriod>EndDate"`
		Name     string         `xml:"Item>Name"`
		Category parsedCategory `xml:"Item>ClassifiedTaxCategory"`
		Price    parsedAmount   `xml:"Price>PriceAmount"`
	} `xml:"InvoiceLine"`
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// document is a posted invoice with two lines at 20 % and one at 5.5 %,
// amounts chosen so that float arithmetic would show (0.1 + 0.2).
func document() invoicedoc.Document {
	return invoicedoc.Document{
		Invoice: contracts.Invoice{
			Number: "FR-2026-000042", Status: contracts.InvoicePosted, Currency: "EUR",
			IssueDate: day("2026-11-01"), DueDate: day("2026-12-01"),
			Net: dec("100.3"), Tax: dec("17.06"), Total: dec("117.36"),
			Lines: []contracts.InvoiceLine{
				{Description: "Rack unit", PeriodStart: day("2026-11-01"), PeriodEnd: day("2026-11-30"), Quantity: dec("2"), UnitPrice: dec("25.05"), Months: dec("1"), Net: dec("50.1"), TaxRate: dec("20"), Tax: dec("10.02")},
				{Description: "Power", PeriodStart: day("2026-11-01"), PeriodEnd: day("2026-11-30"), Quantity: dec("1"), UnitPrice: dec("0.2"), Months: dec("1"), Net: dec("0.2"), TaxRate: dec("20"), Tax: dec("0.04")},
				{Description: "Remote hands", ChargeID: &chargeID, PeriodStart: day("2026-10-15"), PeriodEnd: day("2026-10-15"), Quantity: dec("1"), UnitPrice: dec("50"), Net: dec("50"), TaxRate: dec("13.6"), Tax: dec("7")},
			},
		},
		Seller: invoicedoc.Party{Name: "Messina Data Centres SAS", VATID: "FR12345678901",
			Address: &invoicedoc.Address{Street: "12 rue de la Paix", City: "Paris", Postcode: "75002", Country: "FR"}},
		Buyer: invoicedoc.Party{Name: "Café Über GmbH", VATID: "DE999999999",
			Address: &invoicedoc.Address{Street: "Königsallee 1", City: "Düsseldorf", Postcode: "40212", Country: "DE"}},
	}
}

var chargeID = uuid.MustParse("0198a1b2-0000-7000-8000-000000000001")

func reverseCharge() invoicedoc.Document {
	doc := document()
	inv := &doc.Invoice
	inv.ReverseCharge, inv.CustomerVATID = true, "DE123456789"
	inv.Lines = inv.Lines[:2]
	for i := range inv.Lines {
		inv.Lines[i].TaxRate, inv.Lines[i].Tax = decimal.Zero, decimal.Zero
	}
	inv.Net, inv.Tax, inv.Total = dec("50.3"), decimal.Zero, dec("50.3")
	return doc
}

func parseUBL(t *testing.T, doc invoicedoc.Document) parsedInvoice {
	t.Helper()
	b, err := invoicedoc.UBL(doc)
	require.NoError(t, err)
	var out parsedInvoice
	require.NoError(t, xml.Unmarshal(b, &out))
	require.Equal(t, "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", out.XMLName.Space)
	require.Equal(t, "Invoice", out.XMLName.Local)
	return out
}

func TestUBLCarriesTheInvoiceAndItsTotals(t *testing.T) {
	t.Parallel()
	doc := document()
	got := parseUBL(t, doc)

	require.Equal(t, "urn:cen.eu:en16931:2017", got.CustomizationID)
	require.Equal(t, "FR-2026-000042", got.ID)
	require.Equal(t, "2026-11-01", got.IssueDate)
	require.Equal(t, "2026-12-01", got.DueDate)
	require.Equal(t, "380", got.InvoiceTypeCode)
	require.Equal(t, "EUR", got.Currency)
	require.Equal(t, []string{"Messina Data Centres SAS", "FR12345678901", "Café Über GmbH", "DE999999999"},
		[]string{got.SellerName, got.SellerVAT, got.BuyerName, got.BuyerVAT})
	require.Equal(t, parsedAddress{"12 rue de la Paix", "Paris", "75002", "FR"}, got.SellerAddress)
	require.Equal(t, parsedAddress{"Königsallee 1", "Düsseldorf", "40212", "DE"}, got.BuyerAddress)

	// Totals equal the invoice's, with two decimals.
	require.Equal(t, parsedAmount{"EUR", "100.30"}, got.Totals.LineExtension)
	require.Equal(t, parsedAmount{"EUR", "100.30"}, got.Totals.TaxExclusive)
	require.Equal(t, parsedAmount{"EUR", "117.36"}, got.Totals.TaxInclusive)
	require.Equal(t, parsedAmount{"EUR", "117.36"}, got.Totals.Payable)
	require.Equal(t, parsedAmount{"EUR", "17.06"}, got.TaxTotal.TaxAmount)
	require.True(t, dec(got.Totals.Payable.Value).Equal(doc.Invoice.Total))

	// One subtotal per rate, summed exactly (50.10 + 0.20, not 50.300000001).
	require.Len(t, got.TaxTotal.Subtotals, 2)
	s20, s136 := got.TaxTotal.Subtotals[0], got.TaxTotal.Subtotals[1]
	require.Equal(t, parsedCategory{ID: "S", Percent: "20"}, s20.Category)
	require.Equal(t, "50.30", s20.TaxableAmount.Value)
	require.Equal(t, "10.06", s20.TaxAmount.Value)
	require.Equal(t, parsedCategory{ID: "S", Percent: "13.6"}, s136.Category)
	require.Equal(t, "50.00", s136.TaxableAmount.Value)
	require.Equal(t, "7.00", s136.TaxAmount.Value)
	sumTax := dec(s20.TaxAmount.Value).Add(dec(s136.TaxAmount.Value))
	require.True(t, sumTax.Equal(doc.Invoice.Tax), "subtotals add up to the invoice tax")

	require.Len(t, got.Lines, 3)
	l := got.Lines[0]
	require.Equal(t, "1", l.ID)
	require.Equal(t, "2", l.Quantity)
	require.Equal(t, parsedAmount{"EUR", "50.10"}, l.Amount)
	require.Equal(t, "2026-11-01", l.Start)
	require.Equal(t, "2026-11-30", l.End)
	require.Equal(t, "Rack unit", l.Name)
	require.Equal(t, "S", l.Category.ID)
	require.Equal(t, parsedAmount{"EUR", "25.05"}, l.Price)
	require.Equal(t, parsedAmount{"EUR", "0.20"}, got.Lines[1].Amount)
}

func TestUBLReverseChargeIsCategoryAEWithoutTax(t *testing.T) {
	t.Parallel()
	got := parseUBL(t, reverseCharge())

	require.Equal(t, "DE123456789", got.BuyerVAT, "the VAT id the invoice was issued against")
	require.Equal(t, "0.00", got.TaxTotal.TaxAmount.Value)
	require.Len(t, got.TaxTotal.Subtotals, 1)
	sub := got.TaxTotal.Subtotals[0]
	require.Equal(t, parsedCategory{ID: "AE", Percent: "0", TaxExemptionReason: "Reverse charge"}, sub.Category)
	require.Equal(t, "50.30", sub.TaxableAmount.Value)
	require.Equal(t, "0.00", sub.TaxAmount.Value)
	require.Equal(t, "50.30", got.Totals.Payable.Value)
	for _, l := range got.Lines {
		require.Equal(t, "AE", l.Category.ID)
	}
}

func TestJSONCarriesTheInvoiceWithTwoDecimalAmounts(t *testing.T) {
	t.Parallel()
	b, err := invoicedoc.JSON(document())
	require.NoError(t, err)
	var got struct {
		Number, Currency, Net, Tax, Total string
		IssueDate                         string `json:"issue_date"`
		Seller, Buyer                     struct {
			Name    string
			VATID   string `json:"vat_id"`
			Address struct{ Street, City, Postcode, Country string }
		}
		Lines []struct{ Description, Net, Tax, Quantity string }
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "FR-2026-000042", got.Number)
	require.Equal(t, "2026-11-01", got.IssueDate)
	require.Equal(t, []string{"100.30", "17.06", "117.36"}, []string{got.Net, got.Tax, got.Total})
	require.Equal(t, "Café Über GmbH", got.Buyer.Name)
	require.Equal(t, "FR12345678901", got.Seller.VATID)
	require.Equal(t, struct{ Street, City, Postcode, Country string }{"12 rue de la Paix", "Paris", "75002", "FR"}, got.Seller.Address)
	require.Equal(t, struct{ Street, City, Postcode, Country string }{"Königsallee 1", "Düsseldorf", "40212", "DE"}, got.Buyer.Address)
	require.Len(t, got.Lines, 3)
	require.Equal(t, "0.20", got.Lines[1].Net)
	require.Equal(t, "7.00", got.Lines[2].Tax)
}

func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.Equal(t, 1, r.NumPage())
	rd, err := r.GetPlainText()
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rd)
	require.NoError(t, err)
	return buf.String()
}

func TestPDFShowsTheNumberAndTotal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		doc  invoicedoc.Document
		want []string
	}{
		{name: "standard rate", doc: document(), want: []string{"FR-2026-000042", "117.36 EUR", "Messina Data Centres SAS",
			"12 rue de la Paix", "75002 Paris", "Königsallee 1", "40212 Düsseldorf"}},
		{name: "reverse charge", doc: reverseCharge(), want: []string{"FR-2026-000042", "50.30 EUR", "Reverse charge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := invoicedoc.PDF(tc.doc)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(b, []byte("%PDF")))
			text := pdfText(t, b)
			for _, w := range tc.want {
				require.Contains(t, text, w)
			}
			again, err := invoicedoc.PDF(tc.doc)
			require.NoError(t, err)
			require.Equal(t, b, again, "the same document renders to the same bytes")
		})
	}
}

func TestEveryRendererRefusesAnInvoiceThatIsNotPosted(t *testing.T) {
	t.Parallel()
	doc := document()
	doc.Invoice.Number, doc.Invoice.Status = "", contracts.InvoiceDraft
	for name, render := range map[string]func(invoicedoc.Document) ([]byte, error){
		"UBL": invoicedoc.UBL, "JSON": invoicedoc.JSON, "PDF": invoicedoc.PDF,
	} {
		b, err := render(doc)
		require.Truef(t, errors.Is(err, invoicedoc.ErrNotPosted), "%s: %v", name, err)
		require.Nil(t, b, name)
	}
}

func TestEveryRendererRefusesADocumentWithoutWhatEN16931Requires(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		change  func(*invoicedoc.Document)
		missing []string
	}{
		{"no seller address", func(d *invoicedoc.Document) { d.Seller.Address = nil }, []string{"seller.address"}},
		{"no buyer address", func(d *invoicedoc.Document) { d.Buyer.Address = nil }, []string{"buyer.address"}},
		{"no seller VAT id, no addresses", func(d *invoicedoc.Document) { d.Seller.VATID, d.Seller.Address, d.Buyer.Address = "", nil, nil },
			[]string{"seller.vat_id", "seller.address", "buyer.address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := document()
			tc.change(&doc)
			for name, render := range map[string]func(invoicedoc.Document) ([]byte, error){
				"UBL": invoicedoc.UBL, "JSON": invoicedoc.JSON, "PDF": invoicedoc.PDF,
			} {
				b, err := render(doc)
				var ie *invoicedoc.IncompleteError
				require.Truef(t, errors.As(err, &ie) && errors.Is(err, invoicedoc.ErrIncomplete), "%s: %v", name, err)
				require.Equal(t, tc.missing, ie.Missing, name)
				require.Nil(t, b, name)
			}
		})
	}
}

func TestUBLEscapesMarkupInNames(t *testing.T) {
	t.Parallel()
	doc := document()
	doc.Buyer.Name = `A & B <Ltd> "x"`
	b, err := invoicedoc.UBL(doc)
	require.NoError(t, err)
	require.False(t, strings.Contains(string(b), "<Ltd>"))
	var got parsedInvoice
	require.NoError(t, xml.Unmarshal(b, &got))
	require.Equal(t, doc.Buyer.Name, got.BuyerName)
}

// billed is a service line as billing.due_lines computes it: qty units at
// a monthly price less discount, for months = num/den exactly, the net
// rounded once (half up) from that exact product, months stored to 6
// decimals.
func billed(desc, qty, price, discount string, num, den int64) contracts.InvoiceLine {
	q, p, d := dec(qty), dec(price), dec(discount)
	exact := q.Mul(p).Mul(decimal.NewFromInt(1).Sub(d.Shift(-2))).Mul(decimal.NewFromInt(num)).DivRound(decimal.NewFromInt(den), 24)
	return contracts.InvoiceLine{Description: desc, PeriodStart: day("2027-01-01"), PeriodEnd: day("2027-03-31"), Quantity: q, UnitPrice: p,
		DiscountPct: d, Months: decimal.NewFromInt(num).DivRound(decimal.NewFromInt(den), 6), Net: exact.Round(2), TaxRate: dec("20")}
}

// multiMonthDocument has the lines that broke quantity x price = net:
// several months, discounts, prorated fractions of a month, a large
// prorated amount whose net differs from the 6-decimal quantity's product,
// and a one-off charge.
func multiMonthDocument() invoicedoc.Document {
	doc := document()
	inv := &doc.Invoice
	inv.Lines = []contracts.InvoiceLine{
		billed("Quarterly rack, 10 % off", "2", "25.05", "10", 3, 1),
		billed("Annual licences, 12.5 % off", "3", "33", "12.5", 12, 1),
		billed("Fibre, 15 of 31 days", "1", "100", "0", 15, 31),
		billed("Backbone, 15 of 31 days", "1000", "999.99", "0", 15, 31),
		billed("Voice seats, 17 days of 30E/360, 7.5 % off", "5", "14.5", "7.5", 17, 30),
		billed("Quarterly colocation, 45 of 90 days, 3 % off", "1", "990.1234", "3", 3*45, 90),
		{Description: "Early termination fee", ChargeID: &chargeID, PeriodStart: day("2027-02-14"), PeriodEnd: day("2027-02-14"),
			Quantity: dec("1"), UnitPrice: dec("250"), Net: dec("250"), TaxRate: dec("20")},
	}
	inv.Net = decimal.Zero
	for i := range inv.Lines {
		inv.Lines[i].Tax = inv.Lines[i].Net.Mul(dec("0.2")).Round(2)
		inv.Net = inv.Net.Add(inv.Lines[i].Net)
	}
	inv.Tax = inv.Net.Mul(dec("0.2")).Round(2)
	inv.Total = inv.Net.Add(inv.Tax)
	return doc
}

type ublLineArithmetic struct {
	Quantity struct {
		Unit  string `xml:"unitCode,attr"`
		Value string `xml:",chardata"`
	} `xml:"InvoicedQuantity"`
	Net     string `xml:"LineExtensionAmount"`
	Changes []struct {
		Charge bool   `xml:"ChargeIndicator"`
		Reason string `xml:"AllowanceChargeReason"`
		Amount string `xml:"Amount"`
	} `xml:"AllowanceCharge"`
	Price        string `xml:"Price>PriceAmount"`
	BaseQuantity string `xml:"Price>BaseQuantity"`
	Discount     *struct {
		Charge bool   `xml:"ChargeIndicator"`
		Amount string `xml:"Amount"`
		Base   string `xml:"BaseAmount"`
	} `xml:"Price>AllowanceCharge"`
}

// checkLineArithmetic checks EN 16931's line arithmetic on every line of a
// UBL invoice: the line net is quantity x (price / base quantity) + line
// charges - line allowances rounded to cents; a price discount takes the
// gross price to the net price exactly; the lines add up to the total.
func checkLineArithmetic(t *testing.T, b []byte) []ublLineArithmetic {
	t.Helper()
	var doc struct {
		LineTotal string              `xml:"LegalMonetaryTotal>LineExtensionAmount"`
		Lines     []ublLineArithmetic `xml:"InvoiceLine"`
	}
	require.NoError(t, xml.Unmarshal(b, &doc))
	sum := decimal.Zero
	for i, l := range doc.Lines {
		base := decimal.NewFromInt(1)
		if l.BaseQuantity != "" {
			base = dec(l.BaseQuantity)
		}
		want := dec(l.Quantity.Value).Mul(dec(l.Price)).DivRound(base, 20)
		for _, c := range l.Changes {
			require.NotEmpty(t, c.Reason, "line %d: an allowance or charge needs a reason (BR-42, BR-44)", i+1)
			if c.Charge {
				want = want.Add(dec(c.Amount))
			} else {
				want = want.Sub(dec(c.Amount))
			}
		}
		net := dec(l.Net)
		require.Truef(t, want.Sub(net).Abs().LessThanOrEqual(dec("0.005")),
			"line %d: %s x %s / %s %+v = %s, not %s rounded to cents", i+1, l.Quantity.Value, l.Price, base, l.Changes, want, l.Net)
		if l.Discount != nil {
			require.False(t, l.Discount.Charge, "line %d: a price discount is an allowance", i+1)
			require.Truef(t, dec(l.Discount.Base).Sub(dec(l.Discount.Amount)).Equal(dec(l.Price)),
				"line %d: gross %s - discount %s != net price %s", i+1, l.Discount.Base, l.Discount.Amount, l.Price)
		}
		sum = sum.Add(net)
	}
	require.Truef(t, sum.Equal(dec(doc.LineTotal)), "lines add up to %s, total says %s", sum, doc.LineTotal)
	return doc.Lines
}

func TestUBLLineNetIsQuantityTimesPriceForMultiMonthDiscountedAndProratedLines(t *testing.T) {
	t.Parallel()
	doc := multiMonthDocument()
	b, err := invoicedoc.UBL(doc)
	require.NoError(t, err)
	lines := checkLineArithmetic(t, b)
	require.Len(t, lines, len(doc.Invoice.Lines))

	// Quarterly at 10 % off: 2 units x 3 months at 25.05 - 2.505 a month.
	q := lines[0]
	require.Equal(t, "MON", q.Quantity.Unit)
	require.Equal(t, "6", q.Quantity.Value)
	require.Equal(t, "22.545", q.Price)
	require.NotNil(t, q.Discount)
	require.Equal(t, []string{"25.05", "2.505"}, []string{q.Discount.Base, q.Discount.Amount})
	require.Equal(t, "135.27", q.Net)
	require.Empty(t, q.Changes)

	// No discount, no price allowance.
	require.Nil(t, lines[2].Discount)
	require.Equal(t, "0.483871", lines[2].Quantity.Value)

	// 1000 x 999.99 x 15/31 is 483866.129...; 483.871 unit-months at
	// 999.99 is 483866.161...: three cents of rounding, shown as such.
	big := lines[3]
	require.Equal(t, "483866.13", big.Net)
	require.Len(t, big.Changes, 1)
	require.False(t, big.Changes[0].Charge)
	require.Equal(t, "0.03", big.Changes[0].Amount)
	for i, l := range lines {
		if i != 3 {
			require.Emptyf(t, l.Changes, "line %d needs no rounding adjustment", i+1)
		}
	}

	// A one-off charge is units at its price.
	fee := lines[6]
	require.Equal(t, []string{"C62", "1", "250", "250.00"}, []string{fee.Quantity.Unit, fee.Quantity.Value, fee.Price, fee.Net})
}
