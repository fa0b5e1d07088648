-- Queries of package audit (design.md section 4). Keys are matched on their
-- 64-bit hash first, which is what the log_key/log_new_key indexes hold.
-- Events are filtered by audit.event_visible: a principal limited to sites
-- reads only their events and those of tables without a site.

-- name: AuditTableResolve :one
-- The audited table currently or formerly named schema.name; its current
-- name wins over a former one.
SELECT r.table_id::integer AS table_id FROM (
    SELECT t.id AS table_id, 0 AS rank FROM audit.audited_table t
    WHERE t.table_schema = @table_schema AND t.table_name = @table_name
    UNION ALL
    SELECT v.table_id, 1 AS rank FROM audit.table_version v
    WHERE v.table_schema = @table_schema AND v.table_name = @table_name
) r
ORDER BY r.rank, r.table_id DESC
LIMIT 1;

-- name: AuditCurrentRows :many
-- The rows of an audited table as they are now, for many keys at once (a
-- JSON array): ord is a key's position in keys, from 1; a key whose row
-- does not exist has no row.
SELECT c.ord::integer AS ord, c.current::jsonb AS current
FROM audit.current_rows(@table_id::integer, @keys::jsonb) c;

-- name: AuditTableVersionList :many
SELECT * FROM audit.table_version
WHERE table_id = @table_id
ORDER BY id;

-- name: AuditEventList :many
-- Events in id order after a cursor, optionally of one table and within
-- times.
SELECT l.* FROM audit.log l
WHERE l.id > @after_id
  AND audit.event_visible(l.site, l.table_id)
  AND (sqlc.narg('table_id')::integer IS NULL OR l.table_id = sqlc.narg('table_id')::integer)
  AND (sqlc.narg('since')::timestamptz IS NULL OR l.at >= sqlc.narg('since')::timestamptz)
  AND (sqlc.narg('until')::timestamptz IS NULL OR l.at <= sqlc.narg('until')::timestamptz)
ORDER BY l.id
LIMIT @max_rows;

-- name: AuditEventListByKey :many
-- The events of one row (old or new key, plus its table's TRUNCATE events)
-- in id order after a cursor, optionally within times. Each arm of the OR
-- has an index (log_key, log_new_key, log_truncate).
SELECT l.* FROM audit.log l
WHERE l.id > @after_id
  AND l.table_id = @table_id::integer
  AND audit.event_visible(l.site, l.table_id)
  AND ((jsonb_hash_extended(l.key, 0) = jsonb_hash_extended(@key::jsonb, 0) AND l.key = @key::jsonb)
       OR (l.new_key IS NOT NULL AND jsonb_hash_extended(l.new_key, 0) = jsonb_hash_extended(@key::jsonb, 0)
           AND l.new_key = @key::jsonb)
       OR l.op = 'T')
  AND (sqlc.narg('since')::timestamptz IS NULL OR l.at >= sqlc.narg('since')::timestamptz)
  AND (sqlc.narg('until')::timestamptz IS NULL OR l.at <= sqlc.narg('until')::timestamptz)
ORDER BY l.id
LIMIT @max_rows;

-- name: AuditEventListByKeys :many
-- The events of several rows of one table, as AuditEventListByKey gives
-- those of one row, in a single statement: ref is the position (from 1) in
-- keys, a JSON array, of the key an event belongs to. An event appears once
-- per key it matches (a key change matches its old and its new key, a
-- TRUNCATE every key). Shaped like AuditTimelineList, so that the planner
-- looks each key up through the key indexes once the table has more than a
-- few events. Not paged: the caller replays every event of every key
-- anyway, so they are all held in memory (a row's whole history per key).
SELECT r.ord::integer AS ref, sqlc.embed(l)
FROM jsonb_array_elements(@keys::jsonb) WITH ORDINALITY AS r(key, ord)
JOIN audit.log l ON l.table_id = @table_id::integer
 AND ((jsonb_hash_extended(l.key, 0) = jsonb_hash_extended(r.key, 0) AND l.key = r.key)
      OR (l.new_key IS NOT NULL AND jsonb_hash_extended(l.new_key, 0) = jsonb_hash_extended(r.key, 0)
          AND l.new_key = r.key)
      OR l.op = 'T')
WHERE audit.event_visible(l.site, l.table_id)
ORDER BY l.id, r.ord;

-- name: AuditTimelineList :many
-- The events of several (table, key) pairs merged in id order after a
-- cursor; an event matching two pairs (a key change) appears once. refs is
-- a JSON array of {"table_id": n, "key": {...}}.
SELECT DISTINCT ON (l.id) l.*
FROM (SELECT (e.value->>'table_id')::integer AS table_id, e.value->'key' AS key
      FROM jsonb_array_elements(@refs::jsonb) e) r
JOIN audit.log l ON l.table_id = r.table_id
WHERE l.id > @after_id
  AND audit.event_visible(l.site, l.table_id)
  AND ((jsonb_hash_extended(l.key, 0) = jsonb_hash_extended(r.key, 0) AND l.key = r.key)
       OR (l.new_key IS NOT NULL AND jsonb_hash_extended(l.new_key, 0) = jsonb_hash_extended(r.key, 0) AND l.new_key = r.key)
       OR l.op = 'T')
ORDER BY l.id
LIMIT @max_rows;

-- name: AuditSealCreate :one
-- Seals the rows written since the last seal; no row when there was
-- nothing to seal.
SELECT s.id, s.sealed_at, s.from_id, s.upto_id, s.row_count, s.hash
FROM audit.seal(@max_rows::integer) s
WHERE s.id IS NOT NULL;

-- name: AuditSealList :many
SELECT * FROM audit.seal
WHERE id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: AuditLogCanonicalList :many
-- The canonical bytes of log rows (what seals hash), in id order.
SELECT l.id, audit.canonical(l)::bytea AS canonical
FROM audit.log l
WHERE l.id > @after_id AND l.id <= @upto_id
ORDER BY l.id
LIMIT @max_rows;

-- name: AuditLogUnsealedCount :one
SELECT count(*) FROM audit.log WHERE id > @after_id;

-- name: AuditEventTriggersInstalled :one
SELECT audit.event_triggers_installed()::boolean AS installed;

-- name: AuditInsertedKeysWhereAny :many
-- The keys of the rows of a table whose INSERT had column equal to one of
-- values, each with that value: how an order finds its lines, approvals
-- and attachments, also the deleted ones, and all its lines' splits at
-- once. Ordered by value and key so that the order does not depend on the
-- plan.
SELECT DISTINCT (l.new ->> @column_name::text)::text AS value, l.key::jsonb AS key FROM audit.log l
WHERE l.table_id = @table_id AND l.op = 'I' AND l.new ->> @column_name::text = ANY (@values::text[])
ORDER BY value, key;

-- name: AuditCreatePartitions :exec
-- The audit log's monthly partitions for this month and the next months
-- ahead (idempotent; the audit_partitions job calls it daily).
SELECT audit.create_partitions(@months_ahead::integer);
