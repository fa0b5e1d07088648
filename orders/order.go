package orders

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/keyset"
	"github.com/messina-oms/messina/queries"
)

var hundred = decimal.NewFromInt(100)

// marginPct is margin as a percentage of value rounded half away from zero
// to 2 places, like orders.margin_pct in SQL; invalid for no value.
func marginPct(margin, value decimal.Decimal) decimal.NullDecimal {
	if !value.IsPositive() {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(margin.Mul(hundred).DivRound(value, 2))
}

// validateLine checks what can be checked without the database; prefix is
// the field path of the line ("lines[2]." or "").
func validateLine(fe *fieldErrors, prefix string, in LineInput) {
	if in.ProductID == uuid.Nil {
		fe.add(prefix+"product_id", "is required")
	}
	if !in.Quantity.IsPositive() {
		fe.add(prefix+"quantity", "must be positive")
	}
	if in.UnitPrice.Valid && in.UnitPrice.Decimal.IsNegative() {
		fe.add(prefix+"unit_price", "must not be negative")
	}
	if in.DiscountPct.IsNegative() || in.DiscountPct.GreaterThan(hundred) {
		fe.add(prefix+"discount_pct", "must be between 0 and 100")
	}
	if in.Currency != "" && !currencyPattern.MatchString(in.Currency) {
		fe.add(prefix+"currency", "must be an ISO 4217 code")
	}
	if in.BillingFrequency != "" && in.BillingFrequency.Months() == 0 {
		fe.add(prefix+"billing_frequency", "must be monthly, quarterly, semiannual or annual")
	}
	if in.TermMonths < 0 {
		fe.add(prefix+"term_months", "must not be negative")
	}
	seen := map[string]bool{}
	total := decimal.Zero
	for j, sp := range in.Splits {
		f := fmt.Sprintf("%ssplits[%d].", prefix, j)
		if strings.TrimSpace(sp.Salesperson) == "" {
			fe.add(f+"salesperson", "is required")
		} else if seen[sp.Salesperson] {
			fe.add(f+"salesperson", "appears twice")
		}
		seen[sp.Salesperson] = true
		if !sp.SharePct.IsPositive() || sp.SharePct.GreaterThan(hundred) {
			fe.add(f+"share_pct", "must be above 0 and at most 100")
		}
		total = total.Add(sp.SharePct)
	}
	if total.GreaterThan(hundred) {
		fe.add(prefix+"splits", "shares add up to more than 100")
	}
}

func checkLineCurrency(fe *fieldErrors, prefix string, in LineInput, orderCurrency string) {
	if in.Currency != "" && in.Currency != orderCurrency {
		fe.add(prefix+"currency", "is %s but the order is in %s", in.Currency, orderCurrency)
	}
}

// CreateOrder creates a draft order with its lines in one transaction:
// if any line fails, nothing is written. Each line takes the price in force
// for the customer unless given, and the cost in force (snapshot).
// ErrValidation lists every bad field ("lines[1].quantity"), including a
// line currency other than the order's, an unknown customer, legal entity
// or product, and a product without a price in the order currency.
func (s *Service) CreateOrder(ctx context.Context, in OrderInput) (Order, error) {
	var fe fieldErrors
	if in.CustomerID == uuid.Nil {
		fe.add("customer_id", "is required")
	}
	if in.LegalEntityID == uuid.Nil {
		fe.add("legal_entity_id", "is required")
	}
	if strings.TrimSpace(in.Salesperson) == "" {
		fe.add("salesperson", "is required")
	}
	if in.Currency != "" && !currencyPattern.MatchString(in.Currency) {
		fe.add("currency", "must be an ISO 4217 code")
	}
	for i, l := range in.Lines {
		validateLine(&fe, fmt.Sprintf("lines[%d].", i), l)
	}
	if err := fe.err(); err != nil {
		return Order{}, err
	}
	out, err := s.createOrder(ctx, in, false)
	var le *linesError
	if errors.As(err, &le) {
		// The database refused the lines, inserted by one statement, as a
		// whole; that transaction wrote nothing. Do it again line by line
		// so that the error names the line ("lines[2].product_id").
		out, err = s.createOrder(ctx, in, true)
	}
	if err != nil {
		return Order{}, wrap(err, "create order")
	}
	s.log.InfoContext(ctx, "order created", "order", out.Number, "site", out.SiteID, "lines", len(out.Lines))
	return out, nil
}

// linesError is the failure of the one statement that inserts all lines
// (or all splits) of a new order: it cannot say which line failed.
type linesError struct{ err error }

func (e *linesError) Error() string { return e.err.Error() }
func (e *linesError) Unwrap() error { return e.err }

// createOrder creates the order in one transaction. perLine inserts the
// lines one statement each and reads the order back; otherwise all lines
// and all splits take one statement each and the order is built from what
// the inserts returned, which is what a read back would find.
func (s *Service) createOrder(ctx context.Context, in OrderInput, perLine bool) (Order, error) {
	var out Order
	err := s.inTx(ctx, func(q *queries.Queries) error {
		var fe fieldErrors
		o, err := q.OrderCreate(ctx, queries.OrderCreateParams{
			SiteID: strPtr(in.SiteID), LegalEntityID: in.LegalEntityID, CustomerID: in.CustomerID, Salesperson: in.Salesperson,
			Currency: strPtr(in.Currency), PoNumber: strPtr(in.PONumber), Notes: in.Notes,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return customerError(ctx, q, in)
		}
		if err != nil {
			return translate(err, CodeOrderNotFound, "")
		}
		for i, l := range in.Lines {
			checkLineCurrency(&fe, fmt.Sprintf("lines[%d].", i), l, o.Currency)
		}
		if err := fe.err(); err != nil {
			return err
		}
		if perLine {
			for i, l := range in.Lines {
				if err := insertLine(ctx, q, o.ID, l, fmt.Sprintf("lines[%d].", i)); err != nil {
					return err
				}
			}
			out, err = loadOrder(ctx, q, o.ID)
			return err
		}
		out = orderFrom(o)
		out.Lines, err = insertLines(ctx, q, o.ID, in.Lines)
		if err != nil {
			return err
		}
		out.Totals = totalsOf(out.Lines)
		return nil
	})
	return out, err
}

// customerError says why OrderCreate found no customer: unknown or
// invisible, or of another site than asked. It also checks the lines'
// currencies against the order's, so that one answer lists every field.
func customerError(ctx context.Context, q *queries.Queries, in OrderInput) error {
	var fe fieldErrors
	cust, err := q.CustomerGet(ctx, in.CustomerID)
	if err != nil {
		if e := translate(err, CodeCustomerNotFound, ""); ErrorCode(e) != CodeCustomerNotFound {
			return e
		}
		fe.add("customer_id", "does not exist or is not visible")
		return fe.err()
	}
	if in.SiteID != "" && in.SiteID != cust.SiteID {
		fe.add("customer_id", "belongs to site %s, not %s", cust.SiteID, in.SiteID)
	}
	currency := in.Currency
	if currency == "" {
		currency = cust.Currency
	}
	for i, l := range in.Lines {
		checkLineCurrency(&fe, fmt.Sprintf("lines[%d].", i), l, currency)
	}
	if err := fe.err(); err != nil {
		return err
	}
	return fmt.Errorf("customer %s: no order created", in.CustomerID)
}

// insertLines inserts all lines of a new order, numbered from 1, and all
// their splits, one statement each, and returns them in line order. Any
// failure is a *linesError.
func insertLines(ctx context.Context, q *queries.Queries, orderID uuid.UUID, lines []LineInput) ([]Line, error) {
	if len(lines) == 0 {
		return []Line{}, nil
	}
	p := queries.OrderLinesCreateParams{
		OrderID: orderID, ProductIds: make([]uuid.UUID, len(lines)), Descriptions: make([]string, len(lines)),
		BillingFrequencies: make([]string, len(lines)), TermMonths: make([]int32, len(lines)),
		Quantities: make([]decimal.Decimal, len(lines)), UnitPrices: make([]string, len(lines)),
		DiscountPcts: make([]decimal.Decimal, len(lines)), Currencies: make([]string, len(lines)),
	}
	var sp queries.OrderLineSplitsCreateParams
	for i, l := range lines {
		p.ProductIds[i], p.Descriptions[i], p.BillingFrequencies[i] = l.ProductID, l.Description, string(l.BillingFrequency)
		p.TermMonths[i], p.Quantities[i], p.DiscountPcts[i], p.Currencies[i] = int32(l.TermMonths), l.Quantity, l.DiscountPct, l.Currency
		if l.UnitPrice.Valid {
			p.UnitPrices[i] = l.UnitPrice.Decimal.String()
		}
	}
	rows, err := q.OrderLinesCreate(ctx, p)
	if err != nil {
		return nil, &linesError{translate(err, CodeOrderNotFound, "lines.")}
	}
	if len(rows) != len(lines) {
		return nil, fmt.Errorf("order lines: %d of %d inserted", len(rows), len(lines))
	}
	slices.SortFunc(rows, func(a, b queries.OrdersOrderLine) int { return cmp.Compare(a.LineNo, b.LineNo) })
	out := make([]Line, len(rows))
	for i, r := range rows {
		out[i] = lineFrom(r)
		for _, s := range lines[i].Splits {
			sp.LineIds = append(sp.LineIds, r.ID)
			sp.Salespeople = append(sp.Salespeople, s.Salesperson)
			sp.SharePcts = append(sp.SharePcts, s.SharePct)
		}
	}
	if len(sp.LineIds) == 0 {
		return out, nil
	}
	splits, err := q.OrderLineSplitsCreate(ctx, sp)
	if err != nil {
		return nil, &linesError{translate(err, CodeLineNotFound, "lines.splits.")}
	}
	if len(splits) != len(sp.LineIds) {
		return nil, fmt.Errorf("order line splits: %d of %d inserted", len(splits), len(sp.LineIds))
	}
	// Lists of splits are ordered by salesperson, as loadOrder reads them.
	slices.SortFunc(splits, func(a, b queries.OrdersOrderLineSplit) int { return strings.Compare(a.Salesperson, b.Salesperson) })
	for i := range out {
		for _, s := range splits {
			if s.LineID == out[i].ID {
				out[i].Splits = append(out[i].Splits, Split{Salesperson: s.Salesperson, SharePct: s.SharePct})
			}
		}
	}
	return out, nil
}

// totalsOf adds up lines as the orders.order_total view does, to the cent,
// and in the same form as read from it: the view's amounts have 2 decimal
// places, and zero comes back from the driver as a plain 0.
func totalsOf(lines []Line) Totals {
	var oneOff, mrr, value, cost decimal.Decimal
	for _, l := range lines {
		if l.Kind == OneOff {
			oneOff = oneOff.Add(l.NetAmount)
		} else {
			mrr = mrr.Add(l.NetAmount)
		}
		value = value.Add(l.Value)
		cost = cost.Add(l.Cost)
	}
	return totalsFrom(len(lines), asRead(oneOff), asRead(mrr), asRead(value), asRead(cost), asRead(value.Sub(cost)))
}

// asRead gives an amount the form a numeric(p, 2) column is decoded into.
func asRead(d decimal.Decimal) decimal.Decimal {
	if d.IsZero() {
		return decimal.Zero
	}
	return d.Round(2)
}

func insertLine(ctx context.Context, q *queries.Queries, orderID uuid.UUID, in LineInput, prefix string) error {
	p := queries.OrderLineCreateParams{
		OrderID: orderID, ProductID: in.ProductID, Description: in.Description, Quantity: in.Quantity,
		UnitPrice: in.UnitPrice, DiscountPct: in.DiscountPct, Currency: strPtr(in.Currency),
	}
	if in.BillingFrequency != "" {
		bf := queries.CoreBillingFrequency(in.BillingFrequency)
		p.BillingFrequency = &bf
	}
	if in.TermMonths != 0 {
		t := int32(in.TermMonths)
		p.TermMonths = &t
	}
	line, err := q.OrderLineCreate(ctx, p)
	if err != nil {
		return translate(err, CodeOrderNotFound, prefix)
	}
	return insertSplits(ctx, q, line.ID, in.Splits, prefix)
}

func insertSplits(ctx context.Context, q *queries.Queries, lineID uuid.UUID, splits []Split, prefix string) error {
	for j, sp := range splits {
		if err := q.OrderLineSplitCreate(ctx, queries.OrderLineSplitCreateParams{LineID: lineID, Salesperson: sp.Salesperson, SharePct: sp.SharePct}); err != nil {
			return translate(err, CodeLineNotFound, fmt.Sprintf("%ssplits[%d].", prefix, j))
		}
	}
	return nil
}

// GetOrder returns an order with its lines and totals; ErrNotFound
// (order_not_found) when it does not exist or is of another site.
func (s *Service) GetOrder(ctx context.Context, id uuid.UUID) (Order, error) {
	var out Order
	err := s.inTx(ctx, func(q *queries.Queries) error {
		var err error
		out, err = loadOrder(ctx, q, id)
		return err
	})
	return out, wrap(err, "get order")
}

// OrderSite returns the site of an order visible to the caller, or an
// ErrNotFound error (code order_not_found) for an unknown or invisible one:
// a cheap existence check for records attached to orders.
func (s *Service) OrderSite(ctx context.Context, id uuid.UUID) (string, error) {
	var site string
	err := s.single(ctx, func(q *queries.Queries) error {
		var err error
		site, err = q.OrderSiteGet(ctx, id)
		return translate(err, CodeOrderNotFound, "")
	})
	return site, wrap(err, "order site")
}

// loadOrder reads an order, its lines, splits and totals in the caller's
// transaction, so they are consistent with each other.
func loadOrder(ctx context.Context, q *queries.Queries, id uuid.UUID) (Order, error) {
	row, err := q.OrderGet(ctx, id)
	if err != nil {
		return Order{}, translate(err, CodeOrderNotFound, "")
	}
	o := orderFrom(row)
	lines, err := q.OrderLineList(ctx, id)
	if err != nil {
		return Order{}, fmt.Errorf("order lines: %w", err)
	}
	splits, err := q.OrderLineSplitList(ctx, id)
	if err != nil {
		return Order{}, fmt.Errorf("order line splits: %w", err)
	}
	bySplit := map[uuid.UUID][]Split{}
	for _, sp := range splits {
		bySplit[sp.LineID] = append(bySplit[sp.LineID], Split{Salesperson: sp.Salesperson, SharePct: sp.SharePct})
	}
	o.Lines = make([]Line, 0, len(lines))
	for _, l := range lines {
		line := lineFrom(l)
		line.Splits = bySplit[l.ID]
		o.Lines = append(o.Lines, line)
	}
	t, err := q.OrderTotalGet(ctx, id)
	if err != nil {
		return Order{}, fmt.Errorf("order totals: %w", err)
	}
	o.Totals = totalsFrom(int(t.LineCount), t.OneOffAmount, t.Mrr, t.TotalValue, t.TotalCost, t.Margin)
	return o, nil
}

func orderFrom(r queries.OrdersOrder) Order {
	return Order{
		ID: r.ID, Number: r.Number, SiteID: r.SiteID, LegalEntityID: r.LegalEntityID, CustomerID: r.CustomerID,
		Salesperson: r.Salesperson, Currency: r.Currency, PONumber: deref(r.PoNumber), Notes: r.Notes,
		OrderDate: r.OrderDate, Status: Status(r.Status), StatusReason: deref(r.StatusReason),
		StatusChangedAt: r.StatusChangedAt, StatusChangedBy: r.StatusChangedBy, ApprovalRequired: r.ApprovalRequired,
		ApprovalReason: deref(r.ApprovalReason), CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy, UpdatedAt: r.UpdatedAt,
		Version: r.Version,
	}
}

func lineFrom(r queries.OrdersOrderLine) Line {
	l := Line{
		ID: r.ID, OrderID: r.OrderID, LineNo: int(r.LineNo), ProductID: r.ProductID, Description: r.Description,
		Kind: ProductKind(r.Kind), Quantity: r.Quantity, UnitPrice: r.UnitPrice, UnitCost: r.UnitCost,
		DiscountPct: r.DiscountPct, Currency: r.Currency, PriceID: r.PriceID, CreatedAt: r.CreatedAt,
		NetAmount: r.NetAmount.Decimal, CostAmount: r.CostAmount.Decimal, Periods: 1,
	}
	if r.BillingFrequency != nil {
		l.BillingFrequency = BillingFrequency(*r.BillingFrequency)
	}
	if r.TermMonths != nil {
		l.TermMonths = int(*r.TermMonths)
	}
	if r.Periods != nil {
		l.Periods = int(*r.Periods)
	}
	l.Value = r.LineValue.Decimal
	l.Cost = r.LineCost.Decimal
	l.Margin = l.Value.Sub(l.Cost)
	l.MarginPct = marginPct(l.Margin, l.Value)
	return l
}

func totalsFrom(n int, oneOff, mrr, value, cost, margin decimal.Decimal) Totals {
	return Totals{LineCount: n, OneOff: oneOff, MRR: mrr, Value: value, Cost: cost, Margin: margin, MarginPct: marginPct(margin, value)}
}

// lockOrder locks an order for the rest of the transaction and checks its
// version when expectedVersion is not 0.
func lockOrder(ctx context.Context, q *queries.Queries, id uuid.UUID, expectedVersion int32) (queries.OrdersOrder, error) {
	o, err := q.OrderLock(ctx, id)
	if err != nil {
		return o, translate(err, CodeOrderNotFound, "")
	}
	if expectedVersion != 0 && o.Version != expectedVersion {
		return o, stale(o.Version)
	}
	return o, nil
}

// UpdateOrder changes an order header if its version is still
// expectedVersion (required: If-Match). ErrNotFound, ErrStale (with the
// current version), ErrValidation, ErrConflict (order_not_editable) when
// customer or legal entity change outside draft or the order is closed.
func (s *Service) UpdateOrder(ctx context.Context, id uuid.UUID, expectedVersion int32, p OrderPatch) (Order, error) {
	var fe fieldErrors
	if expectedVersion <= 0 {
		fe.add("version", "the expected version is required")
	}
	if p.Salesperson != nil && strings.TrimSpace(*p.Salesperson) == "" {
		fe.add("salesperson", "must not be empty")
	}
	if p.CustomerID != nil && *p.CustomerID == uuid.Nil {
		fe.add("customer_id", "must not be empty")
	}
	if p.LegalEntityID != nil && *p.LegalEntityID == uuid.Nil {
		fe.add("legal_entity_id", "must not be empty")
	}
	if err := fe.err(); err != nil {
		return Order{}, err
	}
	var out Order
	err := s.inTx(ctx, func(q *queries.Queries) error {
		cur, err := lockOrder(ctx, q, id, expectedVersion)
		if err != nil {
			return err
		}
		up := queries.OrderUpdateHeaderParams{
			ID: id, ExpectedVersion: expectedVersion, LegalEntityID: cur.LegalEntityID, CustomerID: cur.CustomerID,
			Salesperson: cur.Salesperson, PoNumber: cur.PoNumber, Notes: cur.Notes,
		}
		if p.LegalEntityID != nil {
			up.LegalEntityID = *p.LegalEntityID
		}
		if p.CustomerID != nil {
			up.CustomerID = *p.CustomerID
		}
		if p.Salesperson != nil {
			up.Salesperson = *p.Salesperson
		}
		if p.PONumber != nil {
			up.PoNumber = strPtr(*p.PONumber)
		}
		if p.Notes != nil {
			up.Notes = *p.Notes
		}
		if _, err := q.OrderUpdateHeader(ctx, up); err != nil {
			return translate(err, CodeOrderNotFound, "")
		}
		out, err = loadOrder(ctx, q, id)
		return err
	})
	return out, wrap(err, "update order")
}

// AddLine adds a line to a draft order. expectedVersion 0 skips the
// version check. ErrNotFound, ErrStale, ErrValidation (bad fields, another
// currency, no price), ErrConflict (order_not_editable) outside draft.
func (s *Service) AddLine(ctx context.Context, orderID uuid.UUID, expectedVersion int32, in LineInput) (Order, error) {
	var fe fieldErrors
	validateLine(&fe, "", in)
	if err := fe.err(); err != nil {
		return Order{}, err
	}
	var out Order
	err := s.inTx(ctx, func(q *queries.Queries) error {
		cur, err := lockOrder(ctx, q, orderID, expectedVersion)
		if err != nil {
			return err
		}
		checkLineCurrency(&fe, "", in, cur.Currency)
		if err := fe.err(); err != nil {
			return err
		}
		if err := insertLine(ctx, q, orderID, in, ""); err != nil {
			return err
		}
		out, err = loadOrder(ctx, q, orderID)
		return err
	})
	return out, wrap(err, "add order line")
}

// UpdateLine replaces a line of a draft order. An invalid in.UnitPrice
// keeps the line's price when the product is unchanged, else takes the
// price in force. The cost snapshot is retaken only when the product
// changes. Errors as AddLine, and ErrNotFound (order_line_not_found).
func (s *Service) UpdateLine(ctx context.Context, orderID, lineID uuid.UUID, expectedVersion int32, in LineInput) (Order, error) {
	var fe fieldErrors
	validateLine(&fe, "", in)
	if err := fe.err(); err != nil {
		return Order{}, err
	}
	var out Order
	err := s.inTx(ctx, func(q *queries.Queries) error {
		cur, err := lockOrder(ctx, q, orderID, expectedVersion)
		if err != nil {
			return err
		}
		checkLineCurrency(&fe, "", in, cur.Currency)
		if err := fe.err(); err != nil {
			return err
		}
		line, err := q.OrderLineGet(ctx, lineID)
		if err != nil {
			return translate(err, CodeLineNotFound, "")
		}
		if line.OrderID != orderID {
			return notFound(CodeLineNotFound, "order %s has no line %s", cur.Number, lineID)
		}
		price := in.UnitPrice.Decimal
		if !in.UnitPrice.Valid {
			if in.ProductID == line.ProductID {
				price = line.UnitPrice
			} else {
				today, err := q.SiteToday(ctx, cur.SiteID)
				if err != nil {
					return fmt.Errorf("site date: %w", err)
				}
				quote, err := q.PriceLookup(ctx, queries.PriceLookupParams{SiteID: cur.SiteID, CustomerID: &cur.CustomerID, ProductID: in.ProductID, Currency: cur.Currency, OnDate: today})
				if err != nil {
					if e := translate(err, CodePriceNotFound, ""); ErrorCode(e) != CodePriceNotFound {
						return e
					}
					fe.add("product_id", "has no price in %s at site %s", cur.Currency, cur.SiteID)
					return fe.err()
				}
				price = quote.UnitPrice
			}
		}
		p := queries.OrderLineUpdateParams{
			ID: lineID, OrderID: orderID, ProductID: in.ProductID, Description: in.Description,
			Quantity: in.Quantity, UnitPrice: price, DiscountPct: in.DiscountPct,
		}
		if in.BillingFrequency != "" {
			bf := queries.CoreBillingFrequency(in.BillingFrequency)
			p.BillingFrequency = &bf
		}
		if in.TermMonths != 0 {
			t := int32(in.TermMonths)
			p.TermMonths = &t
		}
		if _, err := q.OrderLineUpdate(ctx, p); err != nil {
			return translate(err, CodeLineNotFound, "")
		}
		if err := q.OrderLineSplitDeleteAll(ctx, lineID); err != nil {
			return translate(err, CodeLineNotFound, "")
		}
		if err := insertSplits(ctx, q, lineID, in.Splits, ""); err != nil {
			return err
		}
		out, err = loadOrder(ctx, q, orderID)
		return err
	})
	return out, wrap(err, "update order line")
}

// RemoveLine deletes a line of a draft order. ErrNotFound (order or
// order_line_not_found), ErrStale, ErrConflict (order_not_editable).
func (s *Service) RemoveLine(ctx context.Context, orderID, lineID uuid.UUID, expectedVersion int32) (Order, error) {
	var out Order
	err := s.inTx(ctx, func(q *queries.Queries) error {
		cur, err := lockOrder(ctx, q, orderID, expectedVersion)
		if err != nil {
			return err
		}
		n, err := q.OrderLineDelete(ctx, queries.OrderLineDeleteParams{ID: lineID, OrderID: orderID})
		if err != nil {
			return translate(err, CodeLineNotFound, "")
		}
		if n == 0 {
			return notFound(CodeLineNotFound, "order %s has no line %s", cur.Number, lineID)
		}
		out, err = loadOrder(ctx, q, orderID)
		return err
	})
	return out, wrap(err, "remove order line")
}

// Transition moves an order to status to, recording the caller and reason.
// expectedVersion 0 skips the version check. The database decides: an
// invalid move is ErrInvalidTransition with Error.Allowed; a move that
// needs a reason (reject, cancel) without one is ErrValidation on
// "reason"; submitting an incomplete order (no lines, missing PO number
// when the customer requires one) is ErrValidation. Submitting an order
// within the site's approval thresholds approves it at once (Status is then
// approved; ApprovalRequired false).
func (s *Service) Transition(ctx context.Context, id uuid.UUID, to Status, expectedVersion int32, reason string) (Order, error) {
	if !to.Valid() {
		var fe fieldErrors
		fe.add("status", "is not a known status")
		return Order{}, fe.err()
	}
	var out Order
	var from Status
	err := s.inTx(ctx, func(q *queries.Queries) error {
		cur, err := lockOrder(ctx, q, id, expectedVersion)
		if err != nil {
			return err
		}
		from = Status(cur.Status)
		if from == to {
			// The trigger treats an unchanged status as a header update, so
			// a request to stay put is refused here.
			return s.invalidTransition(ctx, q, from, to)
		}
		var r *string
		if strings.TrimSpace(reason) != "" {
			r = &reason
		}
		if _, err := q.OrderSetStatus(ctx, queries.OrderSetStatusParams{ID: id, Status: queries.OrdersOrderStatus(to), Reason: r}); err != nil {
			return translate(err, CodeOrderNotFound, "")
		}
		out, err = loadOrder(ctx, q, id)
		return err
	})
	if err != nil {
		return Order{}, wrap(err, "order transition")
	}
	s.log.InfoContext(ctx, "order status changed", "order", out.Number, "from", from, "to", out.Status)
	return out, nil
}

func (s *Service) invalidTransition(ctx context.Context, q *queries.Queries, from, to Status) error {
	rows, err := q.StatusTransitionsFrom(ctx, queries.OrdersOrderStatus(from))
	if err != nil {
		return fmt.Errorf("allowed transitions: %w", err)
	}
	e := &Error{Kind: ErrInvalidTransition, Code: CodeInvalidTransition, Message: fmt.Sprintf("the order is already %s", to)}
	for _, r := range rows {
		e.Allowed = append(e.Allowed, string(r.ToStatus))
	}
	return e
}

// Submit asks for approval (or approves at once within the thresholds).
func (s *Service) Submit(ctx context.Context, id uuid.UUID, expectedVersion int32) (Order, error) {
	return s.Transition(ctx, id, StatusSubmitted, expectedVersion, "")
}

// Approve approves a submitted order; reason is optional.
func (s *Service) Approve(ctx context.Context, id uuid.UUID, expectedVersion int32, reason string) (Order, error) {
	return s.Transition(ctx, id, StatusApproved, expectedVersion, reason)
}

// Reject rejects a submitted order; reason is required.
func (s *Service) Reject(ctx context.Context, id uuid.UUID, expectedVersion int32, reason string) (Order, error) {
	return s.Transition(ctx, id, StatusRejected, expectedVersion, reason)
}

// Book books an approved order.
func (s *Service) Book(ctx context.Context, id uuid.UUID, expectedVersion int32) (Order, error) {
	return s.Transition(ctx, id, StatusBooked, expectedVersion, "")
}

// StartProvisioning starts delivering a booked order.
func (s *Service) StartProvisioning(ctx context.Context, id uuid.UUID, expectedVersion int32) (Order, error) {
	return s.Transition(ctx, id, StatusProvisioning, expectedVersion, "")
}

// Complete closes an order whose provisioning is done.
func (s *Service) Complete(ctx context.Context, id uuid.UUID, expectedVersion int32) (Order, error) {
	return s.Transition(ctx, id, StatusCompleted, expectedVersion, "")
}

// Cancel cancels an order that is not yet completed; reason is required.
func (s *Service) Cancel(ctx context.Context, id uuid.UUID, expectedVersion int32, reason string) (Order, error) {
	return s.Transition(ctx, id, StatusCancelled, expectedVersion, reason)
}

// History returns an order's status changes, oldest first. ErrNotFound.
func (s *Service) History(ctx context.Context, id uuid.UUID) ([]Transition, error) {
	var out []Transition
	err := s.inTx(ctx, func(q *queries.Queries) error {
		if _, err := q.OrderGet(ctx, id); err != nil {
			return translate(err, CodeOrderNotFound, "")
		}
		rows, err := q.OrderTransitionList(ctx, id)
		if err != nil {
			return err
		}
		out = make([]Transition, 0, len(rows))
		for _, r := range rows {
			out = append(out, Transition{From: Status(r.FromStatus), To: Status(r.ToStatus), Actor: r.Actor, Reason: deref(r.Reason), At: r.At})
		}
		return nil
	})
	return out, wrap(err, "order history")
}

// Approvals returns an order's approval decisions, oldest first. ErrNotFound.
func (s *Service) Approvals(ctx context.Context, id uuid.UUID) ([]Approval, error) {
	var out []Approval
	err := s.inTx(ctx, func(q *queries.Queries) error {
		if _, err := q.OrderGet(ctx, id); err != nil {
			return translate(err, CodeOrderNotFound, "")
		}
		rows, err := q.OrderApprovalList(ctx, id)
		if err != nil {
			return err
		}
		out = make([]Approval, 0, len(rows))
		for _, r := range rows {
			out = append(out, Approval{Decision: string(r.Decision), DecidedBy: r.DecidedBy, Reason: deref(r.Reason), DecidedAt: r.DecidedAt})
		}
		return nil
	})
	return out, wrap(err, "order approvals")
}

// AllowedTransitions returns the statuses an order in status from may go
// to, as the database's transition table says.
func (s *Service) AllowedTransitions(ctx context.Context, from Status) ([]Status, error) {
	var out []Status
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.StatusTransitionsFrom(ctx, queries.OrdersOrderStatus(from))
		if err != nil {
			return translate(err, CodeNotFound, "")
		}
		for _, r := range rows {
			out = append(out, Status(r.ToStatus))
		}
		return nil
	})
	return out, wrap(err, "allowed transitions")
}

// ListOrders returns a page of visible orders, newest first, with totals
// but without lines. ErrValidation for a bad status or cursor.
func (s *Service) ListOrders(ctx context.Context, f OrderFilter) (Page[Order], error) {
	var fe fieldErrors
	var status *queries.OrdersOrderStatus
	if f.Status != "" {
		if !f.Status.Valid() {
			fe.add("status", "is not a known status")
		}
		st := queries.OrdersOrderStatus(f.Status)
		status = &st
	}
	if err := fe.err(); err != nil {
		return Page[Order]{}, err
	}
	afterAt, afterID, err := decodeTimeIDCursor(f.Cursor)
	if err != nil {
		return Page[Order]{}, err
	}
	p := queries.OrderListParams{
		SiteID: strPtr(f.SiteID), Status: status, CustomerID: f.CustomerID, Salesperson: strPtr(f.Salesperson),
		AfterCreatedAt: afterAt, AfterID: afterID, MaxRows: keyset.Limit(f.Limit) + 1,
	}
	if f.From != nil {
		d := date(*f.From)
		p.DateFrom = &d
	}
	if f.To != nil {
		d := date(*f.To)
		p.DateTo = &d
	}
	n := int(p.MaxRows) - 1
	var out Page[Order]
	err = s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.OrderList(ctx, p)
		if err != nil {
			return err
		}
		out = keyset.Cut(rows, n, func(r queries.OrderListRow) Order {
			o := orderFrom(queries.OrdersOrder{
				ID: r.ID, Number: r.Number, SiteID: r.SiteID, LegalEntityID: r.LegalEntityID, CustomerID: r.CustomerID,
				Salesperson: r.Salesperson, Currency: r.Currency, PoNumber: r.PoNumber, Notes: r.Notes, OrderDate: r.OrderDate,
				Status: r.Status, StatusReason: r.StatusReason, StatusChangedAt: r.StatusChangedAt, StatusChangedBy: r.StatusChangedBy,
				ApprovalRequired: r.ApprovalRequired, ApprovalReason: r.ApprovalReason, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy,
				UpdatedAt: r.UpdatedAt, Version: r.Version,
			})
			o.Totals = totalsFrom(int(r.LineCount), r.OneOffAmount, r.Mrr, r.TotalValue, r.TotalCost, r.Margin)
			return o
		}, func(last queries.OrderListRow) string { return keyset.TimeID(last.CreatedAt, last.ID) })
		return nil
	})
	return out, wrap(err, "list orders")
}
