package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/messina-oms/messina/internal/pgtest"
)

const token = "msn_e2e-bootstrap-token-0123456789abcdef"

// chromiumPath returns Debian's chromium, installed by install-chromium.sh
// when missing; the test skips only when it cannot be installed.
func chromiumPath(t *testing.T) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("./install-chromium.sh")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		t.Skipf("e2e: skipped, chromium cannot be installed: %s", strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		t.Fatalf("install-chromium.sh: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// nodeModules installs the pinned playwright-core when it is missing.
func nodeModules(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("node_modules/playwright-core/package.json"); err == nil {
		return
	}
	out, err := exec.Command("npm", "ci", "--no-audit", "--no-fund").CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci (node and npm are needed for the browser test): %v\n%s", err, out)
	}
}

// run runs a command with a deadline and fails the test with its output.
// A nil env inherits the test's environment; otherwise the command gets
// env plus PATH and HOME only, so that no setting of the test's own
// environment (devenv's database URLs) reaches it by accident.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = os.Environ()
	if env != nil {
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// serve builds and starts `messina serve` on its own database and blob
// prefix, with a little demo data, and returns its base URL.
func serve(t *testing.T, db *pgtest.DB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "messina")
	run(t, nil, "go", "build", "-o", bin, "../cmd/messina")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := []string{
		"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_OWNER_DATABASE_URL=" + db.OwnerURL,
		"MESSINA_BLOB_URL=" + os.Getenv("MESSINA_BLOB_URL") + "&prefix=" + db.Name + "/",
		"AWS_ACCESS_KEY_ID=" + os.Getenv("AWS_ACCESS_KEY_ID"), "AWS_SECRET_ACCESS_KEY=" + os.Getenv("AWS_SECRET_ACCESS_KEY"),
		"MESSINA_LISTEN=" + addr, "MESSINA_BOOTSTRAP_TOKEN=" + token, "MESSINA_JOBS=false",
	}
	run(t, env, bin, "seed", "--customers", "3", "--orders", "3")
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("messina serve:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("messina serve not ready in 30s:\n%s", logs.String())
		}
	}
}

func TestBrowserSignsInOpensAnOrderAndUploadsAFile(t *testing.T) {
	chromium := chromiumPath(t)
	nodeModules(t)
	db := pgtest.New(t)
	base := serve(t, db)
	var orderID, number string
	if err := db.Owner.QueryRow(context.Background(), `SELECT id::text, number FROM orders."order" ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&orderID, &number); err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(t.TempDir(), "smoke.txt")
	if err := os.WriteFile(upload, []byte("uploaded by a real browser\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run(t, []string{"BASE_URL=" + base, "TOKEN=" + token, "ORDER_NUMBER=" + number, "CHROMIUM=" + chromium, "UPLOAD_FILE=" + upload},
		"node", "smoke.mjs")
	t.Log(strings.TrimSpace(out))

	// What the browser did is in the database, attributed to its sign-in.
	var n int
	if err := db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM files.revision r JOIN files.attachment a ON a.id = r.attachment_id
		WHERE a.owner_id = $1 AND r.filename = 'smoke.txt' AND r.comment = 'from the browser' AND r.created_by = 'bootstrap'`, orderID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("the browser's upload is not stored as revision of order %s (%d rows)", number, n)
	}
}
