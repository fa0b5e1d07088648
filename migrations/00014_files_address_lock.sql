-- +goose Up
-- The content-address lock of the filestore as one function: GC
-- (BlobAddressLock), uploads pinning a blob (BlobPin) and recording it
-- (BlobMarkStored) exclude each other only while all three take the very
-- same lock, so the expression lives in one place.

-- +goose StatementBegin
-- Takes the transaction lock on a content address (the first 8 bytes of
-- its SHA-256). Different sums may share a lock; that only costs waiting.
CREATE FUNCTION files.lock_address(sha256 bytea) RETURNS void
    LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_advisory_xact_lock(('x' || encode(substring(sha256 FROM 1 FOR 8), 'hex'))::bit(64)::bigint)
$$;
-- +goose StatementEnd

GRANT EXECUTE ON FUNCTION files.lock_address(bytea) TO messina_app;

-- +goose Down
DROP FUNCTION files.lock_address(bytea);
