package orders_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/messina-oms/messina/orders"
)

var allStatuses = []orders.Status{
	orders.StatusDraft, orders.StatusSubmitted, orders.StatusApproved, orders.StatusBooked,
	orders.StatusProvisioning, orders.StatusCompleted, orders.StatusRejected, orders.StatusCancelled,
}

// allowedMoves is the lifecycle of design.md section 3, written out here on
// purpose so a change of the database table must be a change of this test.
var allowedMoves = map[orders.Status][]orders.Status{
	orders.StatusDraft:        {orders.StatusSubmitted, orders.StatusCancelled},
	orders.StatusSubmitted:    {orders.StatusApproved, orders.StatusRejected, orders.StatusCancelled},
	orders.StatusApproved:     {orders.StatusBooked, orders.StatusCancelled},
	orders.StatusBooked:       {orders.StatusProvisioning, orders.StatusCancelled},
	orders.StatusProvisioning: {orders.StatusCompleted, orders.StatusCancelled},
	orders.StatusCompleted:    nil,
	orders.StatusRejected:     nil,
	orders.StatusCancelled:    nil,
}

func TestEveryTransitionIsAllowedOrRefusedThroughTheService(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			allowed := slices.Contains(allowedMoves[from], to)
			name := string(from) + "_to_" + string(to)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				o := b.orderIn(t, from)
				got, err := b.svc.Transition(b.ctx, o.ID, to, o.Version, "a reason")
				if allowed {
					must(t, err)
					if got.Status != to {
						t.Fatalf("status %s, want %s", got.Status, to)
					}
					if got.StatusChangedBy != "user:tester@example.com" || got.StatusReason != "a reason" {
						t.Fatalf("who/why not recorded: %q %q", got.StatusChangedBy, got.StatusReason)
					}
					h, err := b.svc.History(b.ctx, o.ID)
					must(t, err)
					last := h[len(h)-1]
					if last.From != from || last.To != to || last.Actor != "user:tester@example.com" || last.Reason != "a reason" {
						t.Fatalf("last history entry %+v", last)
					}
					return
				}
				e := mustErr(t, err, orders.ErrInvalidTransition, "invalid_transition")
				if !errors.Is(err, orders.ErrConflict) {
					t.Fatal("an invalid transition is also a conflict")
				}
				var want []string
				for _, st := range allowedMoves[from] {
					want = append(want, string(st))
				}
				if !slices.Equal(e.Allowed, want) {
					t.Fatalf("allowed %v, want %v", e.Allowed, want)
				}
				again, err := b.svc.GetOrder(b.ctx, o.ID)
				must(t, err)
				if again.Status != from || again.Version != o.Version {
					t.Fatalf("a refused transition changed the order: %s v%d", again.Status, again.Version)
				}
			})
		}
	}
}

func TestTransitionTableMatchesTheLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, from := range allStatuses {
		got, err := b.svc.AllowedTransitions(b.ctx, from)
		must(t, err)
		if !slices.Equal(got, allowedMoves[from]) {
			t.Fatalf("from %s: database allows %v, want %v", from, got, allowedMoves[from])
		}
	}
}

// sqlAs runs fn in a transaction of the application role with the given
// sites and actor, as any client with psql would, bypassing the service.
func sqlAs(t *testing.T, b *testBundle, sites string, fn func(tx pgx.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.App.Begin(ctx)
	must(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, "SELECT set_config('messina.sites', $1, true), set_config('messina.actor', 'user:psql', true)", sites)
	must(t, err)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestEveryTransitionIsAllowedOrRefusedFromPlainSQL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			if from == to {
				continue // an UPDATE to the same status is a header update
			}
			allowed := slices.Contains(allowedMoves[from], to)
			t.Run(string(from)+"_to_"+string(to), func(t *testing.T) {
				t.Parallel()
				o := b.orderIn(t, from)
				err := sqlAs(t, b, "*", func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `UPDATE orders."order" SET status = $1, transition_reason = 'by hand' WHERE id = $2`, string(to), o.ID)
					return err
				})
				if !allowed {
					if sqlState(err) != "MS001" {
						t.Fatalf("want SQLSTATE MS001, got %v", err)
					}
					return
				}
				must(t, err)
				var actor, reason string
				must(t, b.db.Owner.QueryRow(ctx, `SELECT actor, reason FROM orders.order_transition WHERE order_id = $1 ORDER BY id DESC LIMIT 1`, o.ID).Scan(&actor, &reason))
				if actor != "user:psql" || reason != "by hand" {
					t.Fatalf("transition recorded as %q %q", actor, reason)
				}
			})
		}
	}
}

func TestTheDatabaseRefusesWhatTheLifecycleForbids(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	booked := b.orderIn(t, orders.StatusBooked)
	draft := b.bigOrder(t)
	cases := []struct {
		name  string
		sql   string
		args  []any
		state string
	}{
		{"an order cannot be inserted in another status than draft",
			`INSERT INTO orders."order" (site_id, legal_entity_id, customer_id, salesperson, currency, status) VALUES ('UK', $1, $2, 'x', 'GBP', 'booked')`,
			[]any{b.ukEntity.ID, b.ukCustomer.ID}, "MS001"},
		{"a line cannot be added to a booked order",
			`INSERT INTO orders.order_line (order_id, site_id, product_id, quantity, unit_price) VALUES ($1, 'UK', $2, 1, 1)`,
			[]any{booked.ID, b.install.ID}, "MS002"},
		{"a line of a booked order cannot change",
			`UPDATE orders.order_line SET quantity = 99 WHERE order_id = $1`, []any{booked.ID}, "MS002"},
		{"a line of a booked order cannot be deleted",
			`DELETE FROM orders.order_line WHERE order_id = $1`, []any{booked.ID}, "MS002"},
		{"cancelling needs a reason",
			`UPDATE orders."order" SET status = 'cancelled' WHERE id = $1`, []any{draft.ID}, "MS003"},
		{"a line in another currency is refused",
			`INSERT INTO orders.order_line (order_id, site_id, product_id, quantity, currency) VALUES ($1, 'UK', $2, 1, 'EUR')`,
			[]any{draft.ID, b.install.ID}, "MS003"},
		{"a negative quantity is refused",
			`INSERT INTO orders.order_line (order_id, site_id, product_id, quantity) VALUES ($1, 'UK', $2, -1)`,
			[]any{draft.ID, b.install.ID}, "23514"},
		{"the order currency cannot change",
			`UPDATE orders."order" SET currency = 'EUR' WHERE id = $1`, []any{draft.ID}, "MS002"},
		{"the customer of a booked order cannot change",
			`UPDATE orders."order" SET customer_id = customer_id, legal_entity_id = $2 WHERE id = $1`, []any{booked.ID, b.frEntity.ID}, "MS002"},
		{"the transition log is append-only",
			`DELETE FROM orders.order_transition WHERE order_id = $1`, []any{booked.ID}, "42501"},
		{"the transition table is not the application's to change",
			`INSERT INTO orders.status_transition VALUES ('completed', 'draft', false)`, nil, "42501"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := sqlAs(t, b, "*", func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, c.sql, c.args...)
				return err
			})
			if got := sqlState(err); got != c.state {
				t.Fatalf("want SQLSTATE %s, got %v", c.state, err)
			}
		})
	}
}

func TestSubmitDecidesWhetherApprovalIsNeeded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A customer price of 75 against a cost of 70 makes a 6.67 % margin,
	// under the UK minimum of 20 %.
	lowMargin := []orders.LineInput{{ProductID: b.fibre.ID, Quantity: dec("1"), UnitPrice: ndec("75")}}
	cases := []struct {
		name         string
		lines        []orders.LineInput
		wantStatus   orders.Status
		wantRequired bool
		wantDecision string
	}{
		{"within thresholds is approved at once", []orders.LineInput{{ProductID: b.fibre.ID, Quantity: dec("1")}}, orders.StatusApproved, false, "auto"},
		{"above the amount threshold waits for approval", []orders.LineInput{{ProductID: b.fibre.ID, Quantity: dec("10")}}, orders.StatusSubmitted, true, ""},
		{"below the minimum margin waits for approval", lowMargin, orders.StatusSubmitted, true, ""},
		{"a zero value order waits for approval", []orders.LineInput{{ProductID: b.install.ID, Quantity: dec("1"), UnitPrice: ndec("0")}}, orders.StatusSubmitted, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana", Lines: c.lines})
			must(t, err)
			o, err = b.svc.Submit(b.ctx, o.ID, o.Version)
			must(t, err)
			if o.Status != c.wantStatus || o.ApprovalRequired == nil || *o.ApprovalRequired != c.wantRequired {
				t.Fatalf("status %s, approval required %v (%s)", o.Status, o.ApprovalRequired, o.ApprovalReason)
			}
			a, err := b.svc.Approvals(b.ctx, o.ID)
			must(t, err)
			if c.wantDecision == "" {
				if len(a) != 0 {
					t.Fatalf("approvals %+v before anyone decided", a)
				}
				o, err = b.svc.Approve(b.ctx, o.ID, o.Version, "checked with finance")
				must(t, err)
				a, err = b.svc.Approvals(b.ctx, o.ID)
				must(t, err)
				if len(a) != 1 || a[0].Decision != "approved" || a[0].DecidedBy != "user:tester@example.com" || a[0].Reason != "checked with finance" {
					t.Fatalf("approvals %+v", a)
				}
				return
			}
			if len(a) != 1 || a[0].Decision != c.wantDecision {
				t.Fatalf("approvals %+v", a)
			}
			h, err := b.svc.History(b.ctx, o.ID)
			must(t, err)
			if len(h) != 2 || h[0].To != orders.StatusSubmitted || h[1].To != orders.StatusApproved || h[1].Actor != "system:approval-rules" {
				t.Fatalf("history %+v", h)
			}
		})
	}
}

func TestSubmitChecksTheOrderIsComplete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	empty, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: b.ukCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana"})
	must(t, err)
	_, err = b.svc.Submit(b.ctx, empty.ID, empty.Version)
	hasField(t, mustErr(t, err, orders.ErrValidation, "validation_failed"), "lines")

	poCustomer, err := b.svc.CreateCustomer(b.ctx, orders.CustomerInput{SiteID: "UK", Name: "Bureaucracy plc", Currency: "GBP", Language: "en", Timezone: "Europe/London", PORequired: true})
	must(t, err)
	o, err := b.svc.CreateOrder(b.ctx, orders.OrderInput{CustomerID: poCustomer.ID, LegalEntityID: b.ukEntity.ID, Salesperson: "ana",
		Lines: []orders.LineInput{{ProductID: b.install.ID, Quantity: dec("1")}}})
	must(t, err)
	_, err = b.svc.Submit(b.ctx, o.ID, o.Version)
	hasField(t, mustErr(t, err, orders.ErrValidation, "validation_failed"), "po_number")
	o, err = b.svc.UpdateOrder(b.ctx, o.ID, o.Version, orders.OrderPatch{PONumber: ptr("PO-4711")})
	must(t, err)
	o, err = b.svc.Submit(b.ctx, o.ID, o.Version)
	must(t, err)
	if o.Status != orders.StatusApproved {
		t.Fatalf("status %s", o.Status)
	}
}

func TestRejectAndCancelNeedAReason(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		from orders.Status
		to   orders.Status
	}{{orders.StatusSubmitted, orders.StatusRejected}, {orders.StatusDraft, orders.StatusCancelled}, {orders.StatusBooked, orders.StatusCancelled}} {
		o := b.orderIn(t, c.from)
		_, err := b.svc.Transition(b.ctx, o.ID, c.to, o.Version, "  ")
		hasField(t, mustErr(t, err, orders.ErrValidation, "validation_failed"), "reason")
	}
}

func TestLinesChangeOnlyInDraft(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.orderIn(t, orders.StatusApproved)
	_, err := b.svc.AddLine(b.ctx, o.ID, o.Version, orders.LineInput{ProductID: b.install.ID, Quantity: dec("1")})
	mustErr(t, err, orders.ErrConflict, "order_not_editable")
	_, err = b.svc.RemoveLine(b.ctx, o.ID, o.Lines[0].ID, o.Version)
	mustErr(t, err, orders.ErrConflict, "order_not_editable")
	_, err = b.svc.UpdateOrder(b.ctx, o.ID, o.Version, orders.OrderPatch{CustomerID: ptr(b.ukCustomer.ID), LegalEntityID: ptr(b.frEntity.ID)})
	mustErr(t, err, orders.ErrConflict, "order_not_editable")
	// The PO number may still arrive after approval.
	o, err = b.svc.UpdateOrder(b.ctx, o.ID, o.Version, orders.OrderPatch{PONumber: ptr("PO-1")})
	must(t, err)
	if o.PONumber != "PO-1" {
		t.Fatalf("po number %q", o.PONumber)
	}
}
