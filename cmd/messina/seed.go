package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/messina-oms/messina/orders"
)

// runSeed fills an empty database with the demo data set. Seed never
// touches a database that has sites, so `--if-empty` only changes whether
// that case is an error.
func runSeed(ctx context.Context, args []string) error {
	var customers, ordersN int
	var ifEmpty bool
	var seed int64
	c, _, err := parseFlags("seed", args, func(fs *flag.FlagSet) {
		fs.IntVar(&customers, "customers", 2000, "number of customers")
		fs.IntVar(&ordersN, "orders", 5000, "number of orders")
		fs.Int64Var(&seed, "rand", 1, "random seed (same seed, same data)")
		fs.BoolVar(&ifEmpty, "if-empty", false, "succeed without seeding when the database has data")
	})
	if err != nil {
		return err
	}
	if customers < 1 || ordersN < 0 {
		return usageError{"seed: --customers must be at least 1 and --orders at least 0"}
	}
	pool, err := c.openDB(ctx, "messina-seed")
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := orders.Seed(ctx, pool, orders.SeedOptions{Customers: customers, Orders: ordersN, Rand: seed, Logger: c.logger()})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if res.Skipped {
		if ifEmpty {
			fmt.Println("database has data: not seeding")
			return nil
		}
		return fmt.Errorf("seed: the database has data already (use --if-empty to accept that)")
	}
	fmt.Printf("seeded %d sites, %d customers, %d products, %d orders with %d lines in %s\n",
		res.Sites, res.Customers, res.Products, res.Orders, res.Lines, res.Took.Round(1e6))
	return nil
}
