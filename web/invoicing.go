package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/invoicefiles"
	"github.com/messina-oms/messina/orders"
)

// runStatuses and invoiceStatuses are the order of the status filters.
var (
	runStatuses = []contracts.RunStatus{
		contracts.RunPlanned, contracts.RunPreviewed, contracts.RunApproved, contracts.RunPosted, contracts.RunDiscarded,
	}
	invoiceStatuses = []contracts.InvoiceStatus{contracts.InvoiceDraft, contracts.InvoicePosted, contracts.InvoiceVoid}
)

// invoiceRow is an invoice as lists show it.
type invoiceRow struct {
	contracts.Invoice
	CustomerName string
}

// invoiceRows names the customers of invs, once per customer.
func invoiceRows(ctx context.Context, names *customerNames, invs []contracts.Invoice) ([]invoiceRow, error) {
	if err := names.load(ctx, customerIDs(invs, func(inv contracts.Invoice) uuid.UUID { return inv.CustomerID })); err != nil {
		return nil, err
	}
	out := make([]invoiceRow, 0, len(invs))
	for _, inv := range invs {
		n, err := names.name(ctx, inv.CustomerID)
		if err != nil {
			return nil, err
		}
		out = append(out, invoiceRow{Invoice: inv, CustomerName: n})
	}
	return out, nil
}

// Invoice runs ---------------------------------------------------------------

// runListData is the invoice runs page, with the form that plans one.
type runListData struct {
	Site, Status string
	Statuses     []contracts.RunStatus
	Sites        []orders.Site
	Rows         []contracts.Run
	pageLinks
	// Today is the plan form's default run date.
	Today string
}

func (s *Server) runList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := runListData{Site: q.Get("site"), Status: q.Get("status"), Statuses: runStatuses}
	f := contracts.RunFilter{SiteID: d.Site, Status: contracts.RunStatus(d.Status), Limit: pageSize, Cursor: q.Get("cursor")}
	var fields []fieldError
	if d.Status != "" && !slices.Contains(runStatuses, f.Status) {
		fields = append(fields, fieldError{"status", "is not an invoice run status"})
	}
	if len(d.Site) > 16 {
		fields = append(fields, fieldError{"site", "is not a site id"})
	}
	if len(fields) > 0 {
		return invalid("The filters are not valid.", fields...)
	}
	var err error
	if d.Sites, err = s.orders.ListSites(ctx); err != nil {
		return err
	}
	page, err := s.contracts.ListRuns(ctx, f)
	if err != nil {
		return err
	}
	d.Rows = page.Items
	d.pageLinks = listLinks("/invoice-runs", url.Values{"site": {d.Site}, "status": {d.Status}}, "cursor", f.Cursor, page.NextCursor)
	d.Today = s.cfg.Now().UTC().Format("2006-01-02")
	return s.render(w, r, http.StatusOK, "runs", "Invoice runs", d)
}

// planRun plans a run of a site for everything due up to a date.
func (s *Server) planRun(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	var fields []fieldError
	site := strings.TrimSpace(r.PostForm.Get("site"))
	switch {
	case site == "":
		fields = append(fields, fieldError{"site", "is required"})
	case len(site) > 16:
		fields = append(fields, fieldError{"site", "is not a site id"})
	}
	date := requiredDay(r.PostForm.Get("run_date"), "run_date", &fields)
	if len(fields) > 0 {
		return invalid("The run could not be planned.", fields...)
	}
	run, err := s.contracts.PlanRun(r.Context(), site, date)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/invoice-runs/"+run.ID.String()+"?msg=planned", http.StatusSeeOther)
	return nil
}

// runAction is a button of a run's page: a step of its lifecycle.
type runAction struct {
	// Step is the path segment and the flash message.
	Step, Label, Hint string
	// Confirm is the text of the box to tick, for steps that cannot be
	// undone; "" for none.
	Confirm string
}

// runActions are the steps the database allows from a run's status (it
// checks them again): preview and prepare a planned or previewed run,
// approve a previewed one, post an approved one, discard any not posted.
func runActions(st contracts.RunStatus) []runAction {
	preview := runAction{Step: "preview", Label: "Preview", Hint: "Shows what the run would invoice now; saves nothing."}
	prepare := runAction{Step: "prepare", Label: "Prepare drafts",
		Hint: "Writes the draft invoices for review; preparing again adds what became due since. Discarding undoes it."}
	approve := runAction{Step: "approve", Label: "Approve", Hint: "Approves the drafts for posting.",
		Confirm: "I have reviewed the draft invoices"}
	post := runAction{Step: "post", Label: "Post", Hint: "Numbers the invoices from the legal entities' series and makes them final.",
		Confirm: "Post: numbers are given and the invoices can no longer change"}
	discard := runAction{Step: "discard", Label: "Discard", Hint: "Deletes the drafts; their periods become due again.",
		Confirm: "Discard this run and its drafts"}
	switch st {
	case contracts.RunPlanned:
		return []runAction{preview, prepare, discard}
	case contracts.RunPreviewed:
		prepare.Label = "Prepare again"
		return []runAction{preview, prepare, approve, discard}
	case contracts.RunApproved:
		return []runAction{post, discard}
	}
	return nil
}

// runPageData is one run's page with a page of its invoices.
type runPageData struct {
	Run      contracts.Run
	Actions  []runAction
	Invoices []invoiceRow
	pageLinks
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	run, err := s.contracts.Run(ctx, id)
	if err != nil {
		return err
	}
	d := runPageData{Run: run}
	if u := userOf(r); u != nil && u.CanBill {
		d.Actions = runActions(run.Status)
	}
	cursor := r.URL.Query().Get("cursor")
	page, err := s.contracts.RunInvoicePage(ctx, id, cursor, pageSize)
	if err != nil {
		return err
	}
	names := &customerNames{svc: s.orders, names: map[uuid.UUID]string{}}
	if d.Invoices, err = invoiceRows(ctx, names, page.Items); err != nil {
		return err
	}
	d.pageLinks = listLinks("/invoice-runs/"+id.String(), nil, "cursor", cursor, page.NextCursor)
	return s.render(w, r, http.StatusOK, "run", "Invoice run "+run.SiteID+" "+run.RunDate.Format("2006-01-02"), d)
}

// previewData is what a run would invoice now.
type previewData struct {
	Run      contracts.Run
	Invoices []invoiceRow
}

// previewRun shows what the run would invoice, computed by the prepare
// code in a transaction that is rolled back: nothing is saved, so the
// answer is the page itself rather than a redirect.
func (s *Server) previewRun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	run, err := s.contracts.Run(ctx, id)
	if err != nil {
		return err
	}
	invs, err := s.contracts.PreviewRun(ctx, id)
	if err != nil {
		return err
	}
	names := &customerNames{svc: s.orders, names: map[uuid.UUID]string{}}
	d := previewData{Run: run}
	if d.Invoices, err = invoiceRows(ctx, names, invs); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "preview", "Preview of invoice run "+run.SiteID+" "+run.RunDate.Format("2006-01-02"), d)
}

// runSteps are the steps runStep takes, by path segment.
var runSteps = map[string]func(*contracts.Service, context.Context, uuid.UUID) (contracts.Run, error){
	"prepare": (*contracts.Service).PrepareRun,
	"approve": (*contracts.Service).ApproveRun,
	"post":    (*contracts.Service).PostRun,
	"discard": (*contracts.Service).DiscardRun,
}

// runStep moves a run one step (prepare, approve, post, discard); the
// steps that cannot be undone need their box ticked. The database decides
// whether the step is allowed from the run's status.
func (s *Server) runStep(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	name := mux.Vars(r)["step"]
	step, ok := runSteps[name]
	if !ok {
		return notFound("There is no such step of an invoice run.")
	}
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	if name != "prepare" {
		var fields []fieldError
		confirmed(r.PostForm, name+" the run", &fields)
		if len(fields) > 0 {
			return invalid("Nothing was changed.", fields...)
		}
	}
	if _, err := step(s.contracts, r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/invoice-runs/"+id.String()+"?msg="+name, http.StatusSeeOther)
	return nil
}

// Invoices ---------------------------------------------------------------------

// invoiceListData is the invoices page.
type invoiceListData struct {
	Status, Site, From, To string
	customerFilter
	Statuses []contracts.InvoiceStatus
	Sites    []orders.Site
	Rows     []invoiceRow
	pageLinks
}

// invoiceList lists invoices, newest issue date first, filtered by
// customer, status, site and issue dates (both inclusive).
func (s *Server) invoiceList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := invoiceListData{Status: q.Get("status"), Site: q.Get("site"), From: strings.TrimSpace(q.Get("from")),
		To: strings.TrimSpace(q.Get("to")), Statuses: invoiceStatuses}
	f := contracts.InvoiceFilter{SiteID: d.Site, Status: contracts.InvoiceStatus(d.Status), Limit: pageSize, Cursor: q.Get("cursor")}
	var fields []fieldError
	if d.Status != "" && !slices.Contains(invoiceStatuses, f.Status) {
		fields = append(fields, fieldError{"status", "is not an invoice status"})
	}
	if len(d.Site) > 16 {
		fields = append(fields, fieldError{"site", "is not a site id"})
	}
	f.From = parseDay(d.From, "from", &fields)
	f.To = parseDay(d.To, "to", &fields)
	text, customerID := parseCustomerFilter(q, &fields)
	if len(fields) > 0 {
		return invalid("The filters are not valid.", fields...)
	}
	var err error
	if d.Sites, err = s.orders.ListSites(ctx); err != nil {
		return err
	}
	names := &customerNames{svc: s.orders, names: map[uuid.UUID]string{}}
	filters := url.Values{"status": {d.Status}, "site": {d.Site}, "from": {d.From}, "to": {d.To}}
	if d.customerFilter, err = s.resolveCustomer(ctx, text, customerID, d.Site, "/invoices", filters, names); err != nil {
		return err
	}
	if d.waiting() {
		return s.render(w, r, http.StatusOK, "invoices", "Invoices", d)
	}
	f.CustomerID = d.customerID()
	page, err := s.contracts.ListInvoices(ctx, f)
	if err != nil {
		return err
	}
	if d.Rows, err = invoiceRows(ctx, names, page.Items); err != nil {
		return err
	}
	if f.CustomerID != nil {
		filters.Set("customer_id", f.CustomerID.String())
	}
	d.pageLinks = listLinks("/invoices", filters, "cursor", f.Cursor, page.NextCursor)
	return s.render(w, r, http.StatusOK, "invoices", "Invoices", d)
}

// invoicePageData is one invoice's page.
type invoicePageData struct {
	Invoice     contracts.Invoice
	Customer    orders.Customer
	LegalEntity orders.LegalEntity
	// Contracts are the contracts the lines bill, in the lines' order.
	Contracts []contracts.Contract
	// CreditNotes are a page of the invoice's credit notes.
	CreditNotes     []contracts.CreditNote
	CreditNoteLinks pageLinks
	// Documents are the rendered UBL, JSON and PDF (attachments).
	Documents []filestore.Attachment
	// CanRender and CanCredit show the forms: for billers, on a numbered
	// invoice, and one not fully credited yet.
	CanRender, CanCredit bool
	Today                string
}

func (s *Server) invoicePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	inv, err := s.contracts.Invoice(ctx, id)
	if err != nil {
		return err
	}
	d := invoicePageData{Invoice: inv}
	if d.Customer, err = s.orders.GetCustomer(ctx, inv.CustomerID); err != nil {
		return err
	}
	if d.LegalEntity, err = s.orders.GetLegalEntity(ctx, inv.LegalEntityID); err != nil {
		return err
	}
	if d.Contracts, err = s.contracts.InvoiceContracts(ctx, id); err != nil {
		return err
	}
	cursor := r.URL.Query().Get("credit_notes")
	notes, err := s.contracts.InvoiceCreditNotes(ctx, id, cursor, pageSize)
	if err != nil {
		return err
	}
	d.CreditNotes = notes.Items
	d.CreditNoteLinks = listLinks("/invoices/"+id.String(), nil, "credit_notes", cursor, notes.NextCursor)
	if d.Documents, err = s.files.ListAttachments(ctx, filestore.OwnerInvoice, id, uuid.Nil, maxListedAttachments); err != nil {
		return err
	}
	if u := userOf(r); u != nil && u.CanBill {
		d.CanRender = inv.Number != ""
		d.CanCredit = inv.Status == contracts.InvoicePosted
		d.Today = s.siteToday(ctx, inv.SiteID)
	}
	title := "Invoice " + inv.Number
	if inv.Number == "" {
		title = "Draft invoice"
	}
	return s.render(w, r, http.StatusOK, "invoice", title, d)
}

// renderDocuments renders a numbered invoice as UBL, JSON and PDF and
// stores each as an attachment of the invoice: revision 1 the first time,
// a new revision afterwards; nothing is overwritten. A draft is a 409, as
// is an invoice whose parties lack what EN 16931 requires (named).
func (s *Server) renderDocuments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := (invoicefiles.Renderer{Contracts: s.contracts, Files: s.files}).Render(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/invoices/"+id.String()+"?msg=rendered#documents", http.StatusSeeOther)
	return nil
}

// creditInvoice issues a credit note of everything not credited yet,
// which voids the invoice. Partial credits stay with the API.
func (s *Server) creditInvoice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	var fields []fieldError
	issue := requiredDay(r.PostForm.Get("issue_date"), "issue_date", &fields)
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		fields = append(fields, fieldError{"reason", "is required"})
	}
	confirmed(r.PostForm, "credit the invoice in full", &fields)
	if len(fields) > 0 {
		return invalid("The credit note could not be issued.", fields...)
	}
	if _, err := s.contracts.CreditInvoice(r.Context(), id, issue, reason, nil); err != nil {
		return err
	}
	http.Redirect(w, r, "/invoices/"+id.String()+"?msg=credited", http.StatusSeeOther)
	return nil
}
