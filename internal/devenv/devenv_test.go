package devenv_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/internal/devenv"
)

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// The environment must stop exactly what it started and leave nothing
// running, and a second start on the same state must find its cluster.
func TestStartAndStopLeaveNothingRunning(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("MESSINA_MINIO_BIN")
	if bin == "" {
		t.Fatal("MESSINA_MINIO_BIN is not set: run the tests with `make test`")
	}
	ctx := context.Background()
	dir := t.TempDir()
	env, err := devenv.Start(ctx, devenv.Config{Dir: dir, BinDir: filepath.Dir(bin), Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(env.Postgres.DataDir) })
	pgPID, minioPID := pid(t, dir, "postgres.pid"), pid(t, dir, "minio.pid")
	if !alive(pgPID) || !alive(minioPID) {
		t.Fatal("services not running after Start")
	}
	conn, err := pgx.Connect(ctx, env.Postgres.AppURL)
	if err != nil {
		t.Fatalf("connect as the application role: %v", err)
	}
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != devenv.AppRole {
		t.Fatalf("current_user %q, %v", user, err)
	}
	conn.Close(ctx)
	mc, err := env.Minio.Client()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := mc.BucketExists(ctx, devenv.Bucket); err != nil || !ok {
		t.Fatalf("bucket: %v %v", ok, err)
	}
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(pgPID) || alive(minioPID) {
		t.Fatalf("still running after Stop: postgres %v, minio %v", alive(pgPID), alive(minioPID))
	}

	// A restart keeps the data and the credentials.
	again, err := devenv.Start(ctx, devenv.Config{Dir: dir, BinDir: filepath.Dir(bin), Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Stop()
	if again.Postgres.DataDir != env.Postgres.DataDir {
		t.Fatal("restart made a new cluster")
	}
	if again.BootstrapToken != env.BootstrapToken {
		t.Fatal("restart changed the bootstrap token")
	}
}

func pid(t *testing.T, dir, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, c := range b {
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
		}
	}
	return n
}
