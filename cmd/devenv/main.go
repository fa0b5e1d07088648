// Command devenv runs a command inside a throwaway Messina environment:
// PostgreSQL and MinIO are started, their settings exported to the command
// and both stopped when the command ends, fails or is interrupted.
//
//	devenv [-dir .data] [-temp] [-fast] -- command args...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/messina-oms/messina/internal/devenv"
)

func main() {
	os.Exit(run())
}

func run() int {
	dir := flag.String("dir", ".data", "state directory (kept between runs unless -temp)")
	temp := flag.Bool("temp", false, "use a fresh temporary state directory and remove it afterwards")
	fast := flag.Bool("fast", false, "run PostgreSQL without fsync (tests only)")
	binDir := flag.String("bin", ".bin", "directory for tools built on demand")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "devenv: usage: devenv [-dir D] [-temp] [-fast] -- command args...")
		return 2
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "devenv: "+format+"\n", a...) }

	// Signals are ours from here on: the command's exit, not the signal,
	// decides when the services stop.
	startSigs := make(chan os.Signal, 4)
	signal.Notify(startSigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)

	stateDir := *dir
	if *temp {
		d, err := os.MkdirTemp("", "messina-env-")
		if err != nil {
			logf("%v", err)
			return 1
		}
		stateDir = d
		defer os.RemoveAll(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if _, ok := <-startSigs; ok {
			cancel()
		}
	}()
	env, err := devenv.Start(ctx, devenv.Config{Dir: stateDir, BinDir: *binDir, Fast: *fast, Temp: *temp, Log: logf})
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			logf("stop: %v", err)
		}
	}()
	if ctx.Err() != nil {
		return 130
	}
	logf("PostgreSQL on 127.0.0.1:%d, MinIO on %s", env.Postgres.Port, env.Minio.Endpoint)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	signal.Stop(startSigs)
	close(startSigs)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env.Vars()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		logf("%v", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			// A terminal's Ctrl-C reaches the command too; a kill does not.
			_ = cmd.Process.Signal(sig)
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				if exit.ExitCode() < 0 {
					return 130
				}
				return exit.ExitCode()
			}
			if err != nil {
				logf("%v", err)
				return 1
			}
			return 0
		}
	}
}
