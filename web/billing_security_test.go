package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
)

// siteFixture is a UK contract with a document, a posted UK run and its
// invoice, a planned UK run, and a FR contract with a posted invoice.
type siteFixture struct {
	uk, fr               contracts.Contract
	ukDoc                filestore.Attachment
	ukPosted, ukPlanned  contracts.Run
	ukInvoice, frInvoice contracts.Invoice
}

func newSiteFixture(t *testing.T, b *testBundle) siteFixture {
	t.Helper()
	var f siteFixture
	f.uk = b.contract(t, b.ukCustomer, "1", date(2025, 1, 1))
	f.fr = b.contract(t, b.frCustomer, "1", date(2025, 1, 1))
	var err error
	f.ukDoc, _, err = b.files.CreateAttachment(b.admin, filestore.Owner{Type: filestore.OwnerContract, ID: f.uk.ID, Site: "UK"}, "uk terms",
		filestore.Upload{Body: bytes.NewReader([]byte("uk only")), Size: 7, ContentType: "text/plain", Filename: "terms.txt"})
	must(t, err)
	var invs []contracts.Invoice
	f.ukPosted, invs = b.postedRun(t, "UK", date(2025, 1, 31))
	f.ukInvoice = invs[0]
	_, invs = b.postedRun(t, "FR", date(2025, 1, 31))
	f.frInvoice = invs[0]
	f.ukPlanned, err = b.contracts.PlanRun(b.admin, "UK", date(2025, 2, 28))
	must(t, err)
	return f
}

// Every new page and action answers another site's record as if it did
// not exist, and changes nothing of it; lists and reports leave it out.
func TestAnotherSitesContractsRunsAndInvoicesAreNotFoundOnEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := newSiteFixture(t, b)
	fr := b.signedIn(t, b.token(t, auth.RoleStaff, "FR"))
	contract, planned, invoice := "/contracts/"+f.uk.ID.String(), "/invoice-runs/"+f.ukPlanned.ID.String(), "/invoices/"+f.ukInvoice.ID.String()
	confirm := url.Values{"confirm": {"yes"}}
	for name, res := range map[string]*page{
		"contract":         fr.get(contract),
		"notice":           fr.post(contract+"/notice", url.Values{"received_on": {"2025-06-01"}, "confirm": {"yes"}}),
		"cancel":           fr.post(contract+"/cancel", url.Values{"received_on": {"2025-06-01"}, "policy": {"immediate"}, "confirm": {"yes"}}),
		"contract upload":  fr.upload(contract+"/attachments", nil, file{name: "x.txt", contentType: "text/plain", content: []byte("fr")}),
		"contract doc":     fr.get("/attachments/" + f.ukDoc.ID.String()),
		"posted run":       fr.get("/invoice-runs/" + f.ukPosted.ID.String()),
		"planned run":      fr.get(planned),
		"preview":          fr.post(planned+"/preview", nil),
		"prepare":          fr.post(planned+"/prepare", nil),
		"approve":          fr.post(planned+"/approve", confirm),
		"post":             fr.post("/invoice-runs/"+f.ukPosted.ID.String()+"/post", confirm),
		"discard":          fr.post(planned+"/discard", confirm),
		"plan for UK":      fr.post("/invoice-runs", url.Values{"site": {"UK"}, "run_date": {"2025-03-31"}}),
		"invoice":          fr.get(invoice),
		"documents":        fr.post(invoice+"/documents", nil),
		"credit":           fr.post(invoice+"/credit-notes", url.Values{"issue_date": {"2025-02-01"}, "reason": {"x"}, "confirm": {"yes"}}),
		"unknown contract": fr.get("/contracts/" + uuid.NewString()),
		"unknown run":      fr.get("/invoice-runs/" + uuid.NewString()),
		"unknown invoice":  fr.get("/invoices/" + uuid.NewString()),
	} {
		res.wantStatus(t, http.StatusNotFound)
		if res.title() != "Not found" || strings.Contains(res.Body, f.uk.Number) || strings.Contains(res.Body, "Acme") || strings.Contains(res.Body, "MUK-") {
			t.Errorf("%s: %q %s", name, res.title(), text(res.Doc))
		}
	}

	// Nothing of the UK changed.
	k, err := b.contracts.Contract(b.admin, f.uk.ID)
	must(t, err)
	notices, err := b.contracts.Notices(b.admin, f.uk.ID)
	must(t, err)
	run, err := b.contracts.Run(b.admin, f.ukPlanned.ID)
	must(t, err)
	inv, err := b.contracts.Invoice(b.admin, f.ukInvoice.ID)
	must(t, err)
	runs, err := b.contracts.ListRuns(b.admin, contracts.RunFilter{SiteID: "UK"})
	must(t, err)
	docs, err := b.files.ListAttachments(b.admin, filestore.OwnerContract, f.uk.ID, uuid.Nil, 10)
	must(t, err)
	invDocs, err := b.files.ListAttachments(b.admin, filestore.OwnerInvoice, f.ukInvoice.ID, uuid.Nil, 10)
	must(t, err)
	if k.Status != contracts.StatusActive || len(notices) != 0 || run.Status != contracts.RunPlanned || inv.Status != contracts.InvoicePosted ||
		len(runs.Items) != 2 || len(docs) != 1 || len(invDocs) != 0 {
		t.Fatalf("a FR user changed the UK: contract %s with %d notices, run %s, invoice %s, %d runs, %d documents, %d invoice documents",
			k.Status, len(notices), run.Status, inv.Status, len(runs.Items), len(docs), len(invDocs))
	}

	// The FR user's own records are there; lists and reports hold no UK row.
	fr.get("/contracts/"+f.fr.ID.String()).wantStatus(t, http.StatusOK)
	fr.get("/invoices/"+f.frInvoice.ID.String()).wantStatus(t, http.StatusOK)
	for path, want := range map[string][]string{
		"/contracts":         {f.fr.Number},
		"/contracts?site=UK": nil,
		"/invoices":          {f.frInvoice.Number},
		"/invoices?site=UK":  nil,
	} {
		id := strings.TrimPrefix(strings.SplitN(path, "?", 2)[0], "/")
		if got := listed(t, fr.get(path).wantStatus(t, http.StatusOK), id, 9); !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v", path, got, want)
		}
	}
	if runs := fr.get("/invoice-runs").rows(t, "runs"); len(runs) != 1 || runs[0][0] != "FR" {
		t.Errorf("a FR user lists the runs %v", runs)
	}
	for _, path := range []string{"/kpi/bookings?grouped=1", "/kpi/margin?grouped=1", "/kpi/mrr?grouped=1"} {
		for _, row := range reportRows(t, fr.get(path).wantStatus(t, http.StatusOK)) {
			if strings.Contains(strings.Join(row, " "), "GBP") {
				t.Errorf("%s shows UK figures to a FR user: %q", path, row)
			}
		}
	}
}

// The new forms, like the old, refuse a post another site makes the
// browser send, before anything runs.
func TestCrossOriginPostsToTheNewFormsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := newSiteFixture(t, b)
	br := b.signedIn(t, b.token(t, auth.RoleAdmin))
	br.header.Set("Sec-Fetch-Site", "cross-site")
	br.header.Set("Origin", "https://evil.example")
	contract, planned, invoice := "/contracts/"+f.uk.ID.String(), "/invoice-runs/"+f.ukPlanned.ID.String(), "/invoices/"+f.ukInvoice.ID.String()
	confirm := url.Values{"confirm": {"yes"}}
	for name, res := range map[string]*page{
		"notice":          br.post(contract+"/notice", url.Values{"received_on": {"2025-06-01"}, "confirm": {"yes"}}),
		"cancel":          br.post(contract+"/cancel", url.Values{"received_on": {"2025-06-01"}, "policy": {"immediate"}, "confirm": {"yes"}}),
		"contract upload": br.upload(contract+"/attachments", nil, file{name: "x.txt", contentType: "text/plain", content: []byte("x")}),
		"plan":            br.post("/invoice-runs", url.Values{"site": {"UK"}, "run_date": {"2025-03-31"}}),
		"preview":         br.post(planned+"/preview", nil),
		"prepare":         br.post(planned+"/prepare", nil),
		"approve":         br.post(planned+"/approve", confirm),
		"post":            br.post(planned+"/post", confirm),
		"discard":         br.post(planned+"/discard", confirm),
		"documents":       br.post(invoice+"/documents", nil),
		"credit":          br.post(invoice+"/credit-notes", url.Values{"issue_date": {"2025-02-01"}, "reason": {"x"}, "confirm": {"yes"}}),
	} {
		if res.wantStatus(t, http.StatusForbidden); res.title() != "Cross-site request refused" {
			t.Errorf("%s: %s", name, text(res.Doc))
		}
	}
	notices, err := b.contracts.Notices(b.admin, f.uk.ID)
	must(t, err)
	run, err := b.contracts.Run(b.admin, f.ukPlanned.ID)
	must(t, err)
	inv, err := b.contracts.Invoice(b.admin, f.ukInvoice.ID)
	must(t, err)
	runs, err := b.contracts.ListRuns(b.admin, contracts.RunFilter{})
	must(t, err)
	docs, err := b.files.ListAttachments(b.admin, filestore.OwnerContract, f.uk.ID, uuid.Nil, 10)
	must(t, err)
	invDocs, err := b.files.ListAttachments(b.admin, filestore.OwnerInvoice, f.ukInvoice.ID, uuid.Nil, 10)
	must(t, err)
	if len(notices) != 0 || run.Status != contracts.RunPlanned || inv.Status != contracts.InvoicePosted || len(runs.Items) != 3 || len(docs) != 1 || len(invDocs) != 0 {
		t.Fatalf("a cross-site post changed something: %d notices, run %s, invoice %s, %d runs, %d documents, %d invoice documents",
			len(notices), run.Status, inv.Status, len(runs.Items), len(docs), len(invDocs))
	}
	// The same forms from our own pages go through.
	br.header.Del("Sec-Fetch-Site")
	br.header.Del("Origin")
	br.post(planned+"/prepare", nil).wantStatus(t, http.StatusSeeOther)
}

// Names, descriptions and reasons are shown as text on every new page.
func TestHostileNamesAreTextOnContractInvoiceAndKPIPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const evil = `<script>alert("c")</script> & <img src=x onerror=alert(1)> "Co"`
	const evilSeller = `</td><svg onload=alert(2)>`
	const evilReason = `"><b>bold</b><script>alert(3)</script>`
	c := b.customer(t, "UK", evil)
	b.customer(t, "UK", "<script>twin</script>")
	b.withAddresses(t, c)
	o := b.bookedBy(t, c, evilSeller, b.fibreLine("1"))
	k, err := b.contracts.CreateFromOrder(b.admin, o.ID, startingOn(date(2025, 1, 1)))
	must(t, err)
	_, _, err = b.files.CreateAttachment(b.admin, filestore.Owner{Type: filestore.OwnerContract, ID: k.ID, Site: "UK"}, evil,
		filestore.Upload{Body: strings.NewReader("x"), Size: 1, ContentType: "text/plain", Filename: evil + ".txt"})
	must(t, err)
	run, invs := b.postedRun(t, "UK", date(2025, 1, 31))
	_, err = b.contracts.CreditInvoice(b.admin, invs[0].ID, date(2025, 2, 1), evilReason, nil)
	must(t, err)
	planned, err := b.contracts.PlanRun(b.admin, "UK", date(2025, 2, 28))
	must(t, err)
	_, err = b.kpi.RefreshMRR(b.admin)
	must(t, err)
	br := b.signedIn(t, b.token(t, auth.RoleAdmin))
	if p := br.post("/invoices/"+invs[0].ID.String()+"/documents", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("render: %d %s", p.Status, text(p.Doc))
	}

	pages := map[string]*page{
		"contracts":        br.get("/contracts"),
		"contract choices": br.get("/contracts?" + url.Values{"customer": {"<script>"}}.Encode()),
		"no match":         br.get("/invoices?" + url.Values{"customer": {"<script>nobody"}}.Encode()),
		"contract":         br.get("/contracts/" + k.ID.String()),
		"run":              br.get("/invoice-runs/" + run.ID.String()),
		"preview":          br.post("/invoice-runs/"+planned.ID.String()+"/preview", nil),
		"invoices":         br.get("/invoices"),
		"invoice":          br.get("/invoices/" + invs[0].ID.String()),
		"kpi salesperson":  br.get("/kpi/bookings?grouped=1&group_by=salesperson"),
		"kpi customer":     br.get("/kpi/mrr?grouped=1&group_by=customer"),
	}
	for name, p := range pages {
		p.wantStatus(t, http.StatusOK)
		if n := len(findAll(p.Doc, func(n *htmlNode) bool {
			return n.Data == "script" || n.Data == "img" || n.Data == "svg" || n.Data == "b"
		})); n != 0 {
			t.Errorf("%s: %d elements made of user data", name, n)
		}
		for _, n := range findAll(p.Doc, func(*htmlNode) bool { return true }) {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: an element has the event handler attribute %s", name, a.Key)
				}
			}
		}
	}
	for name, want := range map[string]string{
		"contracts": evil, "contract": evil, "run": evil, "preview": evil, "invoices": evil, "invoice": evilReason,
		"kpi salesperson": evilSeller, "kpi customer": evil, "no match": "<script>nobody",
	} {
		if !strings.Contains(text(pages[name].Doc), want) {
			t.Errorf("%s does not show %q as text", name, want)
		}
	}
	if got := text(pages["contract"].mustID(t, "customer")); got != evil {
		t.Errorf("the contract's customer reads %q", got)
	}
	if !strings.Contains(pages["invoice"].Body, "&lt;script&gt;alert(&#34;c&#34;)&lt;/script&gt; &amp; &lt;img") {
		t.Error("the invoice does not show the escaped name")
	}
}
