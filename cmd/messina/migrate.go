package main

import (
	"context"
	"fmt"
	"time"

	"github.com/messina-oms/messina/migrations"
)

func runMigrate(ctx context.Context, args []string) error {
	c, _, err := parseFlags("migrate", args, nil)
	if err != nil {
		return err
	}
	return migrate(ctx, c, func(applied []string) {
		if len(applied) == 0 {
			fmt.Println("database is up to date")
		}
		for _, a := range applied {
			fmt.Println("applied", a)
		}
	})
}

// migrate applies pending migrations as the schema owner. goose holds a
// PostgreSQL advisory lock meanwhile, so concurrent starts take turns.
func migrate(ctx context.Context, c *config, report func([]string)) error {
	// Connect first, so that a wrong URL gives one clear line.
	pool, err := openPool(ctx, c.ownerSetting(), c.OwnerDatabaseURL, "messina-migrate")
	if err != nil {
		return err
	}
	pool.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	applied, err := migrations.Up(ctx, c.OwnerDatabaseURL)
	if report != nil {
		report(applied)
	}
	if err != nil {
		return fmt.Errorf("migrate: %s", oneLine(err))
	}
	return nil
}
