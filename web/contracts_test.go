package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
)

// listed are the first cells of a list's rows that have cells (not the
// "nothing matches" row).
func listed(t *testing.T, p *page, id string, cells int) []string {
	t.Helper()
	var out []string
	for _, r := range p.rows(t, id) {
		if len(r) == cells {
			out = append(out, r[0])
		}
	}
	return out
}

// Fifty-three contracts, one run of fifty-two invoices: each list filters
// and pages through them.
func TestContractsRunsAndInvoicesListFilterAndPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	start := date(2025, 1, 1)
	acme := b.contract(t, b.ukCustomer, "2", start)
	for i := 1; i <= 51; i++ {
		b.contract(t, b.customer(t, "UK", fmt.Sprintf("Client %02d", i)), "1", start)
	}
	dupont := b.contract(t, b.frCustomer, "1", start)
	_, err := b.contracts.GiveNotice(b.admin, acme.ID, date(2025, 6, 1))
	must(t, err)
	ukRun, invs := b.postedRun(t, "UK", date(2025, 1, 31))
	if len(invs) != 52 {
		t.Fatalf("the UK run made %d invoices", len(invs))
	}
	frRun, err := b.contracts.PlanRun(b.admin, "FR", date(2025, 1, 31))
	must(t, err)
	br := b.signedIn(t, b.token(t, auth.RoleAuditor))

	// Contracts: newest first, 50 a page.
	first := br.get("/contracts").wantStatus(t, http.StatusOK)
	got := listed(t, first, "contracts", 9)
	if len(got) != 50 || got[0] != dupont.Number {
		t.Fatalf("first page: %d contracts starting %v", len(got), got[:min(3, len(got))])
	}
	second := br.get(nextLink(first)).wantStatus(t, http.StatusOK)
	rest := listed(t, second, "contracts", 9)
	if len(rest) != 3 || rest[2] != acme.Number || slices.Contains(got, rest[0]) || nextLink(second) != "" {
		t.Fatalf("second page: %v (next %q)", rest, nextLink(second))
	}
	acmeRow := second.rows(t, "contracts")[2]
	if !slices.Equal(acmeRow, []string{acme.Number, "UK", "Acme Ltd", "notice_given", "2025-01-01", "1: 2025-01-01 – 2025-12-31", "2025-12-31", "1", "GBP"}) {
		t.Fatalf("Acme's row: %q", acmeRow)
	}
	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"site", url.Values{"site": {"FR"}}, []string{dupont.Number}},
		{"status", url.Values{"status": {"notice_given"}}, []string{acme.Number}},
		{"customer by name", url.Values{"customer": {"acme"}}, []string{acme.Number}},
		{"customer by id", url.Values{"customer_id": {b.frCustomer.ID.String()}}, []string{dupont.Number}},
		{"nothing", url.Values{"status": {"cancelled"}}, nil},
	} {
		t.Run("contracts by "+tc.name, func(t *testing.T) {
			if got := listed(t, br.get("/contracts?"+tc.query.Encode()).wantStatus(t, http.StatusOK), "contracts", 9); !slices.Equal(got, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, got)
			}
		})
	}
	if bad := br.get("/contracts?status=lost").wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"status: is not a contract status"}) {
		t.Fatalf("bad status: %v", fieldErrors(bad))
	}
	if p := br.get("/contracts?customer=client"); len(findAll(p.Doc, func(n *htmlNode) bool { return attr(n, "class") == "choices" })) != 1 || byID(p.Doc, "contracts") != nil {
		t.Fatal("a name matching several customers does not ask which")
	}

	// Runs: newest first, by site and status.
	runs := br.get("/invoice-runs").wantStatus(t, http.StatusOK).rows(t, "runs")
	if len(runs) != 2 || !slices.Equal(runs[0][:5], []string{"FR", "2025-01-31", "planned", "0", "0"}) || !slices.Equal(runs[1][:5], []string{"UK", "2025-01-31", "posted", "52", "52"}) {
		t.Fatalf("runs %v", runs)
	}
	if got := br.get("/invoice-runs?status=posted").rows(t, "runs"); len(got) != 1 || got[0][0] != "UK" {
		t.Fatalf("posted runs %v", got)
	}
	if got := br.get("/invoice-runs?site=FR").rows(t, "runs"); len(got) != 1 || got[0][2] != "planned" {
		t.Fatalf("FR runs %v", got)
	}
	if p := br.get("/invoice-runs/"+frRun.ID.String()).wantStatus(t, http.StatusOK); !strings.Contains(text(p.mustID(t, "invoices")), "No invoices yet") {
		t.Fatalf("planned run: %s", text(p.mustID(t, "invoices")))
	}

	// A run's invoices in number order, numbered by customer name.
	runPage := br.get("/invoice-runs/"+ukRun.ID.String()).wantStatus(t, http.StatusOK)
	numbers := listed(t, runPage, "invoices", 9)
	if len(numbers) != 50 || numbers[0] != "MUK-2025-000001" || numbers[49] != "MUK-2025-000050" {
		t.Fatalf("run page 1: %d invoices %v…", len(numbers), numbers[:min(3, len(numbers))])
	}
	if row := runPage.rows(t, "invoices")[0]; !slices.Equal(row, []string{"MUK-2025-000001", "Acme Ltd", "posted", "2025-01-31", "2025-03-02", "1", "240.00 GBP", "48.00 GBP", "288.00 GBP"}) {
		t.Fatalf("Acme's invoice row %q", row)
	}
	if more := listed(t, br.get(nextLink(runPage)), "invoices", 9); !slices.Equal(more, []string{"MUK-2025-000051", "MUK-2025-000052"}) {
		t.Fatalf("run page 2: %v", more)
	}

	// Invoices: by customer, status and issue dates, 50 a page.
	all := br.get("/invoices").wantStatus(t, http.StatusOK)
	if n := len(listed(t, all, "invoices", 9)); n != 50 || nextLink(all) == "" {
		t.Fatalf("invoices page 1: %d", n)
	}
	if n := len(listed(t, br.get(nextLink(all)), "invoices", 9)); n != 2 {
		t.Fatalf("invoices page 2: %d", n)
	}
	for _, tc := range []struct {
		name  string
		query url.Values
		want  int
	}{
		{"customer", url.Values{"customer": {"acme"}}, 1},
		{"customer and status", url.Values{"customer": {"acme"}, "status": {"posted"}}, 1},
		{"status", url.Values{"status": {"draft"}}, 0},
		{"dates around the issue", url.Values{"from": {"2025-01-31"}, "to": {"2025-01-31"}, "customer": {"client 07"}}, 1},
		{"dates after the issue", url.Values{"from": {"2025-02-01"}}, 0},
		{"site", url.Values{"site": {"FR"}}, 0},
	} {
		t.Run("invoices by "+tc.name, func(t *testing.T) {
			if got := listed(t, br.get("/invoices?"+tc.query.Encode()).wantStatus(t, http.StatusOK), "invoices", 9); len(got) != tc.want {
				t.Fatalf("want %d, got %v", tc.want, got)
			}
		})
	}
	if bad := br.get("/invoices?from=31/01/2025&to=2025-01-01&status=paid").wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad),
		[]string{"status: is not an invoice status", "from: must be a date, YYYY-MM-DD"}) {
		t.Fatalf("bad filters: %v", fieldErrors(bad))
	}
	if bad := br.get("/invoices?from=2025-02-01&to=2025-01-01").wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"to: must not be before from"}) {
		t.Fatalf("a range backwards: %v", fieldErrors(bad))
	}
}

func TestContractPageShowsTermsLinesVersionsAndNoticesAndTheOrderLinksToIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.contract(t, b.ukCustomer, "2", date(2025, 3, 1))
	_, err := b.contracts.Amend(b.admin, c.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 4, 1), Terms: &contracts.Terms{NoticeDays: ptr(60)}})
	must(t, err)
	_, invs := b.postedRun(t, "UK", date(2025, 4, 30))
	if len(invs) != 1 || len(invs[0].Lines) != 2 {
		t.Fatalf("the run billed %v", invs)
	}
	_, err = b.contracts.GiveNotice(b.admin, c.ID, date(2025, 5, 10))
	must(t, err)
	br := b.signedIn(t, b.token(t, auth.RoleAuditor))

	// The order that made the contract links to it.
	op := br.get("/orders/"+c.OrderID.String()).wantStatus(t, http.StatusOK)
	if !slices.Contains(op.links(), "/contracts/"+c.ID.String()) || !strings.Contains(text(op.mustID(t, "contracts")), c.Number) {
		t.Fatalf("the order page does not link to its contract: %s", text(byID(op.Doc, "contracts")))
	}
	if other := br.get("/orders/" + b.smallOrder(t, b.ukCustomer).ID.String()); byID(other.Doc, "contracts") != nil {
		t.Fatal("an order without a contract shows one")
	}

	p := br.get("/contracts/"+c.ID.String()).wantStatus(t, http.StatusOK)
	if p.title() != "Contract "+c.Number+" notice_given" {
		t.Fatalf("title %q", p.title())
	}
	terms := text(p.mustID(t, "terms"))
	o := b.order(t, c.OrderID)
	for _, want := range []string{"Customer Acme Ltd", "Legal entity Messina UK Ltd", "Order " + o.Number, "Currency GBP", "Start 2025-03-01",
		"Initial term 12 months", "term 1: 2025-03-01 – 2026-02-28", "Auto-renew yes, for 12 months", "Notice 60 days",
		"Last day of service 2026-02-28"} {
		if !strings.Contains(terms, want) {
			t.Errorf("the terms %q lack %q", terms, want)
		}
	}
	if !slices.Contains(p.links(), "/orders/"+c.OrderID.String()) {
		t.Error("the contract does not link to its order")
	}
	lines := p.rows(t, "lines")
	if len(lines) != 1 || !slices.Equal(lines[0], []string{"1", "Fibre 1 Gbit/s", "2", "120.00 GBP", "70.00 GBP", "0 %", "monthly, advance", "2025-03-01", "—", "2025-04-30"}) {
		t.Fatalf("lines %q", lines)
	}
	versions := p.rows(t, "versions")
	if kinds := column(versions, 1); !slices.Equal(kinds, []string{"created", "terms", "notice"}) || versions[1][2] != "2025-04-01" ||
		!strings.Contains(versions[1][5], `"notice_days": 60`) && !strings.Contains(versions[1][5], `"notice_days":60`) {
		t.Fatalf("versions %q", versions)
	}
	if notices := p.rows(t, "notices"); len(notices) != 1 || !slices.Equal(notices[0], []string{"2025-05-10", "end_of_term", "—", "2026-02-28", "yes"}) {
		t.Fatalf("notices %q", notices)
	}
	// Auditors read everything and change nothing: no form at all.
	if got := p.postActions(); len(got) != 0 || byID(p.Doc, "notice") != nil || byID(p.Doc, "cancel") != nil {
		t.Fatalf("an auditor's contract page posts to %v", got)
	}
	br.get("/contracts/00000000-0000-0000-0000-000000000000").wantStatus(t, http.StatusNotFound)
	br.get("/contracts/not-a-contract").wantStatus(t, http.StatusNotFound)
}

// contractForms opens a contract page as br and returns the
// notice and cancel forms' fields, or nil for a form not shown.
func contractForms(t *testing.T, br *browser, c contracts.Contract) (notice, cancel url.Values) {
	t.Helper()
	p := br.get("/contracts/"+c.ID.String()).wantStatus(t, http.StatusOK)
	if byID(p.Doc, "notice") != nil {
		notice = formValues(t, p, "notice")
	}
	if byID(p.Doc, "cancel") != nil {
		cancel = formValues(t, p, "cancel")
	}
	return notice, cancel
}

func TestStaffGiveNoticeAndCancelThroughFormsAndAuditorsCannot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	noticed := b.contract(t, b.ukCustomer, "1", date(2025, 1, 1))
	onDate := b.contract(t, b.ukCustomer, "1", date(2025, 1, 1))
	bySite := b.contract(t, b.ukCustomer, "1", date(2025, 1, 1))
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))
	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))

	// The auditor's posts are refused, and change nothing.
	for path, form := range map[string]url.Values{
		"/notice": {"received_on": {"2025-06-01"}, "confirm": {"yes"}},
		"/cancel": {"received_on": {"2025-06-01"}, "policy": {"immediate"}, "confirm": {"yes"}},
	} {
		res := aud.post("/contracts/"+noticed.ID.String()+path, form).wantStatus(t, http.StatusForbidden)
		if !strings.Contains(text(res.Doc), "Your role (auditor) may not make this change.") {
			t.Fatalf("%s: %s", path, text(res.Doc))
		}
	}
	if n, err := b.contracts.Notices(b.admin, noticed.ID); err != nil || len(n) != 0 {
		t.Fatalf("an auditor's post recorded %v %v", n, err)
	}

	// The forms default the dates to today and need the box ticked.
	notice, cancel := contractForms(t, staff, noticed)
	today := b.clock().In(mustLoc(t, "Europe/London")).Format("2006-01-02")
	if notice == nil || cancel == nil || notice.Get("received_on") != today || cancel.Get("policy") != "" || notice.Has("confirm") {
		t.Fatalf("forms: notice %v, cancel %v", notice, cancel)
	}
	path := "/contracts/" + noticed.ID.String()
	notice.Set("received_on", "2025-06-01")
	unticked := staff.post(path+"/notice", notice).wantStatus(t, http.StatusUnprocessableEntity)
	if !slices.Equal(fieldErrors(unticked), []string{"confirm: must be ticked to record the notice"}) {
		t.Fatalf("unticked: %v", fieldErrors(unticked))
	}
	notice.Set("confirm", "yes")
	if loc := staff.post(path+"/notice", notice).wantStatus(t, http.StatusSeeOther).location(t); loc != path+"?msg=notice" {
		t.Fatalf("after notice: %q", loc)
	}
	p := staff.get(path + "?msg=notice")
	if !strings.Contains(text(p.Doc), "The notice was recorded.") || p.title() != "Contract "+noticed.Number+" notice_given" ||
		!slices.Equal(p.rows(t, "notices")[0], []string{"2025-06-01", "end_of_term", "—", "2025-12-31", "yes"}) {
		t.Fatalf("after notice: %s %q", p.title(), p.rows(t, "notices"))
	}
	// Notice given: no second notice form, cancelling stays possible.
	if notice, cancel := contractForms(t, staff, noticed); notice != nil || cancel == nil {
		t.Fatalf("forms after notice: %v %v", notice, cancel)
	}

	// On a date: the date is required (the domain says so), then kept.
	path = "/contracts/" + onDate.ID.String()
	_, cancel = contractForms(t, staff, onDate)
	cancel.Set("policy", "on_date")
	cancel.Set("received_on", "2025-03-01")
	cancel.Set("confirm", "yes")
	if bad := staff.post(path+"/cancel", cancel).wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"end_date: required for policy on_date"}) {
		t.Fatalf("on_date without a date: %v", fieldErrors(bad))
	}
	cancel.Set("end_date", "2025-04-15")
	staff.post(path+"/cancel", cancel).wantStatus(t, http.StatusSeeOther)
	k, err := b.contracts.Contract(b.admin, onDate.ID)
	must(t, err)
	if k.EndDate == nil || !k.EndDate.Equal(date(2025, 4, 15)) {
		t.Fatalf("cancelled on a date: %s %v", k.Status, k.EndDate)
	}
	// Cancelling it again is refused by the database: 409.
	if res := staff.post(path+"/cancel", cancel).wantStatus(t, http.StatusConflict); res.title() != "Not possible now" {
		t.Fatalf("a second cancellation: %s", text(res.Doc))
	}

	// Without a policy the site's applies (end of term, in these rules).
	path = "/contracts/" + bySite.ID.String()
	_, cancel = contractForms(t, staff, bySite)
	cancel.Set("received_on", "2025-02-01")
	cancel.Set("confirm", "yes")
	staff.post(path+"/cancel", cancel).wantStatus(t, http.StatusSeeOther)
	if rows := staff.get(path).rows(t, "notices"); len(rows) != 1 || !slices.Equal(rows[0], []string{"2025-02-01", "end_of_term", "—", "2025-12-31", "yes"}) {
		t.Fatalf("cancelled by the site's policy: %q", rows)
	}
	// A policy that is not one is named.
	cancel.Set("policy", "whenever")
	if bad := staff.post(path+"/cancel", cancel).wantStatus(t, http.StatusUnprocessableEntity); !slices.Equal(fieldErrors(bad), []string{"policy: is not a cancellation policy"}) {
		t.Fatalf("bad policy: %v", fieldErrors(bad))
	}
}

func TestContractDocumentsUploadThroughTheAttachmentPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.contract(t, b.ukCustomer, "1", date(2025, 1, 1))
	staff := b.signedIn(t, b.token(t, auth.RoleStaff))
	path := "/contracts/" + c.ID.String()
	form := byID(staff.get(path).Doc, "upload")
	if form == nil || attr(form, "action") != path+"/attachments" || attr(form, "enctype") != "multipart/form-data" {
		t.Fatal("no upload form on the contract page")
	}
	res := staff.upload(path+"/attachments", [][2]string{{"name", "Signed contract"}, {"comment", "countersigned"}},
		file{name: "signed.txt", contentType: "text/plain", content: []byte("signed\n")}).wantStatus(t, http.StatusSeeOther)
	attPath, _, _ := strings.Cut(res.location(t), "?")
	p := staff.get(attPath).wantStatus(t, http.StatusOK)
	if p.title() != "Signed contract" || !slices.Contains(p.links(), path) || !slices.Contains(p.links(), "/contracts") {
		t.Fatalf("attachment page %q links %v", p.title(), p.links())
	}
	if rows := staff.get(path).rows(t, "attachments"); len(rows) != 1 || rows[0][0] != "Signed contract" || rows[0][1] != "1" {
		t.Fatalf("the contract lists %v", rows)
	}
	atts, err := b.files.ListAttachments(b.admin, filestore.OwnerContract, c.ID, uuid.Nil, 10)
	if err != nil || len(atts) != 1 || atts[0].Owner.Site != "UK" {
		t.Fatalf("stored as %v %v", atts, err)
	}
	if got := staff.get(attPath + "/revisions/1/content").Body; got != "signed\n" {
		t.Fatalf("download %q", got)
	}
	// Auditors see no upload form, and their upload is refused.
	aud := b.signedIn(t, b.token(t, auth.RoleAuditor))
	if byID(aud.get(path).Doc, "upload") != nil {
		t.Fatal("an auditor sees the upload form")
	}
	aud.upload(path+"/attachments", nil, file{name: "x.txt", contentType: "text/plain", content: []byte("x")}).wantStatus(t, http.StatusForbidden)
}

// The layout's menu names the new pages for every role that signs in.
func TestTheMenuLinksContractsInvoicingAndKPIs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, role := range []auth.Role{auth.RoleStaff, auth.RoleAuditor, auth.RoleAdmin} {
		p := b.signedIn(t, b.token(t, role)).get("/orders").wantStatus(t, http.StatusOK)
		var menu []string
		for _, a := range findAll(findAll(p.Doc, tag("nav"))[0], tag("a")) {
			menu = append(menu, text(a)+" "+attr(a, "href"))
		}
		for _, want := range []string{"Contracts /contracts", "Invoicing /invoice-runs", "KPIs /kpi"} {
			if !slices.Contains(menu, want) {
				t.Errorf("%s: the menu %v lacks %q", role, menu, want)
			}
		}
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	must(t, err)
	return loc
}
