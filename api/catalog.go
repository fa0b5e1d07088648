package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/messina-oms/messina/orders"
)

// catalogRoutes are the reference data orders use. Sites, site rules,
// legal entities and products are shared set-up (a product serves every
// site; a legal entity owns invoice numbering), so only admins write them;
// customers, price books and prices are everyday work for admin, staff and
// api clients. Everyone, auditors included, reads what their sites see.
func (s *Server) catalogRoutes() []route {
	return []route{
		{name: "listSites", method: http.MethodGet, path: "/v1/sites", roles: anyRole, handle: s.listSites},
		{name: "createSite", method: http.MethodPost, path: "/v1/sites", roles: adminOnly, handle: s.createSite},
		{name: "getSite", method: http.MethodGet, path: "/v1/sites/{site}", roles: anyRole, handle: s.getSite},
		{name: "listSiteRules", method: http.MethodGet, path: "/v1/sites/{site}/rules", roles: anyRole, handle: s.listSiteRules},
		{name: "addSiteRules", method: http.MethodPost, path: "/v1/sites/{site}/rules", roles: adminOnly, handle: s.addSiteRules},

		{name: "listLegalEntities", method: http.MethodGet, path: "/v1/legal-entities", roles: anyRole, handle: s.listLegalEntities},
		{name: "createLegalEntity", method: http.MethodPost, path: "/v1/legal-entities", roles: adminOnly, handle: s.createLegalEntity},
		{name: "getLegalEntity", method: http.MethodGet, path: "/v1/legal-entities/{id}", roles: anyRole, handle: s.getLegalEntity},
		{name: "updateLegalEntity", method: http.MethodPatch, path: "/v1/legal-entities/{id}", roles: adminOnly, handle: s.updateLegalEntity},

		{name: "listCustomers", method: http.MethodGet, path: "/v1/customers", roles: anyRole, handle: s.listCustomers},
		{name: "createCustomer", method: http.MethodPost, path: "/v1/customers", roles: writers, handle: s.createCustomer},
		{name: "getCustomer", method: http.MethodGet, path: "/v1/customers/{id}", roles: anyRole, handle: s.getCustomer},
		{name: "updateCustomer", method: http.MethodPatch, path: "/v1/customers/{id}", roles: writers, handle: s.updateCustomer},

		{name: "listProducts", method: http.MethodGet, path: "/v1/products", roles: anyRole, handle: s.listProducts},
		{name: "createProduct", method: http.MethodPost, path: "/v1/products", roles: adminOnly, handle: s.createProduct},
		{name: "getProduct", method: http.MethodGet, path: "/v1/products/{id}", roles: anyRole, handle: s.getProduct},
		{name: "setProductActive", method: http.MethodPut, path: "/v1/products/{id}/active", roles: adminOnly, handle: s.setProductActive},

		{name: "listPriceBooks", method: http.MethodGet, path: "/v1/price-books", roles: anyRole, handle: s.listPriceBooks},
		{name: "createPriceBook", method: http.MethodPost, path: "/v1/price-books", roles: writers, handle: s.createPriceBook},
		{name: "getPriceBook", method: http.MethodGet, path: "/v1/price-books/{id}", roles: anyRole, handle: s.getPriceBook},
		{name: "listPrices", method: http.MethodGet, path: "/v1/price-books/{id}/prices", roles: anyRole, handle: s.listPrices},
		{name: "addPrice", method: http.MethodPost, path: "/v1/price-books/{id}/prices", roles: writers, handle: s.addPrice},
		{name: "lookupPrice", method: http.MethodGet, path: "/v1/price-lookup", roles: anyRole, handle: s.lookupPrice},
	}
}

// allItems is a list response for the short lists the service returns
// whole (sites, rules, legal entities, price books, prices).
func allItems[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items}
}

// pageOf is the list response of one page of a service's items, each
// turned into its JSON shape by to.
func pageOf[T, J any](items []T, next string, to func(T) J) list[J] {
	out := make([]J, len(items))
	for i, x := range items {
		out[i] = to(x)
	}
	return list[J]{Items: out, NextCursor: nextCursor(next)}
}

// nextCursor turns the service's cursor ("" on the last page) into the
// list's next_cursor.
func nextCursor(c string) *string {
	if c == "" {
		return nil
	}
	return &c
}

// ---- Sites -------------------------------------------------------------------

type siteJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Country   string    `json:"country"`
	Currency  string    `json:"currency"`
	Timezone  string    `json:"timezone"`
	CreatedAt time.Time `json:"created_at"`
	Version   int32     `json:"version"`
}

func toSiteJSON(x orders.Site) siteJSON {
	return siteJSON{ID: x.ID, Name: x.Name, Country: x.Country, Currency: x.Currency, Timezone: x.Timezone, CreatedAt: x.CreatedAt, Version: x.Version}
}

func (s *Server) listSites(w http.ResponseWriter, r *http.Request) error {
	sites, err := s.orders.ListSites(r.Context())
	if err != nil {
		return err
	}
	items := make([]siteJSON, len(sites))
	for i, x := range sites {
		items[i] = toSiteJSON(x)
	}
	return writeJSON(w, http.StatusOK, allItems(items))
}

func (s *Server) createSite(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Country  string `json:"country"`
		Currency string `json:"currency"`
		Timezone string `json:"timezone"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	x, err := s.orders.CreateSite(r.Context(), orders.Site{ID: in.ID, Name: in.Name, Country: in.Country, Currency: in.Currency, Timezone: in.Timezone})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/sites/"+x.ID)
	w.Header().Set("ETag", etag(x.Version))
	return writeJSON(w, http.StatusCreated, toSiteJSON(x))
}

func (s *Server) getSite(w http.ResponseWriter, r *http.Request) error {
	x, err := s.orders.GetSite(r.Context(), mux.Vars(r)["site"])
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(x.Version))
	return writeJSON(w, http.StatusOK, toSiteJSON(x))
}

type siteRulesJSON struct {
	SiteID                  string    `json:"site_id"`
	EffectiveFrom           date      `json:"effective_from"`
	BillingTiming           string    `json:"billing_timing"`
	Proration               string    `json:"proration"`
	DefaultRenewalMonths    int       `json:"default_renewal_months"`
	NoticeDays              int       `json:"notice_days"`
	CancellationPolicy      string    `json:"cancellation_policy"`
	InvoiceNumberFormat     string    `json:"invoice_number_format"`
	TaxRate                 string    `json:"tax_rate"`
	ReverseCharge           bool      `json:"reverse_charge"`
	Rounding                string    `json:"rounding"`
	RoundingScale           int       `json:"rounding_scale"`
	Currency                string    `json:"currency"`
	Timezone                string    `json:"timezone"`
	ApprovalAmountThreshold string    `json:"approval_amount_threshold"`
	ApprovalMinMarginPct    string    `json:"approval_min_margin_pct"`
	CreatedAt               time.Time `json:"created_at"`
	CreatedBy               string    `json:"created_by"`
}

func toSiteRulesJSON(x orders.SiteRules) siteRulesJSON {
	return siteRulesJSON{
		SiteID: x.SiteID, EffectiveFrom: date{x.EffectiveFrom}, BillingTiming: x.BillingTiming, Proration: x.Proration,
		DefaultRenewalMonths: x.DefaultRenewalMonths, NoticeDays: x.NoticeDays, CancellationPolicy: x.CancellationPolicy,
		InvoiceNumberFormat: x.InvoiceNumberFormat, TaxRate: money(x.TaxRate), ReverseCharge: x.ReverseCharge,
		Rounding: x.Rounding, RoundingScale: x.RoundingScale, Currency: x.Currency, Timezone: x.Timezone,
		ApprovalAmountThreshold: money(x.ApprovalAmountThreshold), ApprovalMinMarginPct: money(x.ApprovalMinMarginPct),
		CreatedAt: x.CreatedAt, CreatedBy: x.CreatedBy,
	}
}

// listSiteRules lists a site's rule sets, oldest first, or with ?on= the
// one set in force that day. The site is read first so that another
// site's rules answer 404 rather than an empty list.
func (s *Server) listSiteRules(w http.ResponseWriter, r *http.Request) error {
	on, err := queryDate(r, "on")
	if err != nil {
		return err
	}
	site, err := s.orders.GetSite(r.Context(), mux.Vars(r)["site"])
	if err != nil {
		return err
	}
	if on != nil {
		rules, err := s.orders.SiteRulesAt(r.Context(), site.ID, *on)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, allItems([]siteRulesJSON{toSiteRulesJSON(rules)}))
	}
	all, err := s.orders.ListSiteRules(r.Context(), site.ID)
	if err != nil {
		return err
	}
	items := make([]siteRulesJSON, len(all))
	for i, x := range all {
		items[i] = toSiteRulesJSON(x)
	}
	return writeJSON(w, http.StatusOK, allItems(items))
}

// addSiteRules adds a rule set from a date on; sets in force are never
// changed. The site is read first so that another site answers 404.
func (s *Server) addSiteRules(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		EffectiveFrom           date   `json:"effective_from"`
		BillingTiming           string `json:"billing_timing"`
		Proration               string `json:"proration"`
		DefaultRenewalMonths    int32  `json:"default_renewal_months"`
		NoticeDays              int32  `json:"notice_days"`
		CancellationPolicy      string `json:"cancellation_policy"`
		InvoiceNumberFormat     string `json:"invoice_number_format"`
		TaxRate                 amount `json:"tax_rate"`
		ReverseCharge           bool   `json:"reverse_charge"`
		Rounding                string `json:"rounding"`
		RoundingScale           *int16 `json:"rounding_scale"`
		Currency                string `json:"currency"`
		Timezone                string `json:"timezone"`
		ApprovalAmountThreshold amount `json:"approval_amount_threshold"`
		ApprovalMinMarginPct    amount `json:"approval_min_margin_pct"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	site, err := s.orders.GetSite(r.Context(), mux.Vars(r)["site"])
	if err != nil {
		return err
	}
	scale := 2
	if in.RoundingScale != nil {
		scale = int(*in.RoundingScale)
	}
	x, err := s.orders.SetSiteRules(r.Context(), orders.SiteRules{
		SiteID: site.ID, EffectiveFrom: in.EffectiveFrom.Time, BillingTiming: in.BillingTiming, Proration: in.Proration,
		DefaultRenewalMonths: int(in.DefaultRenewalMonths), NoticeDays: int(in.NoticeDays), CancellationPolicy: in.CancellationPolicy,
		InvoiceNumberFormat: in.InvoiceNumberFormat, TaxRate: in.TaxRate.Decimal, ReverseCharge: in.ReverseCharge,
		Rounding: in.Rounding, RoundingScale: scale, Currency: in.Currency, Timezone: in.Timezone,
		ApprovalAmountThreshold: in.ApprovalAmountThreshold.Decimal, ApprovalMinMarginPct: in.ApprovalMinMarginPct.Decimal,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toSiteRulesJSON(x))
}

// ---- Addresses -------------------------------------------------------------------

// addressJSON is a postal address in requests and answers; null in an
// answer when none was recorded.
type addressJSON struct {
	Street   string `json:"street"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

func toAddressJSON(a *orders.Address) *addressJSON {
	if a == nil {
		return nil
	}
	return &addressJSON{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}
}

func (a *addressJSON) address() *orders.Address {
	if a == nil {
		return nil
	}
	return &orders.Address{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}
}

// patchAddress reads the "address" member of a PATCH body, which says three
// things: absent keeps the address (keep true), null removes it, an object
// replaces it whole.
func patchAddress(raw json.RawMessage) (addr *orders.Address, keep bool, err error) {
	switch {
	case len(raw) == 0:
		return nil, true, nil
	case string(raw) == "null":
		return nil, false, nil
	}
	var in addressJSON
	if err := decodeJSONBytes(raw, &in); err != nil {
		return nil, false, err
	}
	return in.address(), false, nil
}

// ---- Legal entities -------------------------------------------------------------

type legalEntityJSON struct {
	ID            uuid.UUID    `json:"id"`
	SiteID        string       `json:"site_id"`
	Name          string       `json:"name"`
	VATID         string       `json:"vat_id"`
	InvoicePrefix string       `json:"invoice_prefix"`
	Address       *addressJSON `json:"address"`
	CreatedAt     time.Time    `json:"created_at"`
	Version       int32        `json:"version"`
}

func toLegalEntityJSON(x orders.LegalEntity) legalEntityJSON {
	return legalEntityJSON{ID: x.ID, SiteID: x.SiteID, Name: x.Name, VATID: x.VATID, InvoicePrefix: x.InvoicePrefix,
		Address: toAddressJSON(x.Address), CreatedAt: x.CreatedAt, Version: x.Version}
}

func (s *Server) listLegalEntities(w http.ResponseWriter, r *http.Request) error {
	all, err := s.orders.ListLegalEntities(r.Context(), r.URL.Query().Get("site_id"))
	if err != nil {
		return err
	}
	items := make([]legalEntityJSON, len(all))
	for i, x := range all {
		items[i] = toLegalEntityJSON(x)
	}
	return writeJSON(w, http.StatusOK, allItems(items))
}

func (s *Server) createLegalEntity(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SiteID        string       `json:"site_id"`
		Name          string       `json:"name"`
		VATID         string       `json:"vat_id"`
		InvoicePrefix string       `json:"invoice_prefix"`
		Address       *addressJSON `json:"address"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	x, err := s.orders.CreateLegalEntity(r.Context(), orders.LegalEntityInput{SiteID: in.SiteID, Name: in.Name, VATID: in.VATID,
		InvoicePrefix: in.InvoicePrefix, Address: in.Address.address()})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/legal-entities/"+x.ID.String())
	w.Header().Set("ETag", etag(x.Version))
	return writeJSON(w, http.StatusCreated, toLegalEntityJSON(x))
}

func (s *Server) getLegalEntity(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	x, err := s.orders.GetLegalEntity(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(x.Version))
	return writeJSON(w, http.StatusOK, toLegalEntityJSON(x))
}

// updateLegalEntity sets or removes a legal entity's postal address, the
// one thing of an entity that changes (its name, VAT id and prefix are what
// posted invoices were issued under); If-Match is required.
func (s *Server) updateLegalEntity(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	version, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var in struct {
		Address json.RawMessage `json:"address"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	addr, keep, err := patchAddress(in.Address)
	if err != nil {
		return err
	}
	if keep {
		return required("address")
	}
	x, err := s.orders.SetLegalEntityAddress(r.Context(), id, version, addr)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(x.Version))
	return writeJSON(w, http.StatusOK, toLegalEntityJSON(x))
}

// ---- Customers -----------------------------------------------------------------------

type customerJSON struct {
	ID               uuid.UUID    `json:"id"`
	SiteID           string       `json:"site_id"`
	Name             string       `json:"name"`
	VATID            *string      `json:"vat_id"`
	Currency         string       `json:"currency"`
	Language         string       `json:"language"`
	Timezone         string       `json:"timezone"`
	PaymentTermsDays int          `json:"payment_terms_days"`
	PORequired       bool         `json:"po_required"`
	Address          *addressJSON `json:"address"`
	CreatedAt        time.Time    `json:"created_at"`
	UpdatedAt        time.Time    `json:"updated_at"`
	Version          int32        `json:"version"`
}

func toCustomerJSON(x orders.Customer) customerJSON {
	return customerJSON{ID: x.ID, SiteID: x.SiteID, Name: x.Name, VATID: nonEmpty(x.VATID), Currency: x.Currency, Language: x.Language,
		Timezone: x.Timezone, PaymentTermsDays: x.PaymentTermsDays, PORequired: x.PORequired, Address: toAddressJSON(x.Address),
		CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt, Version: x.Version}
}

func writeCustomer(w http.ResponseWriter, status int, x orders.Customer) error {
	w.Header().Set("ETag", etag(x.Version))
	return writeJSON(w, status, toCustomerJSON(x))
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	res, err := s.orders.ListCustomers(r.Context(), orders.CustomerFilter{SiteID: q.Get("site_id"), Search: q.Get("q"), Limit: pg.limit, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toCustomerJSON))
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SiteID           string       `json:"site_id"`
		Name             string       `json:"name"`
		VATID            string       `json:"vat_id"`
		Currency         string       `json:"currency"`
		Language         string       `json:"language"`
		Timezone         string       `json:"timezone"`
		PaymentTermsDays int32        `json:"payment_terms_days"`
		PORequired       bool         `json:"po_required"`
		Address          *addressJSON `json:"address"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	x, err := s.orders.CreateCustomer(r.Context(), orders.CustomerInput{SiteID: in.SiteID, Name: in.Name, VATID: in.VATID, Currency: in.Currency,
		Language: in.Language, Timezone: in.Timezone, PaymentTermsDays: int(in.PaymentTermsDays), PORequired: in.PORequired,
		Address: in.Address.address()})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/customers/"+x.ID.String())
	return writeCustomer(w, http.StatusCreated, x)
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	x, err := s.orders.GetCustomer(r.Context(), id)
	if err != nil {
		return err
	}
	return writeCustomer(w, http.StatusOK, x)
}

// updateCustomer changes the fields sent and keeps the others. The service
// replaces a customer whole, so the fields not sent come from a read; the
// If-Match version makes the write fail if the customer changed between
// that read and the write.
func (s *Server) updateCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	version, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var in struct {
		Name             *string         `json:"name"`
		VATID            *string         `json:"vat_id"`
		Currency         *string         `json:"currency"`
		Language         *string         `json:"language"`
		Timezone         *string         `json:"timezone"`
		PaymentTermsDays *int32          `json:"payment_terms_days"`
		PORequired       *bool           `json:"po_required"`
		Address          json.RawMessage `json:"address"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	addr, keepAddr, err := patchAddress(in.Address)
	if err != nil {
		return err
	}
	cur, err := s.orders.GetCustomer(r.Context(), id)
	if err != nil {
		return err
	}
	next := orders.CustomerInput{Name: cur.Name, VATID: cur.VATID, Currency: cur.Currency, Language: cur.Language,
		Timezone: cur.Timezone, PaymentTermsDays: cur.PaymentTermsDays, PORequired: cur.PORequired, Address: cur.Address}
	if !keepAddr {
		next.Address = addr
	}
	setIf(&next.Name, in.Name)
	setIf(&next.VATID, in.VATID)
	setIf(&next.Currency, in.Currency)
	setIf(&next.Language, in.Language)
	setIf(&next.Timezone, in.Timezone)
	if in.PaymentTermsDays != nil {
		next.PaymentTermsDays = int(*in.PaymentTermsDays)
	}
	setIf(&next.PORequired, in.PORequired)
	x, err := s.orders.UpdateCustomer(r.Context(), id, version, next)
	if err != nil {
		return err
	}
	return writeCustomer(w, http.StatusOK, x)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// ---- Products ----------------------------------------------------------------------

type productJSON struct {
	ID                uuid.UUID `json:"id"`
	SKU               string    `json:"sku"`
	Name              string    `json:"name"`
	Kind              string    `json:"kind"`
	BillingFrequency  *string   `json:"billing_frequency"`
	DefaultTermMonths *int      `json:"default_term_months"`
	Active            bool      `json:"active"`
	CreatedAt         time.Time `json:"created_at"`
	Version           int32     `json:"version"`
}

func toProductJSON(x orders.Product) productJSON {
	p := productJSON{ID: x.ID, SKU: x.SKU, Name: x.Name, Kind: string(x.Kind), BillingFrequency: nonEmpty(string(x.BillingFrequency)),
		Active: x.Active, CreatedAt: x.CreatedAt, Version: x.Version}
	if x.DefaultTermMonths != 0 {
		p.DefaultTermMonths = &x.DefaultTermMonths
	}
	return p
}

func writeProduct(w http.ResponseWriter, status int, x orders.Product) error {
	w.Header().Set("ETag", etag(x.Version))
	return writeJSON(w, status, toProductJSON(x))
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := orders.ProductFilter{Kind: orders.ProductKind(q.Get("kind")), Limit: pg.limit, Cursor: q.Get("cursor")}
	switch q.Get("active") {
	case "":
	case "true":
		f.Active = new(true)
	case "false":
		f.Active = new(false)
	default:
		return validationProblem("invalid active", FieldError{Field: "active", Message: "must be true or false"})
	}
	res, err := s.orders.ListProducts(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageOf(res.Items, res.NextCursor, toProductJSON))
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SKU               string                  `json:"sku"`
		Name              string                  `json:"name"`
		Kind              orders.ProductKind      `json:"kind"`
		BillingFrequency  orders.BillingFrequency `json:"billing_frequency"`
		DefaultTermMonths int32                   `json:"default_term_months"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	x, err := s.orders.CreateProduct(r.Context(), orders.ProductInput{SKU: in.SKU, Name: in.Name, Kind: in.Kind, BillingFrequency: in.BillingFrequency, DefaultTermMonths: int(in.DefaultTermMonths)})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/products/"+x.ID.String())
	return writeProduct(w, http.StatusCreated, x)
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	x, err := s.orders.GetProduct(r.Context(), id)
	if err != nil {
		return err
	}
	return writeProduct(w, http.StatusOK, x)
}

// setProductActive starts or stops selling a product. It sets a state
// rather than changing it relative to a version, so it needs no If-Match.
func (s *Server) setProductActive(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Active *bool `json:"active"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Active == nil {
		return validationProblem("active is required", FieldError{Field: "active", Message: "is required"})
	}
	x, err := s.orders.SetProductActive(r.Context(), id, *in.Active)
	if err != nil {
		return err
	}
	return writeProduct(w, http.StatusOK, x)
}

// ---- Price books and prices -------------------------------------------------------------

type priceBookJSON struct {
	ID         uuid.UUID  `json:"id"`
	SiteID     string     `json:"site_id"`
	Name       string     `json:"name"`
	Currency   string     `json:"currency"`
	CustomerID *uuid.UUID `json:"customer_id"`
	CreatedAt  time.Time  `json:"created_at"`
}

func toPriceBookJSON(x orders.PriceBook) priceBookJSON {
	return priceBookJSON{ID: x.ID, SiteID: x.SiteID, Name: x.Name, Currency: x.Currency, CustomerID: x.CustomerID, CreatedAt: x.CreatedAt}
}

func (s *Server) listPriceBooks(w http.ResponseWriter, r *http.Request) error {
	customer, err := queryUUID(r, "customer_id")
	if err != nil {
		return err
	}
	all, err := s.orders.ListPriceBooks(r.Context(), r.URL.Query().Get("site_id"), customer)
	if err != nil {
		return err
	}
	items := make([]priceBookJSON, len(all))
	for i, x := range all {
		items[i] = toPriceBookJSON(x)
	}
	return writeJSON(w, http.StatusOK, allItems(items))
}

func (s *Server) createPriceBook(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SiteID     string     `json:"site_id"`
		Name       string     `json:"name"`
		Currency   string     `json:"currency"`
		CustomerID *uuid.UUID `json:"customer_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	x, err := s.orders.CreatePriceBook(r.Context(), orders.PriceBookInput{SiteID: in.SiteID, Name: in.Name, Currency: in.Currency, CustomerID: in.CustomerID})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/price-books/"+x.ID.String())
	return writeJSON(w, http.StatusCreated, toPriceBookJSON(x))
}

func (s *Server) getPriceBook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	x, err := s.orders.GetPriceBook(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPriceBookJSON(x))
}

type priceJSON struct {
	ID            uuid.UUID `json:"id"`
	PriceBookID   uuid.UUID `json:"price_book_id"`
	SiteID        string    `json:"site_id"`
	ProductID     uuid.UUID `json:"product_id"`
	EffectiveFrom date      `json:"effective_from"`
	UnitPrice     string    `json:"unit_price"`
	UnitCost      *string   `json:"unit_cost"`
	CreatedAt     time.Time `json:"created_at"`
}

func toPriceJSON(x orders.Price) priceJSON {
	return priceJSON{ID: x.ID, PriceBookID: x.PriceBookID, SiteID: x.SiteID, ProductID: x.ProductID, EffectiveFrom: date{x.EffectiveFrom},
		UnitPrice: money(x.UnitPrice), UnitCost: nullMoney(x.UnitCost), CreatedAt: x.CreatedAt}
}

// listPrices lists a book's prices. The book is read first so that an
// unknown book or another site's answers 404 rather than an empty list.
func (s *Server) listPrices(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	product, err := queryUUID(r, "product_id")
	if err != nil {
		return err
	}
	if _, err := s.orders.GetPriceBook(r.Context(), id); err != nil {
		return err
	}
	all, err := s.orders.ListPrices(r.Context(), id, product)
	if err != nil {
		return err
	}
	items := make([]priceJSON, len(all))
	for i, x := range all {
		items[i] = toPriceJSON(x)
	}
	return writeJSON(w, http.StatusOK, allItems(items))
}

// addPrice adds a price to a book. The book is read first so that another
// site's book answers 404 like an unknown one.
func (s *Server) addPrice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		ProductID     uuid.UUID `json:"product_id"`
		EffectiveFrom date      `json:"effective_from"`
		UnitPrice     amount    `json:"unit_price"`
		UnitCost      *amount   `json:"unit_cost"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if _, err := s.orders.GetPriceBook(r.Context(), id); err != nil {
		return err
	}
	x, err := s.orders.AddPrice(r.Context(), orders.PriceInput{PriceBookID: id, ProductID: in.ProductID, EffectiveFrom: in.EffectiveFrom.Time,
		UnitPrice: in.UnitPrice.Decimal, UnitCost: in.UnitCost.nullDec()})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPriceJSON(x))
}

type priceQuoteJSON struct {
	UnitPrice string    `json:"unit_price"`
	UnitCost  string    `json:"unit_cost"`
	PriceID   uuid.UUID `json:"price_id"`
	Source    string    `json:"source"`
}

// lookupPrice answers the price and cost in force for a product at a site
// on a date, for a customer when customer_id is given.
func (s *Server) lookupPrice(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var fields []FieldError
	for _, name := range []string{"site_id", "product_id", "currency", "on"} {
		if q.Get(name) == "" {
			fields = append(fields, FieldError{Field: name, Message: "is required"})
		}
	}
	if len(fields) > 0 {
		return validationProblem("missing query parameters", fields...)
	}
	product, err := queryUUID(r, "product_id")
	if err != nil {
		return err
	}
	customer, err := queryUUID(r, "customer_id")
	if err != nil {
		return err
	}
	on, err := queryDate(r, "on")
	if err != nil {
		return err
	}
	x, err := s.orders.LookupPrice(r.Context(), orders.PriceQuery{SiteID: q.Get("site_id"), CustomerID: customer, ProductID: *product, Currency: q.Get("currency"), On: *on})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, priceQuoteJSON{UnitPrice: money(x.UnitPrice), UnitCost: money(x.UnitCost), PriceID: x.PriceID, Source: x.Source})
}
