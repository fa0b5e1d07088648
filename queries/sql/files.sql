-- Filestore queries (design.md section 5). The GC protocol: uploads pin a
-- blob row (BlobPin) or an upload key (UploadPin) before writing an object;
-- GC locks a row (BlobLockForGC, BlobLockForOrphan, UploadLockForGC) before
-- deleting an object and deletes the row in the same transaction.

-- name: BlobAddressLock :exec
-- A transaction lock on a content address, held by GC while it decides
-- about and deletes an object at a content key, and taken by an upload
-- before it pins the blob row: row locks cannot serve when GC finds no
-- row, and without this an upload could pin and write the object between
-- GC's check and its delete. (Different sums may share a lock; that only
-- costs waiting.)
SELECT files.lock_address(@sha256::bytea);

-- name: BlobPin :one
-- Creates the row of a blob about to be written under its content key, or
-- extends the pin of an existing one. The upsert takes the row lock, so it
-- waits for a GC transaction deleting the row and then creates it anew.
-- It takes the content address's lock (see BlobAddressLock) first. Its
-- transaction commits without waiting for the WAL flush (see UploadPin).
WITH address AS (
    SELECT files.lock_address(@sha256::bytea),
           set_config('synchronous_commit', 'off', true)
)
INSERT INTO files.blob (sha256, pinned_until)
SELECT @sha256, now() + make_interval(secs => @pin_seconds::float8) FROM address
ON CONFLICT (sha256) DO UPDATE
    SET pinned_until = greatest(files.blob.pinned_until, EXCLUDED.pinned_until)
RETURNING *;

-- name: BlobUnpinFailed :execrows
-- Removes the row pinned by a failed upload, unless it was stored, re-pinned
-- by another upload, or replaced since.
DELETE FROM files.blob
WHERE sha256 = @sha256 AND gen = @gen AND NOT stored AND pinned_until = @pinned_until;

-- name: BlobMarkStored :one
-- Records that the blob's bytes are stored under object_key (NULL: the
-- content key). A blob already stored and not corrupt keeps its object;
-- the caller compares object_key to learn whether its own object is used.
-- It takes the content address's lock first, so GC cannot delete the
-- object at the content key between the caller's check and commit. With
-- unpin_key it also deletes that upload's pin, in the same round trip,
-- and writes and returns nothing when the pin is gone: GC took the pin,
-- and with it the object.
WITH unpinned AS (
    DELETE FROM files.upload WHERE key = sqlc.narg('unpin_key')::text RETURNING key
), address AS (
    SELECT files.lock_address(@sha256::bytea)
    WHERE sqlc.narg('unpin_key')::text IS NULL OR EXISTS (SELECT FROM unpinned)
)
INSERT INTO files.blob (sha256, size, object_key, stored, stored_at)
SELECT @sha256, @size, sqlc.narg('object_key'), true, now() FROM address
ON CONFLICT (sha256) DO UPDATE SET
    size = CASE WHEN files.blob.stored AND files.blob.corrupt_at IS NULL
                THEN files.blob.size ELSE EXCLUDED.size END,
    object_key = CASE WHEN files.blob.stored AND files.blob.corrupt_at IS NULL
                      THEN files.blob.object_key ELSE EXCLUDED.object_key END,
    stored_at = CASE WHEN files.blob.stored AND files.blob.corrupt_at IS NULL
                     THEN files.blob.stored_at ELSE now() END,
    -- A sound blob has none; a corrupt one is healed by the new object.
    corrupt_at = NULL,
    corrupt_reason = NULL,
    stored = true
RETURNING *;

-- name: BlobGet :one
SELECT * FROM files.blob WHERE sha256 = @sha256;

-- name: BlobMarkCorrupt :exec
UPDATE files.blob SET corrupt_at = now(), corrupt_reason = @reason
WHERE sha256 = @sha256 AND stored;

-- name: BlobMarkVerified :exec
UPDATE files.blob SET verified_at = now(), corrupt_at = NULL, corrupt_reason = NULL
WHERE sha256 = @sha256 AND stored;

-- name: BlobScrubList :many
-- Stored blobs, least recently verified first, so repeated sampled scrubs
-- cover everything.
SELECT * FROM files.blob
WHERE stored
ORDER BY verified_at NULLS FIRST, sha256
LIMIT @max_rows;

-- name: BlobScrubPage :many
SELECT * FROM files.blob
WHERE stored AND sha256 > @after
ORDER BY sha256
LIMIT @max_rows;

-- name: BlobGCCandidates :many
-- Blobs no revision references whose pin and grace period are over.
SELECT b.sha256 FROM files.blob b
WHERE coalesce(b.pinned_until, '-infinity') < now()
  AND b.created_at < now() - make_interval(secs => @grace_seconds::float8)
  AND NOT EXISTS (SELECT FROM files.revision r WHERE r.blob_sha256 = b.sha256)
ORDER BY b.sha256
LIMIT @max_rows;

-- name: BlobLockForGC :one
-- Locks a candidate whose pin is over; SKIP LOCKED leaves rows an upload is
-- working on for the next run.
SELECT * FROM files.blob
WHERE sha256 = @sha256
  AND coalesce(pinned_until, '-infinity') < now()
  AND created_at < now() - make_interval(secs => @grace_seconds::float8)
FOR UPDATE SKIP LOCKED;

-- name: BlobReferenced :one
-- Run after BlobLockForGC: a revision committed before the lock is visible
-- to this statement, and a later one waits on the lock (its foreign key
-- check) and then fails.
SELECT EXISTS (SELECT FROM files.revision WHERE blob_sha256 = @sha256);

-- name: BlobDelete :exec
DELETE FROM files.blob WHERE sha256 = @sha256;

-- name: BlobLockForOrphan :many
-- The rows that could own object key: the blob whose content key it is
-- (sha256 given) or the blob recorded under it.
SELECT * FROM files.blob
WHERE sha256 = sqlc.narg('sha256') OR object_key = @object_key
FOR UPDATE;

-- name: BlobOwnersOf :many
-- A GC prefilter without locks: the blob rows that may own some of the
-- listed objects (content keys by sha256, other keys by object_key).
-- Objects that none owns are then checked one by one under lock.
SELECT sha256, object_key FROM files.blob
WHERE sha256 = ANY (@sums::bytea[]) OR object_key = ANY (@object_keys::text[]);

-- name: UploadLivePins :many
SELECT key FROM files.upload
WHERE key = ANY (@keys::text[]) AND pinned_until > now();

-- name: UploadPin :exec
-- Pins the object key of an upload without a digest against GC. The pin's
-- transaction commits without waiting for the WAL flush, in the same round
-- trip: a pin lost in a database crash only fails its upload when it is
-- recorded (UploadUnpin finds nothing), never loses a recorded revision.
WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO files.upload (key, pinned_until)
SELECT @key, now() + make_interval(secs => @pin_seconds::float8) FROM no_flush_wait;

-- name: UploadUnpin :execrows
DELETE FROM files.upload WHERE key = @key;

-- name: UploadLockForGC :one
SELECT * FROM files.upload WHERE key = @key FOR UPDATE;

-- name: UploadDeleteExpired :execrows
-- Pins of uploads that died before writing anything (their objects, if
-- any, were handled as orphans first).
DELETE FROM files.upload WHERE pinned_until < now();

-- name: AttachmentCreate :one
-- An attachment is created with its first revision, in one transaction
-- (RevisionCreateFirst), so it starts at latest_revision 1: no update of
-- the new row (and no audit event of one) follows its insert.
INSERT INTO files.attachment (id, owner_type, owner_id, site_id, name, created_by, latest_revision)
VALUES (@id, @owner_type, @owner_id, @site_id, @name, @created_by, 1)
RETURNING *;

-- name: AttachmentGet :one
SELECT * FROM files.attachment WHERE id = @id;

-- name: AttachmentLockName :exec
-- Writers of one owner's attachment name take turns until commit, so that
-- "the attachment of that name, or a new one" is decided once.
SELECT pg_advisory_xact_lock(hashtextextended(
    concat_ws(':', 'files.attachment', sqlc.arg('owner_type')::text, sqlc.arg('owner_id')::uuid, sqlc.arg('name')::text), 0));

-- name: AttachmentGetByName :one
-- The first attachment of the name (ids are UUIDv7: creation order).
SELECT * FROM files.attachment
WHERE owner_type = @owner_type AND owner_id = @owner_id AND name = @name
ORDER BY id
LIMIT 1;

-- name: AttachmentList :many
-- Ids are UUIDv7, so id order is creation order and a stable cursor.
SELECT * FROM files.attachment
WHERE owner_type = @owner_type AND owner_id = @owner_id
  AND (sqlc.narg('after')::uuid IS NULL OR id > sqlc.narg('after')::uuid)
ORDER BY id
LIMIT @max_rows;

-- name: RevisionCreate :one
-- The next number comes from the attachment row, incremented under its row
-- lock in the same statement: concurrent uploads queue there, so numbers
-- have no gap and no duplicate.
WITH a AS (
    UPDATE files.attachment SET latest_revision = latest_revision + 1
    WHERE id = @attachment_id
    RETURNING id, latest_revision
)
INSERT INTO files.revision (attachment_id, number, blob_sha256, filename, content_type, size,
                            comment, created_by, restored_from)
SELECT a.id, a.latest_revision, @blob_sha256, @filename, @content_type, @size,
       @comment, @created_by, sqlc.narg('restored_from')
FROM a
RETURNING *;

-- name: RevisionCreateFirst :one
-- Revision 1 of an attachment AttachmentCreate made in this transaction.
INSERT INTO files.revision (attachment_id, number, blob_sha256, filename, content_type, size, comment, created_by)
VALUES (@attachment_id, 1, @blob_sha256, @filename, @content_type, @size, @comment, @created_by)
RETURNING *;

-- name: RevisionGet :one
-- With the blob's object key, so a download needs no second query.
SELECT sqlc.embed(r), b.object_key
FROM files.revision r JOIN files.blob b ON b.sha256 = r.blob_sha256
WHERE r.attachment_id = @attachment_id AND r.number = @number;

-- name: RevisionLatest :one
SELECT sqlc.embed(r), b.object_key
FROM files.revision r JOIN files.blob b ON b.sha256 = r.blob_sha256
WHERE r.attachment_id = @attachment_id
ORDER BY r.number DESC LIMIT 1;

-- name: RevisionList :many
SELECT * FROM files.revision
WHERE attachment_id = @attachment_id AND number > @after
ORDER BY number
LIMIT @max_rows;

-- name: RevisionVerifyChain :one
-- 0 when the chain is intact, else the first revision that does not match.
SELECT coalesce(files.revision_verify(@attachment_id), 0)::integer AS first_bad;

-- name: FilesSiteVisible :one
-- Whether the site exists and the caller may see it (core.site has
-- row-level security), checked before an upload reads its body.
SELECT EXISTS (SELECT FROM core.site WHERE id = @site_id);
