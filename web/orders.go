package web

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/orders"
)

// allStatuses is the order of the status filter.
var allStatuses = []orders.Status{
	orders.StatusDraft, orders.StatusSubmitted, orders.StatusApproved, orders.StatusBooked,
	orders.StatusProvisioning, orders.StatusCompleted, orders.StatusRejected, orders.StatusCancelled,
}

// pageSize is how many orders a list page shows.
const pageSize = 50

// pathID reads the {id} the router already matched as UUID-shaped; a
// value that still does not parse names nothing: 404.
func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		return uuid.Nil, notFound("There is no record with this id.")
	}
	return id, nil
}

// customerNames looks up customers' names once per page.
type customerNames struct {
	svc   *orders.Service
	names map[uuid.UUID]string
}

// load looks up, in one query, the names of ids not known yet; name then
// finds them without a query each.
func (c *customerNames) load(ctx context.Context, ids []uuid.UUID) error {
	var missing []uuid.UUID
	for _, id := range ids {
		if _, ok := c.names[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := c.svc.CustomerNames(ctx, missing)
	maps.Copy(c.names, found)
	return err
}

// customerIDs are the customers of a page's items.
func customerIDs[T any](items []T, id func(T) uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, len(items))
	for i, x := range items {
		out[i] = id(x)
	}
	return out
}

func (c *customerNames) name(ctx context.Context, id uuid.UUID) (string, error) {
	if n, ok := c.names[id]; ok {
		return n, nil
	}
	cu, err := c.svc.GetCustomer(ctx, id)
	if err != nil {
		return "", err
	}
	c.names[id] = cu.Name
	return cu.Name, nil
}

// orderListData is the orders page.
type orderListData struct {
	// The filters as sent, to fill the form again.
	Status, Site string
	customerFilter
	Statuses []orders.Status
	Sites    []orders.Site
	Rows     []orderRow
	pageLinks
}

type orderRow struct {
	orders.Order
	CustomerName string
}

// orderList lists orders newest first, filtered by status, site and
// customer (a name to search, or the id a link chose), with cursor paging.
func (s *Server) orderList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := orderListData{Status: q.Get("status"), Site: q.Get("site"), Statuses: allStatuses}
	f := orders.OrderFilter{SiteID: d.Site, Status: orders.Status(d.Status), Limit: pageSize, Cursor: q.Get("cursor")}
	var fields []fieldError
	if f.Status != "" && !f.Status.Valid() {
		fields = append(fields, fieldError{"status", "is not a known status"})
	}
	if len(d.Site) > 16 {
		fields = append(fields, fieldError{"site", "is not a site id"})
	}
	text, customerID := parseCustomerFilter(q, &fields)
	if len(fields) > 0 {
		return invalid("The filters are not valid.", fields...)
	}
	sites, err := s.orders.ListSites(ctx)
	if err != nil {
		return err
	}
	d.Sites = sites
	names := &customerNames{svc: s.orders, names: map[uuid.UUID]string{}}
	filters := url.Values{"status": {d.Status}, "site": {d.Site}}
	if d.customerFilter, err = s.resolveCustomer(ctx, text, customerID, d.Site, "/orders", filters, names); err != nil {
		return err
	}
	if d.waiting() {
		return s.render(w, r, http.StatusOK, "orders", "Orders", d)
	}
	f.CustomerID = d.customerID()
	page, err := s.orders.ListOrders(ctx, f)
	if err != nil {
		return err
	}
	if err := names.load(ctx, customerIDs(page.Items, func(o orders.Order) uuid.UUID { return o.CustomerID })); err != nil {
		return err
	}
	for _, o := range page.Items {
		n, err := names.name(ctx, o.CustomerID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, orderRow{Order: o, CustomerName: n})
	}
	if f.CustomerID != nil {
		filters.Set("customer_id", f.CustomerID.String())
	}
	d.pageLinks = listLinks("/orders", filters, "cursor", f.Cursor, page.NextCursor)
	return s.render(w, r, http.StatusOK, "orders", "Orders", d)
}

// orderPageData is one order's page.
type orderPageData struct {
	Order       orders.Order
	Customer    orders.Customer
	LegalEntity orders.LegalEntity
	// Moves are the statuses the order may go to now; empty for roles
	// that may not move it.
	Moves []orders.Status
	// Approval says whether the order needed approval, once submitted.
	Approval string
	History  []orders.Transition
	// Contracts hold the order's lines once it is booked: the one made
	// from it, or the customer's contract its lines joined.
	Contracts   []contracts.Contract
	Attachments []filestore.Attachment
	// MaxUpload is the upload limit, for the form's hint.
	MaxUpload int64
}

// maxListedAttachments is how many attachments an order page lists.
const maxListedAttachments = 200

func (s *Server) orderPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	o, err := s.orders.GetOrder(ctx, id)
	if err != nil {
		return err
	}
	d := orderPageData{Order: o, MaxUpload: s.cfg.MaxUploadBytes}
	if o.ApprovalRequired != nil {
		d.Approval = "not required"
		if *o.ApprovalRequired {
			d.Approval = "required"
			if o.ApprovalReason != "" {
				d.Approval += ": " + o.ApprovalReason
			}
		}
	}
	if d.Customer, err = s.orders.GetCustomer(ctx, o.CustomerID); err != nil {
		return err
	}
	if d.LegalEntity, err = s.orders.GetLegalEntity(ctx, o.LegalEntityID); err != nil {
		return err
	}
	if u := userOf(r); u != nil && u.CanWrite {
		if d.Moves, err = s.orders.AllowedTransitions(ctx, o.Status); err != nil {
			return err
		}
	}
	if d.History, err = s.orders.History(ctx, id); err != nil {
		return err
	}
	if d.Contracts, err = s.contracts.OrderContracts(ctx, id); err != nil {
		return err
	}
	if d.Attachments, err = s.files.ListAttachments(ctx, filestore.OwnerOrder, id, uuid.Nil, maxListedAttachments); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "order", "Order "+o.Number, d)
}

// transition moves an order to the status the button names. The version
// the page showed comes along, so a change made meanwhile by someone else
// is a 412 rather than a move decided on stale information.
func (s *Server) transition(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	to := orders.Status(r.PostForm.Get("to"))
	var fields []fieldError
	if !to.Valid() {
		fields = append(fields, fieldError{"to", "is not a known status"})
	}
	version, err := strconv.ParseInt(r.PostForm.Get("version"), 10, 32)
	if err != nil || version < 1 {
		fields = append(fields, fieldError{"version", "is missing: reload the order and try again"})
	}
	if len(fields) > 0 {
		return invalid("The status change could not be read.", fields...)
	}
	if _, err := s.orders.Transition(r.Context(), id, to, int32(version), strings.TrimSpace(r.PostForm.Get("reason"))); err != nil {
		return err
	}
	http.Redirect(w, r, "/orders/"+id.String()+"?msg=status", http.StatusSeeOther)
	return nil
}
