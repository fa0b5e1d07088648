// Package filestore holds the document store of design.md section 5:
// content-addressed blobs on a pluggable Store (S3 through minio-go, or a
// local disk), attachments owned by orders, contracts and invoices, their
// append-only revisions, streaming upload and verified download, diffs
// between revisions, and the maintenance that keeps blobs and objects in
// step (GC and scrub).
//
// The package speaks in domain types and typed errors (see Code); mapping
// them to HTTP is the api package's job, so this package must not import
// net/http or api/. SQL lives in queries/sql/files.sql and
// migrations/00005_files.sql.
//
// # Blob lifecycle and the GC protocol
//
// A blob row (files.blob, keyed by SHA-256) says where the bytes are: at
// the content key sha256/ab/cd/<hex>, or at the unique key upload/<uuid>
// it was streamed to when the client sent no digest (object_key). The
// bytes are written once; nothing is copied afterwards.
//
//   - With a digest, an upload takes the content address's advisory lock
//     and pins the blob row (pinned_until) in one transaction, then streams
//     to the content key; the store makes the object visible only if the
//     bytes hash to the digest. A stored, sound blob is not written again:
//     the pin holds it until the revision references it.
//   - Without a digest, an upload pins its unique key (files.upload), then
//     streams while hashing.
//   - The revision is recorded in one transaction with the blob row
//     (upserted, row-locked), checking the pinned row or object is still
//     there.
//
// GC deletes an object only while holding the lock of the row that could
// own it (the blob row, the upload pin, or the content address's advisory
// lock when there is no row) and deletes the row in the same transaction,
// so it cannot remove bytes an upload is about to reference; the foreign
// key from revisions to blobs makes deleting a referenced row fail.
package filestore
