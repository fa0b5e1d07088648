package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/messina-oms/messina/internal/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the messina command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "messina-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "messina")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runCLI runs messina with exactly env (plus PATH) and returns its exit
// code and outputs.
func runCLI(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestBadSettingsGiveOneClearLine(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	blob := "MESSINA_BLOB_URL=" + os.Getenv("MESSINA_BLOB_URL")
	keys := []string{"AWS_ACCESS_KEY_ID=" + os.Getenv("AWS_ACCESS_KEY_ID"), "AWS_SECRET_ACCESS_KEY=" + os.Getenv("AWS_SECRET_ACCESS_KEY")}
	cases := []struct {
		name    string
		env     []string
		setting string
	}{
		{"database unset", []string{blob}, "MESSINA_DATABASE_URL"},
		{"database not a url", []string{"MESSINA_DATABASE_URL=::nope", blob}, "MESSINA_DATABASE_URL"},
		{"database unreachable", []string{"MESSINA_DATABASE_URL=postgres://x:y@127.0.0.1:1/messina?connect_timeout=2", blob}, "MESSINA_DATABASE_URL"},
		{"database wrong password", []string{"MESSINA_DATABASE_URL=" + strings.Replace(db.AppURL, "messina_app:", "messina_app:wrong", 1), blob}, "MESSINA_DATABASE_URL"},
		{"owner unreachable", []string{"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_OWNER_DATABASE_URL=postgres://x:y@127.0.0.1:1/m", blob}, "MESSINA_OWNER_DATABASE_URL"},
		{"blob unset", []string{"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_MIGRATE=false"}, "MESSINA_BLOB_URL"},
		{"blob scheme", []string{"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_MIGRATE=false", "MESSINA_BLOB_URL=ftp://x"}, "MESSINA_BLOB_URL"},
		{"blob unreachable", append([]string{"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_MIGRATE=false", "MESSINA_BLOB_URL=s3://messina?endpoint=127.0.0.1:1&secure=false"}, keys...), "MESSINA_BLOB_URL"},
		{"secure cookies not a boolean", []string{"MESSINA_DATABASE_URL=" + db.AppURL, blob, "MESSINA_SECURE_COOKIES=yes please"}, "MESSINA_SECURE_COOKIES"},
		{"blob bucket missing", append([]string{"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_MIGRATE=false", strings.Replace(blob, "s3://messina", "s3://no-such-bucket", 1)}, keys...), "MESSINA_BLOB_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, append(tc.env, "MESSINA_LISTEN=127.0.0.1:0"), "serve")
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "messina: "+tc.setting) {
				t.Fatalf("want exit 1 and one line naming %s; got %d:\n%s", tc.setting, code, stderr)
			}
			if strings.Contains(stderr, ":y@") || strings.Contains(stderr, "wrong") {
				t.Fatalf("the error shows a password: %s", stderr)
			}
		})
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"frobnicate"}, {"token"}, {"token", "revoke", "not-a-uuid"}, {"serve", "--no-such-flag"}} {
		code, _, stderr := runCLI(t, nil, args...)
		if code != 2 || !strings.Contains(stderr, "messina") {
			t.Errorf("%v: want exit 2 with a message, got %d %q", args, code, stderr)
		}
	}
}

// serve starts `messina serve` on db and waits until /readyz answers 200.
func serve(t *testing.T, db *pgtest.DB) (addr string, cmd *exec.Cmd, stdout, stderr *lockedBuffer) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	cmd = exec.Command(binary(t), "serve")
	cmd.Env = []string{
		"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_OWNER_DATABASE_URL=" + db.OwnerURL,
		"MESSINA_BLOB_URL=" + os.Getenv("MESSINA_BLOB_URL") + "&prefix=" + db.Name + "/",
		"AWS_ACCESS_KEY_ID=" + os.Getenv("AWS_ACCESS_KEY_ID"), "AWS_SECRET_ACCESS_KEY=" + os.Getenv("AWS_SECRET_ACCESS_KEY"),
		"MESSINA_LISTEN=" + addr, "MESSINA_BOOTSTRAP_TOKEN=" + cliToken,
	}
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr, cmd, stdout, stderr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 30s\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const cliToken = "msn_cli-test-token-1234567890"

func waitExit(t *testing.T, cmd *exec.Cmd, stderr *lockedBuffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve did not exit cleanly: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
}

func TestServeAnswersReadyAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	addr, cmd, stdout, stderr := serve(t, db)
	if !strings.Contains(stdout.String(), "http://"+addr) {
		t.Errorf("the URL is not printed: %q", stdout.String())
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "messina_http_requests_total") {
		t.Error("/metrics lacks the request counter")
	}
	if strings.Contains(stderr.String(), cliToken) {
		t.Error("the bootstrap token appears in the logs")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd, stderr)
}

// SIGTERM while an upload streams in: the upload completes and is stored,
// then the server exits.
func TestSIGTERMLetsAnInFlightUploadFinish(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	if code, out, stderr := runCLI(t, []string{"MESSINA_DATABASE_URL=" + db.AppURL}, "seed", "--customers", "2", "--orders", "2"); code != 0 {
		t.Fatalf("seed: %s %s", out, stderr)
	}
	addr, cmd, _, stderr := serve(t, db)
	var orderID string
	if err := db.Owner.QueryRow(context.Background(), `SELECT id::text FROM orders."order" LIMIT 1`).Scan(&orderID); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/orders/"+orderID+"/attachments?filename=slow.txt", pr)
	req.Header.Set("Authorization", "Bearer "+cliToken)
	req.Header.Set("Content-Type", "text/plain")
	req.ContentLength = 20
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{status: resp.StatusCode}
	}()
	if _, err := pw.Write([]byte("first half")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the request is in the handler now
	_ = cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	if _, err := pw.Write([]byte("secondhalf")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-res
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("the in-flight upload: status %d, error %v\n%s", r.status, r.err, stderr.String())
	}
	waitExit(t, cmd, stderr)
	var n int
	if err := db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM files.revision WHERE filename = 'slow.txt' AND size = 20`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the upload was not stored: %d (%v)", n, err)
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSeedFillsOnceAndThenRefusesUnlessIfEmpty(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := []string{"MESSINA_DATABASE_URL=" + db.AppURL}
	code, out, stderr := runCLI(t, env, "seed", "--customers", "40", "--orders", "60")
	if code != 0 || !strings.Contains(out, "seeded 7 sites, 40 customers") {
		t.Fatalf("first seed: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, env, "seed"); code != 1 || !strings.Contains(stderr, "has data") {
		t.Fatalf("second seed without --if-empty: %d %q", code, stderr)
	}
	if code, out, _ := runCLI(t, env, "seed", "--if-empty"); code != 0 || !strings.Contains(out, "not seeding") {
		t.Fatalf("second seed with --if-empty: %d %q", code, out)
	}
}

func TestAuditVerifyNamesTheFirstTamperedRow(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Owner.Exec(ctx, `INSERT INTO core.site (id, name, country, currency, timezone) VALUES
		('UK', 'United Kingdom', 'GB', 'GBP', 'Europe/London'), ('FR', 'France', 'FR', 'EUR', 'Europe/Paris')`); err != nil {
		t.Fatal(err)
	}
	env := []string{"MESSINA_DATABASE_URL=" + db.AppURL}
	if code, out, stderr := runCLI(t, env, "audit", "seal"); code != 0 || !strings.Contains(out, "sealed") {
		t.Fatalf("seal: %d %q %q", code, out, stderr)
	}
	if code, out, _ := runCLI(t, env, "audit", "verify"); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("verify of an intact log: %d %q", code, out)
	}
	// The owner switches off the append-only guard and edits history.
	var id int64
	if err := db.Owner.QueryRow(ctx, `SELECT max(id) FROM audit.log`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var part string
	if err := db.Owner.QueryRow(ctx, `SELECT tableoid::regclass::text FROM audit.log WHERE id = $1`, id).Scan(&part); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Owner.Exec(ctx, `ALTER TABLE `+part+` DISABLE TRIGGER log_append_only`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Owner.Exec(ctx, `UPDATE audit.log SET actor = 'nobody' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, env, "audit", "verify")
	if code != 1 || !strings.Contains(out, fmt.Sprint(id)) {
		t.Fatalf("verify of a tampered log: want exit 1 naming row %d, got %d %q", id, code, out)
	}
}

func TestRenewAndInvoiceRunCommands(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := []string{"MESSINA_DATABASE_URL=" + db.AppURL}
	if code, _, _ := runCLI(t, env, "seed", "--customers", "3", "--orders", "3"); code != 0 {
		t.Fatal("seed failed")
	}
	for _, args := range [][]string{{"invoice-run"}, {"invoice-run", "--site", "UK", "--date", "31/12/2026"}, {"renew", "--date", "tomorrow"}} {
		if code, _, stderr := runCLI(t, env, args...); code != 2 || !strings.Contains(stderr, "messina:") {
			t.Errorf("%v: want a usage error (exit 2), got %d %q", args, code, stderr)
		}
	}
	if code, out, stderr := runCLI(t, env, "renew", "--date", "2026-12-31"); code != 0 || !strings.Contains(out, "renewed") {
		t.Fatalf("renew: %d %q %q", code, out, stderr)
	}
	if code, out, stderr := runCLI(t, env, "invoice-run", "--site", "UK", "--date", "2026-12-31", "--preview"); code != 0 || !strings.Contains(out, "nothing written") {
		t.Fatalf("preview: %d %q %q", code, out, stderr)
	}
	var invoices int
	if err := db.Owner.QueryRow(context.Background(), "SELECT count(*) FROM billing.invoice").Scan(&invoices); err != nil || invoices != 0 {
		t.Fatalf("a preview wrote %d invoices (%v)", invoices, err)
	}
	if code, out, stderr := runCLI(t, env, "invoice-run", "--site", "UK", "--date", "2026-12-31"); code != 0 || !strings.Contains(out, "posted run") {
		t.Fatalf("run: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, env, "invoice-run", "--site", "ZZ", "--date", "2026-12-31"); code != 1 || !strings.Contains(stderr, "invoice-run") {
		t.Fatalf("unknown site: %d %q", code, stderr)
	}
}
