package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/orders"
)

type invoiceDocumentsBody struct {
	Items []attachmentBody `json:"items"`
}

func TestInvoiceDocumentsAreStoredAsRevisionedAttachments(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	svc := contracts.New(o.db.App, nil)
	fr := o.token(t, "staff", "FR")
	inv := postedInvoice(t, o.c, o.db.App)
	docs := "/v1/invoices/" + inv.ID.String() + "/documents"
	atts := "/v1/invoices/" + inv.ID.String() + "/attachments"

	t.Run("another site's invoice is not found", func(t *testing.T) {
		wantProblem(t, o.call(t, request{method: "POST", path: docs, token: fr}), 404, "invoice_not_found")
		wantProblem(t, o.call(t, request{method: "GET", path: atts, token: fr}), 404, "invoice_not_found")
	})

	t.Run("a draft invoice has no documents", func(t *testing.T) {
		newContract(t, o.c, o.db.App)
		drafts, err := svc.RunInvoices(o.c.ctx, runIn(t, o.c, svc, contracts.RunPreviewed).ID)
		must(t, err)
		if len(drafts) == 0 || drafts[0].Number != "" {
			t.Fatalf("want draft invoices, got %+v", drafts)
		}
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/invoices/" + drafts[0].ID.String() + "/documents"}), 409, "invalid_state")
		if res := o.call(t, request{method: "GET", path: "/v1/invoices/" + drafts[0].ID.String() + "/attachments"}); res.Status != 200 {
			t.Fatalf("list a draft's attachments: %d %s", res.Status, res.Body)
		}
	})

	render := func(t *testing.T) invoiceDocumentsBody {
		t.Helper()
		res := o.call(t, request{method: "POST", path: docs})
		if res.Status != 201 {
			t.Fatalf("render documents: %d %s", res.Status, res.Body)
		}
		var out invoiceDocumentsBody
		res.json(t, &out)
		if len(out.Items) != 3 || out.Items[0].Name != "invoice.xml" || out.Items[1].Name != "invoice.json" || out.Items[2].Name != "invoice.pdf" {
			t.Fatalf("rendered %+v", out.Items)
		}
		for _, a := range out.Items {
			if a.OwnerType != "invoice" || a.OwnerID != inv.ID.String() || a.Revision.Size == 0 || a.Revision.Number != a.LatestRevision {
				t.Fatalf("attachment %+v", a)
			}
		}
		return out
	}
	content := func(t *testing.T, a attachmentBody) []byte {
		t.Helper()
		res := o.call(t, request{method: "GET", path: "/v1/attachments/" + a.ID + "/content"})
		if res.Status != 200 {
			t.Fatalf("download %s: %d %s", a.Name, res.Status, res.Body)
		}
		return res.Body
	}

	first := render(t)
	for _, a := range first.Items {
		if a.Revision.Number != 1 {
			t.Fatalf("first render of %s is revision %d", a.Name, a.Revision.Number)
		}
	}
	var ubl struct {
		ID            string `xml:"ID"`
		Payable       string `xml:"LegalMonetaryTotal>PayableAmount"`
		SellerStreet  string `xml:"AccountingSupplierParty>Party>PostalAddress>StreetName"`
		SellerCountry string `xml:"AccountingSupplierParty>Party>PostalAddress>Country>IdentificationCode"`
		BuyerCity     string `xml:"AccountingCustomerParty>Party>PostalAddress>CityName"`
		BuyerPostcode string `xml:"AccountingCustomerParty>Party>PostalAddress>PostalZone"`
	}
	if err := xml.Unmarshal(content(t, first.Items[0]), &ubl); err != nil {
		t.Fatal(err)
	}
	if ubl.ID != inv.Number || ubl.Payable != inv.Total.StringFixed(2) {
		t.Fatalf("stored UBL has %+v, invoice %s total %s", ubl, inv.Number, inv.Total)
	}
	if ubl.SellerStreet != o.c.ukEntity.Address.Street || ubl.SellerCountry != "GB" ||
		ubl.BuyerCity != o.c.ukCustomer.Address.City || ubl.BuyerPostcode != o.c.ukCustomer.Address.Postcode {
		t.Fatalf("stored UBL has addresses %+v, seller %+v, buyer %+v", ubl, o.c.ukEntity.Address, o.c.ukCustomer.Address)
	}
	var js struct {
		Buyer struct {
			Address struct{ Street, Country string }
		}
	}
	if err := json.Unmarshal(content(t, first.Items[1]), &js); err != nil || js.Buyer.Address.Street != o.c.ukCustomer.Address.Street || js.Buyer.Address.Country != "GB" {
		t.Fatalf("stored JSON has buyer %+v (%v)", js.Buyer, err)
	}
	if pdf := content(t, first.Items[2]); !bytes.HasPrefix(pdf, []byte("%PDF")) || first.Items[2].Revision.ContentType != "application/pdf" {
		t.Fatalf("stored PDF: %s, starts %q", first.Items[2].Revision.ContentType, pdf[:min(len(pdf), 8)])
	}

	second := render(t)
	for i, a := range second.Items {
		if a.ID != first.Items[i].ID || a.Revision.Number != 2 || a.LatestRevision != 2 {
			t.Fatalf("second render of %s: %+v, first %+v", a.Name, a, first.Items[i])
		}
	}
	if res := o.call(t, request{method: "GET", path: "/v1/attachments/" + first.Items[1].ID + "/revisions/1"}); res.Status != 200 {
		t.Fatalf("revision 1 is kept: %d %s", res.Status, res.Body)
	}
	// Only rendering changes them: no hand-made revision, no restore.
	xmlDoc := "/v1/attachments/" + first.Items[0].ID
	wantProblem(t, o.call(t, request{method: "POST", path: xmlDoc + "/revisions?filename=invoice.xml", body: []byte("<Invoice>forged</Invoice>"),
		header: map[string]string{"Content-Type": "application/xml"}}), 409, "rendered_document")
	wantProblem(t, o.call(t, request{method: "POST", path: xmlDoc + "/restore", body: map[string]any{"revision": 1}}), 409, "rendered_document")

	res := o.call(t, request{method: "GET", path: atts, token: o.token(t, "auditor")})
	var list struct {
		Items []attachmentBody `json:"items"`
	}
	res.json(t, &list)
	if res.Status != 200 || len(list.Items) != 3 {
		t.Fatalf("list: %d %s", res.Status, res.Body)
	}
	for _, a := range list.Items {
		if a.LatestRevision != 2 {
			t.Fatalf("listed %+v", a)
		}
	}
}

func TestInvoiceDocumentsNeedBothPartiesAddresses(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	cu, err := o.c.svc.GetCustomer(o.c.ctx, o.c.ukCustomer.ID)
	must(t, err)
	in := orders.CustomerInput{Name: cu.Name, Currency: cu.Currency, Language: cu.Language, Timezone: cu.Timezone, PaymentTermsDays: cu.PaymentTermsDays}
	cu, err = o.c.svc.UpdateCustomer(o.c.ctx, cu.ID, cu.Version, in) // no address: a customer from before addresses
	must(t, err)

	// A run invoicing it is not approved: its invoices could never have
	// documents, as their parties are recorded at posting.
	newContract(t, o.c, o.db.App)
	svc := contracts.New(o.db.App, nil)
	run := runIn(t, o.c, svc, contracts.RunPreviewed)
	refused := o.call(t, request{method: "POST", path: "/v1/invoice-runs/" + run.ID.String() + "/approve"})
	p := wantProblem(t, refused, 422, "validation_failed")
	if !slices.Equal(p.fields(), []string{"address"}) || !strings.Contains(string(refused.Body), "customer "+cu.Name) {
		t.Fatalf("approving without the customer's address: %s", refused.Body)
	}
	in.Address = o.c.ukEntity.Address
	_, err = o.c.svc.UpdateCustomer(o.c.ctx, cu.ID, cu.Version, in)
	must(t, err)
	for _, step := range []string{"approve", "post"} {
		if res := o.call(t, request{method: "POST", path: "/v1/invoice-runs/" + run.ID.String() + "/" + step}); res.Status != 200 {
			t.Fatalf("%s with the address: %d %s", step, res.Status, res.Body)
		}
	}
	invs, err := svc.RunInvoices(o.c.ctx, run.ID)
	must(t, err)

	// An invoice posted before addresses were recorded (migration 00016
	// gave it the parties of its day) still gets no documents.
	_, err = o.db.Owner.Exec(o.c.ctx, `ALTER TABLE billing.invoice DISABLE TRIGGER invoice_guard;
		UPDATE billing.invoice SET buyer = jsonb_set(buyer, '{address}', 'null') WHERE id = '`+invs[0].ID.String()+`';
		ALTER TABLE billing.invoice ENABLE TRIGGER invoice_guard`)
	must(t, err)
	docs := "/v1/invoices/" + invs[0].ID.String() + "/documents"
	p = wantProblem(t, o.call(t, request{method: "POST", path: docs}), 409, "invoice_document_incomplete")
	if !slices.Equal(p.fields(), []string{"buyer.address"}) {
		t.Fatalf("fields %v", p.fields())
	}
	var list struct {
		Items []attachmentBody `json:"items"`
	}
	o.call(t, request{method: "GET", path: "/v1/invoices/" + invs[0].ID.String() + "/attachments"}).json(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a refused render stored %+v", list.Items)
	}
}

// An invoice's documents show its parties as they were when it was
// posted: rendering again after the customer moved and was renamed makes
// the same document.
func TestInvoiceDocumentsShowThePartiesAsPosted(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	inv := postedInvoice(t, o.c, o.db.App)
	posted := o.c.ukCustomer
	cu, err := o.c.svc.GetCustomer(o.c.ctx, posted.ID)
	must(t, err)
	moved := orders.Address{Street: "1 New Street", City: "Leeds", Postcode: "LS1 1AA", Country: "GB"}
	_, err = o.c.svc.UpdateCustomer(o.c.ctx, cu.ID, cu.Version, orders.CustomerInput{Name: "Renamed Ltd", Currency: cu.Currency,
		Language: cu.Language, Timezone: cu.Timezone, PaymentTermsDays: cu.PaymentTermsDays, Address: &moved})
	must(t, err)

	var out struct {
		Items []attachmentBody `json:"items"`
	}
	res := o.call(t, request{method: "POST", path: "/v1/invoices/" + inv.ID.String() + "/documents"})
	res.json(t, &out)
	if res.Status != 201 || len(out.Items) != 3 {
		t.Fatalf("render: %d %s", res.Status, res.Body)
	}
	var js struct {
		Buyer struct {
			Name    string
			Address struct{ Street, City string }
		}
	}
	raw := o.call(t, request{method: "GET", path: "/v1/attachments/" + out.Items[1].ID + "/content"})
	if err := json.Unmarshal(raw.Body, &js); err != nil {
		t.Fatal(err)
	}
	if js.Buyer.Name != posted.Name || js.Buyer.Address.Street != posted.Address.Street || js.Buyer.Address.City != posted.Address.City {
		t.Fatalf("the document shows buyer %+v; posted as %s at %+v", js.Buyer, posted.Name, posted.Address)
	}
	xml := o.call(t, request{method: "GET", path: "/v1/attachments/" + out.Items[0].ID + "/content"})
	if bytes.Contains(xml.Body, []byte(moved.Street)) || bytes.Contains(xml.Body, []byte("Renamed Ltd")) {
		t.Fatal("the UBL shows the customer as changed after posting")
	}
	// The invoice resource says the same.
	var got struct {
		Seller, Buyer struct {
			Name    string
			Address struct{ Street string }
		}
	}
	o.call(t, request{method: "GET", path: "/v1/invoices/" + inv.ID.String()}).json(t, &got)
	if got.Buyer.Name != posted.Name || got.Buyer.Address.Street != posted.Address.Street || got.Seller.Name != o.c.ukEntity.Name {
		t.Fatalf("GET invoice: seller %+v, buyer %+v", got.Seller, got.Buyer)
	}
}

// TestStoredUBLLinesAddUpForMultiMonthAndDiscountedLines renders invoices
// the database computed (quarterly and annual lines billed whole, monthly
// ones over several months, discounts, a quarter prorated by days) and
// checks EN 16931's line arithmetic on every line of the stored UBL:
// InvoicedQuantity x PriceAmount / BaseQuantity + charges - allowances is
// LineExtensionAmount rounded to cents, and a price discount takes the
// gross price to PriceAmount.
func TestStoredUBLLinesAddUpForMultiMonthAndDiscountedLines(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	c := o.c
	svc := contracts.New(o.db.App, nil)
	jan2020 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	product := func(sku string, f orders.BillingFrequency, price, cost string) orders.Product {
		p, err := c.svc.CreateProduct(c.ctx, orders.ProductInput{SKU: sku, Name: sku, Kind: orders.Recurring, BillingFrequency: f, DefaultTermMonths: 12})
		must(t, err)
		_, err = c.svc.AddPrice(c.ctx, orders.PriceInput{PriceBookID: c.ukBook.ID, ProductID: p.ID, EffectiveFrom: jan2020, UnitPrice: dec(price), UnitCost: ndec(cost)})
		must(t, err)
		return p
	}
	rack := product("RACK-Q", orders.Quarterly, "333.33", "100")
	licence := product("LIC-A", orders.Annual, "19.99", "5")
	contract := func(start time.Time, lines ...orders.LineInput) {
		t.Helper()
		ord, err := c.svc.CreateOrder(c.ctx, orders.OrderInput{CustomerID: c.ukCustomer.ID, LegalEntityID: c.ukEntity.ID, Salesperson: "ana", Lines: lines})
		must(t, err)
		for _, to := range []orders.Status{orders.StatusSubmitted, orders.StatusApproved, orders.StatusBooked} {
			if to == orders.StatusApproved && ord.Status == orders.StatusApproved {
				continue // approved at submission, under the thresholds
			}
			ord, err = c.svc.Transition(c.ctx, ord.ID, to, ord.Version, "")
			must(t, err)
		}
		_, err = svc.CreateFromOrder(c.ctx, ord.ID, contracts.Terms{StartDate: &start})
		must(t, err)
	}
	// From the 1st of January: whole quarters, a whole year and whole
	// months up to today, in advance; from today, a quarter prorated.
	jan1 := time.Date(c.today.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	contract(jan1,
		orders.LineInput{ProductID: rack.ID, Quantity: dec("3"), DiscountPct: dec("12.5")},
		orders.LineInput{ProductID: licence.ID, Quantity: dec("7"), DiscountPct: dec("5")},
		orders.LineInput{ProductID: c.fibre.ID, Quantity: dec("2"), DiscountPct: dec("10")})
	contract(c.today, orders.LineInput{ProductID: rack.ID, Quantity: dec("1.5"), DiscountPct: dec("3.33")})

	run := runIn(t, c, svc, contracts.RunPosted)
	invs, err := svc.RunInvoices(c.ctx, run.ID)
	must(t, err)
	if len(invs) != 1 {
		t.Fatalf("want one invoice of the customer, got %d", len(invs))
	}
	inv := invs[0]
	var multiMonth, discounted int
	for _, l := range inv.Lines {
		if l.Months.GreaterThan(dec("1")) {
			multiMonth++
		}
		if l.DiscountPct.IsPositive() {
			discounted++
		}
	}
	if multiMonth < 2 || discounted != len(inv.Lines) {
		t.Fatalf("the fixture should bill several months at a discount: %d multi-month and %d discounted of %d lines", multiMonth, discounted, len(inv.Lines))
	}

	res := o.call(t, request{method: "POST", path: "/v1/invoices/" + inv.ID.String() + "/documents"})
	if res.Status != 201 {
		t.Fatalf("render: %d %s", res.Status, res.Body)
	}
	var rendered invoiceDocumentsBody
	res.json(t, &rendered)
	xmlRes := o.call(t, request{method: "GET", path: "/v1/attachments/" + rendered.Items[0].ID + "/content"})
	var doc struct {
		LineTotal string `xml:"LegalMonetaryTotal>LineExtensionAmount"`
		Lines     []struct {
			Quantity string `xml:"InvoicedQuantity"`
			Net      string `xml:"LineExtensionAmount"`
			Changes  []struct {
				Charge bool   `xml:"ChargeIndicator"`
				Amount string `xml:"Amount"`
			} `xml:"AllowanceCharge"`
			Price        string `xml:"Price>PriceAmount"`
			BaseQuantity string `xml:"Price>BaseQuantity"`
			Discount     *struct {
				Amount string `xml:"Amount"`
				Base   string `xml:"BaseAmount"`
			} `xml:"Price>AllowanceCharge"`
		} `xml:"InvoiceLine"`
	}
	if err := xml.Unmarshal(xmlRes.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Lines) != len(inv.Lines) {
		t.Fatalf("UBL has %d lines, the invoice %d", len(doc.Lines), len(inv.Lines))
	}
	sum := decimal.Zero
	for i, l := range doc.Lines {
		base := dec("1")
		if l.BaseQuantity != "" {
			base = dec(l.BaseQuantity)
		}
		got := dec(l.Quantity).Mul(dec(l.Price)).DivRound(base, 20)
		for _, ch := range l.Changes {
			if ch.Charge {
				got = got.Add(dec(ch.Amount))
			} else {
				got = got.Sub(dec(ch.Amount))
			}
		}
		if got.Sub(dec(l.Net)).Abs().GreaterThan(dec("0.005")) {
			t.Errorf("line %d (%s): %s x %s / %s %+v = %s, not %s rounded to cents", i+1, inv.Lines[i].Description,
				l.Quantity, l.Price, base, l.Changes, got, l.Net)
		}
		if l.Discount == nil || !dec(l.Discount.Base).Sub(dec(l.Discount.Amount)).Equal(dec(l.Price)) {
			t.Errorf("line %d: price discount %+v does not take the gross price to %s", i+1, l.Discount, l.Price)
		}
		if !dec(l.Net).Equal(inv.Lines[i].Net) {
			t.Errorf("line %d: UBL net %s, invoice %s", i+1, l.Net, inv.Lines[i].Net)
		}
		sum = sum.Add(dec(l.Net))
	}
	if !sum.Equal(dec(doc.LineTotal)) || !sum.Equal(inv.Net) {
		t.Fatalf("lines add up to %s; UBL total %s, invoice net %s", sum, doc.LineTotal, inv.Net)
	}
}

// TestConcurrentFirstRendersMakeOneAttachmentPerName sends the first
// renders of an invoice's documents at once: each name gets one
// attachment, whose revisions are the renders, numbered without gap.
func TestConcurrentFirstRendersMakeOneAttachmentPerName(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	inv := postedInvoice(t, o.c, o.db.App)
	docs := "/v1/invoices/" + inv.ID.String() + "/documents"
	const n = 6
	start := make(chan struct{})
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = o.call(t, request{method: "POST", path: docs})
		}()
	}
	close(start)
	wg.Wait()
	ids := map[string]map[int]bool{} // attachment id -> revision numbers answered
	names := map[string]string{}     // name -> attachment id
	for i, res := range results {
		if res.Status != 201 {
			t.Fatalf("render %d: %d %s", i, res.Status, res.Body)
		}
		var out invoiceDocumentsBody
		res.json(t, &out)
		for _, a := range out.Items {
			if id, seen := names[a.Name]; seen && id != a.ID {
				t.Fatalf("two attachments named %s: %s and %s", a.Name, id, a.ID)
			}
			names[a.Name] = a.ID
			if ids[a.ID] == nil {
				ids[a.ID] = map[int]bool{}
			}
			if ids[a.ID][a.Revision.Number] {
				t.Fatalf("%s: revision %d answered twice", a.Name, a.Revision.Number)
			}
			ids[a.ID][a.Revision.Number] = true
		}
	}
	var list struct {
		Items []attachmentBody `json:"items"`
	}
	o.call(t, request{method: "GET", path: "/v1/invoices/" + inv.ID.String() + "/attachments"}).json(t, &list)
	if len(list.Items) != 3 || len(names) != 3 {
		t.Fatalf("want 3 attachments, listed %d, answered %v", len(list.Items), names)
	}
	for _, a := range list.Items {
		if a.LatestRevision != n || len(ids[a.ID]) != n {
			t.Fatalf("%s: latest revision %d, answered %v; want 1..%d", a.Name, a.LatestRevision, ids[a.ID], n)
		}
		for k := 1; k <= n; k++ {
			if !ids[a.ID][k] {
				t.Fatalf("%s: revision %d missing from the answers %v", a.Name, k, ids[a.ID])
			}
		}
	}

	// Whoever writes, a second attachment of a document's name is refused.
	_, err := o.db.Owner.Exec(context.Background(), `INSERT INTO files.attachment (id, owner_type, owner_id, site_id, name, created_by)
		VALUES (gen_random_uuid(), 'invoice', $1, 'UK', 'invoice.xml', 'test')`, inv.ID)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" || pe.ConstraintName != "attachment_invoice_name" {
		t.Fatalf("a duplicate invoice.xml: %v", err)
	}
}
