package orders

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/queries"
)

//go:embed seed.sql
var seedSQL string

// SeedOptions sizes the demo data set. Zero values take the defaults.
type SeedOptions struct {
	Customers int   // default 2000
	Orders    int   // default 5000
	Rand      int64 // random seed; the same seed gives the same choices; default 1
	Logger    *slog.Logger
}

// SeedResult says what Seed did.
type SeedResult struct {
	// Skipped is true when the database already had sites: Seed only fills
	// an empty database.
	Skipped                                   bool
	Sites, Customers, Products, Orders, Lines int
	Took                                      time.Duration
}

// Seed fills an empty database with a realistic demo data set: 7 sites
// (UK, FR, DE, PT, ES, NL, US) with different and changing rules, legal
// entities, a catalogue of 20 products, standard price books with a price
// rise, negotiated prices for some customers, and customers and orders
// spread over two years in every status, walked through the lifecycle by
// the database's own triggers. It runs as one set-based SQL script in one
// transaction (all or nothing) as the principal "system:seed", and does
// nothing when any site exists.
func Seed(ctx context.Context, pool *pgxpool.Pool, opt SeedOptions) (SeedResult, error) {
	if opt.Customers <= 0 {
		opt.Customers = 2000
	}
	if opt.Orders <= 0 {
		opt.Orders = 5000
	}
	if opt.Rand == 0 {
		opt.Rand = 1
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// setseed takes a number in [-1, 1].
	r := strconv.FormatFloat(float64(opt.Rand%1_000_000)/1_000_000, 'f', 6, 64)
	start := time.Now()
	var res SeedResult
	ctx = auth.WithPrincipal(ctx, auth.System("seed"))
	err := auth.InTx(ctx, pool, func(tx pgx.Tx) error {
		// Serializes concurrent seeders, so "if empty" holds until commit.
		q := queries.New(tx)
		if err := q.SeedLock(ctx); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		exists, err := q.AnySite(ctx)
		if err != nil {
			return fmt.Errorf("check for data: %w", err)
		}
		if exists {
			res.Skipped = true
			return nil
		}
		if _, err := tx.Exec(ctx,
			"SELECT set_config('messina.seed_customers', $1, true), set_config('messina.seed_orders', $2, true), set_config('messina.seed_random', $3, true)",
			strconv.Itoa(opt.Customers), strconv.Itoa(opt.Orders), r); err != nil {
			return fmt.Errorf("seed settings: %w", err)
		}
		// No arguments: pgx sends the script with the simple protocol, which
		// runs all its statements.
		if _, err := tx.Exec(ctx, seedSQL); err != nil {
			return fmt.Errorf("seed script: %w", err)
		}
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM core.site), (SELECT count(*) FROM core.customer),
			(SELECT count(*) FROM core.product), (SELECT count(*) FROM orders."order"), (SELECT count(*) FROM orders.order_line)`).
			Scan(&res.Sites, &res.Customers, &res.Products, &res.Orders, &res.Lines)
	})
	res.Took = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	if res.Skipped {
		log.InfoContext(ctx, "seed skipped: the database has data")
	} else {
		log.InfoContext(ctx, "seeded demo data", "sites", res.Sites, "customers", res.Customers, "products", res.Products,
			"orders", res.Orders, "lines", res.Lines, "took", res.Took)
	}
	return res, nil
}
