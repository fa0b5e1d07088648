package contracts_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
)

// The SQL helpers every amount goes through, checked against values worked
// out by hand.
func TestSQLArithmetic(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rounding := []struct {
		x     string
		scale int
		mode  string
		want  string
	}{
		{"2.345", 2, "half_up", "2.35"},
		{"2.345", 2, "half_even", "2.34"}, // 4 is even
		{"2.355", 2, "half_even", "2.36"}, // 6 is even
		{"2.3451", 2, "half_even", "2.35"},
		{"-2.345", 2, "half_even", "-2.34"},
		{"-2.345", 2, "half_up", "-2.35"},
		{"2.5", 0, "half_even", "2"},
		{"3.5", 0, "half_even", "4"},
	}
	for _, tt := range rounding {
		var got decimal.Decimal
		b.ownerQueryRow(t, `SELECT billing.round_money($1::numeric, $2, $3::core.rounding_mode)`, []any{&got}, tt.x, tt.scale, tt.mode)
		eqDec(t, tt.x+" "+tt.mode, got, tt.want)
	}
	months := []struct {
		s, e, ps, pe string
		f            int
		rule, want   string
	}{
		{"2025-01-01", "2025-01-31", "2025-01-01", "2025-01-31", 1, "daily", "1"},
		{"2025-01-15", "2025-01-31", "2025-01-01", "2025-01-31", 1, "daily", "0.548387"},   // 17/31
		{"2025-02-15", "2025-02-28", "2025-02-01", "2025-02-28", 1, "monthly", "0.533333"}, // 16/30
		{"2025-01-31", "2025-01-31", "2025-01-01", "2025-01-31", 1, "monthly", "0.033333"}, // 31st counts as 30th: 1/30
		{"2025-02-15", "2025-03-31", "2025-01-01", "2025-03-31", 3, "daily", "1.500000"},   // 3 x 45/90
		{"2025-01-15", "2025-01-31", "2025-01-01", "2025-01-31", 1, "none", "1"},
	}
	for _, tt := range months {
		var got decimal.Decimal
		b.ownerQueryRow(t, `SELECT round(billing.months_billed($1::date, $2::date, $3::date, $4::date, $5, $6::core.proration_rule), 6)`,
			[]any{&got}, tt.s, tt.e, tt.ps, tt.pe, tt.f, tt.rule)
		eqDec(t, tt.s+".."+tt.e+" "+tt.rule, got, tt.want)
	}
	var number string
	must(t, b.db.Owner.QueryRow(context.Background(), `SELECT billing.format_number('{prefix}-{yyyy}-{seq:6}', 'MUK', '2025-03-01', 42)`).Scan(&number))
	eq(t, "number", number, "MUK-2025-000042")
}
