-- name: TokenCreate :one
INSERT INTO core.api_token (name, hash, prefix, role, sites, user_id, created_by, expires_at)
VALUES (@name, @hash, @prefix, @role, @sites, sqlc.narg('user_id'), @created_by, sqlc.narg('expires_at'))
RETURNING *;

-- name: TokenList :many
SELECT * FROM core.api_token
WHERE (sqlc.narg('after')::uuid IS NULL OR id > sqlc.narg('after')::uuid)
ORDER BY id
LIMIT @max_rows;

-- name: TokenRevoke :one
UPDATE core.api_token SET revoked_at = coalesce(revoked_at, now())
WHERE id = @id
RETURNING *;

-- name: TokenAuthenticate :one
-- A token with the user it acts for, if any, in one round trip; it also
-- records the use, at most once a minute so that busy tokens do not turn
-- every request into a row update.
WITH touched AS (
    UPDATE core.api_token SET last_used_at = now()
    WHERE hash = @hash AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT t.id, t.name, t.prefix, t.role, t.sites, t.expires_at, t.revoked_at,
       u.id AS user_id, u.email AS user_email, u.role AS user_role, u.sites AS user_sites, u.disabled AS user_disabled
FROM core.api_token t
LEFT JOIN core.app_user u ON u.id = t.user_id
WHERE t.hash = @hash;

-- name: UserCreate :one
INSERT INTO core.app_user (email, name, role, sites)
VALUES (@email, @name, @role, @sites)
RETURNING *;

-- name: UserGet :one
SELECT * FROM core.app_user WHERE id = @id;

-- name: UserList :many
SELECT * FROM core.app_user
WHERE (sqlc.narg('after')::uuid IS NULL OR id > sqlc.narg('after')::uuid)
ORDER BY id
LIMIT @max_rows;

-- name: UserUpdate :one
-- Changes a user when the caller saw the current version; no row back means
-- the version was stale (or the user does not exist).
UPDATE core.app_user
SET name = coalesce(sqlc.narg('name'), name),
    role = coalesce(sqlc.narg('role'), role),
    sites = coalesce(sqlc.narg('sites'), sites),
    disabled = coalesce(sqlc.narg('disabled'), disabled),
    version = version + 1
WHERE id = @id AND version = @version
RETURNING *;
