package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/messina-oms/messina/audit"
)

// errAuditTampered makes `audit verify` exit non-zero.
var errAuditTampered = errors.New("audit log verification failed")

func runAudit(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"audit: want verify or seal"}
	}
	c, _, err := parseFlags("audit "+args[0], args[1:], nil)
	if err != nil {
		return err
	}
	switch args[0] {
	case "verify", "seal":
	default:
		return usageError{fmt.Sprintf("audit: unknown subcommand %q (want verify or seal)", args[0])}
	}
	pool, err := c.openDB(ctx, "messina-audit")
	if err != nil {
		return err
	}
	defer pool.Close()
	if args[0] == "seal" {
		seals, err := audit.Seal(ctx, pool)
		if err != nil {
			return fmt.Errorf("audit seal: %w", err)
		}
		fmt.Printf("audit log sealed: %d new seals\n", len(seals))
		return nil
	}
	rep, err := audit.Verify(ctx, pool)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	fmt.Println(rep.String())
	if !rep.OK {
		return errAuditTampered
	}
	return nil
}
