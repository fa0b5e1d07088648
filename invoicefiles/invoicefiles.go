// Package invoicefiles renders a posted invoice's documents (EN 16931 UBL,
// JSON and PDF, by package invoicedoc) and stores each as a revisioned
// attachment of the invoice, so that the API and the web UI make the same
// documents under the same names.
package invoicefiles

import (
	"bytes"
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/invoicedoc"
	"github.com/messina-oms/messina/orders"
)

// Format is one document of an invoice, stored as the attachment Name.
type Format struct {
	Name        string
	ContentType string
	render      func(invoicedoc.Document) ([]byte, error)
}

// Formats are the documents of an invoice. filestore.PutNamed finds an
// invoice's document by its name, so the names must never change: each
// rendering adds a revision to the same attachments.
var Formats = []Format{
	{Name: "invoice.xml", ContentType: "application/xml", render: invoicedoc.UBL},
	{Name: "invoice.json", ContentType: "application/json", render: invoicedoc.JSON},
	{Name: "invoice.pdf", ContentType: "application/pdf", render: invoicedoc.PDF},
}

// Stored is a document as stored: its attachment and the new revision.
type Stored struct {
	Attachment filestore.Attachment
	Revision   filestore.Revision
}

// Renderer renders and stores invoice documents.
type Renderer struct {
	Contracts *contracts.Service
	Orders    *orders.Service
	Files     *filestore.Service
}

// Render renders the invoice id in every Format and stores each as its
// attachment: revision 1 the first time, a new revision afterwards;
// nothing is overwritten. Every format is rendered before any is stored,
// so a document that cannot be made leaves no partial set behind. A draft
// gives invoicedoc.ErrNotPosted; parties lacking what EN 16931 requires,
// an *invoicedoc.IncompleteError; an invoice of another site, the
// contracts package's not-found error.
func (r Renderer) Render(ctx context.Context, id uuid.UUID) ([]Stored, error) {
	inv, err := r.Contracts.Invoice(ctx, id)
	if err != nil {
		return nil, err
	}
	if inv.Number == "" {
		return nil, invoicedoc.ErrNotPosted
	}
	seller, err := r.Orders.GetLegalEntity(ctx, inv.LegalEntityID)
	if err != nil {
		return nil, fmt.Errorf("seller of invoice %s: %w", inv.Number, err)
	}
	buyer, err := r.Orders.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return nil, fmt.Errorf("buyer of invoice %s: %w", inv.Number, err)
	}
	doc := invoicedoc.Document{Invoice: inv,
		Seller: invoicedoc.Party{Name: seller.Name, VATID: seller.VATID, Address: address(seller.Address)},
		Buyer:  invoicedoc.Party{Name: buyer.Name, VATID: buyer.VATID, Address: address(buyer.Address)}}
	rendered := make([][]byte, len(Formats))
	for i, f := range Formats {
		if rendered[i], err = f.render(doc); err != nil {
			return nil, err
		}
	}
	// PutNamed picks the attachment of each name, or makes it, in the
	// transaction that stores the revision, under a lock on the name: two
	// first renders at once give one attachment with revisions 1 and 2,
	// not two attachments of one name (a unique index backs this).
	owner := filestore.Owner{Type: filestore.OwnerInvoice, ID: id, Site: inv.SiteID}
	out := make([]Stored, len(Formats))
	for i, f := range Formats {
		up := filestore.Upload{Body: bytes.NewReader(rendered[i]), Size: int64(len(rendered[i])), ContentType: f.ContentType,
			Filename: f.Name, Comment: "rendered from invoice " + inv.Number}
		att, rev, err := r.Files.PutNamed(ctx, owner, f.Name, up)
		if err != nil {
			return nil, fmt.Errorf("store %s of invoice %s: %w", f.Name, inv.Number, err)
		}
		out[i] = Stored{Attachment: att, Revision: rev}
	}
	return out, nil
}

// address is an address as the documents take it; nil stays nil, which
// the renderers refuse.
func address(a *orders.Address) *invoicedoc.Address {
	if a == nil {
		return nil
	}
	return &invoicedoc.Address{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}
}
