-- +goose Up
-- Sites, users, API tokens and the row-level security that isolates sites.

-- Every transaction of the application role names the sites it may see in
-- messina.sites: '*' for all, else a comma-separated list of site ids. Unset
-- means none, so a forgotten setting fails closed.
CREATE FUNCTION core.site_visible(site text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(current_setting('messina.sites', true), '') = '*'
            OR site = ANY (string_to_array(nullif(current_setting('messina.sites', true), ''), ','))
    $$;

-- isolate_by_site puts a table with a site_id column under the one site
-- isolation policy every such table shares.
-- +goose StatementBegin
CREATE FUNCTION core.isolate_by_site(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY site_isolation ON %s TO messina_app
        USING (core.site_visible(site_id)) WITH CHECK (core.site_visible(site_id))', tbl);
END
$$;
-- +goose StatementEnd

CREATE TABLE core.site (
    id         text PRIMARY KEY CHECK (id ~ '^[A-Z]{2,8}$'),
    name       text NOT NULL CHECK (name <> ''),
    country    char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    currency   char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    timezone   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1
);
ALTER TABLE core.site ENABLE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON core.site TO messina_app
    USING (core.site_visible(id)) WITH CHECK (core.site_visible(id));

CREATE TYPE core.role AS ENUM ('admin', 'staff', 'api', 'auditor');

CREATE TABLE core.app_user (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text NOT NULL UNIQUE CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    name       text NOT NULL CHECK (name <> ''),
    role       core.role NOT NULL,
    -- Empty means all sites.
    sites      text[] NOT NULL DEFAULT '{}',
    disabled   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    version    integer NOT NULL DEFAULT 1
);

CREATE TABLE core.api_token (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (name <> ''),
    -- SHA-256 of the token; the token itself is shown once and never stored.
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    -- A short visible prefix so people can tell their tokens apart.
    prefix       text NOT NULL,
    role         core.role NOT NULL,
    sites        text[] NOT NULL DEFAULT '{}',
    user_id      uuid REFERENCES core.app_user (id),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Stored responses for Idempotency-Key replays.
CREATE TABLE core.idempotency_key (
    token_id     uuid NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method       text NOT NULL,
    path         text NOT NULL,
    request_hash bytea NOT NULL,
    status       integer,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX idempotency_key_expires ON core.idempotency_key (expires_at);

-- +goose Down
DROP TABLE core.idempotency_key, core.api_token, core.app_user, core.site;
DROP TYPE core.role;
DROP FUNCTION core.isolate_by_site(regclass);
DROP FUNCTION core.site_visible(text);
