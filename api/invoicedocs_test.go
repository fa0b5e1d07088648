package api_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"slices"
	"testing"

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
	inv := postedInvoice(t, o.c, o.db.App)
	cu, err := o.c.svc.GetCustomer(o.c.ctx, inv.CustomerID)
	must(t, err)
	in := orders.CustomerInput{Name: cu.Name, Currency: cu.Currency, Language: cu.Language, Timezone: cu.Timezone, PaymentTermsDays: cu.PaymentTermsDays}
	_, err = o.c.svc.UpdateCustomer(o.c.ctx, cu.ID, cu.Version, in) // no address: a customer from before addresses
	must(t, err)

	docs := "/v1/invoices/" + inv.ID.String() + "/documents"
	p := wantProblem(t, o.call(t, request{method: "POST", path: docs}), 409, "invoice_document_incomplete")
	if !slices.Equal(p.fields(), []string{"buyer.address"}) {
		t.Fatalf("fields %v", p.fields())
	}
	var list struct {
		Items []attachmentBody `json:"items"`
	}
	o.call(t, request{method: "GET", path: "/v1/invoices/" + inv.ID.String() + "/attachments"}).json(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a refused render stored %+v", list.Items)
	}
}
