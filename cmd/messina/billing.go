package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/contracts"
)

// runRenew renews every contract whose term ends by --date and has no
// valid notice, inside PostgreSQL; running it twice changes nothing.
func runRenew(ctx context.Context, args []string) error {
	var date string
	c, _, err := parseFlags("renew", args, func(fs *flag.FlagSet) {
		fs.StringVar(&date, "date", time.Now().Format(time.DateOnly), "renew terms ending by this date (YYYY-MM-DD)")
	})
	if err != nil {
		return err
	}
	asOf, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return usageError{fmt.Sprintf("renew: --date %q is not YYYY-MM-DD", date)}
	}
	pool, err := c.openDB(ctx, "messina-renew")
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := contracts.New(pool, c.logger()).ProcessRenewals(cliContext(ctx), asOf)
	if err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	fmt.Printf("renewed %d contract terms ending by %s\n", n, date)
	return nil
}

// runInvoiceRun bills a site up to --date: with --preview it prints what
// would be invoiced and leaves no trace; otherwise it plans, prepares,
// approves and posts the run, numbering the invoices.
func runInvoiceRun(ctx context.Context, args []string) error {
	var site, date string
	var preview bool
	c, _, err := parseFlags("invoice-run", args, func(fs *flag.FlagSet) {
		fs.StringVar(&site, "site", "", "site to bill (required)")
		fs.StringVar(&date, "date", time.Now().Format(time.DateOnly), "bill what is due up to this date (YYYY-MM-DD)")
		fs.BoolVar(&preview, "preview", false, "show the invoices without writing anything")
	})
	if err != nil {
		return err
	}
	if site == "" {
		return usageError{"invoice-run: --site is required"}
	}
	runDate, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return usageError{fmt.Sprintf("invoice-run: --date %q is not YYYY-MM-DD", date)}
	}
	pool, err := c.openDB(ctx, "messina-invoice-run")
	if err != nil {
		return err
	}
	defer pool.Close()
	svc := contracts.New(pool, c.logger())
	ctx = cliContext(ctx)
	run, err := svc.PlanRun(ctx, site, runDate)
	if err != nil {
		return fmt.Errorf("invoice-run: %w", err)
	}
	if preview {
		invoices, err := svc.PreviewRun(ctx, run.ID)
		if err != nil {
			return fmt.Errorf("invoice-run: %w", err)
		}
		if _, err := svc.DiscardRun(ctx, run.ID); err != nil {
			return fmt.Errorf("invoice-run: discard the preview's run: %w", err)
		}
		for _, inv := range invoices {
			fmt.Printf("customer %s  %s net %s tax %s gross %s\n", inv.CustomerID, inv.Currency, inv.Net, inv.Tax, inv.Total)
		}
		fmt.Printf("preview: %d invoices for %s up to %s; nothing written\n", len(invoices), site, date)
		return nil
	}
	for _, step := range []func(context.Context, uuid.UUID) (contracts.Run, error){svc.PrepareRun, svc.ApproveRun, svc.PostRun} {
		if run, err = step(ctx, run.ID); err != nil {
			return fmt.Errorf("invoice-run %s: %w", run.ID, err)
		}
	}
	fmt.Printf("posted run %s: %d invoices, %d lines for %s up to %s\n", run.ID, run.InvoiceCount, run.LineCount, site, date)
	return nil
}
