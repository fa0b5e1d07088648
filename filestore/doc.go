// Package filestore holds the document store of design.md section 5:
// content-addressed blobs on a pluggable Store (S3 through minio-go, or a
// local disk), attachments owned by orders, contracts and invoices, their
// append-only revisions, streaming upload and verified download, diffs
// between revisions, and the maintenance that keeps blobs and objects in
// step (GC and scrub).
//
// The package speaks in domain types and typed errors (see Code); mapping
// them to HTTP is the api package's job, so this package must not import
// net/http or api/. SQL lives in queries/sql/files.sql and migrations.
package filestore
