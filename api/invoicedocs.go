package api

import (
	"net/http"

	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/invoicefiles"
)

func (s *Server) invoiceDocumentRoutes() []route {
	return []route{
		{name: "renderInvoiceDocuments", method: http.MethodPost, path: "/v1/invoices/{id}/documents", roles: billers, handle: s.renderInvoiceDocuments},
		{name: "listInvoiceAttachments", method: http.MethodGet, path: "/v1/invoices/{id}/attachments", roles: anyRole, handle: s.listInvoiceAttachments},
	}
}

func (s *Server) invoiceOwner(r *http.Request) (filestore.Owner, error) {
	id, err := pathUUID(r, "id")
	if err != nil {
		return filestore.Owner{}, err
	}
	// Row-level security makes another site's invoice as absent as an
	// unknown one: both answer 404.
	site, err := s.contracts.InvoiceSite(r.Context(), id)
	if err != nil {
		return filestore.Owner{}, err
	}
	return filestore.Owner{Type: filestore.OwnerInvoice, ID: id, Site: site}, nil
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
	stored, err := invoicefiles.Renderer{Contracts: s.contracts, Files: s.files}.Render(r.Context(), id)
	if err != nil {
		return err
	}
	items := make([]attachmentJSON, len(stored))
	for i, d := range stored {
		items[i] = toAttachmentJSON(d.Attachment)
		rj := toRevisionJSON(d.Revision)
		items[i].Revision = &rj
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"items": items})
}
