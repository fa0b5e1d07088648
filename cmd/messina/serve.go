package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/messina-oms/messina/api"
	"github.com/messina-oms/messina/jobs"
	"github.com/messina-oms/messina/web"
)

func runServe(ctx context.Context, args []string) error {
	start := time.Now()
	var doMigrate, runJobs bool
	c, _, err := parseFlags("serve", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&doMigrate, "migrate", envOr("MESSINA_MIGRATE", "true") == "true", "apply pending migrations at start (MESSINA_MIGRATE)")
		fs.BoolVar(&runJobs, "jobs", envOr("MESSINA_JOBS", "true") == "true", "work background jobs in this process (MESSINA_JOBS)")
	})
	if err != nil {
		return err
	}
	log := c.logger()
	if doMigrate {
		if err := migrate(ctx, c, func(applied []string) {
			for _, a := range applied {
				log.Info("migration applied", slog.String("file", a))
			}
		}); err != nil {
			return err
		}
	}
	files, pool, err := c.openFiles(ctx, "messina-serve")
	if err != nil {
		return err
	}
	defer pool.Close()

	if runJobs {
		runner, err := jobs.New(jobs.Config{Logger: log, Pool: pool, Files: files})
		if err != nil {
			return err
		}
		if err := runner.Start(ctx); err != nil {
			return err
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := runner.Stop(stopCtx); err != nil {
				log.Warn("stop jobs", slog.Any("error", err))
			}
		}()
	}

	srv := api.New(api.Config{
		Logger:         log,
		Pool:           pool,
		BootstrapToken: c.BootstrapToken,
		MaxUploadBytes: c.MaxUploadBytes,
		RateLimit:      c.RateLimit,
		RateBurst:      int(2 * c.RateLimit),
		Files:          files,
		Ready:          []api.Check{{Name: "blob_store", Fn: files.Store().Ping}},
	})
	ui, err := web.New(web.Config{
		Logger:         log,
		Pool:           pool,
		Files:          files,
		BootstrapToken: c.BootstrapToken,
		MaxUploadBytes: c.MaxUploadBytes,
		SecureCookies:  c.SecureCookies,
	})
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           mount(srv, ui),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("MESSINA_LISTEN: cannot listen on %s: %s", c.Listen, oneLine(err))
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	log.Info("serving", slog.String("url", url))
	fmt.Printf("Messina is ready at %s (serve started in %.1fs; /readyz answers 200 when PostgreSQL and the blob store do)\n", url, time.Since(start).Seconds())
	fmt.Printf("Web UI for staff and auditors: %s/ (sign in with an API token; the API stays under %s/v1)\n", url, url)
	if c.BootstrapToken != "" {
		fmt.Printf("Admin token (MESSINA_BOOTSTRAP_TOKEN): %s\n", c.BootstrapToken)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Let in-flight requests finish; uploads may take a while.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// mount serves the API under /v1 with its health and metrics endpoints,
// and the web UI at every other path. Paths reach each handler unchanged.
func mount(apiHandler, ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/v1", strings.HasPrefix(p, "/v1/"), p == "/healthz", p == "/readyz", p == "/metrics":
			apiHandler.ServeHTTP(w, r)
		default:
			ui.ServeHTTP(w, r)
		}
	})
}
