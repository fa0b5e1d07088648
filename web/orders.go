package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

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
	Status, Site, Customer string
	Statuses               []orders.Status
	Sites                  []orders.Site
	// FilterCustomer is the customer the list is limited to, if any.
	FilterCustomer *orders.Customer
	// CustomerChoices are the customers a name search matched when it
	// matched several; no orders are listed until one is chosen.
	CustomerChoices []customerChoice
	// CustomerNote explains a name search that matched nothing.
	CustomerNote string
	Rows         []orderRow
	// NextURL continues the list; FirstURL goes back to its start.
	NextURL, FirstURL string
}

type customerChoice struct {
	orders.Customer
	URL string
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
	d := orderListData{Status: q.Get("status"), Site: q.Get("site"), Customer: strings.TrimSpace(q.Get("customer")), Statuses: allStatuses}
	f := orders.OrderFilter{SiteID: d.Site, Status: orders.Status(d.Status), Limit: pageSize, Cursor: q.Get("cursor")}
	var fields []fieldError
	if f.Status != "" && !f.Status.Valid() {
		fields = append(fields, fieldError{"status", "is not a known status"})
	}
	if len(d.Site) > 16 {
		fields = append(fields, fieldError{"site", "is not a site id"})
	}
	var customerID *uuid.UUID
	if v := q.Get("customer_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			fields = append(fields, fieldError{"customer_id", "is not a customer id"})
		}
		customerID = &id
	}
	if len(fields) > 0 {
		return invalid("The filters are not valid.", fields...)
	}
	sites, err := s.orders.ListSites(ctx)
	if err != nil {
		return err
	}
	d.Sites = sites
	names := &customerNames{svc: s.orders, names: map[uuid.UUID]string{}}
	switch {
	case customerID != nil:
		c, err := s.orders.GetCustomer(ctx, *customerID)
		if err != nil {
			return err
		}
		d.FilterCustomer, d.Customer = &c, c.Name
		names.names[c.ID] = c.Name
	case d.Customer != "":
		found, err := s.orders.ListCustomers(ctx, orders.CustomerFilter{SiteID: d.Site, Search: d.Customer, Limit: 20})
		if err != nil {
			return err
		}
		switch len(found.Items) {
		case 0:
			d.CustomerNote = "No customer’s name contains “" + d.Customer + "”."
			return s.render(w, r, http.StatusOK, "orders", "Orders", d)
		case 1:
			d.FilterCustomer = &found.Items[0]
			names.names[found.Items[0].ID] = found.Items[0].Name
		default:
			for _, c := range found.Items {
				v := url.Values{"customer_id": {c.ID.String()}, "status": {d.Status}, "site": {d.Site}}
				d.CustomerChoices = append(d.CustomerChoices, customerChoice{Customer: c, URL: "/orders?" + v.Encode()})
			}
			return s.render(w, r, http.StatusOK, "orders", "Orders", d)
		}
	}
	if d.FilterCustomer != nil {
		f.CustomerID = &d.FilterCustomer.ID
	}
	page, err := s.orders.ListOrders(ctx, f)
	if err != nil {
		return err
	}
	for _, o := range page.Items {
		n, err := names.name(ctx, o.CustomerID)
		if err != nil {
			return err
		}
		d.Rows = append(d.Rows, orderRow{Order: o, CustomerName: n})
	}
	link := url.Values{}
	for k, v := range map[string]string{"status": d.Status, "site": d.Site} {
		if v != "" {
			link.Set(k, v)
		}
	}
	if d.FilterCustomer != nil {
		link.Set("customer_id", d.FilterCustomer.ID.String())
	}
	if f.Cursor != "" {
		d.FirstURL = "/orders?" + link.Encode()
	}
	if page.NextCursor != "" {
		link.Set("cursor", page.NextCursor)
		d.NextURL = "/orders?" + link.Encode()
	}
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
	Approval    string
	History     []orders.Transition
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
