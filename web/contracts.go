package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/orders"
)

// contractStatuses is the order of the status filter.
var contractStatuses = []contracts.Status{
	contracts.StatusActive, contracts.StatusNoticeGiven, contracts.StatusCancelled, contracts.StatusEnded,
}

// cancelPolicies are the policies the cancel form offers after the site's.
var cancelPolicies = []contracts.Policy{
	contracts.PolicyImmediate, contracts.PolicyEndOfPeriod, contracts.PolicyEndOfTerm, contracts.PolicyOnDate,
}

// contractListData is the contracts page.
type contractListData struct {
	// The filters as sent, to fill the form again.
	Status, Site string
	customerFilter
	Statuses []contracts.Status
	Sites    []orders.Site
	Rows     []contractRow
	pageLinks
}

type contractRow struct {
	contracts.Contract
	CustomerName string
}

// contractList lists contracts newest first, filtered by status, site and
// customer, with cursor paging, like the orders.
func (s *Server) contractList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := contractListData{Status: q.Get("status"), Site: q.Get("site"), Statuses: contractStatuses}
	f := contracts.ContractFilter{SiteID: d.Site, Status: contracts.Status(d.Status), Limit: pageSize, Cursor: q.Get("cursor")}
	var fields []fieldError
	if d.Status != "" && !slices.Contains(contractStatuses, f.Status) {
		fields = append(fields, fieldError{"status", "is not a contract status"})
	}
	if len(d.Site) > 16 {
		fields = append(fields, fieldError{"site", "is not a site id"})
	}
	text, customerID := parseCustomerFilter(q, &fields)
	if len(fields) > 0 {
		return invalid("The filters are not valid.", fields...)
	}
	var err error
	if d.Sites, err = s.orders.ListSites(ctx); err != nil {
		return err
	}
	names := &customerNames{svc: s.orders, names: map[uuid.UUID]string{}}
	filters := url.Values{"status": {d.Status}, "site": {d.Site}}
	if d.customerFilter, err = s.resolveCustomer(ctx, text, customerID, d.Site, "/contracts", filters, names); err != nil {
		return err
	}
	if d.waiting() {
		return s.render(w, r, http.StatusOK, "contracts", "Contracts", d)
	}
	f.CustomerID = d.customerID()
	page, err := s.contracts.ListContracts(ctx, f)
	if err != nil {
		return err
	}
	if err := names.load(ctx, customerIDs(page.Items, func(c contracts.Contract) uuid.UUID { return c.CustomerID })); err != nil {
		return err
	}
	for _, c := range page.Items {
		n, err := names.name(ctx, c.CustomerID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, contractRow{Contract: c, CustomerName: n})
	}
	if f.CustomerID != nil {
		filters.Set("customer_id", f.CustomerID.String())
	}
	d.pageLinks = listLinks("/contracts", filters, "cursor", f.Cursor, page.NextCursor)
	return s.render(w, r, http.StatusOK, "contracts", "Contracts", d)
}

// contractPageData is one contract's page.
type contractPageData struct {
	Contract    contracts.Contract
	Customer    orders.Customer
	LegalEntity orders.LegalEntity
	// OrderNumber is the number of the order the contract was made from.
	OrderNumber string
	// Versions are a page of the contract's versions, oldest first.
	Versions     []versionView
	VersionLinks pageLinks
	Notices      []contracts.Notice
	Charges      []contracts.Charge
	CreditNotes  []contracts.CreditNote
	Attachments  []filestore.Attachment
	// CanNotice and CanCancel show the forms: for writers, while the
	// contract is in service. The database has the last word.
	CanNotice, CanCancel bool
	// SitePolicy is the site's cancellation policy today, which a
	// cancellation without a policy applies ("" when the site has none).
	SitePolicy string
	Policies   []contracts.Policy
	// Today is the default of the forms' dates, in the site's timezone.
	Today     string
	MaxUpload int64
}

// versionView is one version of a contract with its snapshot as compact
// JSON, for auditors who want to see exactly what it held.
type versionView struct {
	contracts.Amendment
	SnapshotText string
}

// versionsPageSize is how many versions a contract page lists at a time.
const versionsPageSize = 50

func (s *Server) contractPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.contracts.Contract(ctx, id)
	if err != nil {
		return err
	}
	d := contractPageData{Contract: c, Policies: cancelPolicies, MaxUpload: s.cfg.MaxUploadBytes}
	if d.Customer, err = s.orders.GetCustomer(ctx, c.CustomerID); err != nil {
		return err
	}
	if d.LegalEntity, err = s.orders.GetLegalEntity(ctx, c.LegalEntityID); err != nil {
		return err
	}
	o, err := s.orders.GetOrder(ctx, c.OrderID)
	if err != nil {
		return err
	}
	d.OrderNumber = o.Number
	cursor := r.URL.Query().Get("versions")
	versions, err := s.contracts.AmendmentPage(ctx, id, cursor, versionsPageSize)
	if err != nil {
		return err
	}
	for _, a := range versions.Items {
		d.Versions = append(d.Versions, versionView{Amendment: a, SnapshotText: compactJSON(json.RawMessage(a.Snapshot))})
	}
	d.VersionLinks = listLinks("/contracts/"+id.String(), nil, "versions", cursor, versions.NextCursor)
	if d.Notices, err = s.contracts.Notices(ctx, id); err != nil {
		return err
	}
	if d.Charges, err = s.contracts.Charges(ctx, id); err != nil {
		return err
	}
	if d.CreditNotes, err = s.contracts.ContractCreditNotes(ctx, id); err != nil {
		return err
	}
	if d.Attachments, err = s.files.ListAttachments(ctx, filestore.OwnerContract, id, uuid.Nil, maxListedAttachments); err != nil {
		return err
	}
	if u := userOf(r); u != nil && u.CanWrite {
		d.CanNotice = c.Status == contracts.StatusActive
		d.CanCancel = c.Status == contracts.StatusActive || c.Status == contracts.StatusNoticeGiven
	}
	if d.CanCancel {
		d.Today = s.siteToday(ctx, c.SiteID)
		if d.SitePolicy, err = s.sitePolicy(ctx, c.SiteID, d.Today); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, "contract", "Contract "+c.Number, d)
}

// sitePolicy is the cancellation policy of a site's rules in force on
// day, "" when none are.
func (s *Server) sitePolicy(ctx context.Context, siteID, day string) (string, error) {
	var fields []fieldError
	on := parseDay(day, "today", &fields)
	if on == nil {
		return "", nil
	}
	rules, err := s.orders.SiteRulesAt(ctx, siteID, *on)
	if errors.Is(err, orders.ErrNotFound) {
		return "", nil
	}
	return rules.CancellationPolicy, err
}

// giveNotice records a notice of non-renewal received on the date sent.
func (s *Server) giveNotice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	var fields []fieldError
	received := requiredDay(r.PostForm.Get("received_on"), "received_on", &fields)
	confirmed(r.PostForm, "record the notice", &fields)
	if len(fields) > 0 {
		return invalid("The notice could not be recorded.", fields...)
	}
	if _, err := s.contracts.GiveNotice(r.Context(), id, received); err != nil {
		return err
	}
	http.Redirect(w, r, "/contracts/"+id.String()+"?msg=notice", http.StatusSeeOther)
	return nil
}

// cancelContract ends a contract by the policy chosen or, with none, by
// the site's policy in force on the day the cancellation was received.
func (s *Server) cancelContract(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	var fields []fieldError
	in := contracts.Cancellation{Policy: contracts.Policy(r.PostForm.Get("policy"))}
	if in.Policy != "" && !slices.Contains(cancelPolicies, in.Policy) {
		fields = append(fields, fieldError{"policy", "is not a cancellation policy"})
	}
	in.ReceivedOn = requiredDay(r.PostForm.Get("received_on"), "received_on", &fields)
	in.EndDate = parseDay(r.PostForm.Get("end_date"), "end_date", &fields)
	confirmed(r.PostForm, "cancel the contract", &fields)
	if len(fields) > 0 {
		return invalid("The cancellation could not be recorded.", fields...)
	}
	if _, err := s.contracts.Cancel(r.Context(), id, in); err != nil {
		return err
	}
	http.Redirect(w, r, "/contracts/"+id.String()+"?msg=cancelled", http.StatusSeeOther)
	return nil
}
