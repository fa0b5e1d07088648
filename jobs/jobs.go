// Package jobs runs Messina's background work on a River queue in the same
// PostgreSQL: periodic maintenance (expired idempotency keys, audit
// partitions, blob GC and scrub, contract renewals, the MRR view's
// refresh) and whatever the API enqueues. The queue's
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

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/contracts"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/kpi"
	"github.com/messina-oms/messina/queries"
)

// Config is what the runner needs.
type Config struct {
	Logger *slog.Logger
	// Pool connects as the application role.
	Pool *pgxpool.Pool
	// Workers is how many jobs run at once.
	Workers int
	// Files, when set, gets periodic GC and scrub.
	Files *filestore.Service
	// GCGrace keeps unreferenced content younger than this (default 24h).
	GCGrace time.Duration
	// ScrubSample is how many blobs each daily scrub re-hashes (default 200).
	ScrubSample int
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
	if cfg.GCGrace == 0 {
		cfg.GCGrace = 24 * time.Hour
	}
	if cfg.ScrubSample == 0 {
		cfg.ScrubSample = 200
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &purgeIdempotencyWorker{pool: cfg.Pool})
	river.AddWorker(workers, &auditPartitionsWorker{pool: cfg.Pool})
	river.AddWorker(workers, &auditSealWorker{pool: cfg.Pool, log: cfg.Logger})
	river.AddWorker(workers, &renewalsWorker{contracts: contracts.New(cfg.Pool, cfg.Logger), log: cfg.Logger})
	river.AddWorker(workers, &mrrRefreshWorker{kpi: kpi.New(cfg.Pool, cfg.Logger), log: cfg.Logger})
	periodic := []*river.PeriodicJob{
		every(6*time.Hour, RenewalsArgs{}),
		every(time.Hour, MRRRefreshArgs{}),
		every(time.Hour, PurgeIdempotencyArgs{}),
		every(24*time.Hour, AuditPartitionsArgs{}),
		every(time.Hour, AuditSealArgs{}),
	}
	if cfg.Files != nil {
		river.AddWorker(workers, &gcWorker{files: cfg.Files, grace: cfg.GCGrace, log: cfg.Logger})
		river.AddWorker(workers, &scrubWorker{files: cfg.Files, sample: cfg.ScrubSample, log: cfg.Logger})
		periodic = append(periodic, every(time.Hour, GCArgs{}), every(24*time.Hour, ScrubArgs{}))
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		Logger:       cfg.Logger,
		Schema:       "river",
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:      workers,
		PeriodicJobs: periodic,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{client: client}, nil
}

// every schedules args at a fixed interval, and at start unless a job of
// the kind was already scheduled in the current period: a restart (a
// deploy) must neither skip a daily job when restarts come more often than
// a day, nor run the costly ones (scrub, GC, the MRR refresh) again each
// time. River elects one leader among the running instances to enqueue
// periodic jobs, so a fleet runs each once per interval.
func every(d time.Duration, args river.JobArgs) *river.PeriodicJob {
	opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: d}}
	return river.NewPeriodicJob(river.PeriodicInterval(d),
		func() (river.JobArgs, *river.InsertOpts) { return args, opts },
		&river.PeriodicJobOpts{RunOnStart: true})
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

// GCArgs deletes unreferenced blobs and orphan objects.
type GCArgs struct{}

// Kind names the job in the queue.
func (GCArgs) Kind() string { return "blob_gc" }

type gcWorker struct {
	river.WorkerDefaults[GCArgs]
	files *filestore.Service
	grace time.Duration
	log   *slog.Logger
}

func (w *gcWorker) Work(ctx context.Context, _ *river.Job[GCArgs]) error {
	rep, err := w.files.GC(auth.WithPrincipal(ctx, auth.System("gc")), w.grace)
	if err != nil {
		return fmt.Errorf("blob gc: %w", err)
	}
	w.log.InfoContext(ctx, "blob gc", "blobs_deleted", rep.BlobsDeleted, "orphans_deleted", rep.OrphansDeleted,
		"pins_expired", rep.PinsExpired, "stale_removed", rep.StaleRemoved)
	return nil
}

// ScrubArgs re-hashes a sample of stored blobs, least recently verified
// first, and marks what is missing or corrupt.
type ScrubArgs struct{}

// Kind names the job in the queue.
func (ScrubArgs) Kind() string { return "blob_scrub" }

type scrubWorker struct {
	river.WorkerDefaults[ScrubArgs]
	files  *filestore.Service
	sample int
	log    *slog.Logger
}

func (w *scrubWorker) Work(ctx context.Context, _ *river.Job[ScrubArgs]) error {
	rep, err := w.files.Scrub(auth.WithPrincipal(ctx, auth.System("scrub")), w.sample)
	if err != nil {
		return fmt.Errorf("blob scrub: %w", err)
	}
	if !rep.OK() {
		// Scrub has marked the blobs; an operator must act, so say it loudly.
		w.log.ErrorContext(ctx, "blob scrub found damage", "checked", rep.Checked, "missing", rep.Missing, "corrupt", rep.Corrupt)
		return nil
	}
	w.log.InfoContext(ctx, "blob scrub", "checked", rep.Checked, "bytes", rep.Bytes)
	return nil
}

// AuditPartitionsArgs creates the audit log's monthly partitions ahead of
// time (rows of a month without one land in the default partition).
type AuditPartitionsArgs struct{}

// Kind names the job in the queue.
func (AuditPartitionsArgs) Kind() string { return "audit_partitions" }

type auditPartitionsWorker struct {
	river.WorkerDefaults[AuditPartitionsArgs]
	pool *pgxpool.Pool
}

func (w *auditPartitionsWorker) Work(ctx context.Context, _ *river.Job[AuditPartitionsArgs]) error {
	if err := queries.New(w.pool).AuditCreatePartitions(ctx, 2); err != nil {
		return fmt.Errorf("create audit partitions: %w", err)
	}
	return nil
}

// AuditSealArgs seals the audit log rows written since the last seal into
// the hash chain that `messina audit verify` checks.
type AuditSealArgs struct{}

// Kind names the job in the queue.
func (AuditSealArgs) Kind() string { return "audit_seal" }

type auditSealWorker struct {
	river.WorkerDefaults[AuditSealArgs]
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Timeout bounds a seal: it waits for the transactions that were writing
// when it started, and one left idle must not hold a worker forever.
func (w *auditSealWorker) Timeout(*river.Job[AuditSealArgs]) time.Duration { return 10 * time.Minute }

func (w *auditSealWorker) Work(ctx context.Context, _ *river.Job[AuditSealArgs]) error {
	seals, err := audit.Seal(ctx, w.pool)
	if err != nil {
		return fmt.Errorf("seal audit log: %w", err)
	}
	if len(seals) > 0 {
		w.log.InfoContext(ctx, "audit log sealed", "seals", len(seals))
	}
	return nil
}

// RenewalsArgs renews the contracts whose term ends by today (in
// PostgreSQL, idempotent), so that invoice runs bill the renewed terms.
type RenewalsArgs struct{}

// Kind names the job in the queue.
func (RenewalsArgs) Kind() string { return "contract_renewals" }

type renewalsWorker struct {
	river.WorkerDefaults[RenewalsArgs]
	contracts *contracts.Service
	log       *slog.Logger
}

func (w *renewalsWorker) Work(ctx context.Context, _ *river.Job[RenewalsArgs]) error {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	n, err := w.contracts.ProcessRenewals(auth.WithPrincipal(ctx, auth.System("renewals")), today)
	if err != nil {
		return fmt.Errorf("contract renewals: %w", err)
	}
	if n > 0 {
		w.log.InfoContext(ctx, "contracts renewed", "terms", n)
	}
	return nil
}

// MRRRefreshArgs recomputes the materialized MRR view (kpi.refresh_mrr), so
// MRR reports show contract changes and the current month within an hour.
type MRRRefreshArgs struct{}

// Kind names the job in the queue.
func (MRRRefreshArgs) Kind() string { return "kpi_mrr_refresh" }

type mrrRefreshWorker struct {
	river.WorkerDefaults[MRRRefreshArgs]
	kpi *kpi.Service
	log *slog.Logger
}

// Timeout bounds a refresh: it recomputes every contract's months, which
// takes seconds for tens of thousands of contracts, and a stuck one must not
// hold a worker until the next.
func (w *mrrRefreshWorker) Timeout(*river.Job[MRRRefreshArgs]) time.Duration { return 30 * time.Minute }

func (w *mrrRefreshWorker) Work(ctx context.Context, _ *river.Job[MRRRefreshArgs]) error {
	at, err := w.kpi.RefreshMRR(auth.WithPrincipal(ctx, auth.System("kpi")))
	if err != nil {
		return fmt.Errorf("refresh mrr: %w", err)
	}
	w.log.InfoContext(ctx, "mrr refreshed", "as_of", at)
	return nil
}
