-- +goose Up
-- Audit the access tables of 00003. api_token.hash is excluded: a token's
-- hash is a credential-equivalent lookup key and has no place in a log that
-- auditors export; last_used_at changes on every request and would flood
-- the log without telling anyone anything.
SELECT audit.enable('core.site');
SELECT audit.enable('core.app_user');
SELECT audit.enable('core.api_token', '{hash,last_used_at}');

-- +goose Down
SELECT audit.disable('core.api_token');
SELECT audit.disable('core.app_user');
SELECT audit.disable('core.site');
