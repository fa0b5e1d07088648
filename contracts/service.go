package contracts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/queries"
)

// Service is the contract and billing domain's entry point. It is safe for
// concurrent use. Every method needs an auth.Principal in ctx: the
// transaction it opens carries the principal's actor, request id and sites
// into PostgreSQL.
type Service struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// New returns a Service on pool, opened with pgpool so that numeric maps to
// decimal.Decimal; log may be nil.
func New(pool *pgxpool.Pool, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: pool, log: log}
}

// inTx runs fn in one transaction with the principal's settings; fn's
// error decides commit or rollback, so nothing is partly written.
func (s *Service) inTx(ctx context.Context, fn func(q *queries.Queries) error) error {
	return auth.InQueries(ctx, s.pool, fn)
}

// single runs fn's statements each alone, in one round trip (auth.Single):
// for reads and writes of one statement, which a transaction of their own
// would make no more atomic or consistent but two round trips slower.
func (s *Service) single(ctx context.Context, fn func(q *queries.Queries) error) error {
	return auth.InSingle(ctx, s.pool, fn)
}

// Contracts ------------------------------------------------------------------

// CreateFromOrder makes the contract of a booked (or provisioning or
// completed) order from its recurring lines, with terms defaulting to the
// site's rules at the start date. Under the site rule per_customer the
// lines join the customer's active contract of the same legal entity and
// currency. Calling it again for the same order returns the same contract.
// Errors: ErrNotFound (CodeOrderNotFound), ErrConflict (CodeInvalidState)
// when the order is not booked, ErrValidation when it has no recurring
// lines or the site has no rules.
func (s *Service) CreateFromOrder(ctx context.Context, orderID uuid.UUID, t Terms) (Contract, error) {
	var c Contract
	err := s.inTx(ctx, func(q *queries.Queries) error {
		id, err := q.ContractCreateFromOrder(ctx, queries.ContractCreateFromOrderParams{
			OrderID: orderID, StartDate: t.StartDate, AutoRenew: t.AutoRenew,
			RenewalTermMonths: int32p(t.RenewalTermMonths), NoticeDays: int32p(t.NoticeDays),
			UpliftPct: nullDec(t.UpliftPct), MinimumCommitment: nullDec(t.MinimumCommitment),
			EtfRule: enumPtr[queries.ContractsEtfRule](t.ETFRule), EtfValue: nullDec(t.ETFValue),
			BillingTiming: enumPtr[queries.CoreBillingTiming](t.BillingTiming),
		})
		if err != nil {
			return translate(err, CodeOrderNotFound)
		}
		c, err = getContract(ctx, q, id)
		return err
	})
	return c, err
}

// Contract returns a contract with its lines; ErrNotFound
// (CodeContractNotFound) when it does not exist or is not visible.
func (s *Service) Contract(ctx context.Context, id uuid.UUID) (Contract, error) {
	var c Contract
	err := s.inTx(ctx, func(q *queries.Queries) error {
		var err error
		c, err = getContract(ctx, q, id)
		return err
	})
	return c, err
}

// ContractSite returns the site of a visible contract, without loading it
// (attachments need no more); ErrNotFound as Contract.
func (s *Service) ContractSite(ctx context.Context, id uuid.UUID) (string, error) {
	var site string
	err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		if site, err = q.ContractSiteGet(ctx, id); err != nil {
			return translate(err, CodeContractNotFound)
		}
		return nil
	})
	return site, err
}

// InvoiceSite returns the site of a visible invoice, without loading it
// (its documents need no more); ErrNotFound as Invoice.
func (s *Service) InvoiceSite(ctx context.Context, id uuid.UUID) (string, error) {
	var site string
	err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		if site, err = q.InvoiceSiteGet(ctx, id); err != nil {
			return translate(err, CodeInvoiceNotFound)
		}
		return nil
	})
	return site, err
}

// OrderContracts returns the visible contracts holding lines of an order,
// without their lines, in number order: the one made from it, or under the
// site rule per_customer the customer's contract its lines joined. None
// when the order has no contract (yet) or is not visible.
func (s *Service) OrderContracts(ctx context.Context, orderID uuid.UUID) ([]Contract, error) {
	var out []Contract
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.ContractListByOrder(ctx, orderID)
		for _, r := range rows {
			out = append(out, contractFrom(r))
		}
		return translate(err, CodeOrderNotFound)
	})
	return out, err
}

// InvoiceContracts returns the visible contracts an invoice's lines bill,
// without their lines, in the lines' order, in one query.
func (s *Service) InvoiceContracts(ctx context.Context, invoiceID uuid.UUID) ([]Contract, error) {
	var out []Contract
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.ContractListByInvoice(ctx, invoiceID)
		for _, r := range rows {
			out = append(out, contractFrom(r))
		}
		return translate(err, CodeInvoiceNotFound)
	})
	return out, err
}

// AmendTerms changes a contract's terms (nil keeps a term) as a new
// version effective on effective; BillingTiming and StartDate are ignored.
// ErrConflict (CodeInvalidState) when the contract has ended.
func (s *Service) AmendTerms(ctx context.Context, id uuid.UUID, effective time.Time, t Terms) (Contract, error) {
	var c Contract
	err := s.inTx(ctx, func(q *queries.Queries) error {
		_, err := q.ContractAmendTerms(ctx, queries.ContractAmendTermsParams{
			ContractID: id, EffectiveDate: effective, AutoRenew: t.AutoRenew,
			RenewalTermMonths: int32p(t.RenewalTermMonths), NoticeDays: int32p(t.NoticeDays),
			UpliftPct: nullDec(t.UpliftPct), MinimumCommitment: nullDec(t.MinimumCommitment),
			EtfRule: enumPtr[queries.ContractsEtfRule](t.ETFRule), EtfValue: nullDec(t.ETFValue),
		})
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		c, err = getContract(ctx, q, id)
		return err
	})
	return c, err
}

// Amendments returns every version of a contract, oldest first.
func (s *Service) Amendments(ctx context.Context, contractID uuid.UUID) ([]Amendment, error) {
	var out []Amendment
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.AmendmentList(ctx, contractID)
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		for _, r := range rows {
			out = append(out, amendmentFrom(r))
		}
		return nil
	})
	return out, err
}

// GiveNotice records a notice of non-renewal received on receivedOn: the
// contract ends at its term end when the notice arrived before term_end -
// notice_days, else (late) at the end of the following term. It is Cancel
// with PolicyEndOfTerm.
func (s *Service) GiveNotice(ctx context.Context, contractID uuid.UUID, receivedOn time.Time) (Notice, error) {
	return s.Cancel(ctx, contractID, Cancellation{Policy: PolicyEndOfTerm, ReceivedOn: receivedOn})
}

// Cancel ends a contract by policy (contracts.cancel): immediate (service
// ends on ReceivedOn), end_of_period (at the end of the billing period
// containing ReceivedOn), end_of_term (a notice of non-renewal) or on_date
// (on EndDate). It credits invoiced days after the end (immediate and
// on_date only, and only when the site prorates) and records an
// early-termination fee charge when service ends before the term does.
//
// With no Policy, the site's cancellation policy in force on ReceivedOn
// applies (contracts.cancel_by_site_policy): end_of_term as PolicyEndOfTerm,
// end_of_notice as PolicyOnDate on ReceivedOn + the contract's notice days,
// immediate_with_fee as PolicyImmediate; the notice records the policy
// applied.
//
// Errors: ErrNotFound (CodeContractNotFound), ErrConflict
// (CodeInvalidState) for a contract already cancelled or ended or already
// ending sooner, ErrValidation for a missing or early EndDate, an EndDate
// without PolicyOnDate, or no Policy where the site has no rules in force.
func (s *Service) Cancel(ctx context.Context, contractID uuid.UUID, in Cancellation) (Notice, error) {
	switch in.Policy {
	case "":
		if in.EndDate != nil {
			return Notice{}, validation("end_date", "only with policy on_date; without a policy the site's decides the end")
		}
	case PolicyImmediate, PolicyEndOfPeriod, PolicyEndOfTerm, PolicyOnDate:
	default:
		return Notice{}, validation("policy", "unknown cancellation policy %q", in.Policy)
	}
	if in.Policy == PolicyOnDate && in.EndDate == nil {
		return Notice{}, validation("end_date", "required for policy on_date")
	}
	var n Notice
	err := s.inTx(ctx, func(q *queries.Queries) error {
		var id uuid.UUID
		var err error
		if in.Policy == "" {
			id, err = q.ContractCancelBySitePolicy(ctx, queries.ContractCancelBySitePolicyParams{ContractID: contractID, ReceivedOn: in.ReceivedOn})
		} else {
			id, err = q.ContractCancel(ctx, queries.ContractCancelParams{
				ContractID: contractID, Policy: queries.ContractsCancelPolicy(in.Policy),
				ReceivedOn: in.ReceivedOn, EndDate: in.EndDate,
			})
		}
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		r, err := q.NoticeGet(ctx, id)
		if err != nil {
			return translate(err, CodeNoticeNotFound)
		}
		n = noticeFrom(r)
		return nil
	})
	return n, err
}

// Notices returns a contract's notices and cancellations, oldest first.
func (s *Service) Notices(ctx context.Context, contractID uuid.UUID) ([]Notice, error) {
	var out []Notice
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.NoticeList(ctx, contractID)
		for _, r := range rows {
			out = append(out, noticeFrom(r))
		}
		return translate(err, CodeContractNotFound)
	})
	return out, err
}

// Charges returns a contract's one-off charges (early-termination fees).
func (s *Service) Charges(ctx context.Context, contractID uuid.UUID) ([]Charge, error) {
	var out []Charge
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.ChargeList(ctx, contractID)
		for _, r := range rows {
			out = append(out, Charge{ID: r.ID, ContractID: r.ContractID, Kind: r.Kind, Description: r.Description,
				Amount: r.Amount, ChargeDate: r.ChargeDate})
		}
		return translate(err, CodeContractNotFound)
	})
	return out, err
}

// ProcessRenewals renews every visible auto-renewing contract whose term
// ends by asOf and that no on-time notice ends (applying the uplift), then
// closes contracts whose last day of service is by asOf. It returns the
// number of renewals; a second call for the same date returns 0 and
// changes nothing.
func (s *Service) ProcessRenewals(ctx context.Context, asOf time.Time) (int, error) {
	var n int32
	err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		n, err = q.RenewalsProcess(ctx, asOf)
		return translate(err, CodeContractNotFound)
	})
	return int(n), err
}

func getContract(ctx context.Context, q *queries.Queries, id uuid.UUID) (Contract, error) {
	r, err := q.ContractGet(ctx, id)
	if err != nil {
		return Contract{}, translate(err, CodeContractNotFound)
	}
	lines, err := q.ContractLineList(ctx, id)
	if err != nil {
		return Contract{}, translate(err, CodeContractNotFound)
	}
	c := contractFrom(r)
	for _, l := range lines {
		c.Lines = append(c.Lines, lineFrom(l))
	}
	return c, nil
}

// contractFrom is a contract row without its lines.
func contractFrom(r queries.ContractsContract) Contract {
	return Contract{
		ID: r.ID, Number: r.Number, SiteID: r.SiteID, CustomerID: r.CustomerID, LegalEntityID: r.LegalEntityID,
		Currency: r.Currency, OrderID: r.OrderID, StartDate: r.StartDate, InitialTermMonths: int(r.InitialTermMonths),
		RenewalTermMonths: int(r.RenewalTermMonths), TermNo: int(r.TermNo), TermStart: r.TermStart, TermEnd: r.TermEnd,
		AutoRenew: r.AutoRenew, NoticeDays: int(r.NoticeDays), UpliftPct: r.UpliftPct, MinimumCommitment: r.MinimumCommitment,
		ETFRule: ETFRule(r.EtfRule), ETFValue: r.EtfValue, Status: Status(r.Status), EndDate: r.EndDate, Version: int(r.Version),
	}
}

func lineFrom(l queries.ContractsContractLine) Line {
	return Line{
		ID: l.ID, LineNo: int(l.LineNo), OrderLineID: l.OrderLineID, ProductID: l.ProductID, Description: l.Description,
		Quantity: l.Quantity, UnitPrice: l.UnitPrice, UnitCost: l.UnitCost, DiscountPct: l.DiscountPct,
		BillingFrequency: string(l.BillingFrequency), BillingTiming: Timing(l.BillingTiming),
		StartDate: l.StartDate, EndDate: l.EndDate, BilledThrough: l.BilledThrough,
	}
}

func amendmentFrom(r queries.ContractsAmendment) Amendment {
	return Amendment{ContractID: r.ContractID, Version: int(r.Version), Kind: r.Kind, EffectiveDate: r.EffectiveDate,
		Snapshot: r.Snapshot, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
}

func noticeFrom(r queries.ContractsNotice) Notice {
	return Notice{ID: r.ID, ContractID: r.ContractID, Policy: Policy(r.Policy), ReceivedOn: r.ReceivedOn,
		RequestedEnd: r.RequestedEnd, EffectiveEnd: r.EffectiveEnd, OnTime: r.OnTime}
}

// Invoice runs ---------------------------------------------------------------

// PlanRun plans an invoice run of site for everything due up to runDate.
func (s *Service) PlanRun(ctx context.Context, site string, runDate time.Time) (Run, error) {
	var run Run
	err := s.inTx(ctx, func(q *queries.Queries) error {
		id, err := q.RunPlan(ctx, queries.RunPlanParams{SiteID: site, RunDate: runDate})
		if err != nil {
			return translate(err, CodeRunNotFound)
		}
		run, err = getRun(ctx, q, id)
		return err
	})
	return run, err
}

// Run returns an invoice run; ErrNotFound (CodeRunNotFound).
func (s *Service) Run(ctx context.Context, id uuid.UUID) (Run, error) {
	var run Run
	err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		run, err = getRun(ctx, q, id)
		return err
	})
	return run, err
}

// PreviewRun computes what a planned or previewed run would invoice by
// running the prepare code itself in a rolled-back subtransaction: it
// leaves no trace (no invoice, no number, no billed_through moved, the
// run's status unchanged). The invoices have no id worth keeping.
func (s *Service) PreviewRun(ctx context.Context, id uuid.UUID) ([]Invoice, error) {
	var out []Invoice
	err := s.single(ctx, func(q *queries.Queries) error {
		doc, err := q.RunPreview(ctx, id)
		if err != nil {
			return translate(err, CodeRunNotFound)
		}
		out, err = decodeRunDocument(doc)
		return err
	})
	return out, err
}

// PrepareRun writes the run's draft invoices (one per customer, legal
// entity and currency) with every line due, moves billed_through, and
// leaves the run 'previewed' for review. Periods another run already
// holds are skipped, so nothing is billed twice; preparing again adds only
// what became due since. ErrConflict (CodeInvalidState) unless the run is
// planned or previewed.
func (s *Service) PrepareRun(ctx context.Context, id uuid.UUID) (Run, error) {
	return s.runStep(ctx, id, func(q *queries.Queries) error {
		_, err := q.RunPrepare(ctx, id)
		return err
	})
}

// ApproveRun approves a prepared ('previewed') run for posting.
func (s *Service) ApproveRun(ctx context.Context, id uuid.UUID) (Run, error) {
	return s.runStep(ctx, id, func(q *queries.Queries) error { return q.RunApprove(ctx, id) })
}

// PostRun posts an approved run: gap-free numbers per legal entity from
// the locked series row, content hashes chained per series, invoices
// immutable from then on. All or nothing: if anything fails, no number is
// consumed and no invoice is posted.
func (s *Service) PostRun(ctx context.Context, id uuid.UUID) (Run, error) {
	return s.runStep(ctx, id, func(q *queries.Queries) error {
		_, err := q.RunPost(ctx, id)
		return err
	})
}

// DiscardRun discards a run that is not posted: its drafts are deleted and
// their periods become due again. No number was taken, so none is lost.
func (s *Service) DiscardRun(ctx context.Context, id uuid.UUID) (Run, error) {
	return s.runStep(ctx, id, func(q *queries.Queries) error { return q.RunDiscard(ctx, id) })
}

func (s *Service) runStep(ctx context.Context, id uuid.UUID, step func(q *queries.Queries) error) (Run, error) {
	var run Run
	err := s.inTx(ctx, func(q *queries.Queries) error {
		if err := step(q); err != nil {
			return translate(err, CodeRunNotFound)
		}
		var err error
		run, err = getRun(ctx, q, id)
		return err
	})
	return run, err
}

func getRun(ctx context.Context, q *queries.Queries, id uuid.UUID) (Run, error) {
	r, err := q.RunGet(ctx, id)
	if err != nil {
		return Run{}, translate(err, CodeRunNotFound)
	}
	return runFrom(r), nil
}

func runFrom(r queries.BillingInvoiceRun) Run {
	return Run{ID: r.ID, SiteID: r.SiteID, RunDate: r.RunDate, Status: RunStatus(r.Status),
		InvoiceCount: int(r.InvoiceCount), LineCount: int(r.LineCount), CreatedAt: r.CreatedAt}
}

// Invoices and credit notes --------------------------------------------------

// RunInvoices returns a run's invoices with their lines, numbered ones in
// number order.
func (s *Service) RunInvoices(ctx context.Context, runID uuid.UUID) ([]Invoice, error) {
	var out []Invoice
	err := s.inTx(ctx, func(q *queries.Queries) error {
		rows, err := q.InvoiceListByRun(ctx, runID)
		if err != nil {
			return translate(err, CodeRunNotFound)
		}
		for _, r := range rows {
			out = append(out, invoiceFrom(r))
		}
		return addInvoiceLines(ctx, q, out)
	})
	return out, err
}

// Invoice returns an invoice with its lines; ErrNotFound (CodeInvoiceNotFound).
func (s *Service) Invoice(ctx context.Context, id uuid.UUID) (Invoice, error) {
	var inv Invoice
	err := s.inTx(ctx, func(q *queries.Queries) error {
		r, err := q.InvoiceGet(ctx, id)
		if err != nil {
			return translate(err, CodeInvoiceNotFound)
		}
		inv, err = withLines(ctx, q, r)
		return err
	})
	return inv, err
}

// CreditInvoice issues a credit note against a posted invoice, numbered
// from the legal entity's credit-note series. With no lines it credits
// everything not credited yet, which voids the invoice (as does any credit
// that leaves nothing uncredited). Errors: ErrNotFound
// (CodeInvoiceNotFound), ErrConflict (CodeInvalidState) for a draft or
// void invoice, ErrValidation for a line of another invoice, a
// non-positive amount or more than is left of a line.
func (s *Service) CreditInvoice(ctx context.Context, invoiceID uuid.UUID, issueDate time.Time, reason string, lines []CreditLine) (CreditNote, error) {
	var raw []byte
	if len(lines) > 0 {
		type jline struct {
			InvoiceLineID uuid.UUID       `json:"invoice_line_id"`
			Amount        decimal.Decimal `json:"amount"`
		}
		js := make([]jline, len(lines))
		for i, l := range lines {
			if !l.Amount.IsPositive() {
				return CreditNote{}, validation(fmt.Sprintf("lines[%d].amount", i), "must be positive")
			}
			js[i] = jline(l)
		}
		var err error
		if raw, err = json.Marshal(js); err != nil {
			return CreditNote{}, err
		}
	}
	var cn CreditNote
	err := s.inTx(ctx, func(q *queries.Queries) error {
		id, err := q.CreditNoteIssue(ctx, queries.CreditNoteIssueParams{InvoiceID: invoiceID, IssueDate: issueDate, Reason: reason, Lines: raw})
		if err != nil {
			return translate(err, CodeInvoiceNotFound)
		}
		r, err := q.CreditNoteGet(ctx, id)
		if err != nil {
			return translate(err, CodeCreditNoteNotFound)
		}
		cn, err = creditNoteWithLines(ctx, q, r)
		return err
	})
	return cn, err
}

// ContractCreditNotes returns the credit notes that credit lines of a
// contract (those of its cancellations among them), with their lines, in
// number order.
func (s *Service) ContractCreditNotes(ctx context.Context, contractID uuid.UUID) ([]CreditNote, error) {
	var out []CreditNote
	err := s.inTx(ctx, func(q *queries.Queries) error {
		rows, err := q.CreditNoteListByContract(ctx, contractID)
		if err != nil {
			return translate(err, CodeContractNotFound)
		}
		for _, r := range rows {
			out = append(out, creditNoteFrom(r))
		}
		// Every line of each note, those crediting other contracts' lines
		// too: a credit note is shown whole.
		return addCreditNoteLines(ctx, q, out)
	})
	return out, err
}

func withLines(ctx context.Context, q *queries.Queries, r queries.BillingInvoice) (Invoice, error) {
	inv := invoiceFrom(r)
	lines, err := q.InvoiceLineList(ctx, r.ID)
	if err != nil {
		return Invoice{}, translate(err, CodeInvoiceNotFound)
	}
	for _, l := range lines {
		inv.Lines = append(inv.Lines, invoiceLineFrom(l))
	}
	return inv, nil
}

// invoiceFrom is an invoice row without its lines.
func invoiceFrom(r queries.BillingInvoice) Invoice {
	inv := Invoice{
		ID: r.ID, RunID: r.RunID, SiteID: r.SiteID, LegalEntityID: r.LegalEntityID, CustomerID: r.CustomerID,
		Currency: r.Currency, Status: InvoiceStatus(r.Status), IssueDate: r.IssueDate, DueDate: r.DueDate,
		ReverseCharge: r.ReverseCharge, Net: r.Net, Tax: r.Tax, Total: r.Total, Cost: r.Cost,
		ContentHash: r.ContentHash, PrevHash: r.PrevHash, ChainHash: r.ChainHash,
	}
	if r.Number != nil {
		inv.Number = *r.Number
	}
	if r.Seq != nil {
		inv.Seq = *r.Seq
	}
	if r.CustomerVatID != nil {
		inv.CustomerVATID = *r.CustomerVatID
	}
	inv.Seller, inv.Buyer = partyFrom(r.Seller), partyFrom(r.Buyer)
	return inv
}

// partyFrom reads a party snapshot (billing.party); nil when there is
// none or it does not parse, which the documents refuse as incomplete.
func partyFrom(b []byte) *Party {
	if b == nil {
		return nil
	}
	var p Party
	if err := json.Unmarshal(b, &p); err != nil {
		return nil
	}
	return &p
}

func invoiceLineFrom(l queries.BillingInvoiceLine) InvoiceLine {
	return InvoiceLine{
		ID: l.ID, ContractID: l.ContractID, ContractLineID: l.ContractLineID, ChargeID: l.ChargeID,
		Description: l.Description, PeriodStart: l.PeriodStart, PeriodEnd: l.PeriodEnd, Quantity: l.Quantity,
		UnitPrice: l.UnitPrice, DiscountPct: l.DiscountPct, Months: l.Months, Net: l.Net, TaxRate: l.TaxRate,
		Tax: l.Tax, Cost: l.Cost,
	}
}

func creditNoteWithLines(ctx context.Context, q *queries.Queries, r queries.BillingCreditNote) (CreditNote, error) {
	cn := creditNoteFrom(r)
	lines, err := q.CreditNoteLineList(ctx, r.ID)
	if err != nil {
		return CreditNote{}, translate(err, CodeCreditNoteNotFound)
	}
	for _, l := range lines {
		cn.Lines = append(cn.Lines, creditNoteLineFrom(l))
	}
	return cn, nil
}

// creditNoteFrom is a credit note row without its lines.
func creditNoteFrom(r queries.BillingCreditNote) CreditNote {
	return CreditNote{
		ID: r.ID, InvoiceID: r.InvoiceID, LegalEntityID: r.LegalEntityID, CustomerID: r.CustomerID, Currency: r.Currency,
		Number: r.Number, Seq: r.Seq, IssueDate: r.IssueDate, Reason: r.Reason, Net: r.Net, Tax: r.Tax, Total: r.Total,
		ContentHash: r.ContentHash, PrevHash: r.PrevHash, ChainHash: r.ChainHash,
	}
}

func creditNoteLineFrom(l queries.BillingCreditNoteLine) CreditNoteLine {
	return CreditNoteLine{InvoiceLineID: l.InvoiceLineID, Description: l.Description,
		PeriodStart: l.PeriodStart, PeriodEnd: l.PeriodEnd, Net: l.Net, Tax: l.Tax}
}

// decodeRunDocument reads billing.run_document's JSON (to_jsonb of the
// invoice and line rows: snake_case names, dates as YYYY-MM-DD).
func decodeRunDocument(doc []byte) ([]Invoice, error) {
	type jline struct {
		ID             uuid.UUID       `json:"id"`
		ContractID     uuid.UUID       `json:"contract_id"`
		ContractLineID *uuid.UUID      `json:"contract_line_id"`
		ChargeID       *uuid.UUID      `json:"charge_id"`
		Description    string          `json:"description"`
		PeriodStart    jsonDate        `json:"period_start"`
		PeriodEnd      jsonDate        `json:"period_end"`
		Quantity       decimal.Decimal `json:"quantity"`
		UnitPrice      decimal.Decimal `json:"unit_price"`
		DiscountPct    decimal.Decimal `json:"discount_pct"`
		Months         decimal.Decimal `json:"months"`
		Net            decimal.Decimal `json:"net"`
		TaxRate        decimal.Decimal `json:"tax_rate"`
		Tax            decimal.Decimal `json:"tax"`
		Cost           decimal.Decimal `json:"cost"`
	}
	type jinvoice struct {
		ID            uuid.UUID       `json:"id"`
		RunID         uuid.UUID       `json:"run_id"`
		SiteID        string          `json:"site_id"`
		LegalEntityID uuid.UUID       `json:"legal_entity_id"`
		CustomerID    uuid.UUID       `json:"customer_id"`
		Currency      string          `json:"currency"`
		Status        string          `json:"status"`
		IssueDate     jsonDate        `json:"issue_date"`
		DueDate       jsonDate        `json:"due_date"`
		ReverseCharge bool            `json:"reverse_charge"`
		CustomerVATID *string         `json:"customer_vat_id"`
		Net           decimal.Decimal `json:"net"`
		Tax           decimal.Decimal `json:"tax"`
		Total         decimal.Decimal `json:"total"`
		Cost          decimal.Decimal `json:"cost"`
		Lines         []jline         `json:"lines"`
	}
	var in []jinvoice
	if err := json.Unmarshal(doc, &in); err != nil {
		return nil, fmt.Errorf("decode run document: %w", err)
	}
	out := make([]Invoice, 0, len(in))
	for _, j := range in {
		inv := Invoice{ID: j.ID, RunID: j.RunID, SiteID: j.SiteID, LegalEntityID: j.LegalEntityID, CustomerID: j.CustomerID,
			Currency: j.Currency, Status: InvoiceStatus(j.Status), IssueDate: time.Time(j.IssueDate), DueDate: time.Time(j.DueDate),
			ReverseCharge: j.ReverseCharge, Net: j.Net, Tax: j.Tax, Total: j.Total, Cost: j.Cost}
		if j.CustomerVATID != nil {
			inv.CustomerVATID = *j.CustomerVATID
		}
		for _, l := range j.Lines {
			inv.Lines = append(inv.Lines, InvoiceLine{ID: l.ID, ContractID: l.ContractID, ContractLineID: l.ContractLineID,
				ChargeID: l.ChargeID, Description: l.Description, PeriodStart: time.Time(l.PeriodStart),
				PeriodEnd: time.Time(l.PeriodEnd), Quantity: l.Quantity, UnitPrice: l.UnitPrice, DiscountPct: l.DiscountPct,
				Months: l.Months, Net: l.Net, TaxRate: l.TaxRate, Tax: l.Tax, Cost: l.Cost})
		}
		out = append(out, inv)
	}
	return out, nil
}

// jsonDate is a date as PostgreSQL's to_jsonb writes it.
type jsonDate time.Time

func (d *jsonDate) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.DateOnly, s)
	*d = jsonDate(t)
	return err
}

func int32p(v *int) *int32 {
	if v == nil {
		return nil
	}
	n := int32(*v)
	return &n
}

func nullDec(v *decimal.Decimal) decimal.NullDecimal {
	if v == nil {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(*v)
}

func enumPtr[E ~string, S ~string](v *S) *E {
	if v == nil {
		return nil
	}
	e := E(*v)
	return &e
}
