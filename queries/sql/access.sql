-- name: TokenCreate :one
INSERT INTO core.api_token (name, hash, prefix, role, sites, user_id, created_by, expires_at)
VALUES (@name, @hash, @prefix, @role, @sites, sqlc.narg('user_id'), @created_by, sqlc.narg('expires_at'))
RETURNING *;

-- name: TokenByHash :one
SELECT * FROM core.api_token WHERE hash = @hash;

-- name: TokenGet :one
SELECT * FROM core.api_token WHERE id = @id;

-- name: TokenList :many
SELECT * FROM core.api_token
WHERE (sqlc.narg('after')::uuid IS NULL OR id > sqlc.narg('after')::uuid)
ORDER BY id
LIMIT @max_rows;

-- name: TokenRevoke :one
UPDATE core.api_token SET revoked_at = coalesce(revoked_at, now())
WHERE id = @id
RETURNING *;

-- name: TokenTouch :exec
UPDATE core.api_token SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: SiteGet :one
SELECT * FROM core.site WHERE id = @id;
