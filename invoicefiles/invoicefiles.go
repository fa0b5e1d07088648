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
	// The parties as they were when the invoice was posted: a document
	// rendered again later is the same document.
	if inv.Seller == nil || inv.Buyer == nil {
		return nil, fmt.Errorf("invoice %s has no record of its parties", inv.Number)
	}
	doc := invoicedoc.Document{Invoice: inv, Seller: party(inv.Seller), Buyer: party(inv.Buyer)}
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

// party is a posted party as the documents take it; a missing address
// stays nil, which the renderers refuse.
func party(p *contracts.Party) invoicedoc.Party {
	out := invoicedoc.Party{Name: p.Name, VATID: p.VATID}
	if a := p.Address; a != nil {
		out.Address = &invoicedoc.Address{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}
	}
	return out
}
