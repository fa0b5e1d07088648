-- name: IdempotencyClaim :one
-- Claims a key for a new request. An expired row, or one whose request
-- never finished (the server died), is taken over; a live one is not, and
-- then no row comes back.
INSERT INTO core.idempotency_key AS k (token_id, key, method, path, request_hash, expires_at)
VALUES (@token_id, @key, @method, @path, @request_hash, @expires_at)
ON CONFLICT (token_id, key) DO UPDATE
    SET method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
        status = NULL, headers = NULL, body = NULL, created_at = now(), expires_at = excluded.expires_at
    WHERE k.expires_at < now() OR (k.status IS NULL AND k.created_at < now() - interval '10 minutes')
RETURNING k.token_id;

-- name: IdempotencyGet :one
SELECT * FROM core.idempotency_key WHERE token_id = @token_id AND key = @key;

-- name: IdempotencyComplete :exec
UPDATE core.idempotency_key
SET request_hash = @request_hash, status = @status, headers = @headers, body = @body
WHERE token_id = @token_id AND key = @key;

-- name: IdempotencyRelease :exec
DELETE FROM core.idempotency_key WHERE token_id = @token_id AND key = @key AND status IS NULL;

-- name: IdempotencyPurge :execrows
DELETE FROM core.idempotency_key WHERE expires_at < now();
