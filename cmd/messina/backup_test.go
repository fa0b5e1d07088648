package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/messina-oms/messina/internal/pgtest"
)

// backupEnv is the environment of backup and restore for db, with a blob
// store prefix of its own.
func backupEnv(db *pgtest.DB, prefix string, extra ...string) []string {
	return append([]string{
		"MESSINA_DATABASE_URL=" + db.AppURL, "MESSINA_OWNER_DATABASE_URL=" + db.OwnerURL,
		"MESSINA_BLOB_URL=" + os.Getenv("MESSINA_BLOB_URL") + "&prefix=" + prefix + "/",
		"AWS_ACCESS_KEY_ID=" + os.Getenv("AWS_ACCESS_KEY_ID"), "AWS_SECRET_ACCESS_KEY=" + os.Getenv("AWS_SECRET_ACCESS_KEY"),
		"MESSINA_PG_BINDIR=" + os.Getenv("MESSINA_PG_BINDIR"),
	}, extra...)
}

func password(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := u.User.Password()
	return p
}

func prefixFor() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "clibackup-" + hex.EncodeToString(b)
}

// requireOneLine checks a failure: exit 1 and one line on stderr that
// contains every part.
func requireOneLine(t *testing.T, code int, stderr string, parts ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "messina: ") {
		t.Fatalf("want exit 1 and one line; got %d:\n%s", code, stderr)
	}
	for _, p := range parts {
		if !strings.Contains(lines[0], p) {
			t.Fatalf("the error does not say %q:\n%s", p, stderr)
		}
	}
}

func TestBackupAndRestoreThroughTheCommandLine(t *testing.T) {
	t.Parallel()
	src := pgtest.New(t)
	if code, out, stderr := runCLI(t, []string{"MESSINA_DATABASE_URL=" + src.AppURL}, "seed", "--customers", "2", "--orders", "3"); code != 0 {
		t.Fatalf("seed: %s %s", out, stderr)
	}
	root := t.TempDir()
	code, out, stderr := runCLI(t, backupEnv(src, prefixFor()), "backup", "--dir", root)
	if code != 0 || !strings.HasPrefix(out, "backup "+root+"/") || !strings.Contains(out, " complete: ") {
		t.Fatalf("backup: %d\n%s%s", code, out, stderr)
	}
	for _, secret := range []string{password(t, src.OwnerURL), os.Getenv("AWS_SECRET_ACCESS_KEY")} {
		if strings.Contains(out+stderr, secret) {
			t.Fatal("backup printed a secret")
		}
	}
	dir := strings.Fields(out)[1]

	if code, out, stderr := runCLI(t, nil, "restore", "--check", "--dir", dir, "--pg-bindir", os.Getenv("MESSINA_PG_BINDIR")); code != 0 || !strings.Contains(out, "is intact") {
		t.Fatalf("restore --check: %d\n%s%s", code, out, stderr)
	}

	dst := pgtest.Empty(t)
	env := backupEnv(dst, prefixFor(), "MESSINA_SUPER_DATABASE_URL="+dst.SuperURL)
	code, out, stderr = runCLI(t, env, "restore", "--dir", dir)
	if code != 0 || !strings.Contains(out, "verified: audit log OK") || stderr != "" {
		t.Fatalf("restore: %d\n%s%s", code, out, stderr)
	}
	var want, got int
	ctx := context.Background()
	if err := src.Owner.QueryRow(ctx, `SELECT count(*) FROM orders."order"`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if err := dst.Owner.QueryRow(ctx, `SELECT count(*) FROM orders."order"`).Scan(&got); err != nil || got != want || want == 0 {
		t.Fatalf("restored %d orders of %d (%v)", got, want, err)
	}
	if code, out, stderr := runCLI(t, []string{"MESSINA_DATABASE_URL=" + dst.AppURL}, "audit", "verify"); code != 0 {
		t.Fatalf("audit verify after restore: %d %s%s", code, out, stderr)
	}

	code, _, stderr = runCLI(t, env, "restore", "--dir", dir)
	requireOneLine(t, code, stderr, "restore failed: database "+dst.Name+" is not empty", "nothing was changed")

	code, _, stderr = runCLI(t, env, "restore", "--dir", root)
	requireOneLine(t, code, stderr, "incomplete backup", "no manifest.json")
}

func TestBackupWithoutPgDumpSaysSoInOneLine(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	root := t.TempDir()
	code, _, stderr := runCLI(t, backupEnv(db, prefixFor(), "MESSINA_PG_BINDIR=/nonexistent"), "backup", "--dir", root)
	requireOneLine(t, code, stderr, "pg_dump not found in /nonexistent")
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("a failed backup left %v", entries)
	}
}

func TestBackupAsTheApplicationRoleIsRefused(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := backupEnv(db, prefixFor())
	for i, v := range env {
		if strings.HasPrefix(v, "MESSINA_OWNER_DATABASE_URL=") {
			env = append(env[:i:i], env[i+1:]...)
			break
		}
	}
	code, _, stderr := runCLI(t, env, "backup", "--dir", t.TempDir())
	requireOneLine(t, code, stderr, "connected as messina_app", "MESSINA_OWNER_DATABASE_URL")
}

func TestBackupAndRestoreUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "b")
	for _, args := range [][]string{
		{"backup"},
		{"backup", "--dir", dir, "extra"},
		{"backup", "--dir", dir, "--concurrency", "0"},
		{"restore"},
		{"restore", "--check", "--resume", "--dir", dir},
		{"prune-backups"},
		{"prune-backups", "--dir", dir, "--keep", "-1"},
		{"prune-backups", "--dir", dir, "extra"},
	} {
		code, _, stderr := runCLI(t, nil, args...)
		if code != 2 || !strings.HasPrefix(stderr, "messina") {
			t.Errorf("%v: want exit 2 with a message, got %d %q", args, code, stderr)
		}
	}
}

func TestPruneBackupsThroughTheCommandLine(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	root := t.TempDir()
	var dirs []string
	for i := 0; i < 2; i++ {
		code, out, stderr := runCLI(t, backupEnv(db, prefixFor()), "backup", "--dir", root)
		if code != 0 {
			t.Fatalf("backup: %d\n%s%s", code, out, stderr)
		}
		dirs = append(dirs, strings.Fields(out)[1])
	}

	code, out, stderr := runCLI(t, nil, "prune-backups", "--dir", root, "--keep", "1", "--dry-run")
	if code != 0 || !strings.Contains(out, "would remove backup "+dirs[0]+"\n") || !strings.Contains(out, "1 complete backups kept") {
		t.Fatalf("prune-backups --dry-run: %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(dirs[0]); err != nil {
		t.Fatalf("the dry run removed %s: %v", dirs[0], err)
	}
	code, out, stderr = runCLI(t, nil, "prune-backups", "--dir", root, "--keep", "1")
	if code != 0 || !strings.Contains(out, "removed backup "+dirs[0]+"\n") {
		t.Fatalf("prune-backups: %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Fatalf("%s is still there: %v", dirs[0], err)
	}
	if code, out, stderr := runCLI(t, nil, "restore", "--check", "--dir", dirs[1], "--pg-bindir", os.Getenv("MESSINA_PG_BINDIR")); code != 0 || !strings.Contains(out, "is intact") {
		t.Fatalf("the kept backup: restore --check: %d\n%s%s", code, out, stderr)
	}

	// A manifest it cannot read: one line, exit 1, nothing removed.
	if err := os.WriteFile(filepath.Join(dirs[1], "manifest.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, nil, "prune-backups", "--dir", root)
	requireOneLine(t, code, stderr, "nothing removed", dirs[1])
}
