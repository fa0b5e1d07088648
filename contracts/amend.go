package contracts

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/queries"
)

// LineChange changes a contract line's quantity and/or monthly unit price
// (before discount) from an amendment's effective date; nil keeps it.
type LineChange struct {
	LineID    uuid.UUID
	Quantity  *decimal.Decimal
	UnitPrice *decimal.Decimal
}

// AmendmentRequest is one change of a contract, recorded as one new
// version effective on EffectiveDate: its terms (Terms; StartDate and
// BillingTiming do not change) or its lines (Lines), not both.
type AmendmentRequest struct {
	EffectiveDate time.Time
	Terms         *Terms
	Lines         []LineChange
}

// Amend changes a contract as one new immutable version and returns that
// version.
//
// A terms change is AmendTerms. A line change (contracts.amend_lines)
// ends each line named on the day before EffectiveDate and starts a new
// line with the new quantity and price on it, so periods before the
// change stay billed as they were and a period that straddles it is billed
// in two prorated parts; it is refused (ErrConflict, CodeInvalidState)
// where a line is already invoiced through EffectiveDate, since an
// invoiced period is not re-priced here.
//
// Errors: ErrNotFound (CodeContractNotFound); ErrConflict
// (CodeInvalidState) for a contract that has ended; ErrValidation for
// both or neither of Terms and Lines, no term set, a line named twice or
// of another contract, a non-positive quantity, a negative price, a
// change of nothing, or an EffectiveDate outside the contract's service.
func (s *Service) Amend(ctx context.Context, contractID uuid.UUID, req AmendmentRequest) (Amendment, error) {
	if err := validateAmendment(req); err != nil {
		return Amendment{}, err
	}
	var raw []byte
	if req.Terms == nil {
		type jline struct {
			LineID    uuid.UUID        `json:"line_id"`
			Quantity  *decimal.Decimal `json:"quantity,omitempty"`
			UnitPrice *decimal.Decimal `json:"unit_price,omitempty"`
		}
		js := make([]jline, len(req.Lines))
		for i, l := range req.Lines {
			js[i] = jline(l)
		}
		var err error
		if raw, err = json.Marshal(js); err != nil {
			return Amendment{}, fmt.Errorf("amend contract %s: %w", contractID, err)
		}
	}
	var out Amendment
	err := s.inTx(ctx, func(q *queries.Queries) error {
		var version int32
		var err error
		if t := req.Terms; t != nil {
			version, err = q.ContractAmendTerms(ctx, queries.ContractAmendTermsParams{
				ContractID: contractID, EffectiveDate: req.EffectiveDate, AutoRenew: t.AutoRenew,
				RenewalTermMonths: int32p(t.RenewalTermMonths), NoticeDays: int32p(t.NoticeDays),
				UpliftPct: nullDec(t.UpliftPct), MinimumCommitment: nullDec(t.MinimumCommitment),
				EtfRule: enumPtr[queries.ContractsEtfRule](t.ETFRule), EtfValue: nullDec(t.ETFValue),
			})
		} else {
			version, err = q.ContractAmendLines(ctx, queries.ContractAmendLinesParams{
				ContractID: contractID, EffectiveDate: req.EffectiveDate, Lines: raw,
			})
		}
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		r, err := q.AmendmentGet(ctx, queries.AmendmentGetParams{ContractID: contractID, Version: version})
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		out = amendmentFrom(r)
		return nil
	})
	return out, err
}

// Amendment returns one version of a contract; ErrNotFound
// (CodeContractNotFound) when the contract or the version is not there.
func (s *Service) Amendment(ctx context.Context, contractID uuid.UUID, version int) (Amendment, error) {
	var out Amendment
	err := s.single(ctx, func(q *queries.Queries) error {
		r, err := q.AmendmentGet(ctx, queries.AmendmentGetParams{ContractID: contractID, Version: int32(version)})
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		out = amendmentFrom(r)
		return nil
	})
	return out, err
}

// validateAmendment checks what needs no database; the rules that need
// the contract are contracts.amend_lines' and contracts.amend_terms'.
func validateAmendment(req AmendmentRequest) error {
	switch {
	case req.EffectiveDate.IsZero():
		return validation("effective_date", "is required")
	case req.Terms != nil && len(req.Lines) > 0:
		return validation("lines", "an amendment changes the terms or the lines, not both")
	case req.Terms == nil && len(req.Lines) == 0:
		return validation("lines", "an amendment changes the terms or at least one line")
	case req.Terms != nil:
		t := req.Terms
		if t.AutoRenew == nil && t.RenewalTermMonths == nil && t.NoticeDays == nil && t.UpliftPct == nil &&
			t.MinimumCommitment == nil && t.ETFRule == nil && t.ETFValue == nil {
			return validation("terms", "sets no term")
		}
		if t.StartDate != nil || t.BillingTiming != nil {
			return validation("terms", "start_date and billing_timing do not change after creation")
		}
		if t.ETFRule != nil && !queries.ContractsEtfRule(*t.ETFRule).Valid() {
			return validation("terms.etf_rule", "must be none, fixed, pct or remaining")
		}
		return nil
	}
	seen := make(map[uuid.UUID]bool, len(req.Lines))
	for i, l := range req.Lines {
		field := func(f string) string { return fmt.Sprintf("lines[%d].%s", i, f) }
		switch {
		case l.LineID == uuid.Nil:
			return validation(field("line_id"), "is required")
		case seen[l.LineID]:
			return validation(field("line_id"), "names a line already changed by this amendment")
		case l.Quantity == nil && l.UnitPrice == nil:
			return validation(field("quantity"), "a line change sets the quantity, the unit price or both")
		case l.Quantity != nil && !l.Quantity.IsPositive():
			return validation(field("quantity"), "must be positive")
		case l.UnitPrice != nil && l.UnitPrice.IsNegative():
			return validation(field("unit_price"), "must not be negative")
		// The columns' scales: a finer value would be rounded unseen.
		case l.Quantity != nil && !l.Quantity.Equal(l.Quantity.Round(3)):
			return validation(field("quantity"), "has at most 3 decimals")
		case l.UnitPrice != nil && !l.UnitPrice.Equal(l.UnitPrice.Round(4)):
			return validation(field("unit_price"), "has at most 4 decimals")
		}
		seen[l.LineID] = true
	}
	return nil
}
