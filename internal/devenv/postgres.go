package devenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// MinPostgresMajor is the oldest PostgreSQL major version Messina supports.
const MinPostgresMajor = 15

// Role names created in every cluster. Migrations grant rights to AppRole by
// this name, so it is fixed.
const (
	OwnerRole = "messina_owner"
	AppRole   = "messina_app"
	Database  = "messina"
)

// Postgres is a running throwaway PostgreSQL cluster.
type Postgres struct {
	// BinDir holds initdb, postgres, pgbench and pg_dump of the running version.
	BinDir string
	// DataDir is the cluster's data directory.
	DataDir string
	Port    int
	// SuperURL connects as the cluster's superuser to the messina database.
	SuperURL string
	// OwnerURL connects as the role that owns the schema and runs migrations.
	OwnerURL string
	// AppURL connects as the application role, which has only granted rights.
	AppURL string

	proc *process
}

// PostgresConfig says where and how to run a cluster.
type PostgresConfig struct {
	// Dir is where the cluster's state goes; when the postgres OS user cannot
	// reach it, a directory it owns under the system temp dir is used instead.
	Dir string
	// Fast trades durability for speed (fsync off), for tests only.
	Fast bool
	// Port to listen on; 0 picks a free loopback port.
	Port int
	Log  func(format string, args ...any)
}

type pgState struct {
	Port          int    `json:"port"`
	DataDir       string `json:"data_dir"`
	SuperPassword string `json:"super_password"`
	OwnerPassword string `json:"owner_password"`
	AppPassword   string `json:"app_password"`
}

// StartPostgres installs PostgreSQL when its binaries are missing (as root,
// from Debian's packages), creates a cluster under cfg.Dir unless one is
// there, starts it on loopback and creates the Messina roles and database.
func StartPostgres(ctx context.Context, cfg PostgresConfig) (*Postgres, error) {
	binDir, err := ensurePostgresBinaries(ctx, cfg.Log)
	if err != nil {
		return nil, err
	}
	statePath := filepath.Join(cfg.Dir, "postgres.json")
	var st pgState
	if err := readJSON(statePath, &st); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if st.DataDir == "" || !fileExists(filepath.Join(st.DataDir, "PG_VERSION")) {
		dataDir, err := postgresDataDir(cfg.Dir)
		if err != nil {
			return nil, err
		}
		st = pgState{DataDir: dataDir, SuperPassword: randomSecret(), OwnerPassword: randomSecret(), AppPassword: randomSecret()}
		if err := initCluster(ctx, binDir, st); err != nil {
			return nil, err
		}
	}
	killStale(filepath.Join(cfg.Dir, "postgres.pid"))
	port, err := pickPort(cfg.Port, st.Port)
	if err != nil {
		return nil, err
	}
	st.Port = port
	if err := writeJSON(statePath, st); err != nil {
		return nil, err
	}

	args := []string{"-D", st.DataDir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=400", "-c", "shared_buffers=256MB"}
	if cfg.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logPath := filepath.Join(cfg.Dir, "postgres.log")
	proc, err := startProcess(filepath.Join(binDir, "postgres"), args, nil, logPath, postgresCredential())
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	_ = os.WriteFile(filepath.Join(cfg.Dir, "postgres.pid"), []byte(strconv.Itoa(proc.pid())), 0o644)

	pg := &Postgres{
		BinDir:   binDir,
		DataDir:  st.DataDir,
		Port:     port,
		SuperURL: pgURL("postgres", st.SuperPassword, port, Database),
		OwnerURL: pgURL(OwnerRole, st.OwnerPassword, port, Database),
		AppURL:   pgURL(AppRole, st.AppPassword, port, Database),
		proc:     proc,
	}
	if err := pg.waitReady(ctx, st); err != nil {
		_ = pg.Stop()
		return nil, fmt.Errorf("%w\n%s", err, tail(logPath, 20))
	}
	return pg, nil
}

// Stop shuts the cluster down (fast shutdown) and waits for it to exit.
func (pg *Postgres) Stop() error {
	if pg.proc == nil {
		return nil
	}
	return pg.proc.stop(syscall.SIGINT, 60*time.Second)
}

func (pg *Postgres) waitReady(ctx context.Context, st pgState) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	url := pgURL("postgres", st.SuperPassword, pg.Port, "postgres")
	var lastErr error
	for {
		if pg.proc.exited() {
			return fmt.Errorf("postgres exited during start-up")
		}
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			defer conn.Close(ctx)
			return bootstrapRoles(ctx, conn, st)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready after 60s: %w", lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// bootstrapRoles creates the owner and application roles and the database.
// It is idempotent so that a persistent cluster can be restarted.
func bootstrapRoles(ctx context.Context, conn *pgx.Conn, st pgState) error {
	roles := []struct{ name, password, attrs string }{
		{OwnerRole, st.OwnerPassword, "LOGIN CREATEDB"},
		{AppRole, st.AppPassword, "LOGIN"},
	}
	for _, r := range roles {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", r.name).Scan(&exists); err != nil {
			return fmt.Errorf("look up role %s: %w", r.name, err)
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		// Role names are constants and passwords are our own hex strings, so
		// formatting them into DDL (which takes no parameters) is safe.
		sql := fmt.Sprintf("%s ROLE %s %s PASSWORD '%s'", verb, pgx.Identifier{r.name}.Sanitize(), r.attrs, r.password)
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s role %s: %w", strings.ToLower(verb), r.name, err)
		}
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", Database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", Database, OwnerRole)); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	return nil
}

func initCluster(ctx context.Context, binDir string, st pgState) error {
	pwFile := st.DataDir + ".pw"
	if err := os.WriteFile(pwFile, []byte(st.SuperPassword+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwFile)
	if cred := postgresCredential(); cred != nil {
		if err := os.Chown(pwFile, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", st.DataDir, "-U", "postgres", "--pwfile", pwFile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: postgresCredential()}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// postgresDataDir picks a data directory the server's OS user can reach.
// initdb refuses to run as root, so as root the cluster runs as the postgres
// user, which often cannot traverse a repository under a private home.
func postgresDataDir(stateDir string) (string, error) {
	dir := filepath.Join(stateDir, "pgdata")
	cred := postgresCredential()
	if cred == nil {
		return dir, os.MkdirAll(filepath.Dir(dir), 0o755)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return "", err
	}
	if reachable(cred, dir) {
		return dir, nil
	}
	_ = os.Remove(dir)
	dir = fallbackDataDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, os.Chown(dir, int(cred.Uid), int(cred.Gid))
}

// fallbackDataDir is where the cluster of stateDir lives when the postgres
// user cannot reach stateDir.
func fallbackDataDir(stateDir string) string {
	sum := sha256.Sum256([]byte(stateDir))
	return filepath.Join(os.TempDir(), "messina-pg-"+hex.EncodeToString(sum[:6]))
}

func reachable(cred *syscall.Credential, dir string) bool {
	cmd := exec.Command("test", "-w", dir, "-a", "-x", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd.Run() == nil
}

// postgresCredential is the postgres OS user when we run as root, else nil.
func postgresCredential() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// ensurePostgresBinaries finds the newest installed PostgreSQL >= 15 and
// installs Debian's package when there is none and we are root.
func ensurePostgresBinaries(ctx context.Context, log func(string, ...any)) (string, error) {
	if dir := findPostgresBinaries(); dir != "" {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("PostgreSQL %d+ binaries not found: install Debian's postgresql package (or run as root and this installs it)", MinPostgresMajor)
	}
	logf(log, "installing PostgreSQL from Debian packages (apt-get)...")
	// The package would otherwise create and start a system-wide cluster
	// that nobody asked for.
	conf := "/etc/postgresql-common/createcluster.conf"
	if !fileExists(conf) {
		_ = os.MkdirAll(filepath.Dir(conf), 0o755)
		_ = os.WriteFile(conf, []byte("create_main_cluster = false\n"), 0o644)
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql", "postgresql-contrib"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w\n%s", args[0], err, out)
		}
	}
	if dir := findPostgresBinaries(); dir != "" {
		return dir, nil
	}
	return "", fmt.Errorf("PostgreSQL %d+ not found after installing it", MinPostgresMajor)
}

func findPostgresBinaries() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if pgMajor(d) >= MinPostgresMajor && fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "postgres")) {
			return d
		}
	}
	if p, err := exec.LookPath("pg_config"); err == nil {
		out, err := exec.Command(p, "--bindir").Output()
		if err == nil {
			d := strings.TrimSpace(string(out))
			ver, _ := exec.Command(p, "--version").Output()
			f := strings.Fields(string(ver))
			if len(f) >= 2 && fileExists(filepath.Join(d, "initdb")) {
				if major, _ := strconv.Atoi(strings.SplitN(f[1], ".", 2)[0]); major >= MinPostgresMajor {
					return d
				}
			}
		}
	}
	return ""
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func pgURL(user, password string, port int, db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", user, password, port, db)
}
