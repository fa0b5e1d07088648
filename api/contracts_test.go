package api_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/orders"
)

type contractBody struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Site   string `json:"site"`
	Status string `json:"status"`
	Lines  []struct {
		UnitPrice     string `json:"unit_price"`
		Quantity      string `json:"quantity"`
		BillingTiming string `json:"billing_timing"`
	} `json:"lines"`
	TermEnd string `json:"term_end"`
}

type noticeBody struct {
	ID           string `json:"id"`
	Policy       string `json:"policy"`
	EffectiveEnd string `json:"effective_end"`
	OnTime       bool   `json:"on_time"`
}

type runBody struct {
	ID           string `json:"id"`
	Site         string `json:"site"`
	RunDate      string `json:"run_date"`
	Status       string `json:"status"`
	InvoiceCount int    `json:"invoice_count"`
	LineCount    int    `json:"line_count"`
}

type invoiceBody struct {
	ID     string  `json:"id"`
	Status string  `json:"status"`
	Number *string `json:"number"`
	Net    string  `json:"net"`
	Tax    string  `json:"tax"`
	Total  string  `json:"total"`
	Lines  []struct {
		ID  string `json:"id"`
		Net string `json:"net"`
	} `json:"lines"`
}

type invoiceListBody struct {
	Items      []invoiceBody `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

type creditNoteBody struct {
	ID        string `json:"id"`
	InvoiceID string `json:"invoice_id"`
	Number    string `json:"number"`
	Net       string `json:"net"`
	Total     string `json:"total"`
}

// bookedFibreOrder books a UK order of one fibre line, the recurring line a
// contract is made from.
func bookedFibreOrder(t testing.TB, c *catalog) orders.Order {
	t.Helper()
	o, err := c.svc.CreateOrder(c.ctx, orders.OrderInput{CustomerID: c.ukCustomer.ID, LegalEntityID: c.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: c.fibre.ID, Quantity: dec("1")}}})
	must(t, err)
	for _, to := range []orders.Status{orders.StatusSubmitted, orders.StatusBooked} {
		o, err = c.svc.Transition(c.ctx, o.ID, to, o.Version, "")
		must(t, err)
	}
	return o
}

// runIn plans a UK run for today and brings it to status st through the
// service.
func runIn(t testing.TB, c *catalog, svc *contracts.Service, st contracts.RunStatus) contracts.Run {
	t.Helper()
	run, err := svc.PlanRun(c.ctx, "UK", c.today)
	must(t, err)
	steps := map[contracts.RunStatus][]func(*contracts.Service) (contracts.Run, error){
		contracts.RunPlanned:   nil,
		contracts.RunPreviewed: {prepare(c, run)},
		contracts.RunApproved:  {prepare(c, run), approve(c, run)},
		contracts.RunPosted:    {prepare(c, run), approve(c, run), post(c, run)},
	}
	for _, step := range steps[st] {
		run, err = step(svc)
		must(t, err)
	}
	if run.Status != st {
		t.Fatalf("fixture run is %s, want %s", run.Status, st)
	}
	return run
}

func prepare(c *catalog, r contracts.Run) func(*contracts.Service) (contracts.Run, error) {
	return func(s *contracts.Service) (contracts.Run, error) { return s.PrepareRun(c.ctx, r.ID) }
}

func approve(c *catalog, r contracts.Run) func(*contracts.Service) (contracts.Run, error) {
	return func(s *contracts.Service) (contracts.Run, error) { return s.ApproveRun(c.ctx, r.ID) }
}

func post(c *catalog, r contracts.Run) func(*contracts.Service) (contracts.Run, error) {
	return func(s *contracts.Service) (contracts.Run, error) { return s.PostRun(c.ctx, r.ID) }
}

// postedInvoice makes a contract and posts a run that invoices it; it
// returns that contract's invoice.
func postedInvoice(t testing.TB, c *catalog, pool *pgxpool.Pool) contracts.Invoice {
	t.Helper()
	svc := contracts.New(pool, nil)
	contract := newContract(t, c, pool)
	run := runIn(t, c, svc, contracts.RunPosted)
	invs, err := svc.RunInvoices(c.ctx, run.ID)
	must(t, err)
	for _, inv := range invs {
		for _, l := range inv.Lines {
			if l.ContractID.String() == contract {
				return inv
			}
		}
	}
	t.Fatalf("run %s did not invoice contract %s: %+v", run.ID, contract, invs)
	return contracts.Invoice{}
}

// contractMatrixFixtures are the authorization matrix fixtures of the
// contract, invoice run, invoice and credit note routes; all of site UK.
func contractMatrixFixtures(t *testing.T, b *testBundle, c *catalog) map[string]func() fixture {
	svc := contracts.New(b.db.App, nil)
	today := c.today.Format(time.DateOnly)
	contract := sync.OnceValue(func() string { return "/v1/contracts/" + newContract(t, c, b.db.App) })
	run := sync.OnceValue(func() string { return "/v1/invoice-runs/" + runIn(t, c, svc, contracts.RunPlanned).ID.String() })
	invoice := sync.OnceValue(func() string { return "/v1/invoices/" + postedInvoice(t, c, b.db.App).ID.String() })
	creditNote := sync.OnceValue(func() string {
		cn, err := svc.CreditInvoice(c.ctx, postedInvoice(t, c, b.db.App).ID, c.today, "matrix", nil)
		must(t, err)
		return "/v1/credit-notes/" + cn.ID.String()
	})
	freshRun := func(st contracts.RunStatus) string {
		return "/v1/invoice-runs/" + runIn(t, c, svc, st).ID.String()
	}
	return map[string]func() fixture{
		"createContractFromOrder": func() fixture {
			return fixture{path: "/v1/orders/" + bookedFibreOrder(t, c).ID.String() + "/contract", siteScoped: true}
		},
		"getContract": func() fixture { return fixture{path: contract(), siteScoped: true} },
		"giveContractNotice": func() fixture {
			return fixture{path: "/v1/contracts/" + newContract(t, c, b.db.App) + "/notices", body: map[string]any{"received_on": today}, siteScoped: true}
		},
		"cancelContract": func() fixture {
			return fixture{path: "/v1/contracts/" + newContract(t, c, b.db.App) + "/cancel",
				body: map[string]any{"policy": "immediate", "received_on": today}, siteScoped: true}
		},
		"planInvoiceRun": func() fixture {
			return fixture{path: "/v1/invoice-runs", body: map[string]any{"site": "UK", "run_date": today}, siteScoped: true}
		},
		"getInvoiceRun":     func() fixture { return fixture{path: run(), siteScoped: true} },
		"previewInvoiceRun": func() fixture { return fixture{path: run() + "/preview", siteScoped: true} },
		"prepareInvoiceRun": func() fixture { return fixture{path: freshRun(contracts.RunPlanned) + "/prepare", siteScoped: true} },
		"approveInvoiceRun": func() fixture { return fixture{path: freshRun(contracts.RunPreviewed) + "/approve", siteScoped: true} },
		"postInvoiceRun":    func() fixture { return fixture{path: freshRun(contracts.RunApproved) + "/post", siteScoped: true} },
		"discardInvoiceRun": func() fixture { return fixture{path: freshRun(contracts.RunPlanned) + "/discard", siteScoped: true} },
		"listRunInvoices":   func() fixture { return fixture{path: run() + "/invoices", siteScoped: true} },
		"getInvoice":        func() fixture { return fixture{path: invoice(), siteScoped: true} },
		"renderInvoiceDocuments": func() fixture {
			return fixture{path: "/v1/invoices/" + postedInvoice(t, c, b.db.App).ID.String() + "/documents", siteScoped: true}
		},
		"listInvoiceAttachments": func() fixture { return fixture{path: invoice() + "/attachments", siteScoped: true} },
		"listContracts":          func() fixture { return fixture{path: "/v1/contracts"} },
		"listContractAmendments": func() fixture { return fixture{path: contract() + "/amendments", siteScoped: true} },
		"amendContract": func() fixture {
			return fixture{path: "/v1/contracts/" + newContract(t, c, b.db.App) + "/amendments",
				body: map[string]any{"effective_date": today, "terms": map[string]any{"notice_days": 45}}, siteScoped: true}
		},
		"listInvoiceRuns":        func() fixture { return fixture{path: "/v1/invoice-runs"} },
		"listInvoices":           func() fixture { return fixture{path: "/v1/invoices"} },
		"listInvoiceCreditNotes": func() fixture { return fixture{path: invoice() + "/credit-notes", siteScoped: true} },
		"getCreditNote":          func() fixture { return fixture{path: creditNote(), siteScoped: true} },
		"createCreditNote": func() fixture {
			inv := postedInvoice(t, c, b.db.App)
			return fixture{path: "/v1/invoices/" + inv.ID.String() + "/credit-notes", body: map[string]any{"issue_date": today, "reason": "matrix"}, siteScoped: true}
		},
	}
}

const unknownID = "00000000-0000-0000-0000-000000000001"

func TestContractRoutesMakeReadAndEndContracts(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	svc := contracts.New(o.db.App, nil)
	today := o.c.today.Format(time.DateOnly)
	fr := o.token(t, "staff", "FR")

	order := bookedFibreOrder(t, o.c)
	res := o.call(t, request{method: "POST", path: "/v1/orders/" + order.ID.String() + "/contract", body: map[string]any{"notice_days": 60}})
	if res.Status != 201 {
		t.Fatalf("create contract: %d %s", res.Status, res.Body)
	}
	var made contractBody
	res.json(t, &made)
	want, err := svc.Contract(o.c.ctx, uuidOf(t, made.ID))
	must(t, err)
	if made.Number != want.Number || made.Site != "UK" || made.Status != "active" || want.NoticeDays != 60 ||
		len(made.Lines) != 1 || made.Lines[0].UnitPrice != money(want.Lines[0].UnitPrice) || !want.Lines[0].UnitPrice.Equal(dec("120")) {
		t.Fatalf("created contract %+v, service has %+v", made, want)
	}
	if res.Header.Get("Location") != "/v1/contracts/"+made.ID {
		t.Fatalf("Location %q", res.Header.Get("Location"))
	}
	t.Run("calling again returns the same contract", func(t *testing.T) {
		var again contractBody
		o.call(t, request{method: "POST", path: "/v1/orders/" + order.ID.String() + "/contract"}).json(t, &again)
		if again.ID != made.ID {
			t.Fatalf("second create made %s, first %s", again.ID, made.ID)
		}
	})
	t.Run("an order that is not booked is a conflict", func(t *testing.T) {
		draft := o.c.orderIn(t, orders.StatusDraft)
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders/" + draft.ID.String() + "/contract"}), 409, "invalid_state")
	})
	t.Run("a bad start date names the field", func(t *testing.T) {
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders/" + bookedFibreOrder(t, o.c).ID.String() + "/contract",
			body: map[string]any{"start_date": "2026-13-01"}, invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "start_date") {
			t.Fatalf("fields %v", p.fields())
		}
	})
	t.Run("an unknown or another site's order is not found", func(t *testing.T) {
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/orders/" + unknownID + "/contract"}), 404, "order_not_found")
		res := o.call(t, request{method: "POST", path: "/v1/orders/" + bookedFibreOrder(t, o.c).ID.String() + "/contract", token: fr})
		if res.Status != 404 {
			t.Fatalf("another site's order: %d %s", res.Status, res.Body)
		}
	})

	t.Run("get answers the contract with its lines", func(t *testing.T) {
		var got contractBody
		res := o.call(t, request{method: "GET", path: "/v1/contracts/" + made.ID})
		res.json(t, &got)
		if res.Status != 200 || got.ID != made.ID || got.Number != want.Number || got.TermEnd != want.TermEnd.Format(time.DateOnly) || len(got.Lines) != 1 {
			t.Fatalf("get: %d %s", res.Status, res.Body)
		}
		if res := o.call(t, request{method: "GET", path: "/v1/contracts/" + made.ID, token: fr}); res.Status != 404 {
			t.Fatalf("another site's contract: %d %s", res.Status, res.Body)
		}
		wantProblem(t, o.call(t, request{method: "GET", path: "/v1/contracts/" + unknownID}), 404, "contract_not_found")
	})

	t.Run("a notice ends the contract at its term end", func(t *testing.T) {
		var n noticeBody
		res := o.call(t, request{method: "POST", path: "/v1/contracts/" + made.ID + "/notices", body: map[string]any{"received_on": today}})
		res.json(t, &n)
		notices, err := svc.Notices(o.c.ctx, uuidOf(t, made.ID))
		must(t, err)
		if res.Status != 201 || len(notices) != 1 || n.ID != notices[0].ID.String() || n.Policy != "end_of_term" ||
			n.EffectiveEnd != notices[0].EffectiveEnd.Format(time.DateOnly) || n.OnTime != notices[0].OnTime || !n.OnTime ||
			n.EffectiveEnd != want.TermEnd.Format(time.DateOnly) {
			t.Fatalf("notice: %d %s; service has %+v", res.Status, res.Body, notices)
		}
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/contracts/" + made.ID + "/notices", body: map[string]any{}, invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "received_on") {
			t.Fatalf("fields %v", p.fields())
		}
		if res := o.call(t, request{method: "POST", path: "/v1/contracts/" + made.ID + "/notices", body: map[string]any{"received_on": today}, token: fr}); res.Status != 404 {
			t.Fatalf("notice on another site's contract: %d %s", res.Status, res.Body)
		}
	})

	t.Run("cancel by policy, once", func(t *testing.T) {
		id := newContract(t, o.c, o.db.App)
		path := "/v1/contracts/" + id + "/cancel"
		p := wantProblem(t, o.call(t, request{method: "POST", path: path, body: map[string]any{"policy": "on_date", "received_on": today}}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "end_date") {
			t.Fatalf("on_date without end_date: fields %v", p.fields())
		}
		p = wantProblem(t, o.call(t, request{method: "POST", path: path, body: map[string]any{"policy": "immediate", "received_on": "31/01/2026"}, invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "received_on") {
			t.Fatalf("bad date: fields %v", p.fields())
		}
		var n noticeBody
		res := o.call(t, request{method: "POST", path: path, body: map[string]any{"policy": "immediate", "received_on": today}})
		res.json(t, &n)
		if res.Status != 201 || n.Policy != "immediate" || n.EffectiveEnd != today {
			t.Fatalf("cancel: %d %s", res.Status, res.Body)
		}
		k, err := svc.Contract(o.c.ctx, uuidOf(t, id))
		must(t, err)
		if k.EndDate == nil || k.EndDate.Format(time.DateOnly) != n.EffectiveEnd {
			t.Fatalf("service has end %v, route answered %s", k.EndDate, n.EffectiveEnd)
		}
		wantProblem(t, o.call(t, request{method: "POST", path: path, body: map[string]any{"policy": "immediate", "received_on": today}}), 409, "invalid_state")
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/contracts/" + unknownID + "/cancel", body: map[string]any{"policy": "immediate", "received_on": today}}), 404, "contract_not_found")
	})

	t.Run("cancel without a policy takes the site's", func(t *testing.T) {
		id := newContract(t, o.c, o.db.App)
		path := "/v1/contracts/" + id + "/cancel"
		p := wantProblem(t, o.call(t, request{method: "POST", path: path, body: map[string]any{"received_on": today, "end_date": today}}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "end_date") {
			t.Fatalf("end_date without on_date: fields %v", p.fields())
		}
		// The UK rules of the fixtures say end_of_term.
		var n noticeBody
		res := o.call(t, request{method: "POST", path: path, body: map[string]any{"received_on": today}})
		res.json(t, &n)
		k, err := svc.Contract(o.c.ctx, uuidOf(t, id))
		must(t, err)
		if res.Status != 201 || n.Policy != "end_of_term" || n.EffectiveEnd != k.TermEnd.Format(time.DateOnly) {
			t.Fatalf("cancel by the site's policy: %d %s", res.Status, res.Body)
		}
		if res := o.call(t, request{method: "POST", path: "/v1/contracts/" + newContract(t, o.c, o.db.App) + "/cancel", body: map[string]any{"received_on": today}, token: fr}); res.Status != 404 {
			t.Fatalf("another site's contract: %d %s", res.Status, res.Body)
		}
	})
}

func TestInvoiceRunRoutesPlanPreviewPostAndCredit(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	svc := contracts.New(o.db.App, nil)
	today := o.c.today.Format(time.DateOnly)
	fr := o.token(t, "staff", "FR")
	contract := newContract(t, o.c, o.db.App)

	t.Run("plan validates its body and its caller", func(t *testing.T) {
		p := wantProblem(t, o.call(t, request{method: "POST", path: "/v1/invoice-runs", body: map[string]any{"site": "UK", "run_date": "2026-02-30"}, invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "run_date") {
			t.Fatalf("fields %v", p.fields())
		}
		api := o.token(t, "api")
		if res := o.call(t, request{method: "POST", path: "/v1/invoice-runs", body: map[string]any{"site": "UK", "run_date": today}, token: api}); res.Status != 403 {
			t.Fatalf("api client plans a run: %d %s", res.Status, res.Body)
		}
		if res := o.call(t, request{method: "POST", path: "/v1/invoice-runs", body: map[string]any{"site": "UK", "run_date": today}, token: fr}); res.Status != 404 {
			t.Fatalf("FR staff plans a UK run: %d %s", res.Status, res.Body)
		}
	})

	var run runBody
	res := o.call(t, request{method: "POST", path: "/v1/invoice-runs", body: map[string]any{"site": "UK", "run_date": today}})
	res.json(t, &run)
	if res.Status != 201 || run.Status != "planned" || run.Site != "UK" || run.RunDate != today {
		t.Fatalf("plan: %d %s", res.Status, res.Body)
	}
	runPath := "/v1/invoice-runs/" + run.ID

	if res := o.call(t, request{method: "GET", path: runPath, token: fr}); res.Status != 404 {
		t.Fatalf("another site's run: %d %s", res.Status, res.Body)
	}
	wantProblem(t, o.call(t, request{method: "GET", path: "/v1/invoice-runs/" + unknownID}), 404, "invoice_run_not_found")

	// Preview answers what the service computes, and leaves no trace.
	var preview invoiceListBody
	res = o.call(t, request{method: "POST", path: runPath + "/preview"})
	res.json(t, &preview)
	dry, err := svc.PreviewRun(o.c.ctx, uuidOf(t, run.ID))
	must(t, err)
	if res.Status != 200 || len(preview.Items) != 1 || len(dry) != 1 || preview.Items[0].Total != money(dry[0].Total) ||
		preview.Items[0].Net != money(dry[0].Net) || preview.Items[0].Status != "draft" || preview.Items[0].Number != nil {
		t.Fatalf("preview: %d %s; service has %+v", res.Status, res.Body, dry)
	}
	var after runBody
	o.call(t, request{method: "GET", path: runPath}).json(t, &after)
	var none invoiceListBody
	o.call(t, request{method: "GET", path: runPath + "/invoices"}).json(t, &none)
	if after.Status != "planned" || after.InvoiceCount != 0 || len(none.Items) != 0 {
		t.Fatalf("preview left a trace: run %+v, invoices %+v", after, none)
	}

	wantProblem(t, o.call(t, request{method: "POST", path: runPath + "/post"}), 409, "invalid_state")

	var prepared runBody
	res = o.call(t, request{method: "POST", path: runPath + "/prepare"})
	res.json(t, &prepared)
	if res.Status != 200 || prepared.Status != "previewed" || prepared.InvoiceCount != 1 || prepared.LineCount != len(dry[0].Lines) {
		t.Fatalf("prepare: %d %s", res.Status, res.Body)
	}
	wantProblem(t, o.call(t, request{method: "POST", path: runPath + "/post"}), 409, "invalid_state")
	for _, step := range []string{"approve", "post"} {
		var r runBody
		res := o.call(t, request{method: "POST", path: runPath + "/" + step})
		res.json(t, &r)
		if res.Status != 200 || r.Status != map[string]string{"approve": "approved", "post": "posted"}[step] {
			t.Fatalf("%s: %d %s", step, res.Status, res.Body)
		}
	}
	wantProblem(t, o.call(t, request{method: "POST", path: runPath + "/discard"}), 409, "invalid_state")

	var posted invoiceListBody
	res = o.call(t, request{method: "GET", path: runPath + "/invoices"})
	res.json(t, &posted)
	invs, err := svc.RunInvoices(o.c.ctx, uuidOf(t, run.ID))
	must(t, err)
	if res.Status != 200 || len(posted.Items) != 1 || len(invs) != 1 || posted.Items[0].Number == nil || *posted.Items[0].Number != invs[0].Number ||
		posted.Items[0].Total != money(invs[0].Total) || posted.Items[0].Tax != money(invs[0].Tax) || posted.Items[0].Total != preview.Items[0].Total {
		t.Fatalf("run invoices: %d %s; service has %+v", res.Status, res.Body, invs)
	}
	if invs[0].Lines[0].ContractID.String() != contract {
		t.Fatalf("invoice line of contract %s, want %s", invs[0].Lines[0].ContractID, contract)
	}
	if res := o.call(t, request{method: "GET", path: runPath + "/invoices", token: fr}); res.Status != 404 {
		t.Fatalf("another site's run invoices: %d %s", res.Status, res.Body)
	}

	invPath := "/v1/invoices/" + posted.Items[0].ID
	var inv invoiceBody
	res = o.call(t, request{method: "GET", path: invPath})
	res.json(t, &inv)
	if res.Status != 200 || inv.Status != "posted" || inv.Total != money(invs[0].Total) || len(inv.Lines) != len(invs[0].Lines) {
		t.Fatalf("get invoice: %d %s", res.Status, res.Body)
	}
	if res := o.call(t, request{method: "GET", path: invPath, token: fr}); res.Status != 404 {
		t.Fatalf("another site's invoice: %d %s", res.Status, res.Body)
	}
	wantProblem(t, o.call(t, request{method: "GET", path: "/v1/invoices/" + unknownID}), 404, "invoice_not_found")

	t.Run("credit notes credit part, then the rest, which voids", func(t *testing.T) {
		p := wantProblem(t, o.call(t, request{method: "POST", path: invPath + "/credit-notes", body: map[string]any{"reason": "x"}, invalid: true}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "issue_date") {
			t.Fatalf("fields %v", p.fields())
		}
		var part creditNoteBody
		res := o.call(t, request{method: "POST", path: invPath + "/credit-notes", body: map[string]any{"issue_date": today, "reason": "outage",
			"lines": []map[string]any{{"invoice_line_id": inv.Lines[0].ID, "amount": "1.00"}}}})
		res.json(t, &part)
		notes, err := svc.ContractCreditNotes(o.c.ctx, uuidOf(t, contract))
		must(t, err)
		if res.Status != 201 || part.InvoiceID != inv.ID || len(notes) != 1 || part.Number != notes[0].Number ||
			part.Total != money(notes[0].Total) || notes[0].Net.StringFixed(2) != "1.00" {
			t.Fatalf("partial credit: %d %s; service has %+v", res.Status, res.Body, notes)
		}
		var rest creditNoteBody
		res = o.call(t, request{method: "POST", path: invPath + "/credit-notes", body: map[string]any{"issue_date": today, "reason": "cancelled"}})
		res.json(t, &rest)
		if res.Status != 201 || rest.Number == part.Number {
			t.Fatalf("full credit: %d %s", res.Status, res.Body)
		}
		var void invoiceBody
		o.call(t, request{method: "GET", path: invPath}).json(t, &void)
		if void.Status != "void" {
			t.Fatalf("fully credited invoice is %s", void.Status)
		}
		wantProblem(t, o.call(t, request{method: "POST", path: invPath + "/credit-notes", body: map[string]any{"issue_date": today}}), 409, "invalid_state")
		if res := o.call(t, request{method: "POST", path: invPath + "/credit-notes", body: map[string]any{"issue_date": today}, token: fr}); res.Status != 404 {
			t.Fatalf("credit another site's invoice: %d %s", res.Status, res.Body)
		}
	})

	t.Run("a discarded run cannot be posted", func(t *testing.T) {
		var r runBody
		o.call(t, request{method: "POST", path: "/v1/invoice-runs", body: map[string]any{"site": "UK", "run_date": today}}).json(t, &r)
		res := o.call(t, request{method: "POST", path: "/v1/invoice-runs/" + r.ID + "/discard"})
		var d runBody
		res.json(t, &d)
		if res.Status != 200 || d.Status != "discarded" {
			t.Fatalf("discard: %d %s", res.Status, res.Body)
		}
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/invoice-runs/" + r.ID + "/post"}), 409, "invalid_state")
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/invoice-runs/" + unknownID + "/approve"}), 404, "invoice_run_not_found")
	})
}

func uuidOf(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	must(t, err)
	return id
}

// money formats an amount as the API does: at its database scale.
func money(d decimal.Decimal) string {
	if d.Exponent() < 0 {
		return d.StringFixed(-d.Exponent())
	}
	return d.String()
}
