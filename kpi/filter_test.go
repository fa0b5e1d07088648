package kpi_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/keyset"
	"github.com/messina-oms/messina/kpi"
)

func TestParseMonth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"2026-03", "2026-03", true},
		{"1999-12", "1999-12", true},
		{"2026-13", "", false},
		{"2026-00", "", false},
		{"2026-3", "", false},
		{"2026-03-01", "", false},
		{"26-03", "", false},
		{"0000-01", "", false},
		{"", "", false},
		{"march", "", false},
	} {
		m, err := kpi.ParseMonth(tc.in)
		if (err == nil) != tc.ok || m.String() != tc.want {
			t.Errorf("ParseMonth(%q) = %q, %v; want %q, ok %v", tc.in, m, err, tc.want, tc.ok)
		}
	}
}

// Invalid filters are refused before any query, naming every bad field.
func TestInvalidFiltersAreRefused(t *testing.T) {
	t.Parallel()
	svc := kpi.New(nil, nil) // never reaches the database
	ctx := principal("user:tester@example.com")
	long := string(make([]byte, 201))
	cases := []struct {
		name   string
		filter kpi.Filter
		mrr    *kpi.MRRFilter
		fields []string
	}{
		{"a site that is no site id", kpi.Filter{Site: "uk"}, nil, []string{"site"}},
		{"a currency that is no code", kpi.Filter{Currency: "euro"}, nil, []string{"currency"}},
		{"a salesperson too long", kpi.Filter{Salesperson: long}, nil, []string{"salesperson"}},
		{"a salesperson with NUL", kpi.Filter{Salesperson: "a\x00b"}, nil, []string{"salesperson"}},
		{"a range that ends before it starts", kpi.Filter{From: month("2025-05"), To: month("2025-04")}, nil, []string{"to"}},
		{"an unknown dimension", kpi.Filter{GroupBy: []kpi.Dimension{"colour"}}, nil, []string{"group_by"}},
		{"an MRR dimension", kpi.Filter{GroupBy: []kpi.Dimension{kpi.ByCustomer}}, nil, []string{"group_by"}},
		{"a cursor of nothing", kpi.Filter{Cursor: "!!"}, nil, []string{"cursor"}},
		{"a cursor of another shape", kpi.Filter{Cursor: keyset.Encode("a")}, nil, []string{"cursor"}},
		{"a cursor not in UTF-8", kpi.Filter{Cursor: keyset.Encode("\xff", "", "", "", "")}, nil, []string{"cursor"}},
		{"several at once", kpi.Filter{Site: "x", Currency: "y"}, nil, []string{"site", "currency"}},
		{"an unknown level", kpi.Filter{}, &kpi.MRRFilter{Level: "region"}, []string{"level"}},
		{"contract rows per customer", kpi.Filter{}, &kpi.MRRFilter{GroupBy: []kpi.Dimension{kpi.ByContract}}, []string{"group_by"}},
		{"a salesperson dimension for MRR", kpi.Filter{}, &kpi.MRRFilter{GroupBy: []kpi.Dimension{kpi.BySalesperson}}, []string{"group_by"}},
		{"an MRR range backwards", kpi.Filter{}, &kpi.MRRFilter{From: month("2025-05"), To: month("2024-05"), CustomerID: &uuid.Nil}, []string{"to"}},
	}
	// The control for the two cursor cases: a key of the right shape passes.
	if err := (kpi.Filter{Cursor: keyset.Encode("2025-01", "UK", "GBP", "", "")}).Validate(); err != nil {
		t.Fatalf("a well-formed cursor is refused: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var errs []error
			if tc.mrr != nil {
				_, err := svc.MRR(ctx, *tc.mrr)
				errs = append(errs, err)
			} else {
				_, err := svc.Bookings(ctx, tc.filter)
				errs = append(errs, err)
				_, err = svc.Margin(ctx, tc.filter)
				errs = append(errs, err)
			}
			for _, err := range errs {
				var e *kpi.Error
				if !errors.As(err, &e) || !errors.Is(err, kpi.ErrValidation) || e.Code != kpi.CodeValidation {
					t.Fatalf("want a validation error, got %v", err)
				}
				var fields []string
				for _, f := range e.Fields {
					fields = append(fields, f.Field)
				}
				if !slices.Equal(fields, tc.fields) {
					t.Fatalf("fields %v, want %v (%v)", fields, tc.fields, err)
				}
			}
		})
	}
}
