package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/pgtest"
	"github.com/messina-oms/messina/jobs"
)

func TestPeriodicPurgeRemovesOnlyExpiredIdempotencyKeys(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Owner.Exec(ctx, `INSERT INTO core.idempotency_key (token_id, key, method, path, request_hash, expires_at) VALUES
		(gen_random_uuid(), 'old', 'POST', '/v1/x', '\x00', now() - interval '1 hour'),
		(gen_random_uuid(), 'live', 'POST', '/v1/x', '\x00', now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	startRunner(t, jobs.Config{Pool: db.App})
	deadline := time.Now().Add(20 * time.Second)
	for {
		var keys []string
		rows, err := db.Owner.Query(ctx, "SELECT key FROM core.idempotency_key ORDER BY key")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			_ = rows.Scan(&k)
			keys = append(keys, k)
		}
		rows.Close()
		if len(keys) == 1 && keys[0] == "live" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s the keys are %v, want [live]", keys)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPeriodicGCRemovesOrphanObjects(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	store, err := filestore.OpenStore(ctx, os.Getenv("MESSINA_BLOB_URL")+"&prefix="+db.Name+"/", filestore.StoreConfig{
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filestore.New(filestore.Config{Pool: db.App, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	// An object no blob row owns: what a crashed upload leaves behind.
	const key = "sha256/00/00/0000000000000000000000000000000000000000000000000000000000000000"
	if _, err := store.Put(ctx, key, strings.NewReader("orphan"), 6, filestore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	startRunner(t, jobs.Config{Pool: db.App, Files: files, GCGrace: time.Nanosecond})
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := store.Stat(ctx, key)
		if errors.Is(err, filestore.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the orphan object is still there after 30s (stat: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startRunner works the queue until the test ends.
func startRunner(t *testing.T, cfg jobs.Config) *jobs.Runner {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := jobs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRunner(r) })
	return r
}

func stopRunner(r *jobs.Runner) {
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.Stop(stopCtx)
}

// A restart within a period schedules no second run of the periodic jobs:
// a deploy must not start another scrub, GC or MRR refresh each time.
func TestRestartDoesNotRepeatPeriodicJobs(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	kinds := func() map[string]int {
		t.Helper()
		rows, err := db.Owner.Query(ctx, "SELECT kind, count(*) FROM river.river_job GROUP BY kind")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] = n
		}
		return out
	}
	leader := func() string {
		var id string
		_ = db.Owner.QueryRow(ctx, "SELECT leader_id FROM river.river_leader").Scan(&id)
		return id
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after 30s: no %s", what)
			}
		}
	}

	first := startRunner(t, jobs.Config{Pool: db.App})
	waitFor("run at start of all five periodic jobs", func() bool { return len(kinds()) == 5 })
	firstLeader := leader()
	stopRunner(first)

	startRunner(t, jobs.Config{Pool: db.App})
	waitFor("new leader", func() bool { l := leader(); return l != "" && l != firstLeader })
	// The new leader's periodic enqueuer runs the start-up jobs right after
	// its election; give it ample time to (wrongly) insert them.
	time.Sleep(3 * time.Second)
	for kind, n := range kinds() {
		if n != 1 {
			t.Errorf("%d jobs of kind %s after a restart, want 1", n, kind)
		}
	}
}

func TestPeriodicSealCoversTheAuditLog(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	// Something to seal: an audited change.
	if _, err := db.Owner.Exec(ctx, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London')`); err != nil {
		t.Fatal(err)
	}
	startRunner(t, jobs.Config{Pool: db.App})
	deadline := time.Now().Add(30 * time.Second)
	for {
		rep, err := audit.Verify(ctx, db.App)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK && rep.UnsealedRows == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s the log is not sealed: %s", rep.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The MRR view is refreshed when the runner starts, then every hour.
func TestPeriodicRefreshRecomputesMRR(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	var migrated time.Time
	if err := db.Owner.QueryRow(ctx, "SELECT refreshed_at FROM kpi.refresh WHERE view_name = 'mrr_movement_all'").Scan(&migrated); err != nil {
		t.Fatal(err)
	}
	startRunner(t, jobs.Config{Pool: db.App})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var at time.Time
		if err := db.Owner.QueryRow(ctx, "SELECT refreshed_at FROM kpi.refresh WHERE view_name = 'mrr_movement_all'").Scan(&at); err != nil {
			t.Fatal(err)
		}
		if at.After(migrated) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s MRR is as of %s, when it was migrated", at)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
