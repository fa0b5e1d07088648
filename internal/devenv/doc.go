// Package devenv starts and stops the throwaway PostgreSQL cluster and MinIO
// server that `make run`, `make test` and the benchmarks use. It installs
// PostgreSQL's Debian packages when the binaries are missing and we are root,
// builds MinIO at a pinned version with `go install`, and stops exactly the
// processes it started. Fault tests use it to start instances of their own.
//
// It is development tooling: nothing in the product imports it.
package devenv
