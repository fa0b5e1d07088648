package invoicedoc

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"
)

// PDF renders the document as a one-page A4 invoice in the PDF core fonts
// (text outside Windows-1252 is approximated). The creation date is the
// issue date, so the same document renders to the same bytes. It returns
// ErrNotPosted for an invoice without a number and an *IncompleteError for
// a document without the parties' addresses or the seller's VAT id.
func PDF(doc Document) ([]byte, error) {
	if err := doc.check(); err != nil {
		return nil, err
	}
	inv := doc.Invoice
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCatalogSort(true) // fonts in a fixed order: same document, same bytes
	p.SetCreationDate(inv.IssueDate)
	p.SetModificationDate(inv.IssueDate)
	p.SetTitle("Invoice "+inv.Number, true)
	p.SetAutoPageBreak(true, 15)
	tr := p.UnicodeTranslatorFromDescriptor("") // cp1252
	p.AddPage()

	p.SetFont("Helvetica", "B", 18)
	p.CellFormat(0, 10, tr("Invoice "+inv.Number), "", 1, "L", false, 0, "")
	p.SetFont("Helvetica", "", 10)
	p.CellFormat(0, 5, tr("Issue date: "+inv.IssueDate.Format(dateLayout)+"    Due date: "+inv.DueDate.Format(dateLayout)), "", 1, "L", false, 0, "")
	p.Ln(4)

	partyBlock := func(title string, pt Party, vatID string) {
		p.SetFont("Helvetica", "B", 10)
		p.CellFormat(0, 5, tr(title), "", 1, "L", false, 0, "")
		p.SetFont("Helvetica", "", 10)
		p.CellFormat(0, 5, tr(pt.Name), "", 1, "L", false, 0, "")
		a := pt.Address // not nil: check refused a document without one
		p.CellFormat(0, 5, tr(a.Street), "", 1, "L", false, 0, "")
		p.CellFormat(0, 5, tr(a.Postcode+" "+a.City), "", 1, "L", false, 0, "")
		p.CellFormat(0, 5, tr(a.Country), "", 1, "L", false, 0, "")
		if vatID != "" {
			p.CellFormat(0, 5, tr("VAT ID: "+vatID), "", 1, "L", false, 0, "")
		}
		p.Ln(2)
	}
	partyBlock("Seller", doc.Seller, doc.Seller.VATID)
	partyBlock("Bill to", doc.Buyer, buyerVATID(doc))
	p.Ln(2)

	// A service line's net is Qty x Months x Unit price (a month's) less
	// Disc %; a one-off charge has no months.
	widths := []float64{55, 38, 13, 15, 20, 13, 12, 24}
	head := []string{"Description", "Period", "Qty", "Months", "Unit price", "Disc %", "Tax %", "Net " + inv.Currency}
	p.SetFont("Helvetica", "B", 9)
	for i, h := range head {
		align := "R"
		if i < 2 {
			align = "L"
		}
		p.CellFormat(widths[i], 6, tr(h), "B", 0, align, false, 0, "")
	}
	p.Ln(-1)
	p.SetFont("Helvetica", "", 9)
	for _, l := range inv.Lines {
		months := ""
		if l.ChargeID == nil {
			months = l.Months.String()
		}
		cells := []string{l.Description, l.PeriodStart.Format(dateLayout) + " - " + l.PeriodEnd.Format(dateLayout),
			l.Quantity.String(), months, l.UnitPrice.String(), l.DiscountPct.String(), l.TaxRate.String(), money(l.Net)}
		for i, c := range cells {
			align := "R"
			if i < 2 {
				align = "L"
			}
			p.CellFormat(widths[i], 6, tr(c), "", 0, align, false, 0, "")
		}
		p.Ln(-1)
	}
	p.Ln(4)
	total := func(label, value string, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		p.SetFont("Helvetica", style, 10)
		p.CellFormat(150, 6, tr(label), "", 0, "R", false, 0, "")
		p.CellFormat(40, 6, tr(value), "", 1, "R", false, 0, "")
	}
	total("Net", money(inv.Net)+" "+inv.Currency, false)
	total("Tax", money(inv.Tax)+" "+inv.Currency, false)
	total("Total", money(inv.Total)+" "+inv.Currency, true)
	if inv.ReverseCharge {
		p.Ln(4)
		p.SetFont("Helvetica", "", 9)
		p.MultiCell(0, 5, tr("Reverse charge: VAT is accounted for by the recipient (Article 196 of Council Directive 2006/112/EC)."), "", "L", false)
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		return nil, fmt.Errorf("invoicedoc: render PDF: %w", err)
	}
	return buf.Bytes(), nil
}
