package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/messina-oms/messina/migrations"
	"github.com/messina-oms/messina/queries"
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
	return installEventTriggers(ctx, c)
}

// installEventTriggers sets up the audit's DDL tracking, which only a
// superuser may do. Without them auditing still works, but DDL on an
// audited table makes its writes fail until audit.refresh(table) runs.
func installEventTriggers(ctx context.Context, c *config) error {
	if c.SuperDatabaseURL == "" {
		pool, err := openPool(ctx, c.ownerSetting(), c.OwnerDatabaseURL, "messina-migrate")
		if err != nil {
			return err
		}
		defer pool.Close()
		installed, err := queries.New(pool).AuditEventTriggersInstalled(ctx)
		if err != nil {
			return fmt.Errorf("migrate: look up event triggers: %s", oneLine(err))
		}
		if !installed {
			fmt.Fprintln(os.Stderr, "messina: warning: the audit's event triggers are not installed; set MESSINA_SUPER_DATABASE_URL for one migrate, or have a superuser run SELECT audit.install_event_triggers()")
		}
		return nil
	}
	pool, err := openPool(ctx, "MESSINA_SUPER_DATABASE_URL", c.SuperDatabaseURL, "messina-migrate")
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := queries.New(pool).AuditInstallEventTriggers(ctx); err != nil {
		return fmt.Errorf("MESSINA_SUPER_DATABASE_URL: install audit event triggers: %s", oneLine(err))
	}
	return nil
}
