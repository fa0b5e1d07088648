package api

import (
	"bytes"
	"net/http"

	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/invoicedoc"
	"github.com/messina-oms/messina/orders"
)

func (s *Server) invoiceDocumentRoutes() []route {
	return []route{
		{name: "renderInvoiceDocuments", method: http.MethodPost, path: "/v1/invoices/{id}/documents", roles: billers, handle: s.renderInvoiceDocuments},
		{name: "listInvoiceAttachments", method: http.MethodGet, path: "/v1/invoices/{id}/attachments", roles: anyRole, handle: s.listInvoiceAttachments},
	}
}

// invoiceFormats are the documents of an invoice, each stored as the
// attachment of that name.
var invoiceFormats = []struct {
	name, contentType string
	render            func(invoicedoc.Document) ([]byte, error)
}{
	{name: "invoice.xml", contentType: "application/xml", render: invoicedoc.UBL},
	{name: "invoice.json", contentType: "application/json", render: invoicedoc.JSON},
	{name: "invoice.pdf", contentType: "application/pdf", render: invoicedoc.PDF},
}

func (s *Server) invoiceOwner(r *http.Request) (filestore.Owner, error) {
	id, err := pathUUID(r, "id")
	if err != nil {
		return filestore.Owner{}, err
	}
	// Row-level security makes another site's invoice as absent as an
	// unknown one: both answer 404.
	inv, err := s.contracts.Invoice(r.Context(), id)
	if err != nil {
		return filestore.Owner{}, err
	}
	return filestore.Owner{Type: filestore.OwnerInvoice, ID: id, Site: inv.SiteID}, nil
}

func (s *Server) listInvoiceAttachments(w http.ResponseWriter, r *http.Request) error {
	return s.listAttachments(w, r, s.invoiceOwner)
}

// renderInvoiceDocuments renders a numbered invoice as UBL, JSON and PDF
// and stores each as an attachment of the invoice: a new attachment the
// first time, a new revision of it afterwards (nothing is overwritten).
// A draft answers 409 invalid_state; an invoice whose seller or buyer has
// no postal address, 409 invoice_document_incomplete (EN 16931 requires
// both).
func (s *Server) renderInvoiceDocuments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	ctx := r.Context()
	inv, err := s.contracts.Invoice(ctx, id)
	if err != nil {
		return err
	}
	if inv.Number == "" {
		return problem(http.StatusConflict, "invalid_state", "only a posted invoice has documents")
	}
	seller, err := s.orders.GetLegalEntity(ctx, inv.LegalEntityID)
	if err != nil {
		return err
	}
	buyer, err := s.orders.GetCustomer(ctx, inv.CustomerID)
	if err != nil {
		return err
	}
	doc := invoicedoc.Document{Invoice: inv,
		Seller: invoicedoc.Party{Name: seller.Name, VATID: seller.VATID, Address: docAddress(seller.Address)},
		Buyer:  invoicedoc.Party{Name: buyer.Name, VATID: buyer.VATID, Address: docAddress(buyer.Address)}}

	rendered := make([][]byte, len(invoiceFormats))
	for i, f := range invoiceFormats {
		if rendered[i], err = f.render(doc); err != nil {
			return err
		}
	}
	// PutNamed picks the attachment of each name, or makes it, in the
	// transaction that stores the revision, under a lock on the name: two
	// first renders at once give one attachment with revisions 1 and 2,
	// not two attachments of one name (a unique index backs this).
	owner := filestore.Owner{Type: filestore.OwnerInvoice, ID: id, Site: inv.SiteID}
	items := make([]attachmentJSON, len(invoiceFormats))
	for i, f := range invoiceFormats {
		up := filestore.Upload{Body: bytes.NewReader(rendered[i]), Size: int64(len(rendered[i])), ContentType: f.contentType,
			Filename: f.name, Comment: "rendered from invoice " + inv.Number}
		att, rev, err := s.files.PutNamed(ctx, owner, f.name, up)
		if err != nil {
			return err
		}
		items[i] = toAttachmentJSON(att)
		rj := toRevisionJSON(rev)
		items[i].Revision = &rj
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"items": items})
}

// docAddress is an address as the documents take it; nil stays nil, which
// the renderers refuse (409 invoice_document_incomplete).
func docAddress(a *orders.Address) *invoicedoc.Address {
	if a == nil {
		return nil
	}
	return &invoicedoc.Address{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}
}
