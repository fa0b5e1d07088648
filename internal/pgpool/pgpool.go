// Package pgpool opens Messina's PostgreSQL connection pools, with the
// types Messina uses (numeric as shopspring/decimal) registered on every
// connection, so that the server, the CLI and the tests connect alike.
package pgpool

import (
	"context"
	"fmt"
	"strings"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open parses url, connects and pings. The error says which of the three
// failed; it never contains the password.
func Open(ctx context.Context, url, applicationName string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("invalid: %w", err)
	}
	if applicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = applicationName
	}
	// pgxpool's default (4 on a small machine) starves a server whose
	// requests each hold a connection briefly; pool_max_conns in the URL
	// still wins.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 16
	}
	Configure(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("invalid: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to %s:%d as %s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.User, err)
	}
	return pool, nil
}

// Configure makes every connection of a pool built from cfg register
// shopspring/decimal for numeric, so money travels in binary and never
// through floats; an AfterConnect already set still runs first.
func Configure(cfg *pgxpool.Config) {
	prev := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if prev != nil {
			if err := prev(ctx, conn); err != nil {
				return err
			}
		}
		pgxdecimal.Register(conn.TypeMap())
		return nil
	}
}
