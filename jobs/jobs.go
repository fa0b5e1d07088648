// Package jobs runs Messina's background work on a River queue in the same
// PostgreSQL: periodic maintenance (expired idempotency keys, audit
// partitions, blob GC and scrub) and whatever the API enqueues. The queue's
// tables live in the river schema, created by migrations.Up.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/messina-oms/messina/queries"
)

// Config is what the runner needs.
type Config struct {
	Logger *slog.Logger
	// Pool connects as the application role.
	Pool *pgxpool.Pool
	// Workers is how many jobs run at once.
	Workers int
}

// Runner works the queue and schedules the periodic jobs.
type Runner struct {
	client *river.Client[pgx.Tx]
}

// New builds a runner; Start begins working.
func New(cfg Config) (*Runner, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &purgeIdempotencyWorker{pool: cfg.Pool})
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		Logger:  cfg.Logger,
		Schema:  "river",
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return PurgeIdempotencyArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{client: client}, nil
}

// Start begins working jobs until Stop.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	return nil
}

// Stop lets running jobs finish, within ctx.
func (r *Runner) Stop(ctx context.Context) error {
	return r.client.Stop(ctx)
}

// PurgeIdempotencyArgs deletes expired Idempotency-Key records.
type PurgeIdempotencyArgs struct{}

// Kind names the job in the queue.
func (PurgeIdempotencyArgs) Kind() string { return "purge_idempotency_keys" }

type purgeIdempotencyWorker struct {
	river.WorkerDefaults[PurgeIdempotencyArgs]
	pool *pgxpool.Pool
}

func (w *purgeIdempotencyWorker) Work(ctx context.Context, _ *river.Job[PurgeIdempotencyArgs]) error {
	if _, err := queries.New(w.pool).IdempotencyPurge(ctx); err != nil {
		return fmt.Errorf("purge idempotency keys: %w", err)
	}
	return nil
}
