package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
)

func runToken(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"token: want create, list or revoke"}
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:])
	case "list":
		return tokenList(ctx, args[1:])
	case "revoke":
		return tokenRevoke(ctx, args[1:])
	}
	return usageError{fmt.Sprintf("token: unknown subcommand %q (want create, list or revoke)", args[0])}
}

// cliContext attributes CLI changes to the operator's OS account.
func cliContext(ctx context.Context) context.Context {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return auth.WithPrincipal(ctx, auth.Principal{Actor: "cli:" + name, Role: auth.RoleAdmin})
}

func tokenCreate(ctx context.Context, args []string) error {
	var name, role, sites, expires string
	c, _, err := parseFlags("token create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "what the token is for (required)")
		fs.StringVar(&role, "role", "", "admin, staff, api or auditor (required)")
		fs.StringVar(&sites, "sites", "", "comma-separated site ids the token is limited to (default: all)")
		fs.StringVar(&expires, "expires", "", "lifetime such as 720h, or an RFC 3339 time (default: never)")
	})
	if err != nil {
		return err
	}
	in := auth.NewTokenInput{Name: name, Role: auth.Role(role)}
	if sites != "" {
		in.Sites = strings.Split(sites, ",")
	}
	if expires != "" {
		t, err := parseExpiry(expires, time.Now())
		if err != nil {
			return usageError{err.Error()}
		}
		in.ExpiresAt = &t
	}
	pool, err := c.openDB(ctx, "messina-cli")
	if err != nil {
		return err
	}
	defer pool.Close()
	tok, secret, err := auth.NewTokens(pool).Create(cliContext(ctx), in)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created token %s (%s, role %s); the secret below is shown only now:\n", tok.ID, tok.Name, tok.Role)
	fmt.Println(secret)
	return nil
}

func parseExpiry(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--expires must be in the future")
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--expires: %q is neither a duration (720h) nor an RFC 3339 time", v)
	}
	return t, nil
}

func tokenList(ctx context.Context, args []string) error {
	c, _, err := parseFlags("token list", args, nil)
	if err != nil {
		return err
	}
	pool, err := c.openDB(ctx, "messina-cli")
	if err != nil {
		return err
	}
	defer pool.Close()
	tokens := auth.NewTokens(pool)
	enc := json.NewEncoder(os.Stdout)
	var after *uuid.UUID
	for {
		page, err := tokens.List(cliContext(ctx), after, 500)
		if err != nil {
			return err
		}
		for _, t := range page {
			if err := enc.Encode(t); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = &page[len(page)-1].ID
	}
}

func tokenRevoke(ctx context.Context, args []string) error {
	c, fs, err := parseFlags("token revoke", args, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"token revoke: want exactly one token id"}
	}
	id, err := uuid.Parse(fs.Arg(0))
	if err != nil {
		return usageError{fmt.Sprintf("token revoke: %q is not a token id", fs.Arg(0))}
	}
	pool, err := c.openDB(ctx, "messina-cli")
	if err != nil {
		return err
	}
	defer pool.Close()
	tok, err := auth.NewTokens(pool).Revoke(cliContext(ctx), id)
	if err != nil {
		return err
	}
	fmt.Printf("revoked %s (%s) at %s\n", tok.ID, tok.Name, tok.RevokedAt.Format(time.RFC3339))
	return nil
}
