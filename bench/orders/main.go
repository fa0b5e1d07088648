// Command orders benchmarks creating an order with 5 lines through the API
// (POST /v1/orders: authentication by a real API token, JSON decoding,
// validation, one transaction that sets the audit actor and the sites for
// row-level security, price and cost lookups, triggers and audit rows, and
// the order read back) against a baseline measured in the same run on the
// same database: a minimal gorilla/mux handler that decodes the same body
// and does one INSERT. Both answer over loopback HTTP to the same load
// generator, with durable commits.
//
// It needs the environment devenv exports (MESSINA_DATABASE_URL and
// MESSINA_OWNER_DATABASE_URL):
//
//	go run ./cmd/devenv -bin .bin -temp -- go run ./bench/orders
//
// and prints `orders create: ours / baseline = R` with both rates and p99s.
// It also measures orders.Service.CreateOrder alone behind the same HTTP
// loop, which says how much of the cost is the API's and how much the
// domain's (transaction, per-line triggers, read-back).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/messina-oms/messina/api"
	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/internal/pgpool"
	"github.com/messina-oms/messina/migrations"
	"github.com/messina-oms/messina/orders"
)

func main() {
	n := flag.Int("n", 2000, "requests per measured round and target")
	c := flag.Int("c", 8, "concurrent clients")
	rounds := flag.Int("rounds", 3, "measured rounds per target, alternating, after a warm-up")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (servers and load) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/orders:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), *n, *c, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/orders:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, n, clients, rounds int) error {
	ownerURL, appURL := os.Getenv("MESSINA_OWNER_DATABASE_URL"), os.Getenv("MESSINA_DATABASE_URL")
	if ownerURL == "" || appURL == "" {
		return errors.New("MESSINA_OWNER_DATABASE_URL and MESSINA_DATABASE_URL are not set: run under go run ./cmd/devenv -- go run ./bench/orders")
	}
	if _, err := migrations.Up(ctx, ownerURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	owner, err := pgpool.Open(ctx, ownerURL, "bench-orders-setup")
	if err != nil {
		return fmt.Errorf("owner database: %w", err)
	}
	defer owner.Close()
	// The baseline's table: the same database, written by the same role.
	if _, err := owner.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS bench;
		CREATE TABLE IF NOT EXISTS bench.baseline_order (
			id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			customer_id uuid NOT NULL,
			body jsonb NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now());
		GRANT USAGE ON SCHEMA bench TO messina_app;
		GRANT INSERT, SELECT ON bench.baseline_order TO messina_app`); err != nil {
		return fmt.Errorf("baseline table: %w", err)
	}
	// Equal pools, one per target, as many connections as clients.
	ours, err := openPool(ctx, appURL, "bench-orders-api", clients)
	if err != nil {
		return err
	}
	defer ours.Close()
	base, err := openPool(ctx, appURL, "bench-orders-baseline", clients)
	if err != nil {
		return err
	}
	defer base.Close()

	in, body, token, err := seed(ctx, ours)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	apiSrv := httptest.NewServer(api.New(api.Config{
		Logger: slog.New(slog.DiscardHandler), Pool: ours,
		// The per-token rate limit would measure itself, not the server.
		RateLimit: 1e9, RateBurst: 1 << 30,
	}))
	defer apiSrv.Close()
	baseSrv := httptest.NewServer(baseline(base))
	defer baseSrv.Close()
	// For the diagnosis only: the service without the API, to tell the
	// API's own cost from the domain's. It has its own equal pool.
	direct, err := openPool(ctx, appURL, "bench-orders-service", clients)
	if err != nil {
		return err
	}
	defer direct.Close()
	svcSrv := httptest.NewServer(serviceOnly(direct, in))
	defer svcSrv.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 30 * time.Second}
	targets := []target{
		{name: "baseline", url: baseSrv.URL + "/orders"},
		{name: "ours", url: apiSrv.URL + "/v1/orders", token: token},
		{name: "service", url: svcSrv.URL + "/orders"},
	}
	for _, tg := range targets {
		if _, err := load(ctx, client, tg, body, n/10, clients); err != nil {
			return fmt.Errorf("warm-up %s: %w", tg.name, err)
		}
	}
	best := map[string]result{}
	for r := range rounds {
		got := map[string]result{}
		for _, tg := range targets {
			res, err := load(ctx, client, tg, body, n, clients)
			if err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			got[tg.name] = res
			if res.rps > best[tg.name].rps {
				best[tg.name] = res
			}
		}
		fmt.Printf("round %d: ours %.0f req/s p99 %s, baseline %.0f req/s p99 %s, ratio %.2f; service alone %.0f req/s\n", r+1,
			got["ours"].rps, ms(got["ours"].p99), got["baseline"].rps, ms(got["baseline"].p99), got["ours"].rps/got["baseline"].rps, got["service"].rps)
	}
	o, b, sv := best["ours"], best["baseline"], best["service"]
	fmt.Printf("service alone: orders.Service.CreateOrder behind the same loopback HTTP, no API: %.0f req/s, p99 %s (ours / service = %.2f: the API's own share)\n",
		sv.rps, ms(sv.p99), o.rps/sv.rps)
	fmt.Printf("ours: POST /v1/orders (5 lines), %d requests x %d rounds, %d clients: %.0f req/s, p50 %s, p99 %s\n", n, rounds, clients, o.rps, ms(o.p50), ms(o.p99))
	fmt.Printf("baseline: gorilla/mux + one INSERT, same body and database: %.0f req/s, p50 %s, p99 %s\n", b.rps, ms(b.p50), ms(b.p99))
	fmt.Printf("ratio of the best round of each; p99 ours %s, baseline %s\n", ms(o.p99), ms(b.p99))
	fmt.Printf("orders create: ours / baseline = %.2f\n", o.rps/b.rps)
	return nil
}

func openPool(ctx context.Context, url, name string, size int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = int32(size), int32(size)
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	pgpool.Configure(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s pool: %w", name, err)
	}
	return pool, nil
}

// seed makes, through the order service, what an order needs: a site with
// rules, a legal entity, a customer and five priced products (fresh names
// each run, so a durable database can be reused), and an API token. It
// returns the request body and the token.
func seed(ctx context.Context, pool *pgxpool.Pool) (orders.OrderInput, []byte, string, error) {
	var in orders.OrderInput
	body, token, err := seedData(ctx, pool, &in)
	return in, body, token, err
}

func seedData(ctx context.Context, pool *pgxpool.Pool, order *orders.OrderInput) ([]byte, string, error) {
	ctx = auth.WithPrincipal(ctx, auth.System("bench-orders"))
	svc := orders.New(pool, nil)
	if _, err := svc.CreateSite(ctx, orders.Site{ID: "BENCH", Name: "Benchmark", Country: "GB", Currency: "GBP", Timezone: "Europe/London"}); err != nil && orders.ErrorCode(err) != orders.CodeAlreadyExists {
		return nil, "", err
	}
	rules := orders.SiteRules{SiteID: "BENCH", EffectiveFrom: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), BillingTiming: "advance",
		Proration: "daily", DefaultRenewalMonths: 12, NoticeDays: 30, CancellationPolicy: "end_of_term",
		InvoiceNumberFormat: "{prefix}-{yyyy}-{seq:6}", TaxRate: decimal.RequireFromString("0.2"), Rounding: "half_up",
		RoundingScale: 2, Currency: "GBP", Timezone: "Europe/London",
		ApprovalAmountThreshold: decimal.NewFromInt(10000), ApprovalMinMarginPct: decimal.NewFromInt(20)}
	if _, err := svc.SetSiteRules(ctx, rules); err != nil && !errors.Is(err, orders.ErrConflict) {
		return nil, "", err
	}
	run := strings.ToUpper(strings.ReplaceAll(uuid.NewString(), "-", ""))[:8]
	le, err := svc.CreateLegalEntity(ctx, orders.LegalEntityInput{SiteID: "BENCH", Name: "Bench " + run, VATID: "GB" + run, InvoicePrefix: run})
	if err != nil {
		return nil, "", err
	}
	cu, err := svc.CreateCustomer(ctx, orders.CustomerInput{SiteID: "BENCH", Name: "Customer " + run, Currency: "GBP", Language: "en", Timezone: "Europe/London", PaymentTermsDays: 30})
	if err != nil {
		return nil, "", err
	}
	book, err := svc.CreatePriceBook(ctx, orders.PriceBookInput{SiteID: "BENCH", Name: "Standard " + run, Currency: "GBP", CustomerID: &cu.ID})
	if err != nil {
		return nil, "", err
	}
	std, err := svc.ListPriceBooks(ctx, "BENCH", nil)
	if err != nil {
		return nil, "", err
	}
	var stdBook *orders.PriceBook
	for i := range std {
		if std[i].CustomerID == nil && std[i].Currency == "GBP" {
			stdBook = &std[i]
		}
	}
	if stdBook == nil {
		b, err := svc.CreatePriceBook(ctx, orders.PriceBookInput{SiteID: "BENCH", Name: "Standard", Currency: "GBP"})
		if err != nil {
			return nil, "", err
		}
		stdBook = &b
	}
	var lines []map[string]any
	for i := range 5 {
		in := orders.ProductInput{SKU: fmt.Sprintf("B%s-%d", run, i), Name: fmt.Sprintf("Product %d", i), Kind: orders.OneOff}
		if i%2 == 0 {
			in.Kind, in.BillingFrequency, in.DefaultTermMonths = orders.Recurring, orders.Monthly, 12
		}
		p, err := svc.CreateProduct(ctx, in)
		if err != nil {
			return nil, "", err
		}
		price := decimal.NewFromInt(int64(50 + 10*i))
		if _, err := svc.AddPrice(ctx, orders.PriceInput{PriceBookID: stdBook.ID, ProductID: p.ID, EffectiveFrom: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			UnitPrice: price, UnitCost: decimal.NewNullDecimal(price.Mul(decimal.RequireFromString("0.6")))}); err != nil {
			return nil, "", err
		}
		line := map[string]any{"product_id": p.ID, "quantity": fmt.Sprint(i + 1)}
		li := orders.LineInput{ProductID: p.ID, Quantity: decimal.NewFromInt(int64(i + 1))}
		if i == 1 {
			// One negotiated price, so the lookup of customer overrides runs.
			if _, err := svc.AddPrice(ctx, orders.PriceInput{PriceBookID: book.ID, ProductID: p.ID, EffectiveFrom: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), UnitPrice: price.Sub(decimal.NewFromInt(5))}); err != nil {
				return nil, "", err
			}
		}
		if i == 4 {
			line["unit_price"], line["discount_pct"] = "42.50", "5"
			li.UnitPrice, li.DiscountPct = decimal.NewNullDecimal(decimal.RequireFromString("42.50")), decimal.NewFromInt(5)
		}
		lines = append(lines, line)
		order.Lines = append(order.Lines, li)
	}
	_, secret, err := auth.NewTokens(pool).Create(ctx, auth.NewTokenInput{Name: "bench " + run, Role: auth.RoleAPI, Sites: []string{"BENCH"}})
	if err != nil {
		return nil, "", fmt.Errorf("token: %w", err)
	}
	order.CustomerID, order.LegalEntityID, order.Salesperson, order.PONumber = cu.ID, le.ID, "bench", "PO-"+run
	body, err := json.Marshal(map[string]any{"customer_id": cu.ID, "legal_entity_id": le.ID, "salesperson": "bench", "po_number": "PO-" + run, "lines": lines})
	return body, secret, err
}

// baseline is the minimal handler: decode the body, one INSERT, answer 201
// with the new id.
func baseline(pool *pgxpool.Pool) http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/orders", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			CustomerID uuid.UUID         `json:"customer_id"`
			Lines      []json.RawMessage `json:"lines"`
		}
		raw, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(raw, &in)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var id int64
		if err := pool.QueryRow(r.Context(), `INSERT INTO bench.baseline_order (customer_id, body) VALUES ($1, $2) RETURNING id`, in.CustomerID, raw).Scan(&id); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]int64{"id": id})
	}).Methods(http.MethodPost)
	return r
}

// serviceOnly creates the order through orders.Service directly, as an
// api token limited to the site would, without the API around it.
func serviceOnly(pool *pgxpool.Pool, in orders.OrderInput) http.Handler {
	svc := orders.New(pool, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		ctx := auth.WithPrincipal(r.Context(), auth.Principal{Actor: "token:bench", Role: auth.RoleAPI, Sites: []string{"BENCH"}})
		if _, err := svc.CreateOrder(ctx, in); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
}

type target struct {
	name, url, token string
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// load sends n POSTs from `clients` goroutines and measures them; any
// answer but 201 fails the run.
func load(ctx context.Context, client *http.Client, tg target, body []byte, n, clients int) (result, error) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, tg.url, bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				if tg.token != "" {
					req.Header.Set("Authorization", "Bearer "+tg.token)
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				lat[i] = time.Since(t0)
				if res.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("status %d: %s", res.StatusCode, b)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return result{}, err
	}
	slices.Sort(lat)
	return result{rps: float64(n) / elapsed.Seconds(), p50: lat[n/2], p99: lat[(n*99)/100]}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
