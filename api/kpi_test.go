package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/orders"
)

// kpiMatrixFixtures are the authorization matrix fixtures of the KPI
// reports: lists, so a token of another site gets 200 and no rows.
func kpiMatrixFixtures() map[string]func() fixture {
	return map[string]func() fixture{
		"kpiBookings": func() fixture { return fixture{path: "/v1/kpi/bookings?site=UK&group_by=site,month"} },
		"kpiMargin":   func() fixture { return fixture{path: "/v1/kpi/margin?from=2025-01&to=2026-12"} },
		"kpiMRR":      func() fixture { return fixture{path: "/v1/kpi/mrr?level=contract&group_by=contract"} },
	}
}

// kpiOrder books, for the UK customer, ana's order of one fibre (120 a
// month for 12 months, cost 70; 40 % of it to bob) and one installation
// (500, cost 200), dated 15 June 2025, and makes its contract from 1 June
// 2025; it posts the UK run of that day (June's fibre, 120.00, cost 70.00)
// and refreshes MRR.
func kpiOrder(t *testing.T, o *orderTest) {
	t.Helper()
	c := o.c
	ord, err := c.svc.CreateOrder(c.ctx, orders.OrderInput{CustomerID: c.ukCustomer.ID, LegalEntityID: c.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{
			{ProductID: c.fibre.ID, Quantity: dec("1"), Splits: []orders.Split{{Salesperson: "bob", SharePct: dec("40")}}},
			{ProductID: c.install.ID, Quantity: dec("1")},
		}})
	must(t, err)
	for _, to := range []orders.Status{orders.StatusSubmitted, orders.StatusBooked} {
		ord, err = c.svc.Transition(c.ctx, ord.ID, to, ord.Version, "")
		must(t, err)
	}
	if _, err := o.db.Owner.Exec(context.Background(), `UPDATE orders.order_transition SET at = '2025-06-15T12:00:00Z'
		WHERE order_id = $1 AND to_status = 'booked'`, ord.ID); err != nil {
		t.Fatal(err)
	}
	svc := contracts.New(o.db.App, nil)
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err = svc.CreateFromOrder(c.ctx, ord.ID, contracts.Terms{StartDate: &start})
	must(t, err)
	run, err := svc.PlanRun(c.ctx, "UK", start)
	must(t, err)
	for _, step := range []func(context.Context, uuid.UUID) (contracts.Run, error){svc.PrepareRun, svc.ApproveRun, svc.PostRun} {
		_, err := step(c.ctx, run.ID)
		must(t, err)
	}
	_, err = kpi.New(o.db.App, nil).RefreshMRR(c.ctx)
	must(t, err)
}

// kpiRows reads a report's items as "key=value" lines, in order.
func kpiRows(t *testing.T, res response, keys ...string) []string {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("want 200, got %d %s", res.Status, res.Body)
	}
	var body struct {
		Items []map[string]any `json:"items"`
	}
	res.json(t, &body)
	var out []string
	for _, it := range body.Items {
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, it[k]))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func TestKPIRoutesReportHandComputedFigures(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	kpiOrder(t, o)
	uk, fr := o.token(t, "auditor", "UK"), o.token(t, "api", "FR")

	cases := []struct {
		name, path, token string
		keys              []string
		want              []string
	}{
		{
			// ana: 60 % of fibre's 1440.00 (cost 840.00) and the 500.00
			// installation (cost 200.00); bob: 40 % of fibre.
			name: "bookings per salesperson",
			path: "/v1/kpi/bookings?from=2025-06&to=2025-06&group_by=salesperson",
			keys: []string{"month", "site", "currency", "salesperson", "orders", "amount", "cost", "margin", "margin_pct", "mrr"},
			want: []string{
				"month=<nil> site=<nil> currency=GBP salesperson=ana orders=1 amount=1364.00 cost=704.00 margin=660.00 margin_pct=48.39 mrr=72.00",
				"month=<nil> site=<nil> currency=GBP salesperson=bob orders=1 amount=576.00 cost=336.00 margin=240.00 margin_pct=41.67 mrr=48.00",
			},
		},
		{
			name:  "bookings for a token of the site",
			path:  "/v1/kpi/bookings",
			token: uk,
			keys:  []string{"month", "site", "currency", "amount"},
			want:  []string{"month=2025-06 site=UK currency=GBP amount=1940.00"},
		},
		{
			name:  "bookings for a token of another site",
			path:  "/v1/kpi/bookings",
			token: fr,
			keys:  []string{"amount"},
		},
		{
			name: "margin per month and salesperson",
			path: "/v1/kpi/margin?site=UK&group_by=month,salesperson",
			keys: []string{"month", "salesperson", "invoiced", "credited", "revenue", "cost", "margin", "margin_pct"},
			want: []string{
				"month=2025-06 salesperson=ana invoiced=72.00 credited=0.00 revenue=72.00 cost=42.00 margin=30.00 margin_pct=41.67",
				"month=2025-06 salesperson=bob invoiced=48.00 credited=0.00 revenue=48.00 cost=28.00 margin=20.00 margin_pct=41.67",
			},
		},
		{
			name: "mrr per month",
			path: "/v1/kpi/mrr?from=2025-05&to=2025-07&group_by=month",
			keys: []string{"month", "currency", "opening_mrr", "new_mrr", "churned_mrr", "closing_mrr", "closing_units"},
			want: []string{
				"month=2025-06 currency=GBP opening_mrr=0.00 new_mrr=120.00 churned_mrr=0.00 closing_mrr=120.00 closing_units=1",
				"month=2025-07 currency=GBP opening_mrr=120.00 new_mrr=0.00 churned_mrr=0.00 closing_mrr=120.00 closing_units=1",
			},
		},
		{
			name:  "mrr per contract for a token of another site",
			path:  "/v1/kpi/mrr?level=contract&group_by=contract",
			token: fr,
			keys:  []string{"contract_number"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := o.call(t, request{method: "GET", path: tc.path, token: tc.token})
			got := kpiRows(t, res, tc.keys...)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rows:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
		})
	}

	t.Run("mrr says when it was computed", func(t *testing.T) {
		res := o.call(t, request{method: "GET", path: "/v1/kpi/mrr"})
		var body struct {
			RefreshedAt time.Time `json:"refreshed_at"`
		}
		res.json(t, &body)
		if time.Since(body.RefreshedAt) > time.Hour {
			t.Fatalf("refreshed_at %s", body.RefreshedAt)
		}
	})
}

func TestKPIFiltersAreValidated(t *testing.T) {
	t.Parallel()
	o := setupOrders(t)
	cases := []struct {
		path   string
		fields []string
	}{
		{"/v1/kpi/bookings?from=2025-13", []string{"from"}},
		{"/v1/kpi/bookings?from=2025-3&to=2025-03-01", []string{"from", "to"}},
		{"/v1/kpi/bookings?from=2025-05&to=2025-04", []string{"to"}},
		{"/v1/kpi/bookings?group_by=site,colour", []string{"group_by"}},
		{"/v1/kpi/bookings?group_by=customer", []string{"group_by"}},
		{"/v1/kpi/bookings?product_id=fibre&currency=euro&site=uk", []string{"product_id", "site", "currency"}},
		{"/v1/kpi/margin?cursor=bm90LWEtY3Vyc29y", []string{"cursor"}},
		{"/v1/kpi/margin?limit=0", []string{"limit"}},
		{"/v1/kpi/mrr?level=region", []string{"level"}},
		{"/v1/kpi/mrr?group_by=contract", []string{"group_by"}},
		{"/v1/kpi/mrr?group_by=salesperson&customer_id=1", []string{"customer_id", "group_by"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res := o.call(t, request{method: "GET", path: tc.path, invalid: true})
			if res.Status != http.StatusUnprocessableEntity || res.problemCode(t) != "validation_failed" {
				t.Fatalf("want 422 validation_failed, got %d %s", res.Status, res.Body)
			}
			var p problemBody
			res.json(t, &p)
			if got := p.fields(); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v: %s", got, tc.fields, res.Body)
			}
		})
	}
}
