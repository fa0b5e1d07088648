-- Queries of package backup: a consistent snapshot of the database and the
-- blobs it references (messina backup), and the checks and fix-ups around
-- pg_restore (messina restore).

-- name: BackupSnapshotExport :one
-- Run first in the REPEATABLE READ transaction whose snapshot pg_dump
-- imports (pg_dump --snapshot): everything read in that transaction
-- afterwards sees exactly what the dump holds.
SELECT pg_catalog.pg_export_snapshot()::text AS snapshot,
       now()::timestamptz AS taken_at,
       pg_catalog.current_setting('server_version')::text AS server_version,
       pg_catalog.current_setting('server_version_num')::integer AS server_version_num,
       pg_catalog.current_database()::text AS database,
       current_user::text AS role;

-- name: BackupSessionKeepOpen :exec
-- The snapshot's transaction sits idle while pg_dump runs; a server-wide
-- idle_in_transaction_session_timeout must not end it (and the snapshot)
-- before pg_dump has imported it.
SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '0', true);

-- name: BlobReferencedList :many
-- The blobs that revisions reference, where their bytes are (NULL object
-- key: the content key), in address order. Revisions are append-only and
-- GC never deletes a referenced blob, so these stay in the store.
SELECT b.sha256, b.size, b.object_key
FROM files.blob b
WHERE EXISTS (SELECT FROM files.revision r WHERE r.blob_sha256 = b.sha256)
ORDER BY b.sha256;

-- name: AuditSealLast :one
-- The newest seal of the audit log: the head of the chain a backup records
-- and a restore must reproduce. No row when the log was never sealed.
SELECT id, upto_id, hash FROM audit.seal ORDER BY id DESC LIMIT 1;

-- name: DatabaseObjectList :many
-- What makes a database not empty, for restore's refusal: schemas besides
-- the defaults, relations and functions in public, extensions besides
-- plpgsql. At most max_rows names.
SELECT o.what::text AS what FROM (
    SELECT 1 AS rank, 'schema ' || n.nspname AS what FROM pg_catalog.pg_namespace n
    WHERE n.nspname NOT IN ('public', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT 2, 'relation public.' || c.relname FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public'
    UNION ALL
    SELECT 3, 'function public.' || p.proname FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public'
    UNION ALL
    SELECT 4, 'extension ' || e.extname FROM pg_catalog.pg_extension e
    WHERE e.extname <> 'plpgsql'
) o
ORDER BY o.rank, o.what
LIMIT @max_rows;

-- name: DatabaseCurrent :one
-- The database and role of the connection, and whether the role may
-- create schemas in the database (pg_restore must).
SELECT pg_catalog.current_database()::text AS database, current_user::text AS role,
       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')::boolean AS can_create;

-- name: RoleCheck :one
-- Whether the role exists and the current user may act as it (own objects
-- as that role, which pg_restore's ALTER ... OWNER TO needs).
SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = @role::text) AS role_exists,
       CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = @role::text)
            THEN pg_catalog.pg_has_role(current_user, @role::text, 'MEMBER')
            ELSE false END::boolean AS is_member;

-- name: BlobDeleteUnreferenced :execrows
-- After a restore: blob rows no revision references are garbage of the
-- source system (GC candidates, or uploads in flight whose revision the
-- snapshot does not hold); a backup does not copy their bytes.
DELETE FROM files.blob b
WHERE NOT EXISTS (SELECT FROM files.revision r WHERE r.blob_sha256 = b.sha256);

-- name: UploadDeleteAll :execrows
-- After a restore: pins of uploads that were in flight in the source
-- system; none is in flight in the restored one.
DELETE FROM files.upload;

-- name: BlobAdoptContentKeys :execrows
-- After a restore: every blob's bytes are at its content key
-- (sha256/ab/cd/<hex>), also those the source system kept under the unique
-- key of an upload without a digest.
UPDATE files.blob SET object_key = NULL WHERE object_key IS NOT NULL;

-- name: AuditRefreshAll :one
-- After a restore: re-resolves the audited tables' keys and columns from
-- the restored catalogs.
SELECT audit.refresh_all('restore')::integer AS tables;

-- name: AuditInstallEventTriggers :exec
-- As a superuser: the DDL event triggers, which pg_restore cannot create
-- as the owner.
SELECT audit.install_event_triggers();
