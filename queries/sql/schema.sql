-- Queries of the schema's own upkeep (package migrations).

-- name: RiverMigrationLock :exec
-- Serializes River's migrator across instances starting at once; held on
-- one connection until RiverMigrationUnlock.
SELECT pg_advisory_lock(7270002);

-- name: RiverMigrationUnlock :exec
SELECT pg_advisory_unlock(7270002);
