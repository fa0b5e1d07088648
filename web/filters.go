package web

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/orders"
)

// pageLinks continue a keyset-paged list: NextURL reads the page after
// this one, FirstURL goes back to the start. Either is "" when there is
// nowhere to go.
type pageLinks struct {
	FirstURL, NextURL string
}

// listLinks makes the links of a list at path whose filters are filters
// (empty values left out), paged by the query parameter param: cursor is
// this page's, next the service's NextCursor.
func listLinks(path string, filters url.Values, param, cursor, next string) pageLinks {
	var out pageLinks
	if cursor != "" {
		out.FirstURL = filteredURL(path, filters)
	}
	if next != "" {
		link := url.Values{param: {next}}
		for k, vs := range filters {
			link[k] = append(link[k], vs...)
		}
		out.NextURL = filteredURL(path, link)
	}
	return out
}

// filteredURL is path with the non-empty values of q as its query.
func filteredURL(path string, q url.Values) string {
	link := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				link.Add(k, v)
			}
		}
	}
	if len(link) == 0 {
		return path
	}
	return path + "?" + link.Encode()
}

// customerFilter is the customer filter of a list: a name to search, or
// the id a link chose. Its field names are those the list templates use.
type customerFilter struct {
	// Customer is the text of the filter, to fill the form again.
	Customer string
	// FilterCustomer is the customer the list is limited to, if any.
	FilterCustomer *orders.Customer
	// CustomerChoices are the customers a name search matched when it
	// matched several; nothing is listed until one is chosen.
	CustomerChoices []customerChoice
	// CustomerNote explains a name search that matched nothing.
	CustomerNote string
}

type customerChoice struct {
	orders.Customer
	URL string
}

// waiting says that the list has nothing to show until the user refines
// the customer filter: the name matched no customer, or several.
func (c customerFilter) waiting() bool {
	return c.CustomerNote != "" || len(c.CustomerChoices) > 0
}

// customerID is the id the filter limits the list to, or nil.
func (c customerFilter) customerID() *uuid.UUID {
	if c.FilterCustomer == nil {
		return nil
	}
	return &c.FilterCustomer.ID
}

// parseCustomerFilter reads ?customer (a name) and ?customer_id (a link's
// choice); a malformed id is a field error for the 422 page.
func parseCustomerFilter(q url.Values, fields *[]fieldError) (string, *uuid.UUID) {
	text := strings.TrimSpace(q.Get("customer"))
	v := q.Get("customer_id")
	if v == "" {
		return text, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		*fields = append(*fields, fieldError{"customer_id", "is not a customer id"})
	}
	return text, &id
}

// resolveCustomer turns the customer filter into the customer to list,
// or the choices and notes of a name search. Each choice links to the
// list at path with the filters keep and the customer's id.
func (s *Server) resolveCustomer(ctx context.Context, text string, id *uuid.UUID, site, path string, keep url.Values, names *customerNames) (customerFilter, error) {
	out := customerFilter{Customer: text}
	switch {
	case id != nil:
		c, err := s.orders.GetCustomer(ctx, *id)
		if err != nil {
			return out, err
		}
		out.FilterCustomer, out.Customer = &c, c.Name
		names.names[c.ID] = c.Name
	case text != "":
		found, err := s.orders.ListCustomers(ctx, orders.CustomerFilter{SiteID: site, Search: text, Limit: 20})
		if err != nil {
			return out, err
		}
		switch len(found.Items) {
		case 0:
			out.CustomerNote = "No customer’s name contains “" + text + "”."
		case 1:
			out.FilterCustomer = &found.Items[0]
			names.names[found.Items[0].ID] = found.Items[0].Name
		default:
			for _, c := range found.Items {
				v := url.Values{"customer_id": {c.ID.String()}}
				for k := range keep {
					if kv := keep.Get(k); kv != "" {
						v.Set(k, kv)
					}
				}
				out.CustomerChoices = append(out.CustomerChoices, customerChoice{Customer: c, URL: path + "?" + v.Encode()})
			}
		}
	}
	return out, nil
}

// parseDay reads a date as a date input sends it (YYYY-MM-DD), as
// midnight UTC: the domain's billing dates. An empty value is nil.
func parseDay(v, field string, fields *[]fieldError) *time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		*fields = append(*fields, fieldError{field, "must be a date, YYYY-MM-DD"})
		return nil
	}
	return &d
}

// requiredDay is parseDay for a date the form must have.
func requiredDay(v, field string, fields *[]fieldError) time.Time {
	if strings.TrimSpace(v) == "" {
		*fields = append(*fields, fieldError{field, "is required"})
		return time.Time{}
	}
	if d := parseDay(v, field, fields); d != nil {
		return *d
	}
	return time.Time{}
}

// confirmed checks the box a form for a change that cannot be undone
// carries: the browser requires it, and a post without it (an old browser,
// a hand-made request) changes nothing.
func confirmed(form url.Values, what string, fields *[]fieldError) {
	if form.Get("confirm") != "yes" {
		*fields = append(*fields, fieldError{"confirm", "must be ticked to " + what})
	}
}

// siteToday is today's date in a site's timezone, the default of the
// date fields of its forms (UTC when the site cannot be read).
func (s *Server) siteToday(ctx context.Context, siteID string) string {
	now := s.cfg.Now()
	if site, err := s.orders.GetSite(ctx, siteID); err == nil {
		if loc, err := time.LoadLocation(site.Timezone); err == nil {
			now = now.In(loc)
		}
	}
	return now.Format(time.DateOnly)
}
