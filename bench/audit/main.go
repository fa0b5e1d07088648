// Command audit benchmarks the audit trigger against the same workload
// without it, on one cluster in one run (design.md section 4 budget):
// single-row UPDATE and INSERT throughput with pgbench (durable commits,
// runs alternated so drift hits both sides), bytes of log per update of a
// pgbench row, and a 100k-row bulk UPDATE. Baseline: the same statements
// on the same tables with auditing disabled. It prints lines like
//
//	audit update: ours / no-trigger = 0.97
//
// Run it under devenv without -fast:
//
//	go run ./cmd/devenv -bin .bin -temp -- go run ./bench/audit
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/migrations"
)

type config struct {
	ownerURL string // bench database, as the schema owner
	superURL string // same database as superuser, for CHECKPOINT
	pgbench  string
	duration time.Duration
	rounds   int
	clients  int
	scale    int
	sections map[string]bool
}

func main() {
	cfg := config{}
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each pgbench run")
	flag.IntVar(&cfg.rounds, "rounds", 3, "alternated runs per side")
	flag.IntVar(&cfg.clients, "clients", 4, "pgbench clients")
	flag.IntVar(&cfg.scale, "scale", 1, "pgbench scale (100k accounts each)")
	sections := flag.String("sections", "update,insert,floor,bytes,bulk", "what to measure")
	flag.Parse()
	cfg.sections = map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		cfg.sections[strings.TrimSpace(s)] = true
	}
	if err := run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/audit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	owner := os.Getenv("MESSINA_OWNER_DATABASE_URL")
	bindir := os.Getenv("MESSINA_PG_BINDIR")
	if owner == "" || bindir == "" {
		return fmt.Errorf("MESSINA_OWNER_DATABASE_URL and MESSINA_PG_BINDIR must be set (run under cmd/devenv)")
	}
	cfg.pgbench = filepath.Join(bindir, "pgbench")
	dbName := fmt.Sprintf("bench_audit_%d", time.Now().UnixNano())
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		return err
	}
	if fsync != "on" {
		fmt.Println("warning: fsync is off; single-row ratios are not measured with durable commits")
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		return fmt.Errorf("create bench database: %w", err)
	}
	defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
	u, err := url.Parse(owner)
	if err != nil {
		return err
	}
	u.Path = "/" + dbName
	cfg.ownerURL = u.String()
	if super := os.Getenv("MESSINA_SUPER_DATABASE_URL"); super != "" {
		su, err := url.Parse(super)
		if err != nil {
			return err
		}
		su.Path = "/" + dbName
		cfg.superURL = su.String()
	}
	if _, err := migrations.Up(ctx, cfg.ownerURL); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, cfg.pgbench, "-i", "-q", "-s", strconv.Itoa(cfg.scale), cfg.ownerURL).CombinedOutput(); err != nil {
		return fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	db, err := pgx.Connect(ctx, cfg.ownerURL)
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE TABLE public.bench_insert (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, aid integer NOT NULL, delta integer NOT NULL,
		mtime timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-audit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	update := filepath.Join(dir, "update.sql")
	insert := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(update, []byte(`\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
`), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(insert, []byte(`\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
INSERT INTO bench_insert (aid, delta) VALUES (:aid, :delta);
`), 0o644); err != nil {
		return err
	}
	fmt.Printf("pgbench: scale %d, %d clients, %s per run, %d alternated runs per side, fsync=%s\n",
		cfg.scale, cfg.clients, cfg.duration, cfg.rounds, fsync)

	for _, w := range []struct{ name, table, script string }{
		{"update", "public.pgbench_accounts", update},
		{"insert", "public.bench_insert", insert},
	} {
		if !cfg.sections[w.name] {
			continue
		}
		base, ours, err := alternate(ctx, db, cfg, w.table, w.script)
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		fmt.Printf("audit %s: no-trigger tps %s, ours %s\n", w.name, fmtList(base), fmtList(ours))
		fmt.Printf("audit %s: ours / no-trigger = %.2f (median of per-round ratios %.2f)\n",
			w.name, median(ours)/median(base), median(ratios(ours, base)))
	}

	if cfg.sections["floor"] {
		if err := floor(ctx, db, cfg, update); err != nil {
			return err
		}
	}
	if cfg.sections["bytes"] {
		if err := logBytes(ctx, db, cfg, update); err != nil {
			return err
		}
	}
	if cfg.sections["bulk"] {
		return bulk(ctx, db, cfg)
	}
	return nil
}

// alternate runs the script with auditing off and on, in turns, and
// returns the tps of each side.
func alternate(ctx context.Context, db *pgx.Conn, cfg config, table, script string) (base, ours []float64, err error) {
	for i := 0; i < cfg.rounds; i++ {
		for _, audited := range order(i) {
			if err := setAudit(ctx, db, table, audited, "row"); err != nil {
				return nil, nil, err
			}
			if err := settle(ctx, db, cfg, table); err != nil {
				return nil, nil, err
			}
			tps, err := pgbench(ctx, cfg, script)
			if err != nil {
				return nil, nil, err
			}
			if audited {
				ours = append(ours, tps)
			} else {
				base = append(base, tps)
			}
		}
	}
	return base, ours, setAudit(ctx, db, table, false, "")
}

// order alternates which side runs first, so a trend over time (bloat,
// other load on the machine) does not favor one side.
func order(round int) []bool {
	if round%2 == 0 {
		return []bool{false, true}
	}
	return []bool{true, false}
}

// settle vacuums the table and checkpoints (when a superuser URL is
// known), so each run starts from the same state and no run pays for the
// previous run's dirty pages.
func settle(ctx context.Context, db *pgx.Conn, cfg config, table string) error {
	if _, err := db.Exec(ctx, "VACUUM "+table); err != nil {
		return err
	}
	if cfg.superURL == "" {
		return nil
	}
	c, err := pgx.Connect(ctx, cfg.superURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CHECKPOINT")
	return err
}

func setAudit(ctx context.Context, db *pgx.Conn, table string, on bool, mode string) error {
	if !on {
		_, err := db.Exec(ctx, "SELECT audit.disable($1::regclass)::text", table)
		return err
	}
	_, err := db.Exec(ctx, "SELECT audit.enable($1::regclass, '{}', $2)::text", table, mode)
	return err
}

func ratios(ours, base []float64) []float64 {
	r := make([]float64, len(ours))
	for i := range ours {
		r[i] = ours[i] / base[i]
	}
	return r
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func pgbench(ctx context.Context, cfg config, script string) (float64, error) {
	out, err := exec.CommandContext(ctx, cfg.pgbench, "-n", "-M", "prepared",
		"-c", strconv.Itoa(cfg.clients), "-j", "2", "-T", strconv.Itoa(int(cfg.duration.Seconds())),
		"-s", strconv.Itoa(cfg.scale), "-f", script, cfg.ownerURL).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no tps in pgbench output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// floor measures, as a reference, the cheapest possible PL/pgSQL audit
// trigger on the same single-row UPDATE: a row trigger that inserts one
// constant row into an unindexed, unpartitioned table. No trigger written
// in PL/pgSQL that logs each row can beat this ratio on this machine.
func floor(ctx context.Context, db *pgx.Conn, cfg config, script string) error {
	for _, sql := range []string{
		`CREATE TABLE public.bench_floor (x integer)`,
		`CREATE FUNCTION public.bench_floor() RETURNS trigger LANGUAGE plpgsql AS
		 $$BEGIN INSERT INTO public.bench_floor VALUES (1); RETURN NULL; END$$`,
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			return err
		}
	}
	var base, ours []float64
	for i := 0; i < cfg.rounds; i++ {
		for _, on := range order(i) {
			sql := `DROP TRIGGER IF EXISTS bench_floor ON public.pgbench_accounts`
			if on {
				sql = `CREATE OR REPLACE TRIGGER bench_floor AFTER UPDATE ON public.pgbench_accounts FOR EACH ROW EXECUTE FUNCTION public.bench_floor()`
			}
			if _, err := db.Exec(ctx, sql); err != nil {
				return err
			}
			if err := settle(ctx, db, cfg, "public.pgbench_accounts"); err != nil {
				return err
			}
			tps, err := pgbench(ctx, cfg, script)
			if err != nil {
				return err
			}
			if on {
				ours = append(ours, tps)
			} else {
				base = append(base, tps)
			}
		}
	}
	if _, err := db.Exec(ctx, `DROP TRIGGER IF EXISTS bench_floor ON public.pgbench_accounts`); err != nil {
		return err
	}
	fmt.Printf("reference floor update (plpgsql trigger inserting a constant row, no index): no-trigger tps %s, floor %s\n",
		fmtList(base), fmtList(ours))
	fmt.Printf("reference floor update: floor / no-trigger = %.2f (median of per-round ratios %.2f)\n",
		median(ours)/median(base), median(ratios(ours, base)))
	return nil
}

// logBytes measures the growth of audit.log (heap and indexes, all
// partitions) per event during an audited pgbench update run.
func logBytes(ctx context.Context, db *pgx.Conn, cfg config, script string) error {
	const sizeSQL = `SELECT coalesce(sum(pg_relation_size(inhrelid)), 0)::bigint,
		coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint, (SELECT count(*) FROM audit.log)
		FROM pg_inherits WHERE inhparent = 'audit.log'::regclass`
	if err := setAudit(ctx, db, "public.pgbench_accounts", true, "row"); err != nil {
		return err
	}
	var heap0, total0, n0, heap1, total1, n1 int64
	if err := db.QueryRow(ctx, sizeSQL).Scan(&heap0, &total0, &n0); err != nil {
		return err
	}
	short := cfg
	short.duration = 5 * time.Second
	if _, err := pgbench(ctx, short, script); err != nil {
		return err
	}
	if err := db.QueryRow(ctx, sizeSQL).Scan(&heap1, &total1, &n1); err != nil {
		return err
	}
	if err := setAudit(ctx, db, "public.pgbench_accounts", false, ""); err != nil {
		return err
	}
	if n1 == n0 {
		return fmt.Errorf("no events logged")
	}
	fmt.Printf("audit log bytes per update event: %.0f (heap %.0f, indexes %.0f; %d events)\n",
		float64(total1-total0)/float64(n1-n0), float64(heap1-heap0)/float64(n1-n0),
		float64((total1-heap1)-(total0-heap0))/float64(n1-n0), n1-n0)
	return nil
}

// bulk times one UPDATE of 100k pgbench rows without auditing and with
// each audit mode, in turns, each after a VACUUM and CHECKPOINT so all
// sides start from the same state.
func bulk(ctx context.Context, db *pgx.Conn, cfg config) error {
	const rows = 100000
	modes := []string{"", "row", "statement"} // "" = no trigger
	rates := map[string][]float64{}
	for i := 0; i < cfg.rounds; i++ {
		for j := range modes {
			mode := modes[(i+j)%len(modes)]
			if err := setAudit(ctx, db, "public.pgbench_accounts", mode != "", mode); err != nil {
				return err
			}
			if err := settle(ctx, db, cfg, "public.pgbench_accounts"); err != nil {
				return err
			}
			start := time.Now()
			tag, err := db.Exec(ctx, "UPDATE public.pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $1", rows)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != rows {
				return fmt.Errorf("bulk update touched %d rows", tag.RowsAffected())
			}
			rates[mode] = append(rates[mode], float64(rows)/time.Since(start).Seconds())
		}
	}
	if err := setAudit(ctx, db, "public.pgbench_accounts", false, ""); err != nil {
		return err
	}
	fmt.Printf("audit bulk update 100k: no-trigger rows/s %s, row mode %s, statement mode %s\n",
		fmtList(rates[""]), fmtList(rates["row"]), fmtList(rates["statement"]))
	fmt.Printf("audit bulk update 100k (row mode): ours / no-trigger = %.2f\n", median(rates["row"])/median(rates[""]))
	fmt.Printf("audit bulk update 100k (statement mode): ours / no-trigger = %.2f\n", median(rates["statement"])/median(rates[""]))
	return nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtList(xs []float64) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += strconv.FormatFloat(x, 'f', 0, 64)
	}
	return out
}
