package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

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
	r, err := jobs.New(jobs.Config{Pool: db.App, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(stopCtx)
	})
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
