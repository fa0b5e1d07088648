package web_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/orders"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

// booked makes an order of c by ana with lines and books it: within the
// approval thresholds, submitting approves it at once.
func (b *testBundle) booked(t *testing.T, c orders.Customer, lines ...orders.LineInput) orders.Order {
	t.Helper()
	return b.bookedBy(t, c, "ana", lines...)
}

// bookedBy is booked for an order of salesperson.
func (b *testBundle) bookedBy(t *testing.T, c orders.Customer, salesperson string, lines ...orders.LineInput) orders.Order {
	t.Helper()
	entity := b.ukEntity
	if c.SiteID == "FR" {
		entity = b.frEntity
	}
	o, err := b.orders.CreateOrder(b.admin, orders.OrderInput{CustomerID: c.ID, LegalEntityID: entity.ID, Salesperson: salesperson, Lines: lines})
	must(t, err)
	o, err = b.orders.Transition(b.admin, o.ID, orders.StatusSubmitted, o.Version, "")
	must(t, err)
	o, err = b.orders.Transition(b.admin, o.ID, orders.StatusBooked, o.Version, "")
	must(t, err)
	return o
}

// fibre is an order line of qty fibre links (120 a month, cost 70, 12
// months, billed monthly in advance).
func (b *testBundle) fibreLine(qty string) orders.LineInput {
	return orders.LineInput{ProductID: b.fibre.ID, Quantity: dec(qty)}
}

// contract books an order of qty fibre links for c and makes its contract,
// starting on start with the site's terms (12 months, auto-renewing,
// 30 days' notice).
func (b *testBundle) contract(t *testing.T, c orders.Customer, qty string, start time.Time) contracts.Contract {
	t.Helper()
	o := b.booked(t, c, b.fibreLine(qty))
	k, err := b.contracts.CreateFromOrder(b.admin, o.ID, startingOn(start))
	must(t, err)
	return k
}

// startingOn are the site's terms for a contract starting on start.
func startingOn(start time.Time) contracts.Terms {
	return contracts.Terms{StartDate: &start}
}

// postedRun plans, prepares, approves and posts a run of site on day and
// returns the run and its invoices.
func (b *testBundle) postedRun(t *testing.T, site string, day time.Time) (contracts.Run, []contracts.Invoice) {
	t.Helper()
	run, err := b.contracts.PlanRun(b.admin, site, day)
	must(t, err)
	_, err = b.contracts.PrepareRun(b.admin, run.ID)
	must(t, err)
	_, err = b.contracts.ApproveRun(b.admin, run.ID)
	must(t, err)
	run, err = b.contracts.PostRun(b.admin, run.ID)
	must(t, err)
	invs, err := b.contracts.RunInvoices(b.admin, run.ID)
	must(t, err)
	return run, invs
}

// withAddresses gives the UK legal entity and customer c postal
// addresses, which EN 16931 documents need.
func (b *testBundle) withAddresses(t *testing.T, c orders.Customer) {
	t.Helper()
	_, err := b.orders.SetLegalEntityAddress(b.admin, b.ukEntity.ID, b.ukEntity.Version,
		&orders.Address{Street: "1 Seller Street", City: "London", Postcode: "EC1A 1AA", Country: "GB"})
	must(t, err)
	_, err = b.orders.UpdateCustomer(b.admin, c.ID, c.Version, orders.CustomerInput{SiteID: c.SiteID, Name: c.Name, Currency: c.Currency,
		Language: c.Language, Timezone: c.Timezone, PaymentTermsDays: c.PaymentTermsDays,
		Address: &orders.Address{Street: "2 Buyer Road", City: "Leeds", Postcode: "LS1 1AA", Country: "GB"}})
	must(t, err)
}

// formValues are the fields of the form with id on p, as a browser would
// send them untouched: text and hidden inputs with their values, checkboxes
// only when checked, and each select's selected (else first) option.
func formValues(t *testing.T, p *page, id string) url.Values {
	t.Helper()
	f := p.mustID(t, id)
	v := url.Values{}
	for _, in := range findAll(f, tag("input")) {
		name := attr(in, "name")
		if name == "" {
			continue
		}
		if attr(in, "type") == "checkbox" {
			if _, ok := attrOK(in, "checked"); !ok {
				continue
			}
		}
		v.Add(name, attr(in, "value"))
	}
	for _, sel := range findAll(f, tag("select")) {
		opts := findAll(sel, tag("option"))
		if len(opts) == 0 {
			continue
		}
		chosen := opts[0]
		for _, o := range opts {
			if _, ok := attrOK(o, "selected"); ok {
				chosen = o
			}
		}
		v.Set(attr(sel, "name"), attr(chosen, "value"))
	}
	return v
}

// nextLink is the page's rel=next link, "" when there is none.
func nextLink(p *page) string {
	for _, a := range findAll(p.Doc, tag("a")) {
		if attr(a, "rel") == "next" {
			return attr(a, "href")
		}
	}
	return ""
}

// column is cell i of each row.
func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		if i < len(r) {
			out = append(out, r[i])
		}
	}
	return out
}
