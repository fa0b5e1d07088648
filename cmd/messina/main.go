// Command messina is Messina's single binary: the API server and the
// operator's commands. It reads flags and the environment, builds a config
// and calls the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand.
type command struct {
	name, usage string
	run         func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "serve the API (migrates first when MESSINA_OWNER_DATABASE_URL is set)", runServe},
		{"migrate", "apply pending database migrations", runMigrate},
		{"seed", "fill an empty database with demo data: seed [--if-empty] [--customers N] [--orders N]", runSeed},
		{"token", "manage API tokens: token create|list|revoke", runToken},
		{"audit", "audit verify: recompute the seal chain, exit 1 naming the first bad row; audit seal: seal now", runAudit},
		{"renew", "renew contracts whose term ends by --date (inside PostgreSQL; idempotent)", runRenew},
		{"invoice-run", "bill a site up to --date: invoice-run --site UK [--date D] [--preview]", runInvoiceRun},
		{"gc", "delete unreferenced blobs and orphan objects older than --grace", runGC},
		{"scrub", "re-hash stored blobs; exit 1 when any is missing or corrupt", runScrub},
		{"backup", "back up the database and its blobs: backup --dir DIR (into DIR/<UTC time>, blobs shared in DIR/blobs)", runBackup},
		{"restore", "restore a backup into an empty database: restore --dir DIR/<time> [--resume]; restore --check verifies only", runRestore},
		{"prune-backups", "remove old (--keep N) and failed backups under --dir DIR and the blob files none of the rest needs [--dry-run]", runPruneBackups},
		{"healthcheck", "probe a URL (default the local /readyz); exit 1 unless 200", runHealthcheck},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:]); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, "messina:", u.msg)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "messina:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: messina <command> [flags]\n\ncommands:")
		for _, c := range commands() {
			fmt.Fprintf(os.Stderr, "  %-14s %s\n", c.name, c.usage)
		}
		if len(args) == 0 {
			return usageError{"no command given"}
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:])
		}
	}
	return usageError{fmt.Sprintf("unknown command %q (see messina help)", args[0])}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
