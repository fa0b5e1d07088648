package contracts_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/contracts"
)

// A contract of one unit at 310 a month from Jan 1, 2025 is billed in
// advance through February; from March 11 it has two units, from April 1
// at 400 a month. March has 31 days: the run of April 1 bills March 1-10
// at the old terms (310 x 10/31 = 100.00) and March 11-31 at the new ones
// (2 x 310 x 21/31 = 420.00), then April at 2 x 400 = 800.00.
func TestAmendedLinesAreBilledFromTheirEffectiveDate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "310"})
	b.postRun(t, s, date(2025, 2, 1)) // January and February

	first, err := b.svc.Amend(b.ctx, c.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 11),
		Lines: []contracts.LineChange{{LineID: c.Lines[0].ID, Quantity: ptr(dec("2"))}}})
	must(t, err)
	eq(t, "kind", first.Kind, "lines_changed")
	eq(t, "version", first.Version, c.Version+1)
	eqDate(t, "effective", first.EffectiveDate, date(2025, 3, 11))
	var snap struct {
		Lines []struct {
			LineNo   int             `json:"line_no"`
			Quantity decimal.Decimal `json:"quantity"`
			EndDate  *string         `json:"end_date"`
		} `json:"lines"`
	}
	must(t, json.Unmarshal(first.Snapshot, &snap))
	if len(snap.Lines) != 2 || snap.Lines[0].EndDate == nil || *snap.Lines[0].EndDate != "2025-03-10" || !snap.Lines[1].Quantity.Equal(dec("2")) {
		t.Fatalf("snapshot lines %+v", snap.Lines)
	}

	got, err := b.svc.Contract(b.ctx, c.ID)
	must(t, err)
	if len(got.Lines) != 2 {
		t.Fatalf("want the old line ended and a new one, got %+v", got.Lines)
	}
	old, now := got.Lines[0], got.Lines[1]
	eqDate(t, "old line ends", *old.EndDate, date(2025, 3, 10))
	eqDec(t, "old quantity", old.Quantity, "1")
	eqDate(t, "new line starts", now.StartDate, date(2025, 3, 11))
	eqDate(t, "new line billed through", now.BilledThrough, date(2025, 3, 10))
	eqDec(t, "new quantity", now.Quantity, "2")
	eqDec(t, "new price", now.UnitPrice, "310")
	eq(t, "new line end", now.EndDate == nil, true)
	eq(t, "new line has no order line", now.OrderLineID == nil, true)

	second, err := b.svc.Amend(b.ctx, c.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 4, 1),
		Lines: []contracts.LineChange{{LineID: now.ID, UnitPrice: ptr(dec("400"))}}})
	must(t, err)
	eq(t, "second version", second.Version, first.Version+1)

	inv := invoiceOf(t, b.postRun(t, s, date(2025, 4, 1)), s.customer)
	want := []wantLine{
		{start: date(2025, 3, 1), end: date(2025, 3, 10), net: "100.00"},
		{start: date(2025, 3, 11), end: date(2025, 3, 31), net: "420.00"},
		{start: date(2025, 4, 1), end: date(2025, 4, 30), net: "800.00"},
	}
	if len(inv.Lines) != len(want) {
		var got []string
		for _, l := range inv.Lines {
			got = append(got, lineDesc(l))
		}
		t.Fatalf("lines %v", got)
	}
	for i, w := range want {
		l := inv.Lines[i]
		eqDate(t, "start", l.PeriodStart, w.start)
		eqDate(t, "end", l.PeriodEnd, w.end)
		eqDec(t, lineDesc(l), l.Net, w.net)
	}

	all, err := b.svc.Amendments(b.ctx, c.ID)
	must(t, err)
	eq(t, "versions", len(all), 3)
	pg, err := b.svc.AmendmentPage(b.ctx, c.ID, "", 2)
	must(t, err)
	if len(pg.Items) != 2 || pg.Items[0].Kind != "created" || pg.NextCursor == "" {
		t.Fatalf("first page %+v", pg)
	}
	pg, err = b.svc.AmendmentPage(b.ctx, c.ID, pg.NextCursor, 2)
	must(t, err)
	if len(pg.Items) != 1 || pg.Items[0].Version != second.Version || pg.NextCursor != "" {
		t.Fatalf("second page %+v", pg)
	}
}

func TestAmendmentsThatCannotBe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.site(t, "UK", "GBP", ukRules())
	none := ukRules()
	none.proration = "none"
	pt := b.site(t, "PT", "EUR", none)
	c := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "310"}, line{b.quarterly, "1", "100"})
	other := b.contract(t, s, s.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "50"})
	b.postRun(t, s, date(2025, 2, 1)) // billed through Feb 28 (monthly), Mar 31 (quarterly)
	lineID := c.Lines[0].ID
	change := func(q string) []contracts.LineChange {
		return []contracts.LineChange{{LineID: lineID, Quantity: ptr(dec(q))}}
	}
	amend := func(id uuid.UUID, req contracts.AmendmentRequest) error {
		_, err := b.svc.Amend(b.ctx, id, req)
		return err
	}

	t.Run("an invoiced period is not re-priced", func(t *testing.T) {
		err := amend(c.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 2, 15), Lines: change("2")})
		mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
		err = amend(c.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 15),
			Lines: []contracts.LineChange{{LineID: c.Lines[1].ID, UnitPrice: ptr(dec("90"))}}})
		mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
	})
	for _, tc := range []struct {
		name string
		req  contracts.AmendmentRequest
	}{
		{"a line of another contract", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1),
			Lines: []contracts.LineChange{{LineID: other.Lines[0].ID, Quantity: ptr(dec("2"))}}}},
		{"an unknown line", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1),
			Lines: []contracts.LineChange{{LineID: uuid.New(), Quantity: ptr(dec("2"))}}}},
		{"a change of nothing", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1), Lines: change("1")}},
		{"before the contract starts", contracts.AmendmentRequest{EffectiveDate: date(2024, 12, 1), Lines: change("2")}},
		{"after its term", contracts.AmendmentRequest{EffectiveDate: date(2026, 1, 1), Lines: change("2")}},
		{"a line named twice", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1),
			Lines: []contracts.LineChange{{LineID: lineID, Quantity: ptr(dec("2"))}, {LineID: lineID, UnitPrice: ptr(dec("1"))}}}},
		{"a zero quantity", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1), Lines: change("0")}},
		{"a quantity finer than the column", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1), Lines: change("1.0001")}},
		{"a negative price", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1),
			Lines: []contracts.LineChange{{LineID: lineID, UnitPrice: ptr(dec("-1"))}}}},
		{"neither quantity nor price", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1),
			Lines: []contracts.LineChange{{LineID: lineID}}}},
		{"terms and lines at once", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1), Lines: change("2"),
			Terms: &contracts.Terms{NoticeDays: ptr(10)}}},
		{"nothing at all", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1)}},
		{"terms that set nothing", contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1), Terms: &contracts.Terms{}}},
		{"no effective date", contracts.AmendmentRequest{Lines: change("2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustErr(t, amend(c.ID, tc.req), contracts.ErrValidation, contracts.CodeValidation)
		})
	}
	t.Run("a line no longer in force", func(t *testing.T) {
		k := b.contract(t, s, s.customer, date(2025, 3, 1), contracts.Terms{}, line{b.monthly, "1", "10"})
		must(t, amend(k.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 4, 1),
			Lines: []contracts.LineChange{{LineID: k.Lines[0].ID, Quantity: ptr(dec("3"))}}}))
		err := amend(k.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 5, 1),
			Lines: []contracts.LineChange{{LineID: k.Lines[0].ID, Quantity: ptr(dec("4"))}}})
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})
	t.Run("where partial periods are billed whole, only from a period's start", func(t *testing.T) {
		k := b.contract(t, pt, pt.customer, date(2025, 1, 1), contracts.Terms{}, line{b.monthly, "1", "10"})
		req := contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 11), Lines: []contracts.LineChange{{LineID: k.Lines[0].ID, Quantity: ptr(dec("3"))}}}
		mustErr(t, amend(k.ID, req), contracts.ErrValidation, contracts.CodeValidation)
		req.EffectiveDate = date(2025, 3, 1)
		must(t, amend(k.ID, req))
	})
	t.Run("an ended contract", func(t *testing.T) {
		k := b.contract(t, s, s.customer, date(2025, 3, 1), contracts.Terms{}, line{b.monthly, "1", "10"})
		_, err := b.svc.Cancel(b.ctx, k.ID, contracts.Cancellation{Policy: contracts.PolicyImmediate, ReceivedOn: date(2025, 3, 5)})
		must(t, err)
		err = amend(k.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 5),
			Lines: []contracts.LineChange{{LineID: k.Lines[0].ID, Quantity: ptr(dec("2"))}}})
		mustErr(t, err, contracts.ErrConflict, contracts.CodeInvalidState)
	})
	t.Run("an unknown contract", func(t *testing.T) {
		mustErr(t, amend(uuid.New(), contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1), Lines: change("2")}),
			contracts.ErrNotFound, contracts.CodeContractNotFound)
		_, err := b.svc.AmendmentPage(b.ctx, uuid.New(), "", 10)
		mustErr(t, err, contracts.ErrNotFound, contracts.CodeContractNotFound)
	})
	t.Run("terms are a version of kind terms", func(t *testing.T) {
		a, err := b.svc.Amend(b.ctx, c.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 3, 1), Terms: &contracts.Terms{NoticeDays: ptr(75)}})
		must(t, err)
		eq(t, "kind", a.Kind, "terms")
		got, err := b.svc.Contract(b.ctx, c.ID)
		must(t, err)
		eq(t, "notice days", got.NoticeDays, 75)
		eq(t, "version", got.Version, a.Version)
	})
	t.Run("a refused amendment leaves no version", func(t *testing.T) {
		before, err := b.svc.Amendments(b.ctx, c.ID)
		must(t, err)
		mustErr(t, amend(c.ID, contracts.AmendmentRequest{EffectiveDate: date(2025, 2, 15), Lines: change("2")}),
			contracts.ErrConflict, contracts.CodeInvalidState)
		after, err := b.svc.Amendments(b.ctx, c.ID)
		must(t, err)
		eq(t, "versions", len(after), len(before))
	})
	t.Run("a bad cursor", func(t *testing.T) {
		_, err := b.svc.AmendmentPage(b.ctx, c.ID, "not a cursor!", 10)
		mustErr(t, err, contracts.ErrValidation, contracts.CodeValidation)
	})
}
