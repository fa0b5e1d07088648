-- +goose Up
-- Schemas of design.md section 3. The role running migrations owns every
-- object; the application role (messina_app) gets only the rights it needs,
-- granted here and by default privileges for tables created later.

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'messina_app') THEN
        RAISE EXCEPTION 'role messina_app does not exist: create it first (CREATE ROLE messina_app LOGIN PASSWORD ...)';
    END IF;
END
$$;
-- +goose StatementEnd

CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS orders;
CREATE SCHEMA IF NOT EXISTS contracts;
CREATE SCHEMA IF NOT EXISTS billing;
CREATE SCHEMA IF NOT EXISTS kpi;
CREATE SCHEMA IF NOT EXISTS files;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;

GRANT USAGE ON SCHEMA core, orders, contracts, billing, kpi, files TO messina_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA core, orders, contracts, billing, kpi, files
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO messina_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA core, orders, contracts, billing, kpi, files
    GRANT USAGE, SELECT ON SEQUENCES TO messina_app;

-- +goose Down
DROP SCHEMA files, kpi, billing, contracts, orders, core CASCADE;
