package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/orders"
)

// steps are the run page's step forms by step, with their fields.
func steps(t *testing.T, p *page) map[string]url.Values {
	t.Helper()
	out := map[string]url.Values{}
	for _, f := range findAll(p.Doc, func(n *htmlNode) bool { return n.Data == "form" && attr(n, "data-step") != "" }) {
		v := url.Values{}
		for _, in := range findAll(f, tag("input")) {
			if _, required := attrOK(in, "required"); required && attr(in, "type") == "checkbox" {
				v.Set("confirm-required", "yes")
			}
		}
		out[attr(f, "data-step")] = v
	}
	return out
}

func stepNames(m map[string]url.Values) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestBillersPlanPreviewPrepareApproveAndPostARunThroughForms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.contract(t, b.ukCustomer, "2", date(2025, 3, 1))
	globex := b.customer(t, "UK", "Globex")
	b.contract(t, globex, "1", date(2025, 3, 16))
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))

	// Plan from the runs page.
	runs := staff.get("/invoice-runs").wantStatus(t, http.StatusOK)
	plan := formValues(t, runs, "plan")
	if plan.Get("site") != "FR" && plan.Get("site") != "UK" || plan.Get("run_date") == "" {
		t.Fatalf("plan form %v", plan)
	}
	plan.Set("site", "UK")
	plan.Set("run_date", "2025-03-31")
	res := staff.post("/invoice-runs", plan).wantStatus(t, http.StatusSeeOther)
	runPath, _, _ := strings.Cut(res.location(t), "?")
	runID, err := uuid.Parse(strings.TrimPrefix(runPath, "/invoice-runs/"))
	must(t, err)
	p := staff.get(res.location(t)).wantStatus(t, http.StatusOK)
	if p.title() != "Invoice run UK 2025-03-31 planned" || !strings.Contains(text(p.Doc), "The invoice run was planned.") {
		t.Fatalf("after planning: %q", p.title())
	}
	forms := steps(t, p)
	if got := stepNames(forms); !slices.Equal(got, []string{"discard", "prepare", "preview"}) || forms["discard"].Get("confirm-required") != "yes" || forms["prepare"].Has("confirm-required") {
		t.Fatalf("planned: steps %v", forms)
	}

	// Preview: the lines the run would invoice, and nothing saved.
	pv := staff.post(runPath+"/preview", nil).wantStatus(t, http.StatusOK)
	if pv.title() != "Preview of invoice run UK 2025-03-31" {
		t.Fatalf("preview title %q", pv.title())
	}
	sections := findAll(pv.Doc, func(n *htmlNode) bool { return n.Data == "section" && attr(n, "class") == "preview-invoice" })
	if len(sections) != 2 {
		t.Fatalf("preview shows %d invoices: %s", len(sections), text(pv.Doc))
	}
	var previewed []string
	for _, s := range sections {
		previewed = append(previewed, text(s))
	}
	slices.Sort(previewed)
	// Acme: two links a month from 1 March; Globex: one from 16 March,
	// 16/31 of a month at daily proration (61.94), tax 20 %.
	for i, want := range []string{"Acme Ltd GBP", "2025-03-01 – 2025-03-31 2 120.00 GBP 0 % 1 240.00 GBP 0.2 48.00 GBP", "Total 288.00 GBP"} {
		if !strings.Contains(previewed[0], want) {
			t.Errorf("Acme's preview (%d) %q lacks %q", i, previewed[0], want)
		}
	}
	for _, want := range []string{"Globex GBP", "2025-03-16 – 2025-03-31", "61.94 GBP", "Total 74.33 GBP"} {
		if !strings.Contains(previewed[1], want) {
			t.Errorf("Globex's preview %q lacks %q", previewed[1], want)
		}
	}
	run, err := b.contracts.Run(b.admin, runID)
	must(t, err)
	k, err := b.contracts.Contract(b.admin, acme.ID)
	must(t, err)
	if run.Status != contracts.RunPlanned || run.InvoiceCount != 0 || !k.Lines[0].BilledThrough.Before(date(2025, 3, 1)) {
		t.Fatalf("the preview saved: run %s with %d invoices, billed through %s", run.Status, run.InvoiceCount, k.Lines[0].BilledThrough)
	}

	// Prepare: drafts without numbers.
	res = staff.post(runPath+"/prepare", url.Values{}).wantStatus(t, http.StatusSeeOther)
	if res.location(t) != runPath+"?msg=prepare" {
		t.Fatalf("after prepare: %q", res.location(t))
	}
	p = staff.get(runPath)
	if drafts := listed(t, p, "invoices", 9); !slices.Equal(drafts, []string{"draft", "draft"}) || p.title() != "Invoice run UK 2025-03-31 previewed" {
		t.Fatalf("after prepare: %s %v", p.title(), drafts)
	}
	if got := stepNames(steps(t, p)); !slices.Equal(got, []string{"approve", "discard", "prepare", "preview"}) {
		t.Fatalf("previewed: steps %v", got)
	}

	// Approve needs its box ticked; posting before approving is a 409
	// naming the status it needs.
	if bad := staff.post(runPath+"/approve", url.Values{}).wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"confirm: must be ticked to approve the run"}) {
		t.Fatalf("unticked approve: %v", fieldErrors(bad))
	}
	early := staff.post(runPath+"/post", url.Values{"confirm": {"yes"}}).wantStatus(t, http.StatusConflict)
	if allowed := findAll(early.Doc, func(n *htmlNode) bool { return attr(n, "class") == "allowed" }); len(allowed) != 1 || text(allowed[0]) != "This is possible only in the status: approved ." {
		t.Fatalf("409 page: %s", text(early.Doc))
	}
	staff.post(runPath+"/approve", url.Values{"confirm": {"yes"}}).wantStatus(t, http.StatusSeeOther)
	p = staff.get(runPath)
	if got := stepNames(steps(t, p)); !slices.Equal(got, []string{"discard", "post"}) {
		t.Fatalf("approved: steps %v", got)
	}

	// Post: numbered invoices, in customer name order.
	staff.post(runPath+"/post", url.Values{"confirm": {"yes"}}).wantStatus(t, http.StatusSeeOther)
	p = staff.get(runPath+"?msg=post").wantStatus(t, http.StatusOK)
	rows := p.rows(t, "invoices")
	if !strings.Contains(text(p.Doc), "its invoices are numbered") || len(rows) != 2 ||
		!slices.Equal(rows[0], []string{"MUK-2025-000001", "Acme Ltd", "posted", "2025-03-31", "2025-04-30", "1", "240.00 GBP", "48.00 GBP", "288.00 GBP"}) ||
		rows[1][0] != "MUK-2025-000002" || rows[1][1] != "Globex" || rows[1][8] != "74.33 GBP" {
		t.Fatalf("after post: %q", rows)
	}
	if len(steps(t, p)) != 0 {
		t.Fatalf("a posted run offers %v", stepNames(steps(t, p)))
	}
	staff.post(runPath+"/discard", url.Values{"confirm": {"yes"}}).wantStatus(t, http.StatusConflict)

	// Auditors read the run, see no form and may not plan or post.
	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))
	ap := aud.get(runPath).wantStatus(t, http.StatusOK)
	if got := ap.postActions(); len(got) != 0 || len(listed(t, ap, "invoices", 9)) != 2 {
		t.Fatalf("an auditor's run page posts to %v", got)
	}
	if byID(aud.get("/invoice-runs").Doc, "plan") != nil {
		t.Fatal("an auditor sees the plan form")
	}
	aud.post("/invoice-runs", url.Values{"site": {"UK"}, "run_date": {"2025-04-30"}}).wantStatus(t, http.StatusForbidden)
	aud.post(runPath+"/preview", nil).wantStatus(t, http.StatusForbidden)
	if runs, err := b.contracts.ListRuns(b.admin, contracts.RunFilter{}); err != nil || len(runs.Items) != 1 {
		t.Fatalf("an auditor planned a run: %v %v", runs.Items, err)
	}
}

func TestADiscardedRunFreesItsPeriodsAndBadPlansAreNamed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.contract(t, b.ukCustomer, "1", date(2025, 3, 1))
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))
	bad := staff.post("/invoice-runs", url.Values{"run_date": {"31/03/2025"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if !slices.Equal(fieldErrors(bad), []string{"site: is required", "run_date: must be a date, YYYY-MM-DD"}) {
		t.Fatalf("bad plan: %v", fieldErrors(bad))
	}
	res := staff.post("/invoice-runs", url.Values{"site": {"UK"}, "run_date": {"2025-03-31"}}).wantStatus(t, http.StatusSeeOther)
	runPath, _, _ := strings.Cut(res.location(t), "?")
	staff.post(runPath+"/prepare", nil).wantStatus(t, http.StatusSeeOther)
	if bad := staff.post(runPath+"/discard", nil).wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"confirm: must be ticked to discard the run"}) {
		t.Fatalf("unticked discard: %v", fieldErrors(bad))
	}
	staff.post(runPath+"/discard", url.Values{"confirm": {"yes"}}).wantStatus(t, http.StatusSeeOther)
	p := staff.get(runPath + "?msg=discard")
	if p.title() != "Invoice run UK 2025-03-31 discarded" || len(listed(t, p, "invoices", 9)) != 0 || len(steps(t, p)) != 0 {
		t.Fatalf("after discard: %s", text(p.Doc))
	}
	k, err := b.contracts.Contract(b.admin, c.ID)
	must(t, err)
	if !k.Lines[0].BilledThrough.Before(date(2025, 3, 1)) {
		t.Fatalf("billed through %s after the discard", k.Lines[0].BilledThrough)
	}
}

// documentLinks are the invoice page's documents by name: the download
// link of the latest revision and the revision.
func documentLinks(t *testing.T, p *page) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for _, tr := range findAll(p.mustID(t, "document-list"), tag("tr")) {
		td := findAll(tr, tag("td"))
		if len(td) != 5 {
			continue
		}
		var dl string
		for _, a := range findAll(td[4], tag("a")) {
			dl = attr(a, "href")
		}
		out[text(td[0])] = [2]string{dl, text(td[1])}
	}
	return out
}

func TestInvoicePageRendersDownloadableDocumentsAndCreditsInFull(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.withAddresses(t, b.ukCustomer)
	c := b.contract(t, b.ukCustomer, "2", date(2025, 3, 1))
	_, invs := b.postedRun(t, "UK", date(2025, 3, 31))
	inv := invs[0]
	path := "/invoices/" + inv.ID.String()
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))

	// The parties as posted, which a later rename does not change.
	cu, err := b.orders.GetCustomer(b.admin, b.ukCustomer.ID)
	must(t, err)
	_, err = b.orders.UpdateCustomer(b.admin, cu.ID, cu.Version, orders.CustomerInput{SiteID: cu.SiteID, Name: "Renamed Ltd", Currency: cu.Currency,
		Language: cu.Language, Timezone: cu.Timezone, PaymentTermsDays: cu.PaymentTermsDays})
	must(t, err)
	p := staff.get(path).wantStatus(t, http.StatusOK)
	if p.title() != "Invoice MUK-2025-000001 posted" || text(p.mustID(t, "customer")) != "Acme Ltd 2 Buyer Road, LS1 1AA Leeds, GB" ||
		!strings.HasPrefix(text(p.mustID(t, "seller")), "Messina") || !strings.HasSuffix(text(p.mustID(t, "seller")), "1 Seller Street, EC1A 1AA London, GB") ||
		!slices.Contains(p.links(), "/contracts/"+c.ID.String()) {
		t.Fatalf("invoice page: %q %s", p.title(), text(p.mustID(t, "facts")))
	}
	lines := p.rows(t, "lines")
	if len(lines) != 1 || !slices.Equal(lines[0], []string{"Fibre 1 Gbit/s", "2025-03-01 – 2025-03-31", "2", "120.00 GBP", "0 %", "1", "240.00 GBP", "0.2", "48.00 GBP"}) {
		t.Fatalf("lines %q", lines)
	}
	if totals := text(p.mustID(t, "totals")); totals != "Net 240.00 GBP Tax 48.00 GBP Total 288.00 GBP" {
		t.Fatalf("totals %q", totals)
	}
	if docs := documentLinks(t, p); len(docs) != 0 {
		t.Fatalf("documents before rendering: %v", docs)
	}

	// Render: three documents, each downloadable; a second render makes
	// revision 2 of the same three.
	res := staff.post(path+"/documents", nil).wantStatus(t, http.StatusSeeOther)
	if res.location(t) != path+"?msg=rendered" {
		t.Fatalf("after render: %q", res.location(t))
	}
	docs := documentLinks(t, staff.get(path))
	if len(docs) != 3 {
		t.Fatalf("documents %v", docs)
	}
	for name, check := range map[string]func(string) bool{
		"invoice.xml":  func(b string) bool { return strings.Contains(b, "<cbc:ID>MUK-2025-000001</cbc:ID>") },
		"invoice.json": func(b string) bool { return json.Valid([]byte(b)) && strings.Contains(b, "MUK-2025-000001") },
		"invoice.pdf":  func(b string) bool { return strings.HasPrefix(b, "%PDF-") },
	} {
		d := docs[name]
		if d[1] != "1" || !strings.HasSuffix(d[0], "/revisions/1/content") {
			t.Fatalf("%s: %v", name, d)
		}
		got := staff.get(d[0]).wantStatus(t, http.StatusOK)
		if !check(got.Body) || !strings.Contains(got.Header.Get("Content-Disposition"), name) {
			t.Errorf("%s: %s %q…", name, got.Header.Get("Content-Disposition"), got.Body[:min(60, len(got.Body))])
		}
	}
	staff.post(path+"/documents", nil).wantStatus(t, http.StatusSeeOther)
	for name, d := range documentLinks(t, staff.get(path)) {
		if d[1] != "2" {
			t.Errorf("%s after a second render: %v", name, d)
		}
	}
	atts, err := b.files.ListAttachments(b.admin, filestore.OwnerInvoice, inv.ID, uuid.Nil, 10)
	if err != nil || len(atts) != 3 {
		t.Fatalf("attachments %v %v", atts, err)
	}
	// A document changes only by rendering: no upload or restore, by form
	// or by hand.
	docPath := "/attachments/" + atts[0].ID.String()
	if ap := staff.get(docPath); !slices.Contains(ap.links(), path) || byID(ap.Doc, "rendered") == nil || len(ap.postActions()) != 0 {
		t.Fatalf("a document's page: links %v, forms %v", ap.links(), ap.postActions())
	}
	staff.upload(docPath+"/revisions", nil, file{name: "invoice.pdf", contentType: "application/pdf", content: []byte("%PDF-1.4 forged")}).wantStatus(t, http.StatusConflict)
	staff.post(docPath+"/restore", url.Values{"revision": {"1"}}).wantStatus(t, http.StatusConflict)
	if a, err := b.files.GetAttachment(b.admin, atts[0].ID); err != nil || a.LatestRevision != 2 {
		t.Fatalf("a hand-made revision of a document: %v %v", a.LatestRevision, err)
	}

	// Credit in full: a numbered credit note, the invoice void.
	credit := formValues(t, staff.get(path), "credit")
	if credit.Get("issue_date") == "" || credit.Has("confirm") {
		t.Fatalf("credit form %v", credit)
	}
	credit.Set("issue_date", "2025-04-02")
	credit.Set("confirm", "yes")
	if bad := staff.post(path+"/credit-notes", credit).wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"reason: is required"}) {
		t.Fatalf("no reason: %v", fieldErrors(bad))
	}
	credit.Set("reason", "billed in error")
	staff.post(path+"/credit-notes", credit).wantStatus(t, http.StatusSeeOther)
	p = staff.get(path + "?msg=credited")
	notes := p.rows(t, "credit-notes")
	if p.title() != "Invoice MUK-2025-000001 void" || len(notes) != 1 ||
		!slices.Equal(notes[0], []string{"MUKCN-2025-000001", "2025-04-02", "billed in error", "240.00 GBP", "48.00 GBP", "288.00 GBP"}) {
		t.Fatalf("after credit: %s %q", p.title(), notes)
	}
	if byID(p.Doc, "credit") != nil || byID(p.Doc, "render") == nil {
		t.Fatal("a void invoice still offers a credit, or no longer its documents")
	}
	if cp := staff.get("/contracts/" + c.ID.String()); !slices.Equal(column(cp.rows(t, "credit-notes"), 0), []string{"MUKCN-2025-000001"}) {
		t.Fatal("the contract does not list the credit note")
	}

	// Auditors download, and see no form.
	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))
	ap := aud.get(path).wantStatus(t, http.StatusOK)
	if got := ap.postActions(); len(got) != 0 {
		t.Fatalf("an auditor's invoice page posts to %v", got)
	}
	aud.get(documentLinks(t, ap)["invoice.pdf"][0]).wantStatus(t, http.StatusOK)
	aud.post(path+"/documents", nil).wantStatus(t, http.StatusForbidden)
	aud.post(path+"/credit-notes", credit).wantStatus(t, http.StatusForbidden)
}

func TestApprovalNeedsPostalAddressesAndDraftsHaveNoDocuments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A customer from before addresses: approving a run that invoices it
	// is refused, naming it, since its invoices could never have
	// documents; with an address the same run is approved.
	cu, err := b.orders.GetCustomer(b.admin, b.ukCustomer.ID)
	must(t, err)
	in := orders.CustomerInput{SiteID: cu.SiteID, Name: cu.Name, Currency: cu.Currency, Language: cu.Language, Timezone: cu.Timezone, PaymentTermsDays: cu.PaymentTermsDays}
	cu, err = b.orders.UpdateCustomer(b.admin, cu.ID, cu.Version, in)
	must(t, err)
	b.contract(t, b.ukCustomer, "1", date(2025, 3, 1))
	early, err := b.contracts.PlanRun(b.admin, "UK", date(2025, 3, 31))
	must(t, err)
	_, err = b.contracts.PrepareRun(b.admin, early.ID)
	must(t, err)
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))
	refused := staff.post("/invoice-runs/"+early.ID.String()+"/approve", url.Values{"confirm": {"yes"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if got := fieldErrors(refused); len(got) != 1 || !strings.Contains(got[0], "customer Acme Ltd") || strings.Contains(got[0], "legal entity") {
		t.Fatalf("approving a run for a customer without address: %v", got)
	}
	in.Address = &orders.Address{Street: "9 Customer Way", City: "Leeds", Postcode: "LS1 1AA", Country: "GB"}
	_, err = b.orders.UpdateCustomer(b.admin, cu.ID, cu.Version, in)
	must(t, err)
	staff.post("/invoice-runs/"+early.ID.String()+"/approve", url.Values{"confirm": {"yes"}}).wantStatus(t, http.StatusSeeOther)
	_, err = b.contracts.PostRun(b.admin, early.ID)
	must(t, err)

	b.contract(t, b.ukCustomer, "1", date(2025, 4, 1))
	run, err := b.contracts.PlanRun(b.admin, "UK", date(2025, 4, 30))
	must(t, err)
	_, err = b.contracts.PrepareRun(b.admin, run.ID)
	must(t, err)
	drafts, err := b.contracts.RunInvoices(b.admin, run.ID)
	must(t, err)
	p := staff.get("/invoices/"+drafts[0].ID.String()).wantStatus(t, http.StatusOK)
	if p.title() != "Draft invoice draft" || byID(p.Doc, "render") != nil || byID(p.Doc, "credit") != nil {
		t.Fatalf("draft page: %q forms %v", p.title(), p.postActions())
	}
	if res := staff.post("/invoices/"+drafts[0].ID.String()+"/documents", nil).wantStatus(t, http.StatusConflict); !strings.Contains(text(res.Doc), "Only a posted invoice has documents.") {
		t.Fatalf("draft documents: %s", text(res.Doc))
	}
	if res := staff.post("/invoices/"+drafts[0].ID.String()+"/credit-notes", url.Values{"issue_date": {"2025-05-01"}, "reason": {"x"}, "confirm": {"yes"}}); res.Status != http.StatusConflict {
		t.Fatalf("crediting a draft: %d", res.Status)
	}
}
