package api_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/orders"
)

type amendmentBody struct {
	ContractID    string `json:"contract_id"`
	Version       int    `json:"version"`
	Kind          string `json:"kind"`
	EffectiveDate string `json:"effective_date"`
	Snapshot      struct {
		Lines []struct {
			Quantity json.Number `json:"quantity"`
			EndDate  *string     `json:"end_date"`
		} `json:"lines"`
	} `json:"snapshot"`
}

// pages follows next_cursor from path (which has a ?) until the last page
// and returns the items of every page; every page holds at most limit.
func pages[T any](t *testing.T, o *orderTest, path string, limit int, token string) []T {
	t.Helper()
	var all []T
	cursor := ""
	for range 50 {
		p := path + "&limit=" + strconv.Itoa(limit)
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		res := o.call(t, request{method: "GET", path: p, token: token})
		if res.Status != 200 {
			t.Fatalf("GET %s: %d %s", p, res.Status, res.Body)
		}
		var page listOf[T]
		res.json(t, &page)
		if len(page.Items) > limit {
			t.Fatalf("GET %s: %d items", p, len(page.Items))
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		cursor = *page.NextCursor
	}
	t.Fatalf("%s never ends", path)
	return nil
}

// badListQueries are the unhappy queries every list answers 422.
var badListQueries = []string{"limit=0", "limit=501", "limit=x", "cursor=!!!", "cursor=bm9wZQ"}

func TestContractListAndAmendmentRoutes(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	svc := contracts.New(o.db.App, nil)
	today := o.c.today.Format(time.DateOnly)
	fr := o.token(t, "staff", "FR")
	other := o.c.customer(t, "UK", "Other Ltd")
	var ids []string
	for range 3 {
		ids = append(ids, newContract(t, o.c, o.db.App))
	}
	ord, err := o.c.svc.CreateOrder(o.c.ctx, orders.OrderInput{CustomerID: other.ID, LegalEntityID: o.c.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: o.c.fibre.ID, Quantity: dec("1")}}})
	must(t, err)
	for _, to := range []orders.Status{orders.StatusSubmitted, orders.StatusBooked} {
		ord, err = o.c.svc.Transition(o.c.ctx, ord.ID, to, ord.Version, "")
		must(t, err)
	}
	k, err := svc.CreateFromOrder(o.c.ctx, ord.ID, contracts.Terms{})
	must(t, err)
	_, err = svc.Cancel(o.c.ctx, uuidOf(t, ids[0]), contracts.Cancellation{Policy: contracts.PolicyImmediate, ReceivedOn: o.c.today})
	must(t, err)

	t.Run("contracts page newest first and filter", func(t *testing.T) {
		all := pages[contractBody](t, o, "/v1/contracts?site=UK", 2, "")
		if len(all) != 4 || all[0].ID != k.ID.String() || all[3].ID != ids[0] {
			t.Fatalf("contracts %+v", all)
		}
		var page listOf[contractBody]
		o.call(t, request{method: "GET", path: "/v1/contracts?customer_id=" + other.ID.String()}).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != k.ID.String() || len(page.Items[0].Lines) != 1 {
			t.Fatalf("contracts of %s: %+v", other.Name, page)
		}
		o.call(t, request{method: "GET", path: "/v1/contracts?status=cancelled"}).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ids[0] || page.Items[0].Status != "cancelled" {
			t.Fatalf("cancelled contracts: %+v", page)
		}
		o.call(t, request{method: "GET", path: "/v1/contracts", token: fr}).json(t, &page)
		if len(page.Items) != 0 || page.NextCursor != nil {
			t.Fatalf("FR staff lists UK contracts: %+v", page)
		}
		for _, q := range append([]string{"status=paused", "customer_id=42"}, badListQueries...) {
			wantProblem(t, o.call(t, request{method: "GET", path: "/v1/contracts?" + q, invalid: true}), 422, "validation_failed")
		}
	})

	t.Run("amendments are listed and made", func(t *testing.T) {
		id := ids[1]
		path := "/v1/contracts/" + id + "/amendments"
		k, err := svc.Contract(o.c.ctx, uuidOf(t, id))
		must(t, err)
		var a amendmentBody
		res := o.call(t, request{method: "POST", path: path, body: map[string]any{"effective_date": today,
			"lines": []map[string]any{{"line_id": k.Lines[0].ID, "quantity": "2", "unit_price": "125.00"}}}})
		res.json(t, &a)
		if res.Status != 201 || a.Kind != "lines_changed" || a.Version != 2 || a.ContractID != id || a.EffectiveDate != today ||
			len(a.Snapshot.Lines) != 2 || a.Snapshot.Lines[1].Quantity != "2.000" {
			t.Fatalf("amend lines: %d %s", res.Status, res.Body)
		}
		res = o.call(t, request{method: "POST", path: path, body: map[string]any{"effective_date": today, "terms": map[string]any{"auto_renew": false}}})
		res.json(t, &a)
		if res.Status != 201 || a.Kind != "terms" || a.Version != 3 {
			t.Fatalf("amend terms: %d %s", res.Status, res.Body)
		}
		all := pages[amendmentBody](t, o, path+"?", 2, "")
		var kinds []string
		for _, x := range all {
			kinds = append(kinds, x.Kind)
		}
		if !slices.Equal(kinds, []string{"created", "lines_changed", "terms"}) {
			t.Fatalf("versions %v", kinds)
		}
		var got contractBody
		o.call(t, request{method: "GET", path: "/v1/contracts/" + id}).json(t, &got)
		if len(got.Lines) != 2 || got.Lines[1].Quantity != "2.000" || got.Lines[1].UnitPrice != "125.0000" {
			t.Fatalf("amended contract %+v", got)
		}

		for name, body := range map[string]map[string]any{
			"terms and lines": {"effective_date": today, "terms": map[string]any{"notice_days": 1},
				"lines": []map[string]any{{"line_id": k.Lines[0].ID, "quantity": "3"}}},
			"no change":            {"effective_date": today},
			"no date":              {"terms": map[string]any{"notice_days": 1}},
			"an unknown line":      {"effective_date": today, "lines": []map[string]any{{"line_id": unknownID, "quantity": "3"}}},
			"a quantity as number": {"effective_date": today, "lines": []map[string]any{{"line_id": k.Lines[0].ID, "quantity": 3}}},
			"a zero quantity":      {"effective_date": today, "lines": []map[string]any{{"line_id": k.Lines[0].ID, "quantity": "0"}}},
			"a bad etf rule":       {"effective_date": today, "terms": map[string]any{"etf_rule": "always"}},
			"before the start": {"effective_date": o.c.today.AddDate(0, 0, -1).Format(time.DateOnly),
				"lines": []map[string]any{{"line_id": k.Lines[0].ID, "quantity": "3"}}},
		} {
			t.Run(name, func(t *testing.T) {
				wantProblem(t, o.call(t, request{method: "POST", path: path, body: body, invalid: true}), 422, "validation_failed")
			})
		}
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/contracts/" + unknownID + "/amendments",
			body: map[string]any{"effective_date": today, "terms": map[string]any{"notice_days": 1}}}), 404, "contract_not_found")
		wantProblem(t, o.call(t, request{method: "GET", path: "/v1/contracts/" + unknownID + "/amendments"}), 404, "contract_not_found")
		if res := o.call(t, request{method: "GET", path: path, token: fr}); res.Status != 404 {
			t.Fatalf("another site's amendments: %d %s", res.Status, res.Body)
		}
		if res := o.call(t, request{method: "POST", path: path, token: fr, body: map[string]any{"effective_date": today, "terms": map[string]any{"notice_days": 1}}}); res.Status != 404 {
			t.Fatalf("amend another site's contract: %d %s", res.Status, res.Body)
		}
		if res := o.call(t, request{method: "POST", path: path, token: o.token(t, "auditor"), body: map[string]any{"effective_date": today, "terms": map[string]any{"notice_days": 1}}}); res.Status != 403 {
			t.Fatalf("an auditor amends: %d %s", res.Status, res.Body)
		}
		for _, q := range badListQueries {
			wantProblem(t, o.call(t, request{method: "GET", path: path + "?" + q, invalid: true}), 422, "validation_failed")
		}
		// Once the line is invoiced past the date, it cannot be re-priced
		// from it; an ended contract cannot change at all.
		runIn(t, o.c, svc, contracts.RunPosted)
		k, err = svc.Contract(o.c.ctx, uuidOf(t, id))
		must(t, err)
		wantProblem(t, o.call(t, request{method: "POST", path: path, body: map[string]any{"effective_date": today,
			"lines": []map[string]any{{"line_id": k.Lines[1].ID, "quantity": "3"}}}}), 409, "invalid_state")
		wantProblem(t, o.call(t, request{method: "POST", path: "/v1/contracts/" + ids[0] + "/amendments",
			body: map[string]any{"effective_date": today, "terms": map[string]any{"notice_days": 1}}}), 409, "invalid_state")
	})
}

func TestInvoiceRunInvoiceAndCreditNoteListRoutes(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	svc := contracts.New(o.db.App, nil)
	today := o.c.today.Format(time.DateOnly)
	fr := o.token(t, "staff", "FR")
	other := o.c.customer(t, "UK", "Other Ltd")
	newContract(t, o.c, o.db.App)
	ord, err := o.c.svc.CreateOrder(o.c.ctx, orders.OrderInput{CustomerID: other.ID, LegalEntityID: o.c.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: o.c.fibre.ID, Quantity: dec("2")}}})
	must(t, err)
	for _, to := range []orders.Status{orders.StatusSubmitted, orders.StatusBooked} {
		ord, err = o.c.svc.Transition(o.c.ctx, ord.ID, to, ord.Version, "")
		must(t, err)
	}
	_, err = svc.CreateFromOrder(o.c.ctx, ord.ID, contracts.Terms{})
	must(t, err)
	posted := runIn(t, o.c, svc, contracts.RunPosted)
	planned := runIn(t, o.c, svc, contracts.RunPlanned)

	t.Run("runs page newest first and filter", func(t *testing.T) {
		all := pages[runBody](t, o, "/v1/invoice-runs?site=UK", 1, "")
		if len(all) != 2 || all[0].ID != planned.ID.String() || all[1].ID != posted.ID.String() {
			t.Fatalf("runs %+v", all)
		}
		var page listOf[runBody]
		o.call(t, request{method: "GET", path: "/v1/invoice-runs?status=posted"}).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != posted.ID.String() || page.Items[0].InvoiceCount != 2 {
			t.Fatalf("posted runs %+v", page)
		}
		o.call(t, request{method: "GET", path: "/v1/invoice-runs", token: fr}).json(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("FR staff lists UK runs: %+v", page)
		}
		for _, q := range append([]string{"status=late"}, badListQueries...) {
			wantProblem(t, o.call(t, request{method: "GET", path: "/v1/invoice-runs?" + q, invalid: true}), 422, "validation_failed")
		}
	})

	var invs []invoiceBody
	t.Run("a run's invoices page in number order", func(t *testing.T) {
		path := "/v1/invoice-runs/" + posted.ID.String() + "/invoices?"
		invs = pages[invoiceBody](t, o, path, 1, "")
		if len(invs) != 2 || invs[0].Number == nil || invs[1].Number == nil || *invs[0].Number >= *invs[1].Number || len(invs[0].Lines) != 1 {
			t.Fatalf("run invoices %+v", invs)
		}
		for _, q := range badListQueries {
			wantProblem(t, o.call(t, request{method: "GET", path: path + q, invalid: true}), 422, "validation_failed")
		}
		wantProblem(t, o.call(t, request{method: "GET", path: "/v1/invoice-runs/" + unknownID + "/invoices"}), 404, "invoice_run_not_found")
		if res := o.call(t, request{method: "GET", path: path, token: fr}); res.Status != 404 {
			t.Fatalf("another site's run invoices: %d %s", res.Status, res.Body)
		}
	})

	t.Run("invoices page newest first and filter", func(t *testing.T) {
		all := pages[invoiceBody](t, o, "/v1/invoices?site=UK", 1, "")
		if len(all) != 2 {
			t.Fatalf("invoices %+v", all)
		}
		var page invoiceListBody
		o.call(t, request{method: "GET", path: "/v1/invoices?customer_id=" + other.ID.String() + "&status=posted&from=" + today + "&to=" + today}).json(t, &page)
		if len(page.Items) != 1 || page.Items[0].Status != "posted" || page.Items[0].ID == invs[0].ID {
			t.Fatalf("posted invoices of %s today: %+v", other.Name, page)
		}
		tomorrow := o.c.today.AddDate(0, 0, 1).Format(time.DateOnly)
		o.call(t, request{method: "GET", path: "/v1/invoices?from=" + tomorrow}).json(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("invoices from tomorrow: %+v", page)
		}
		o.call(t, request{method: "GET", path: "/v1/invoices", token: fr}).json(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("FR staff lists UK invoices: %+v", page)
		}
		p := wantProblem(t, o.call(t, request{method: "GET", path: "/v1/invoices?from=" + tomorrow + "&to=" + today}), 422, "validation_failed")
		if !slices.Contains(p.fields(), "to") {
			t.Fatalf("fields %v", p.fields())
		}
		for _, q := range append([]string{"status=paid", "customer_id=x", "from=soon"}, badListQueries...) {
			wantProblem(t, o.call(t, request{method: "GET", path: "/v1/invoices?" + q, invalid: true}), 422, "validation_failed")
		}
	})

	t.Run("credit notes of an invoice page in number order; one is read by id", func(t *testing.T) {
		inv := invs[0]
		path := "/v1/invoices/" + inv.ID + "/credit-notes"
		var made []creditNoteBody
		for _, amt := range []string{"1.00", "2.00"} {
			var cn creditNoteBody
			res := o.call(t, request{method: "POST", path: path, body: map[string]any{"issue_date": today, "reason": "goodwill",
				"lines": []map[string]any{{"invoice_line_id": inv.Lines[0].ID, "amount": amt}}}})
			res.json(t, &cn)
			if res.Status != 201 {
				t.Fatalf("credit: %d %s", res.Status, res.Body)
			}
			made = append(made, cn)
		}
		all := pages[creditNoteBody](t, o, path+"?", 1, "")
		if len(all) != 2 || all[0].ID != made[0].ID || all[1].ID != made[1].ID || all[1].Net != "2.00" {
			t.Fatalf("credit notes %+v", all)
		}
		var none listOf[creditNoteBody]
		o.call(t, request{method: "GET", path: "/v1/invoices/" + invs[1].ID + "/credit-notes"}).json(t, &none)
		if len(none.Items) != 0 || none.NextCursor != nil {
			t.Fatalf("credit notes of an invoice without any: %+v", none)
		}
		var got creditNoteBody
		res := o.call(t, request{method: "GET", path: "/v1/credit-notes/" + made[1].ID})
		res.json(t, &got)
		if res.Status != 200 || got != made[1] {
			t.Fatalf("get credit note: %d %s, made %+v", res.Status, res.Body, made[1])
		}
		wantProblem(t, o.call(t, request{method: "GET", path: "/v1/credit-notes/" + unknownID}), 404, "credit_note_not_found")
		wantProblem(t, o.call(t, request{method: "GET", path: "/v1/credit-notes/not-a-uuid"}), 404, "not_found")
		wantProblem(t, o.call(t, request{method: "GET", path: "/v1/invoices/" + unknownID + "/credit-notes"}), 404, "invoice_not_found")
		if res := o.call(t, request{method: "GET", path: "/v1/credit-notes/" + made[0].ID, token: fr}); res.Status != 404 {
			t.Fatalf("another site's credit note: %d %s", res.Status, res.Body)
		}
		if res := o.call(t, request{method: "GET", path: path, token: fr}); res.Status != 404 {
			t.Fatalf("another site's invoice's credit notes: %d %s", res.Status, res.Body)
		}
		for _, q := range badListQueries {
			wantProblem(t, o.call(t, request{method: "GET", path: path + "?" + q, invalid: true}), 422, "validation_failed")
		}
	})
}
