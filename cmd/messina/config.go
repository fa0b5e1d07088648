package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/internal/pgpool"
)

// config is everything the commands read from the environment; flags of the
// same meaning override it.
type config struct {
	DatabaseURL      string
	OwnerDatabaseURL string
	SuperDatabaseURL string
	BlobURL          string
	Listen           string
	MaxUploadBytes   int64
	BootstrapToken   string
	LogLevel         string
	RateLimit        float64
	SecureCookies    bool
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// envFloat reads a number from the environment; a malformed one becomes
// NaN, which the validation after parsing refuses with the setting's name.
func envFloat(name string, def float64) float64 {
	v := envOr(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// parseFlags registers the flags that mirror the environment, plus extra
// ones a command adds, and parses args.
func parseFlags(name string, args []string, extra func(fs *flag.FlagSet)) (*config, *flag.FlagSet, error) {
	c := &config{}
	fs := flag.NewFlagSet("messina "+name, flag.ContinueOnError)
	fs.StringVar(&c.DatabaseURL, "database-url", envOr("MESSINA_DATABASE_URL", ""), "PostgreSQL URL of the application role (MESSINA_DATABASE_URL)")
	fs.StringVar(&c.OwnerDatabaseURL, "owner-database-url", envOr("MESSINA_OWNER_DATABASE_URL", ""), "PostgreSQL URL of the schema owner, for migrations (MESSINA_OWNER_DATABASE_URL; default: the database URL)")
	fs.StringVar(&c.SuperDatabaseURL, "super-database-url", envOr("MESSINA_SUPER_DATABASE_URL", ""), "PostgreSQL superuser URL, used by migrate and restore only to install the audit's event triggers (MESSINA_SUPER_DATABASE_URL; optional)")
	fs.StringVar(&c.BlobURL, "blob-url", envOr("MESSINA_BLOB_URL", ""), "blob store: s3://bucket?endpoint=host:port&secure=false&region=… or file:///path (MESSINA_BLOB_URL)")
	fs.StringVar(&c.Listen, "listen", envOr("MESSINA_LISTEN", "127.0.0.1:8080"), "address to listen on (MESSINA_LISTEN)")
	fs.StringVar(&c.BootstrapToken, "bootstrap-token", envOr("MESSINA_BOOTSTRAP_TOKEN", ""), "admin token accepted at start (MESSINA_BOOTSTRAP_TOKEN)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("MESSINA_LOG_LEVEL", "info"), "debug, info, warn or error (MESSINA_LOG_LEVEL)")
	maxUpload := envOr("MESSINA_MAX_UPLOAD_BYTES", "1073741824")
	fs.StringVar(&maxUpload, "max-upload-bytes", maxUpload, "largest accepted upload in bytes (MESSINA_MAX_UPLOAD_BYTES)")
	secureCookies := envOr("MESSINA_SECURE_COOKIES", "false")
	fs.StringVar(&secureCookies, "secure-cookies", secureCookies, "true: mark the web UI's session cookie Secure on every request, behind a TLS-terminating proxy (MESSINA_SECURE_COOKIES)")
	fs.Float64Var(&c.RateLimit, "rate-limit", envFloat("MESSINA_RATE_LIMIT", 100), "requests per second per token, burst twice that (MESSINA_RATE_LIMIT)")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, usageError{err.Error()}
	}
	n, err := strconv.ParseInt(maxUpload, 10, 64)
	if err != nil || n < 1 {
		return nil, nil, fmt.Errorf("MESSINA_MAX_UPLOAD_BYTES: %q is not a positive number of bytes", maxUpload)
	}
	c.MaxUploadBytes = n
	if c.SecureCookies, err = strconv.ParseBool(secureCookies); err != nil {
		return nil, nil, fmt.Errorf("MESSINA_SECURE_COOKIES: %q is not true or false", secureCookies)
	}
	if !(c.RateLimit > 0) {
		return nil, nil, fmt.Errorf("MESSINA_RATE_LIMIT: must be a positive number of requests per second")
	}
	if c.OwnerDatabaseURL == "" {
		c.OwnerDatabaseURL = c.DatabaseURL
	}
	return c, fs, nil
}

func (c *config) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// openDB connects to the application database; the error names the setting.
func (c *config) openDB(ctx context.Context, app string) (*pgxpool.Pool, error) {
	return openPool(ctx, "MESSINA_DATABASE_URL", c.DatabaseURL, app)
}

// ownerSetting names the setting the owner URL came from.
func (c *config) ownerSetting() string {
	if c.OwnerDatabaseURL == c.DatabaseURL {
		return "MESSINA_DATABASE_URL"
	}
	return "MESSINA_OWNER_DATABASE_URL"
}

func openPool(ctx context.Context, setting, url, app string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, fmt.Errorf("%s is not set", setting)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	pool, err := pgpool.Open(ctx, url, app)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", setting, oneLine(err))
	}
	return pool, nil
}

// oneLine keeps an error message to one line for the terminal.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
