-- +goose Up
-- River's queue tables live in their own schema; migrations.Up creates them
-- with River's own migrator right after these files. The application role
-- works the queue, so it gets rights on what the owner creates there.
CREATE SCHEMA IF NOT EXISTS river;
GRANT USAGE ON SCHEMA river TO messina_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO messina_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT USAGE, SELECT ON SEQUENCES TO messina_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT EXECUTE ON FUNCTIONS TO messina_app;

-- +goose Down
DROP SCHEMA river CASCADE;
