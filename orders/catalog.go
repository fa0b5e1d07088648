package orders

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/keyset"
	"github.com/messina-oms/messina/queries"
)

var (
	siteIDPattern   = regexp.MustCompile(`^[A-Z]{2,8}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	vatPattern      = regexp.MustCompile(`^[A-Z0-9]{4,20}$`)
	prefixPattern   = regexp.MustCompile(`^[A-Z0-9]{1,10}$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2}(-[A-Z]{2})?$`)
	skuPattern      = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{1,39}$`)
)

func checkTimezone(fe *fieldErrors, field, tz string) {
	if tz == "" {
		fe.add(field, "is required")
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		fe.add(field, "is not a known IANA timezone")
	}
}

func checkPattern(fe *fieldErrors, field, value string, re *regexp.Regexp, what string) {
	if !re.MatchString(value) {
		fe.add(field, "must be %s", what)
	}
}

// checkAddress checks the shape of an address; whether its country code
// is assigned is the database's check (core.is_country_code).
func checkAddress(fe *fieldErrors, a *Address) {
	if a == nil {
		return
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"street", a.Street, 200}, {"city", a.City, 100}, {"postcode", a.Postcode, 20}} {
		switch {
		case strings.TrimSpace(f.value) == "":
			fe.add("address."+f.name, "is required in an address")
		case len([]rune(f.value)) > f.max:
			fe.add("address."+f.name, "must be at most %d characters", f.max)
		}
	}
	checkPattern(fe, "address.country", a.Country, countryPattern, "an ISO 3166-1 alpha-2 code")
}

// addressParams are an address as the nullable columns of a query.
type addressParams struct{ street, city, postcode, country *string }

func addressArgs(a *Address) addressParams {
	if a == nil {
		return addressParams{}
	}
	return addressParams{&a.Street, &a.City, &a.Postcode, &a.Country}
}

// addressFrom reads the address columns of a row: all set or all NULL, as
// the table's check keeps them.
func addressFrom(street, city, postcode, country *string) *Address {
	if street == nil || city == nil || postcode == nil || country == nil {
		return nil
	}
	return &Address{Street: *street, City: *city, Postcode: *postcode, Country: *country}
}

// ---- Sites ----------------------------------------------------------------

// CreateSite adds a site. Returns ErrValidation for bad fields, ErrConflict
// (already_exists) when the id is taken, ErrForbidden when the caller is
// limited to other sites.
func (s *Service) CreateSite(ctx context.Context, in Site) (Site, error) {
	var fe fieldErrors
	checkPattern(&fe, "id", in.ID, siteIDPattern, "2 to 8 capital letters")
	if strings.TrimSpace(in.Name) == "" {
		fe.add("name", "is required")
	}
	checkPattern(&fe, "country", in.Country, countryPattern, "an ISO 3166 alpha-2 code")
	checkPattern(&fe, "currency", in.Currency, currencyPattern, "an ISO 4217 code")
	checkTimezone(&fe, "timezone", in.Timezone)
	if err := fe.err(); err != nil {
		return Site{}, err
	}
	var out Site
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.SiteCreate(ctx, queries.SiteCreateParams{ID: in.ID, Name: in.Name, Country: in.Country, Currency: in.Currency, Timezone: in.Timezone})
		if err != nil {
			return translate(err, CodeSiteNotFound, "")
		}
		out = siteFrom(row)
		return nil
	})
	return out, wrap(err, "create site")
}

// GetSite returns a site; ErrNotFound (site_not_found) when it does not
// exist or is not visible.
func (s *Service) GetSite(ctx context.Context, id string) (Site, error) {
	var out Site
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.SiteGet(ctx, id)
		if err != nil {
			return translate(err, CodeSiteNotFound, "")
		}
		out = siteFrom(row)
		return nil
	})
	return out, wrap(err, "get site")
}

// ListSites returns the visible sites ordered by id (a handful: no paging).
func (s *Service) ListSites(ctx context.Context) ([]Site, error) {
	var out []Site
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.SiteList(ctx)
		if err != nil {
			return err
		}
		out = make([]Site, 0, len(rows))
		for _, r := range rows {
			out = append(out, siteFrom(r))
		}
		return nil
	})
	return out, wrap(err, "list sites")
}

func siteFrom(r queries.CoreSite) Site {
	return Site{ID: r.ID, Name: r.Name, Country: r.Country, Currency: r.Currency, Timezone: r.Timezone, CreatedAt: r.CreatedAt, Version: r.Version}
}

// ---- Site rules -------------------------------------------------------------

// SetSiteRules adds a rule set effective from in.EffectiveFrom (a date in
// the site's timezone). Rules already in force are never changed: a set
// effective before today is refused with ErrConflict (rule_rewrites_past),
// unless it only fills history before the site's first rule. A set with the
// same date as an existing future set is ErrConflict (already_exists).
func (s *Service) SetSiteRules(ctx context.Context, in SiteRules) (SiteRules, error) {
	var fe fieldErrors
	if in.EffectiveFrom.IsZero() {
		fe.add("effective_from", "is required")
	}
	oneOf := func(field, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		fe.add(field, "must be one of %s", strings.Join(allowed, ", "))
	}
	oneOf("billing_timing", in.BillingTiming, "advance", "arrears")
	oneOf("proration", in.Proration, "daily", "monthly", "none")
	oneOf("cancellation_policy", in.CancellationPolicy, "end_of_term", "end_of_notice", "immediate_with_fee")
	oneOf("rounding", in.Rounding, "half_up", "half_even")
	if in.DefaultRenewalMonths <= 0 {
		fe.add("default_renewal_months", "must be positive")
	}
	if in.NoticeDays < 0 {
		fe.add("notice_days", "must not be negative")
	}
	if !strings.Contains(in.InvoiceNumberFormat, "{seq") {
		fe.add("invoice_number_format", "must contain {seq:N}")
	}
	if in.TaxRate.IsNegative() || in.TaxRate.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		fe.add("tax_rate", "must be a fraction between 0 and 1")
	}
	if in.RoundingScale < 0 || in.RoundingScale > 4 {
		fe.add("rounding_scale", "must be between 0 and 4")
	}
	checkPattern(&fe, "currency", in.Currency, currencyPattern, "an ISO 4217 code")
	checkTimezone(&fe, "timezone", in.Timezone)
	if in.ApprovalAmountThreshold.IsNegative() {
		fe.add("approval_amount_threshold", "must not be negative")
	}
	if in.ApprovalMinMarginPct.LessThan(decimal.NewFromInt(-100)) || in.ApprovalMinMarginPct.GreaterThan(decimal.NewFromInt(100)) {
		fe.add("approval_min_margin_pct", "must be between -100 and 100")
	}
	if err := fe.err(); err != nil {
		return SiteRules{}, err
	}
	var out SiteRules
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.SiteSettingCreate(ctx, queries.SiteSettingCreateParams{
			SiteID: in.SiteID, EffectiveFrom: date(in.EffectiveFrom),
			BillingTiming: queries.CoreBillingTiming(in.BillingTiming), Proration: queries.CoreProrationRule(in.Proration),
			DefaultRenewalMonths: int32(in.DefaultRenewalMonths), NoticeDays: int32(in.NoticeDays),
			CancellationPolicy:  queries.CoreCancellationPolicy(in.CancellationPolicy),
			InvoiceNumberFormat: in.InvoiceNumberFormat, TaxRate: in.TaxRate, ReverseCharge: in.ReverseCharge,
			Rounding: queries.CoreRoundingMode(in.Rounding), RoundingScale: int16(in.RoundingScale),
			Currency: in.Currency, Timezone: in.Timezone,
			ApprovalAmountThreshold: in.ApprovalAmountThreshold, ApprovalMinMarginPct: in.ApprovalMinMarginPct,
		})
		if err != nil {
			return translate(err, CodeSiteNotFound, "")
		}
		out = rulesFrom(row)
		return nil
	})
	if err == nil {
		s.log.InfoContext(ctx, "site rules set", "site", in.SiteID, "effective_from", out.EffectiveFrom.Format(time.DateOnly))
	}
	return out, wrap(err, "set site rules")
}

// SiteRulesAt returns the rules of a site in force on the date of on.
// ErrNotFound (site_rules_not_found) when none were defined by then.
func (s *Service) SiteRulesAt(ctx context.Context, siteID string, on time.Time) (SiteRules, error) {
	var out SiteRules
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.SiteSettingInForce(ctx, queries.SiteSettingInForceParams{SiteID: siteID, OnDate: date(on)})
		if err != nil {
			return translate(err, CodeRulesNotFound, "")
		}
		out = rulesFrom(row)
		return nil
	})
	return out, wrap(err, "site rules at date")
}

// ListSiteRules returns every rule set of a site, oldest first.
func (s *Service) ListSiteRules(ctx context.Context, siteID string) ([]SiteRules, error) {
	var out []SiteRules
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.SiteSettingList(ctx, siteID)
		if err != nil {
			return err
		}
		out = make([]SiteRules, 0, len(rows))
		for _, r := range rows {
			out = append(out, rulesFrom(r))
		}
		return nil
	})
	return out, wrap(err, "list site rules")
}

func rulesFrom(r queries.CoreSiteSetting) SiteRules {
	return SiteRules{
		SiteID: r.SiteID, EffectiveFrom: r.EffectiveFrom, BillingTiming: string(r.BillingTiming),
		Proration: string(r.Proration), DefaultRenewalMonths: int(r.DefaultRenewalMonths), NoticeDays: int(r.NoticeDays),
		CancellationPolicy: string(r.CancellationPolicy), InvoiceNumberFormat: r.InvoiceNumberFormat,
		TaxRate: r.TaxRate, ReverseCharge: r.ReverseCharge, Rounding: string(r.Rounding), RoundingScale: int(r.RoundingScale),
		Currency: r.Currency, Timezone: r.Timezone, ApprovalAmountThreshold: r.ApprovalAmountThreshold,
		ApprovalMinMarginPct: r.ApprovalMinMarginPct, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy,
	}
}

// ---- Legal entities -----------------------------------------------------------

// CreateLegalEntity adds a legal entity to a site. ErrValidation for bad
// fields or an unknown site, ErrConflict when the name or invoice prefix
// is taken.
func (s *Service) CreateLegalEntity(ctx context.Context, in LegalEntityInput) (LegalEntity, error) {
	var fe fieldErrors
	if in.SiteID == "" {
		fe.add("site_id", "is required")
	}
	if strings.TrimSpace(in.Name) == "" {
		fe.add("name", "is required")
	}
	checkPattern(&fe, "vat_id", in.VATID, vatPattern, "4 to 20 capital letters or digits")
	checkPattern(&fe, "invoice_prefix", in.InvoicePrefix, prefixPattern, "1 to 10 capital letters or digits")
	checkAddress(&fe, in.Address)
	if err := fe.err(); err != nil {
		return LegalEntity{}, err
	}
	a := addressArgs(in.Address)
	var out LegalEntity
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.LegalEntityCreate(ctx, queries.LegalEntityCreateParams{SiteID: in.SiteID, Name: in.Name, VatID: in.VATID, InvoicePrefix: in.InvoicePrefix,
			AddressStreet: a.street, AddressCity: a.city, AddressPostcode: a.postcode, AddressCountry: a.country})
		if err != nil {
			return translate(err, CodeLegalEntityMissing, "")
		}
		out = legalEntityFrom(row)
		return nil
	})
	return out, wrap(err, "create legal entity")
}

// GetLegalEntity returns a legal entity; ErrNotFound (legal_entity_not_found).
func (s *Service) GetLegalEntity(ctx context.Context, id uuid.UUID) (LegalEntity, error) {
	var out LegalEntity
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.LegalEntityGet(ctx, id)
		if err != nil {
			return translate(err, CodeLegalEntityMissing, "")
		}
		out = legalEntityFrom(row)
		return nil
	})
	return out, wrap(err, "get legal entity")
}

// ListLegalEntities returns the visible legal entities of siteID ("" = all
// visible sites), by site and name.
func (s *Service) ListLegalEntities(ctx context.Context, siteID string) ([]LegalEntity, error) {
	var out []LegalEntity
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.LegalEntityList(ctx, strPtr(siteID))
		if err != nil {
			return err
		}
		out = make([]LegalEntity, 0, len(rows))
		for _, r := range rows {
			out = append(out, legalEntityFrom(r))
		}
		return nil
	})
	return out, wrap(err, "list legal entities")
}

// SetLegalEntityAddress sets (or, with nil, removes) a legal entity's
// postal address if its version is still expectedVersion; the name, VAT id
// and invoice prefix never change, since posted invoices were issued under
// them. ErrNotFound (legal_entity_not_found), ErrStale, ErrValidation.
func (s *Service) SetLegalEntityAddress(ctx context.Context, id uuid.UUID, expectedVersion int32, addr *Address) (LegalEntity, error) {
	var fe fieldErrors
	checkAddress(&fe, addr)
	if err := fe.err(); err != nil {
		return LegalEntity{}, err
	}
	a := addressArgs(addr)
	var out LegalEntity
	err := s.inTx(ctx, func(q *queries.Queries) error {
		cur, err := q.LegalEntityGet(ctx, id)
		if err != nil {
			return translate(err, CodeLegalEntityMissing, "")
		}
		if cur.Version != expectedVersion {
			return stale(cur.Version)
		}
		row, err := q.LegalEntitySetAddress(ctx, queries.LegalEntitySetAddressParams{ID: id, ExpectedVersion: expectedVersion,
			AddressStreet: a.street, AddressCity: a.city, AddressPostcode: a.postcode, AddressCountry: a.country})
		if err != nil {
			// No row: a concurrent update won between the read and the write.
			if e := translate(err, CodeLegalEntityMissing, ""); ErrorCode(e) == CodeLegalEntityMissing {
				return stale(cur.Version + 1)
			} else {
				return e
			}
		}
		out = legalEntityFrom(row)
		return nil
	})
	return out, wrap(err, "set legal entity address")
}

func legalEntityFrom(r queries.CoreLegalEntity) LegalEntity {
	return LegalEntity{ID: r.ID, SiteID: r.SiteID, Name: r.Name, VATID: r.VatID, InvoicePrefix: r.InvoicePrefix,
		Address: addressFrom(r.AddressStreet, r.AddressCity, r.AddressPostcode, r.AddressCountry), CreatedAt: r.CreatedAt, Version: r.Version}
}

// ---- Customers ----------------------------------------------------------------

func validateCustomer(in CustomerInput, create bool) error {
	var fe fieldErrors
	if create && in.SiteID == "" {
		fe.add("site_id", "is required")
	}
	if strings.TrimSpace(in.Name) == "" {
		fe.add("name", "is required")
	}
	if in.VATID != "" {
		checkPattern(&fe, "vat_id", in.VATID, vatPattern, "4 to 20 capital letters or digits")
	}
	checkPattern(&fe, "currency", in.Currency, currencyPattern, "an ISO 4217 code")
	checkPattern(&fe, "language", in.Language, languagePattern, `a language tag such as "en" or "fr-FR"`)
	checkTimezone(&fe, "timezone", in.Timezone)
	if in.PaymentTermsDays < 0 || in.PaymentTermsDays > 365 {
		fe.add("payment_terms_days", "must be between 0 and 365")
	}
	checkAddress(&fe, in.Address)
	return fe.err()
}

// CreateCustomer adds a customer. ErrValidation for bad fields or an
// unknown site; ErrForbidden for a site outside the caller's.
func (s *Service) CreateCustomer(ctx context.Context, in CustomerInput) (Customer, error) {
	if err := validateCustomer(in, true); err != nil {
		return Customer{}, err
	}
	a := addressArgs(in.Address)
	var out Customer
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.CustomerCreate(ctx, queries.CustomerCreateParams{
			SiteID: in.SiteID, Name: in.Name, VatID: strPtr(in.VATID), Currency: in.Currency, Language: in.Language,
			Timezone: in.Timezone, PaymentTermsDays: int32(in.PaymentTermsDays), PoRequired: in.PORequired,
			AddressStreet: a.street, AddressCity: a.city, AddressPostcode: a.postcode, AddressCountry: a.country,
		})
		if err != nil {
			return translate(err, CodeCustomerNotFound, "")
		}
		out = customerFrom(row)
		return nil
	})
	return out, wrap(err, "create customer")
}

// CustomerNames returns the names of the customers among ids that the
// caller can see, in one query; invisible or unknown ids are absent.
func (s *Service) CustomerNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(ids))
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.CustomerNames(ctx, ids)
		for _, r := range rows {
			out[r.ID] = r.Name
		}
		return err
	})
	return out, wrap(err, "customer names")
}

// GetCustomer returns a customer; ErrNotFound (customer_not_found).
func (s *Service) GetCustomer(ctx context.Context, id uuid.UUID) (Customer, error) {
	var out Customer
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.CustomerGet(ctx, id)
		if err != nil {
			return translate(err, CodeCustomerNotFound, "")
		}
		out = customerFrom(row)
		return nil
	})
	return out, wrap(err, "get customer")
}

// UpdateCustomer replaces a customer's fields if its version is still
// expectedVersion. ErrNotFound, ErrStale (with the current version),
// ErrValidation (also when in.SiteID names another site).
func (s *Service) UpdateCustomer(ctx context.Context, id uuid.UUID, expectedVersion int32, in CustomerInput) (Customer, error) {
	if err := validateCustomer(in, false); err != nil {
		return Customer{}, err
	}
	a := addressArgs(in.Address)
	var out Customer
	err := s.inTx(ctx, func(q *queries.Queries) error {
		cur, err := q.CustomerGet(ctx, id)
		if err != nil {
			return translate(err, CodeCustomerNotFound, "")
		}
		if in.SiteID != "" && in.SiteID != cur.SiteID {
			var fe fieldErrors
			fe.add("site_id", "a customer cannot move to another site")
			return fe.err()
		}
		if cur.Version != expectedVersion {
			return stale(cur.Version)
		}
		row, err := q.CustomerUpdate(ctx, queries.CustomerUpdateParams{
			ID: id, ExpectedVersion: expectedVersion, Name: in.Name, VatID: strPtr(in.VATID), Currency: in.Currency,
			Language: in.Language, Timezone: in.Timezone, PaymentTermsDays: int32(in.PaymentTermsDays), PoRequired: in.PORequired,
			AddressStreet: a.street, AddressCity: a.city, AddressPostcode: a.postcode, AddressCountry: a.country,
		})
		if err != nil {
			// No row: a concurrent update won between the read and the write.
			if e := translate(err, CodeCustomerNotFound, ""); ErrorCode(e) == CodeCustomerNotFound {
				return stale(cur.Version + 1)
			} else {
				return e
			}
		}
		out = customerFrom(row)
		return nil
	})
	return out, wrap(err, "update customer")
}

// ListCustomers returns a page of visible customers by name.
func (s *Service) ListCustomers(ctx context.Context, f CustomerFilter) (Page[Customer], error) {
	afterName, afterID, err := decodeStringIDCursor(f.Cursor)
	if err != nil {
		return Page[Customer]{}, err
	}
	n := keyset.Limit(f.Limit)
	var out Page[Customer]
	err = s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.CustomerList(ctx, queries.CustomerListParams{
			SiteID: strPtr(f.SiteID), Search: strPtr(f.Search), AfterName: afterName, AfterID: afterID, MaxRows: n + 1,
		})
		if err != nil {
			return err
		}
		out = keyset.Cut(rows, int(n), customerFrom, func(last queries.CoreCustomer) string { return keyset.Encode(last.Name, last.ID.String()) })
		return nil
	})
	return out, wrap(err, "list customers")
}

func customerFrom(r queries.CoreCustomer) Customer {
	return Customer{
		ID: r.ID, SiteID: r.SiteID, Name: r.Name, VATID: deref(r.VatID), Currency: r.Currency, Language: r.Language,
		Timezone: r.Timezone, PaymentTermsDays: int(r.PaymentTermsDays), PORequired: r.PoRequired,
		Address:   addressFrom(r.AddressStreet, r.AddressCity, r.AddressPostcode, r.AddressCountry),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
}

// ---- Products -------------------------------------------------------------------

// CreateProduct adds a product to the shared catalogue. ErrValidation for
// bad fields (a recurring product needs a frequency and a term that is a
// whole number of periods), ErrConflict when the SKU is taken.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (Product, error) {
	var fe fieldErrors
	checkPattern(&fe, "sku", in.SKU, skuPattern, "2 to 40 capital letters, digits or dashes")
	if strings.TrimSpace(in.Name) == "" {
		fe.add("name", "is required")
	}
	switch in.Kind {
	case OneOff:
		if in.BillingFrequency != "" || in.DefaultTermMonths != 0 {
			fe.add("billing_frequency", "must be empty for a one-off product")
		}
	case Recurring:
		if in.BillingFrequency.Months() == 0 {
			fe.add("billing_frequency", "must be monthly, quarterly, semiannual or annual")
		} else if in.DefaultTermMonths <= 0 || in.DefaultTermMonths%in.BillingFrequency.Months() != 0 {
			fe.add("default_term_months", "must be a positive whole number of billing periods")
		}
	default:
		fe.add("kind", "must be one_off or recurring")
	}
	if err := fe.err(); err != nil {
		return Product{}, err
	}
	p := queries.ProductCreateParams{Sku: in.SKU, Name: in.Name, Kind: queries.CoreProductKind(in.Kind)}
	if in.Kind == Recurring {
		bf := queries.CoreBillingFrequency(in.BillingFrequency)
		term := int32(in.DefaultTermMonths)
		p.BillingFrequency, p.DefaultTermMonths = &bf, &term
	}
	var out Product
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.ProductCreate(ctx, p)
		if err != nil {
			return translate(err, CodeProductNotFound, "")
		}
		out = productFrom(row)
		return nil
	})
	return out, wrap(err, "create product")
}

// GetProduct returns a product; ErrNotFound (product_not_found).
func (s *Service) GetProduct(ctx context.Context, id uuid.UUID) (Product, error) {
	var out Product
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.ProductGet(ctx, id)
		if err != nil {
			return translate(err, CodeProductNotFound, "")
		}
		out = productFrom(row)
		return nil
	})
	return out, wrap(err, "get product")
}

// SetProductActive starts or stops selling a product; existing order lines
// keep it. ErrNotFound (product_not_found).
func (s *Service) SetProductActive(ctx context.Context, id uuid.UUID, active bool) (Product, error) {
	var out Product
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.ProductSetActive(ctx, queries.ProductSetActiveParams{ID: id, Active: active})
		if err != nil {
			return translate(err, CodeProductNotFound, "")
		}
		out = productFrom(row)
		return nil
	})
	return out, wrap(err, "set product active")
}

// ListProducts returns a page of products by SKU.
func (s *Service) ListProducts(ctx context.Context, f ProductFilter) (Page[Product], error) {
	var after *string
	if f.Cursor != "" {
		parts, err := decodeCursor(f.Cursor, 1)
		if err != nil {
			return Page[Product]{}, err
		}
		after = &parts[0]
	}
	var kind *queries.CoreProductKind
	if f.Kind != "" {
		if f.Kind != OneOff && f.Kind != Recurring {
			var fe fieldErrors
			fe.add("kind", "must be one_off or recurring")
			return Page[Product]{}, fe.err()
		}
		k := queries.CoreProductKind(f.Kind)
		kind = &k
	}
	n := keyset.Limit(f.Limit)
	var out Page[Product]
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.ProductList(ctx, queries.ProductListParams{Kind: kind, Active: f.Active, AfterSku: after, MaxRows: n + 1})
		if err != nil {
			return err
		}
		out = keyset.Cut(rows, int(n), productFrom, func(last queries.CoreProduct) string { return keyset.Encode(last.Sku) })
		return nil
	})
	return out, wrap(err, "list products")
}

func productFrom(r queries.CoreProduct) Product {
	p := Product{ID: r.ID, SKU: r.Sku, Name: r.Name, Kind: ProductKind(r.Kind), Active: r.Active, CreatedAt: r.CreatedAt, Version: r.Version}
	if r.BillingFrequency != nil {
		p.BillingFrequency = BillingFrequency(*r.BillingFrequency)
	}
	if r.DefaultTermMonths != nil {
		p.DefaultTermMonths = int(*r.DefaultTermMonths)
	}
	return p
}

// ---- Price books and prices ---------------------------------------------------------

// CreatePriceBook adds a price book: the standard one of a site and
// currency (CustomerID nil) or a customer's overrides. ErrConflict
// (already_exists) when that book exists; ErrValidation for an unknown
// customer or one of another site.
func (s *Service) CreatePriceBook(ctx context.Context, in PriceBookInput) (PriceBook, error) {
	var fe fieldErrors
	if in.SiteID == "" {
		fe.add("site_id", "is required")
	}
	if strings.TrimSpace(in.Name) == "" {
		fe.add("name", "is required")
	}
	checkPattern(&fe, "currency", in.Currency, currencyPattern, "an ISO 4217 code")
	if err := fe.err(); err != nil {
		return PriceBook{}, err
	}
	var out PriceBook
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.PriceBookCreate(ctx, queries.PriceBookCreateParams{SiteID: in.SiteID, Name: in.Name, Currency: in.Currency, CustomerID: in.CustomerID})
		if err != nil {
			return translate(err, CodePriceBookNotFound, "")
		}
		out = PriceBook(row)
		return nil
	})
	return out, wrap(err, "create price book")
}

// GetPriceBook returns a price book; ErrNotFound (price_book_not_found).
func (s *Service) GetPriceBook(ctx context.Context, id uuid.UUID) (PriceBook, error) {
	var out PriceBook
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.PriceBookGet(ctx, id)
		if err != nil {
			return translate(err, CodePriceBookNotFound, "")
		}
		out = PriceBook(row)
		return nil
	})
	return out, wrap(err, "get price book")
}

// ListPriceBooks returns the visible price books of siteID ("" = all) and,
// when customerID is set, only that customer's.
func (s *Service) ListPriceBooks(ctx context.Context, siteID string, customerID *uuid.UUID) ([]PriceBook, error) {
	var out []PriceBook
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.PriceBookList(ctx, queries.PriceBookListParams{SiteID: strPtr(siteID), CustomerID: customerID})
		if err != nil {
			return err
		}
		out = make([]PriceBook, 0, len(rows))
		for _, r := range rows {
			out = append(out, PriceBook(r))
		}
		return nil
	})
	return out, wrap(err, "list price books")
}

// AddPrice adds a price to a book from in.EffectiveFrom; earlier prices
// stay for earlier dates. ErrNotFound (price_book_not_found) for an unknown
// book, ErrValidation for negative amounts, a missing cost in a standard
// book or an unknown product, ErrConflict for a second price of the same
// product and date.
func (s *Service) AddPrice(ctx context.Context, in PriceInput) (Price, error) {
	var fe fieldErrors
	if in.EffectiveFrom.IsZero() {
		fe.add("effective_from", "is required")
	}
	if in.UnitPrice.IsNegative() {
		fe.add("unit_price", "must not be negative")
	}
	if in.UnitCost.Valid && in.UnitCost.Decimal.IsNegative() {
		fe.add("unit_cost", "must not be negative")
	}
	if err := fe.err(); err != nil {
		return Price{}, err
	}
	var out Price
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.PriceCreate(ctx, queries.PriceCreateParams{
			PriceBookID: in.PriceBookID, ProductID: in.ProductID, EffectiveFrom: date(in.EffectiveFrom),
			UnitPrice: in.UnitPrice, UnitCost: in.UnitCost,
		})
		if err != nil {
			return translate(err, CodePriceBookNotFound, "")
		}
		out = Price(row)
		return nil
	})
	return out, wrap(err, "add price")
}

// ListPrices returns the prices of a book (of one product when productID
// is set), by product and date.
func (s *Service) ListPrices(ctx context.Context, priceBookID uuid.UUID, productID *uuid.UUID) ([]Price, error) {
	var out []Price
	err := s.single(ctx, func(q *queries.Queries) error {
		rows, err := q.PriceList(ctx, queries.PriceListParams{PriceBookID: priceBookID, ProductID: productID})
		if err != nil {
			return err
		}
		out = make([]Price, 0, len(rows))
		for _, r := range rows {
			out = append(out, Price(r))
		}
		return nil
	})
	return out, wrap(err, "list prices")
}

// LookupPrice returns the price and cost in force on q.On: the customer's
// override when one is in force, else the standard price; the cost is the
// override's when it has one, else the standard cost. ErrNotFound
// (price_not_found) when the product has no price and cost then.
func (s *Service) LookupPrice(ctx context.Context, pq PriceQuery) (PriceQuote, error) {
	var out PriceQuote
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.PriceLookup(ctx, queries.PriceLookupParams{
			SiteID: pq.SiteID, CustomerID: pq.CustomerID, ProductID: pq.ProductID, Currency: pq.Currency, OnDate: date(pq.On),
		})
		if err != nil {
			return translate(err, CodePriceNotFound, "")
		}
		out = PriceQuote(row)
		return nil
	})
	return out, wrap(err, "look up price")
}
