package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Env is a running PostgreSQL and MinIO pair.
type Env struct {
	Postgres *Postgres
	Minio    *Minio
	// BootstrapToken is an admin token for the server, kept with the state
	// so that it survives restarts of a persistent environment.
	BootstrapToken string

	temp bool
}

// Config says where the environment keeps its state.
type Config struct {
	// Dir holds data, logs and state files (for `make run`, .data/).
	Dir string
	// BinDir holds tools built on demand (MinIO).
	BinDir string
	// Fast runs PostgreSQL without durability, for tests.
	Fast bool
	// Temp removes the cluster's data when the environment stops or fails
	// to start (the cluster may live outside Dir; see postgresDataDir).
	Temp bool
	Log  func(format string, args ...any)
}

// Start brings up PostgreSQL and MinIO; on error nothing is left running.
func Start(ctx context.Context, cfg Config) (*Env, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	// Build MinIO before starting anything, so a slow first build does not
	// keep a cluster running idle and a failed one leaves nothing behind.
	if _, err := EnsureMinioBinary(ctx, cfg.BinDir, cfg.Log); err != nil {
		return nil, err
	}
	pg, err := StartPostgres(ctx, PostgresConfig{Dir: dir, Fast: cfg.Fast, Log: cfg.Log})
	if err != nil {
		if cfg.Temp {
			_ = os.RemoveAll(fallbackDataDir(dir))
		}
		return nil, fmt.Errorf("postgres: %w", err)
	}
	m, err := StartMinio(ctx, MinioConfig{BinDir: cfg.BinDir, Dir: dir, Log: cfg.Log})
	if err != nil {
		_ = pg.Stop()
		if cfg.Temp {
			_ = os.RemoveAll(pg.DataDir)
		}
		return nil, fmt.Errorf("minio: %w", err)
	}
	tokenPath := filepath.Join(dir, "bootstrap_token")
	token, err := os.ReadFile(tokenPath)
	if err != nil {
		token = []byte("msn_boot_" + randomSecret() + randomSecret())
		if err := os.WriteFile(tokenPath, token, 0o600); err != nil {
			env := &Env{Postgres: pg, Minio: m, temp: cfg.Temp}
			_ = env.Stop()
			return nil, err
		}
	}
	return &Env{Postgres: pg, Minio: m, BootstrapToken: string(token), temp: cfg.Temp}, nil
}

// Stop stops both services, and removes the cluster's data when the
// environment is temporary.
func (e *Env) Stop() error {
	err := errors.Join(e.Minio.Stop(), e.Postgres.Stop())
	if e.temp {
		err = errors.Join(err, os.RemoveAll(e.Postgres.DataDir))
	}
	return err
}

// Vars is the environment that points the service and the tests at e.
func (e *Env) Vars() []string {
	return []string{
		"MESSINA_DATABASE_URL=" + e.Postgres.AppURL,
		"MESSINA_OWNER_DATABASE_URL=" + e.Postgres.OwnerURL,
		"MESSINA_SUPER_DATABASE_URL=" + e.Postgres.SuperURL,
		"MESSINA_PG_BINDIR=" + e.Postgres.BinDir,
		"MESSINA_BLOB_URL=" + e.Minio.BlobURL(),
		"MESSINA_MINIO_BIN=" + e.Minio.Bin,
		"AWS_ACCESS_KEY_ID=" + e.Minio.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + e.Minio.SecretKey,
		"MESSINA_BOOTSTRAP_TOKEN=" + e.BootstrapToken,
	}
}
