// Package backup makes and restores consistent, verifiable backups of a
// whole Messina system: the PostgreSQL database (pg_dump's custom format)
// and the document blobs its revisions reference, in one directory that an
// operator can copy, check and restore.
//
// # Layout
//
//	DIR/blobs/sha256/ab/cd/<64 hex>     blob content, shared by all backups
//	DIR/<UTC time>/database.dump        pg_dump -Fc
//	DIR/<UTC time>/manifest.json        written last; see Manifest
//	DIR/.lock                           shared by backups, exclusive for Prune
//
// Blob files are named by their SHA-256 (filestore.ContentKey), so a
// second backup into the same DIR copies only blobs that are new since
// the previous one. Every file is written to a temporary name, fsynced and
// renamed, so a crash leaves no half-written file under a final name. A
// backup directory without manifest.json is incomplete (failed or still
// running) and restore refuses it.
//
// Prune expires backups: it keeps the newest complete ones, removes the
// others and every blob file no kept manifest lists, under the exclusive
// lock that keeps it from running beside a backup.
//
// # Consistency
//
// Create opens a REPEATABLE READ transaction as the schema owner, exports
// its snapshot and runs pg_dump --snapshot on it; the list of blobs is read
// in the same transaction, so it is exactly the set the dump references.
// The blobs are copied after the dump. Revisions are append-only and GC
// never deletes a referenced blob, so every blob of the list is still in
// the store then; each is verified against its SHA-256 while it is copied.
// Memory stays bounded whatever the blob sizes (everything streams); the
// list of blobs is held in memory, a few hundred bytes a blob (Create and
// Restore both).
//
// # Restore
//
// Restore verifies the manifest, the dump's SHA-256 and every blob file's
// size before it writes anything; it needs an empty database (created by
// the operator, owned by the backup's owner role, with the application
// role messina_app existing). It uploads every blob under its content key
// (verified on the way; blobs already there with the right size are
// skipped), runs pg_restore in a single transaction (all or nothing),
// then in one transaction removes blob rows and upload pins no revision
// needs, points every blob row at its content key and refreshes the
// audit's table metadata (audit.refresh_all). With a superuser connection
// it installs the audit's event triggers. Finally it verifies the audit
// seal chain (audit.Verify), that the chain ends at the seal the backup
// recorded, and that every revision's blob is in the store. Errors are
// *RestoreError values that say what state the restore left.
//
// SQL lives in queries/sql/backup.sql. The package runs pg_dump and
// pg_restore (PostgreSQL's client programs) and passes them the password
// in their environment, never on a command line. It must not import
// net/http or api/, and it does not read the environment: cmd does.
package backup
