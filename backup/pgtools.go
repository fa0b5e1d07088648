package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pgTools finds and runs PostgreSQL's client programs (pg_dump,
// pg_restore) for one database.
type pgTools struct {
	binDir string
	// conn is the database URL without its password; password goes to the
	// programs in PGPASSWORD, so it never shows in a process listing.
	conn     string
	password string
	appName  string
}

func newPGTools(binDir, databaseURL, appName string) (*pgTools, error) {
	t := &pgTools{binDir: binDir, appName: appName}
	if databaseURL != "" {
		var err error
		if t.conn, t.password, err = libpqTarget(databaseURL); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// path returns the program's path: in binDir when set, else on PATH.
func (t *pgTools) path(name string) (string, error) {
	if t.binDir != "" {
		p := filepath.Join(t.binDir, name)
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("%s not found in %s (MESSINA_PG_BINDIR)", name, t.binDir)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH: install PostgreSQL's client programs (Debian: postgresql-client) or set MESSINA_PG_BINDIR", name)
	}
	return p, nil
}

// version returns the program's version line and major version.
func (t *pgTools) version(ctx context.Context, name string) (string, int, error) {
	p, err := t.path(name)
	if err != nil {
		return "", 0, err
	}
	out, err := exec.CommandContext(ctx, p, "--version").Output()
	if err != nil {
		return "", 0, fmt.Errorf("%s --version: %w", name, err)
	}
	line := strings.TrimSpace(string(out))
	// "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
	f := strings.Fields(line)
	if len(f) < 3 {
		return line, 0, fmt.Errorf("%s --version: unexpected answer %q", name, line)
	}
	digits := strings.FieldsFunc(f[2], func(r rune) bool { return r < '0' || r > '9' })
	if len(digits) == 0 {
		return line, 0, fmt.Errorf("%s --version: unexpected answer %q", name, line)
	}
	major, _ := strconv.Atoi(digits[0])
	return line, major, nil
}

// run runs the program with args (the connection, when the program needs
// one, is the caller's business: t.conn), writing its standard output to
// stdout when not nil. A failure is one line made of the program's error
// messages.
func (t *pgTools) run(ctx context.Context, name string, args []string, stdout io.Writer) error {
	p, err := t.path(name)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, p, args...)
	env := cmd.Environ()
	if t.password != "" {
		env = append(env, "PGPASSWORD="+t.password)
	}
	if t.appName != "" {
		env = append(env, "PGAPPNAME="+t.appName)
	}
	cmd.Env = env
	cmd.Stdout = stdout
	stderr := &tailBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w", name, ctxErr)
		}
		if msg := toolMessage(stderr.String()); msg != "" {
			return fmt.Errorf("%s", msg)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// toolMessage keeps the lines of a client program's stderr that say what
// went wrong, in one line.
func toolMessage(stderr string) string {
	var errs, all []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			continue
		}
		all = append(all, l)
		if strings.Contains(l, "error:") || strings.Contains(l, "FATAL:") || strings.Contains(l, "ERROR:") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 && len(all) > 0 {
		errs = all[len(all)-1:]
	}
	if len(errs) > 3 {
		errs = errs[:3]
	}
	return strings.Join(errs, "; ")
}

// tailBuffer keeps the first max bytes written to it: the first messages
// of a failing program say what went wrong.
type tailBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return b.buf.String() }

// pgxOnlyParams are parameters of pgx's connection URLs that libpq
// programs reject.
var pgxOnlyParams = map[string]bool{
	"statement_cache_capacity":   true,
	"description_cache_capacity": true,
	"default_query_exec_mode":    true,
}

// libpqTarget splits a postgres:// URL into the URL without password (and
// without pgx's own parameters), for the programs' --dbname, and the
// password, for PGPASSWORD.
func libpqTarget(raw string) (conn, password string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", errors.New("not a postgres:// URL (pg_dump and pg_restore need one)")
	}
	if u.User != nil {
		password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if p := q.Get("password"); p != "" {
		password = p
	}
	q.Del("password")
	for k := range q {
		if pgxOnlyParams[k] || strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), password, nil
}
