-- +goose Up
-- Adaptive audit (design.md section 4): one generic trigger function logs
-- every change of every enabled table into audit.log.
--
-- Why it is shaped like this:
-- * Key columns, excluded columns and the table version are resolved from
--   the catalogs at enable time and on DDL (event trigger), and handed to
--   the trigger as its arguments, so a change never looks at the catalogs.
-- * Two trigger functions, both generic: audit.capture_row (FOR EACH ROW,
--   the default: least work for the single-row writes of the service) and
--   audit.capture (FOR EACH STATEMENT with transition tables, mode
--   'statement': one INSERT ... SELECT logs a whole set-based statement,
--   ~2.5x faster than row triggers on a 100k-row UPDATE). TRUNCATE is one
--   statement event in both modes.
-- * Changed columns are found with hstore (C code, compares the text form
--   of each column, so 1.0 -> 1.00 counts as a change) and the values are
--   logged as typed jsonb.
-- * Tables are identified by schema and name text plus audit.table_version
--   ids; no OID is stored in any row, so dump and restore keep the history.
-- * audit.log is append-only: the application role only has SELECT, the
--   capture function is SECURITY DEFINER, and a trigger refuses UPDATE,
--   DELETE and TRUNCATE even for the owner.

CREATE SCHEMA audit;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO messina_app;

-- hstore is a trusted extension, so the database owner may create it. It
-- lives in schema audit to keep public clean.
CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA audit;

-- One row per audited table: its stable identity (id) and configuration.
-- The name is updated when the table is renamed.
CREATE TABLE audit.audited_table (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_schema    text NOT NULL,
    table_name      text NOT NULL,
    exclude         text[] NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    -- 'row': FOR EACH ROW triggers, cheapest for single-row statements
    -- (the service's OLTP writes). 'statement': statement-level triggers
    -- with transition tables, one INSERT ... SELECT a statement, for tables
    -- changed mostly by set-based statements (invoice runs, renewals).
    mode            text NOT NULL DEFAULT 'row' CHECK (mode IN ('row', 'statement')),
    current_version bigint,
    UNIQUE (table_schema, table_name)
);

-- Each table's columns and key per version: a new version is written at
-- enable time and whenever DDL changes the name, columns, types or key.
CREATE TABLE audit.table_version (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_id     integer NOT NULL REFERENCES audit.audited_table (id),
    table_schema text NOT NULL,
    table_name   text NOT NULL,
    key_kind     text NOT NULL CHECK (key_kind IN ('pk', 'replica', 'unique', 'row')),
    key_columns  text[] NOT NULL,
    -- [{"name": ..., "type": ..., "attnum": ...}] in column order; attnum
    -- follows a column across a rename.
    columns      jsonb NOT NULL,
    exclude      text[] NOT NULL,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX table_version_table ON audit.table_version (table_id, id);

CREATE SEQUENCE audit.log_id_seq AS bigint;

-- The log. Fixed-width columns first so the row packs tightly (the budget
-- is ~300 bytes per update of a pgbench row, indexes included).
CREATE TABLE audit.log (
    id               bigint NOT NULL DEFAULT nextval('audit.log_id_seq'),
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    txid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    table_version    bigint NOT NULL,
    -- audit.audited_table id: stable across renames, for per-table listing.
    table_id         integer NOT NULL,
    table_schema     text NOT NULL,
    table_name       text NOT NULL,
    op               text NOT NULL CHECK (op IN ('I', 'U', 'D', 'T')),
    key_kind         text NOT NULL,
    -- Old key for U and D, new key for I; null for T.
    key              jsonb,
    -- Set only when an UPDATE changed the key.
    new_key          jsonb,
    -- Changed columns only for U; whole row for D (old) and I (new).
    old              jsonb,
    new              jsonb,
    db_user          text NOT NULL DEFAULT session_user,
    actor            text,
    request_id       text,
    application_name text,
    client_addr      inet
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit.log_id_seq OWNED BY audit.log.id;

-- History lookups are equality on the key. A btree on the key's 64-bit
-- hash is ~8 bytes a row (deduplicated) whatever the key's size and cheaper
-- to maintain than a hash index or a btree on the jsonb itself (measured);
-- queries compare the hash, then the key.
CREATE INDEX log_key ON audit.log (jsonb_hash_extended(key, 0));
CREATE INDEX log_new_key ON audit.log (jsonb_hash_extended(new_key, 0)) WHERE new_key IS NOT NULL;
-- A row's history includes its table's TRUNCATE events; this tiny index
-- lets that arm of the query use an index too.
CREATE INDEX log_truncate ON audit.log (table_id) WHERE op = 'T';
-- Listing one table's events in id order (keyset pagination, CSV export).
CREATE INDEX log_table ON audit.log (table_id, id);
-- ids and times grow with the physical order, so BRIN is enough and tiny.
CREATE INDEX log_id ON audit.log USING brin (id);
CREATE INDEX log_at ON audit.log USING brin (at);

-- Seals: each one hashes the log rows (from_id, upto_id] and chains to the
-- previous seal. ids and digests (32 bytes of SHA-256 per row, in id order)
-- let verify name the first row that no longer matches.
CREATE TABLE audit.seal (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sealed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_id   bigint NOT NULL,
    upto_id   bigint NOT NULL,
    row_count integer NOT NULL,
    ids       bigint[] NOT NULL,
    digests   bytea NOT NULL,
    prev_hash bytea,
    hash      bytea NOT NULL,
    CHECK (upto_id >= from_id)
);

GRANT SELECT ON audit.audited_table, audit.table_version, audit.log, audit.seal TO messina_app;

-- +goose StatementBegin
-- Refuses any change to rows that must never change.
CREATE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit: % on %.% is not allowed (append-only)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER log_append_only BEFORE UPDATE OR DELETE ON audit.log
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON audit.log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER seal_append_only BEFORE UPDATE OR DELETE ON audit.seal
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER seal_no_truncate BEFORE TRUNCATE ON audit.seal
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER table_version_append_only BEFORE UPDATE OR DELETE ON audit.table_version
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER table_version_no_truncate BEFORE TRUNCATE ON audit.table_version
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- +goose StatementBegin
-- Creates the monthly partitions of audit.log for this month and the next
-- months_ahead months (UTC), plus the default partition. Jobs call it
-- monthly; it is idempotent. A month whose rows already sit in the default
-- partition is skipped with a warning (the rows stay readable there).
CREATE FUNCTION audit.create_partitions(months_ahead integer DEFAULT 1) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m     integer;
    lo    timestamptz;
    hi    timestamptz;
    part  text;
BEGIN
    IF to_regclass('audit.log_default') IS NULL THEN
        CREATE TABLE audit.log_default PARTITION OF audit.log DEFAULT;
        CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON audit.log_default
            FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
        RETURN NEXT 'log_default';
    END IF;
    FOR m IN 0 .. months_ahead LOOP
        lo := date_trunc('month', now(), 'UTC') + make_interval(months => m);
        hi := date_trunc('month', now(), 'UTC') + make_interval(months => m + 1);
        part := 'log_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
        CONTINUE WHEN to_regclass(format('audit.%I', part)) IS NOT NULL;
        IF EXISTS (SELECT FROM audit.log_default WHERE at >= lo AND at < hi) THEN
            RAISE WARNING 'audit: rows for % are in audit.log_default; partition % not created', lo, part;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TABLE audit.%I PARTITION OF audit.log FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        EXECUTE format('CREATE TRIGGER log_no_truncate BEFORE TRUNCATE ON audit.%I FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()', part);
        RETURN NEXT part;
    END LOOP;
END
$$;
-- +goose StatementEnd

SELECT audit.create_partitions(1);

-- +goose StatementBegin
-- Raised from inside capture when a key or excluded column is missing from
-- a row: the metadata is stale (DDL without the event trigger), and logging
-- a wrong key or a column meant to be excluded would be worse than failing.
CREATE FUNCTION audit.stale_key(tbl text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit: metadata of % is stale (DDL without the audit event trigger); run SELECT audit.refresh(%L)', tbl, tbl
        USING ERRCODE = 'object_not_in_prerequisite_state';
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The one generic trigger function. Arguments (set by audit.attach):
-- 0 table_version id, 1 key kind, 2 excluded columns (text[] literal),
-- 3 key columns (text[] literal), 4 audited_table id, 5 and 6 (partitions
-- only) the schema and name of the audited partitioned table.
CREATE FUNCTION audit.capture() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    -- jit: the bulk plan's cost estimate triggers a JIT compile that costs
    -- more than it saves (measured ~1 s on a 100k-row update). work_mem:
    -- pairing old and new rows sorts both; keep 100k rows in memory.
    SET search_path = pg_catalog, audit, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
    v_ver    bigint := TG_ARGV[0];
    v_kind   text := TG_ARGV[1];
    v_excl   text[] := TG_ARGV[2];
    v_keys   text[] := TG_ARGV[3];
    v_tid    integer := TG_ARGV[4];
    v_schema text := coalesce(TG_ARGV[5], TG_TABLE_SCHEMA);
    v_name   text := coalesce(TG_ARGV[6], TG_TABLE_NAME);
    v_at     timestamptz := clock_timestamp();
    v_txid   xid8 := pg_current_xact_id();
    v_user   text := session_user;
    v_actor  text := nullif(current_setting('messina.actor', true), '');
    v_req    text := nullif(current_setting('messina.request_id', true), '');
    v_app    text := nullif(current_setting('application_name'), '');
    v_addr   inet := inet_client_addr();
BEGIN
    -- Each subquery level ends in OFFSET 0 so the planner does not inline
    -- it and compute its expressions once per reference.
    IF TG_OP = 'UPDATE' THEN
        -- Old and new transition rows come in the same order; row_number()
        -- pairs them (a key may change, so the key cannot).
        INSERT INTO audit.log (id, at, txid, table_version, table_id, table_schema, table_name, op, key_kind,
                               key, new_key, old, new, db_user, actor, request_id, application_name, client_addr)
        SELECT nextval('audit.log_id_seq'), v_at, v_txid, v_ver, v_tid, v_schema, v_name, 'U', v_kind,
               CASE WHEN v_kind = 'row' THEN q.oj - v_excl
                    WHEN q.oh ?& v_keys THEN q.oj - akeys(delete(q.oh, v_keys))
                    ELSE audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)) END,
               CASE WHEN v_kind = 'row' THEN q.nj - v_excl
                    WHEN q.ch && v_keys THEN q.nj - akeys(delete(q.nh, v_keys)) END,
               q.oj - q.same, q.nj - q.same,
               v_user, v_actor, v_req, v_app, v_addr
        FROM (SELECT x.oh, x.nh, x.ch, akeys(delete(x.oh, x.ch)) AS same,
                     to_jsonb(x.orow) AS oj, to_jsonb(x.nrow) AS nj
              FROM (SELECT h.*, akeys(delete(h.nh - h.oh, v_excl)) AS ch
                    FROM (SELECT o.r AS orow, n.r AS nrow, hstore(o.r) AS oh, hstore(n.r) AS nh
                          FROM (SELECT row_number() OVER () AS rn, t AS r FROM old_rows t) o
                          JOIN (SELECT row_number() OVER () AS rn, t AS r FROM new_rows t) n USING (rn)
                          OFFSET 0) h
                    OFFSET 0) x
              WHERE cardinality(x.ch) > 0
              OFFSET 0) q;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO audit.log (id, at, txid, table_version, table_id, table_schema, table_name, op, key_kind,
                               key, new, db_user, actor, request_id, application_name, client_addr)
        SELECT nextval('audit.log_id_seq'), v_at, v_txid, v_ver, v_tid, v_schema, v_name, 'I', v_kind,
               CASE WHEN v_kind = 'row' THEN n.j
                    WHEN n.h ?& v_keys THEN n.j - akeys(delete(n.h, v_keys))
                    ELSE audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)) END,
               n.j, v_user, v_actor, v_req, v_app, v_addr
        FROM (SELECT hstore(t) AS h, to_jsonb(t) - v_excl AS j FROM new_rows t OFFSET 0) n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit.log (id, at, txid, table_version, table_id, table_schema, table_name, op, key_kind,
                               key, old, db_user, actor, request_id, application_name, client_addr)
        SELECT nextval('audit.log_id_seq'), v_at, v_txid, v_ver, v_tid, v_schema, v_name, 'D', v_kind,
               CASE WHEN v_kind = 'row' THEN o.j
                    WHEN o.h ?& v_keys THEN o.j - akeys(delete(o.h, v_keys))
                    ELSE audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)) END,
               o.j, v_user, v_actor, v_req, v_app, v_addr
        FROM (SELECT hstore(t) AS h, to_jsonb(t) - v_excl AS j FROM old_rows t OFFSET 0) o;
    ELSE -- TRUNCATE
        INSERT INTO audit.log (at, txid, table_version, table_id, table_schema, table_name, op, key_kind,
                               db_user, actor, request_id, application_name, client_addr)
        VALUES (v_at, v_txid, v_ver, v_tid, v_schema, v_name, 'T', v_kind,
                v_user, v_actor, v_req, v_app, v_addr);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The generic row-level trigger function (mode 'row'). Same arguments as
-- audit.capture. Work per row: two hstore conversions and a subtraction
-- find the changed columns; to_jsonb gives their typed values; one INSERT.
CREATE FUNCTION audit.capture_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit, pg_temp AS $$
DECLARE
    v_kind text := TG_ARGV[1];
    v_excl text[] := TG_ARGV[2];
    v_keys text[] := TG_ARGV[3];
    oh     hstore;
    nh     hstore;
    ch     text[];
    same   text[];
    oj     jsonb;
    nj     jsonb;
    k      jsonb;
    nk     jsonb;
    c      text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        oh := hstore(OLD);
        nh := hstore(NEW);
        ch := akeys(delete(nh - oh, v_excl));
        IF cardinality(ch) = 0 THEN
            RETURN NULL; -- nothing but excluded columns changed
        END IF;
        same := akeys(delete(oh, ch));
        oj := to_jsonb(OLD);
        nj := to_jsonb(NEW);
        IF NOT oj ?& v_excl THEN -- an excluded column was renamed unnoticed
            PERFORM audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME));
        END IF;
        IF v_kind = 'row' THEN
            k := oj - v_excl;
            nk := nj - v_excl;
        ELSE
            k := '{}';
            FOREACH c IN ARRAY v_keys LOOP
                IF NOT oj ? c THEN
                    k := audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME));
                END IF;
                k := k || jsonb_build_object(c, oj -> c);
            END LOOP;
            IF ch && v_keys THEN
                nk := '{}';
                FOREACH c IN ARRAY v_keys LOOP
                    nk := nk || jsonb_build_object(c, nj -> c);
                END LOOP;
            END IF;
        END IF;
        INSERT INTO audit.log (id, at, txid, table_version, table_id, table_schema, table_name, op, key_kind,
                               key, new_key, old, new, db_user, actor, request_id, application_name, client_addr)
        VALUES (nextval('audit.log_id_seq'), clock_timestamp(), pg_current_xact_id(), TG_ARGV[0]::bigint, TG_ARGV[4]::integer,
                coalesce(TG_ARGV[5], TG_TABLE_SCHEMA), coalesce(TG_ARGV[6], TG_TABLE_NAME), 'U', v_kind,
                k, nk, oj - same, nj - same, session_user,
                nullif(current_setting('messina.actor', true), ''), nullif(current_setting('messina.request_id', true), ''),
                nullif(current_setting('application_name'), ''), inet_client_addr());
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        nj := to_jsonb(NEW);
    ELSE
        nj := to_jsonb(OLD);
    END IF;
    IF NOT nj ?& v_excl THEN -- an excluded column was renamed unnoticed
        PERFORM audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME));
    END IF;
    nj := nj - v_excl;
    IF v_kind = 'row' THEN
        k := nj;
    ELSE
        k := '{}';
        FOREACH c IN ARRAY v_keys LOOP
            IF NOT nj ? c THEN
                k := audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME));
            END IF;
            k := k || jsonb_build_object(c, nj -> c);
        END LOOP;
    END IF;
    INSERT INTO audit.log (id, at, txid, table_version, table_id, table_schema, table_name, op, key_kind,
                           key, old, new, db_user, actor, request_id, application_name, client_addr)
    VALUES (nextval('audit.log_id_seq'), clock_timestamp(), pg_current_xact_id(), TG_ARGV[0]::bigint, TG_ARGV[4]::integer,
            coalesce(TG_ARGV[5], TG_TABLE_SCHEMA), coalesce(TG_ARGV[6], TG_TABLE_NAME), left(TG_OP, 1), v_kind,
            k, CASE WHEN TG_OP = 'DELETE' THEN nj END, CASE WHEN TG_OP = 'INSERT' THEN nj END, session_user,
            nullif(current_setting('messina.actor', true), ''), nullif(current_setting('messina.request_id', true), ''),
            nullif(current_setting('application_name'), ''), inet_client_addr());
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The key of a table from the catalogs: primary key, else the replica
-- identity index, else the narrowest unique index on NOT NULL columns
-- (no predicate, no expression), else the whole row.
CREATE FUNCTION audit.resolve_key(tbl regclass, OUT kind text, OUT cols text[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    idx oid;
BEGIN
    SELECT i.indexrelid INTO idx FROM pg_index i WHERE i.indrelid = tbl AND i.indisprimary;
    kind := 'pk';
    IF idx IS NULL THEN
        SELECT i.indexrelid INTO idx FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE i.indrelid = tbl AND i.indisreplident AND c.relreplident = 'i';
        kind := 'replica';
    END IF;
    IF idx IS NULL THEN
        SELECT i.indexrelid INTO idx FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = tbl AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
          AND NOT EXISTS (SELECT FROM unnest(i.indkey) k(attnum)
                          JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = k.attnum
                          WHERE NOT a.attnotnull)
        ORDER BY i.indnkeyatts, ic.relname
        LIMIT 1;
        kind := 'unique';
    END IF;
    IF idx IS NULL THEN
        kind := 'row';
        cols := '{}';
        RETURN;
    END IF;
    SELECT array_agg(a.attname::text ORDER BY k.ord) INTO cols
    FROM pg_index i, unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = k.attnum
    WHERE i.indexrelid = idx;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- (Re)creates the capture triggers on tbl with the metadata of version ver
-- as arguments. Mode 'row': one row trigger on tbl (PostgreSQL clones it
-- onto every partition, present and future). Mode 'statement': statement
-- triggers on tbl and on each leaf partition (statements may name a
-- partition). Partitions log under the name of the audited table.
CREATE FUNCTION audit.attach(tbl regclass, ver bigint) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v     audit.table_version;
    mode  text;
    rel   regclass;
    args  text;
    named text;
    ops   text[] := ARRAY['INSERT', 'UPDATE', 'DELETE'];
    refs  text[] := ARRAY['NEW TABLE AS new_rows', 'OLD TABLE AS old_rows NEW TABLE AS new_rows', 'OLD TABLE AS old_rows'];
    i     integer;
BEGIN
    SELECT * INTO STRICT v FROM audit.table_version WHERE id = ver;
    SELECT t.mode INTO STRICT mode FROM audit.audited_table t WHERE t.id = v.table_id;
    PERFORM audit.detach(tbl);
    args := format('%L, %L, %L, %L, %L', ver, v.key_kind, v.exclude, v.key_columns, v.table_id);
    named := args || format(', %L, %L', v.table_schema, v.table_name);
    IF (SELECT relkind FROM pg_class WHERE oid = tbl) = 'p' AND mode = 'row' THEN
        args := named;
    END IF;
    EXECUTE format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION audit.capture(%s)',
                   tbl, args);
    IF mode = 'row' THEN
        EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION audit.capture_row(%s)',
                       tbl, args);
        RETURN;
    END IF;
    FOR rel IN SELECT tbl UNION ALL
               SELECT p.relid FROM pg_partition_tree(tbl) p WHERE p.relid <> tbl AND p.isleaf
    LOOP
        FOR i IN 1 .. 3 LOOP
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION audit.capture(%s)',
                           'audit_' || lower(ops[i]), ops[i], rel, refs[i], CASE WHEN rel = tbl THEN args ELSE named END);
        END LOOP;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Drops the capture triggers of tbl and of its partitions. The root goes
-- first: dropping its row trigger drops the clones on the partitions.
CREATE FUNCTION audit.detach(tbl regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.tgname, t.tgrelid::regclass AS rel
             FROM (SELECT tbl AS relid, 0 AS ord UNION ALL
                   SELECT p.relid, 1 FROM pg_partition_tree(tbl) p WHERE p.relid <> tbl) x
             JOIN pg_trigger t ON t.tgrelid = x.relid
             WHERE t.tgname IN ('audit_row', 'audit_insert', 'audit_update', 'audit_delete', 'audit_truncate')
             ORDER BY x.ord
    LOOP
        -- A clone may already be gone with its parent.
        IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = r.rel AND tgname = r.tgname) THEN
            EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The audited table a relation's capture trigger belongs to, read from the
-- trigger's first argument (the table version id), or null.
CREATE FUNCTION audit.table_of(rel regclass) RETURNS integer
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT v.table_id
    FROM pg_trigger t
    JOIN audit.table_version v
      ON v.id = convert_from(substring(t.tgargs FROM 1 FOR position('\x00'::bytea IN t.tgargs) - 1), 'UTF8')::bigint
    WHERE t.tgrelid = rel AND t.tgname IN ('audit_row', 'audit_update') AND t.tgparentid = 0
    LIMIT 1
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Reads tbl's current metadata from the catalogs and, when its name,
-- columns, types, key or exclusions differ from the current version,
-- writes a new version and re-attaches the triggers. Excluded columns
-- follow renames (by attnum). Returns the current version id.
CREATE FUNCTION audit.refresh(tbl regclass, reason text DEFAULT 'ddl', force boolean DEFAULT false) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tid     integer;
    t       audit.audited_table;
    cur     audit.table_version;
    k       record;
    cols    jsonb;
    excl    text[];
    sch     text;
    nam     text;
    ver     bigint;
BEGIN
    SELECT n.nspname, c.relname INTO sch, nam
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
    -- The trigger's arguments identify the table across a rename; before
    -- the first attach, its name does.
    tid := coalesce(audit.table_of(tbl),
                    (SELECT a.id FROM audit.audited_table a
                     WHERE a.table_schema = sch AND a.table_name = nam AND a.enabled));
    IF tid IS NULL THEN
        RAISE EXCEPTION 'audit: % is not audited', tbl USING ERRCODE = 'undefined_object';
    END IF;
    SELECT * INTO STRICT t FROM audit.audited_table WHERE id = tid;
    SELECT * INTO cur FROM audit.table_version WHERE id = t.current_version;
    SELECT coalesce(jsonb_agg(jsonb_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                                 'attnum', a.attnum) ORDER BY a.attnum), '[]')
    INTO cols
    FROM pg_attribute a WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped;
    -- Exclusions by name, following a rename through the attnum.
    SELECT coalesce(array_agg(DISTINCT x.now_name ORDER BY x.now_name), '{}') INTO excl
    FROM (
        SELECT coalesce(
                   (SELECT c->>'name' FROM jsonb_array_elements(cols) c WHERE c->>'name' = e),
                   (SELECT n->>'name' FROM jsonb_array_elements(coalesce(cur.columns, '[]')) o
                    JOIN jsonb_array_elements(cols) n ON n->'attnum' = o->'attnum'
                    WHERE o->>'name' = e)) AS now_name
        FROM unnest(t.exclude) e
    ) x WHERE x.now_name IS NOT NULL;
    k := audit.resolve_key(tbl);
    IF k.cols && excl THEN
        RAISE EXCEPTION 'audit: key column of % cannot be excluded', tbl USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT force AND cur.id IS NOT NULL
       AND cur.table_schema = sch AND cur.table_name = nam AND cur.key_kind = k.kind
       AND cur.key_columns = k.cols AND cur.columns = cols AND cur.exclude = excl THEN
        ver := cur.id;
    ELSE
        INSERT INTO audit.table_version (table_id, table_schema, table_name, key_kind, key_columns, columns, exclude, reason)
        VALUES (tid, sch, nam, k.kind, k.cols, cols, excl, reason)
        RETURNING id INTO ver;
        UPDATE audit.audited_table
        SET table_schema = sch, table_name = nam, exclude = excl, current_version = ver, enabled = true
        WHERE id = tid;
    END IF;
    PERFORM audit.attach(tbl, ver);
    RETURN ver;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Starts auditing tbl. exclude names columns never to log (nor to count as
-- a change); mode is 'row' (default) or 'statement' (see audited_table).
-- Calling it again updates both. Only the table's owner may call it (it
-- creates triggers on the table). Returns the table version id.
CREATE FUNCTION audit.enable(tbl regclass, exclude text[] DEFAULT '{}', mode text DEFAULT 'row') RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sch  text;
    nam  text;
    kind char;
    bad  text;
BEGIN
    SELECT n.nspname, c.relname, c.relkind INTO sch, nam, kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'audit: % is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    IF sch = 'audit' THEN
        RAISE EXCEPTION 'audit: tables of schema audit cannot be audited' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'audit: must own % to enable auditing', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT e INTO bad FROM unnest(enable.exclude) e
    WHERE NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = e AND a.attnum > 0 AND NOT a.attisdropped)
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'audit: % has no column %', tbl, bad USING ERRCODE = 'undefined_column';
    END IF;
    IF enable.mode IS NULL OR enable.mode NOT IN ('row', 'statement') THEN
        RAISE EXCEPTION 'audit: mode must be row or statement' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO audit.audited_table AS a (table_schema, table_name, exclude, mode)
    VALUES (sch, nam, coalesce(enable.exclude, '{}'), enable.mode)
    ON CONFLICT (table_schema, table_name) DO UPDATE SET exclude = excluded.exclude, mode = excluded.mode, enabled = true;
    RETURN audit.refresh(tbl, 'enable', false);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Stops auditing tbl; its history stays.
CREATE FUNCTION audit.disable(tbl regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tid integer := audit.table_of(tbl);
BEGIN
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'audit: must own % to disable auditing', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM audit.detach(tbl);
    UPDATE audit.audited_table SET enabled = false WHERE id = tid;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Refreshes every enabled table (after a restore, or a DDL whose target the
-- event trigger cannot tell, like DROP INDEX). Returns how many it saw.
CREATE FUNCTION audit.refresh_all(reason text DEFAULT 'refresh') RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t   audit.audited_table;
    rel regclass;
    n   integer := 0;
BEGIN
    FOR t IN SELECT * FROM audit.audited_table WHERE enabled ORDER BY id LOOP
        rel := to_regclass(format('%I.%I', t.table_schema, t.table_name));
        IF rel IS NULL THEN
            RAISE WARNING 'audit: audited table %.% not found', t.table_schema, t.table_name;
            CONTINUE;
        END IF;
        PERFORM audit.refresh(rel, reason, false);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Event trigger function (ddl_command_end): refreshes the metadata of the
-- audited tables a DDL command touched, directly, through one of their
-- indexes, or as a partition.
CREATE FUNCTION audit.on_ddl_end() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c    record;
    rel  oid;
    done oid[] := '{}';
BEGIN
    IF TG_TAG = 'DROP INDEX' THEN
        PERFORM audit.refresh_all('ddl');
        RETURN;
    END IF;
    FOR c IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE classid = 'pg_class'::regclass LOOP
        rel := coalesce((SELECT indrelid FROM pg_index WHERE indexrelid = c.objid), c.objid);
        -- A new or attached partition belongs to its audited ancestor.
        SELECT coalesce((SELECT a.relid FROM pg_partition_ancestors(rel) WITH ORDINALITY a(relid, n)
                         WHERE a.relid <> rel AND audit.table_of(a.relid) IS NOT NULL
                         ORDER BY a.n DESC LIMIT 1), rel)
        INTO rel;
        CONTINUE WHEN rel = ANY (done) OR audit.table_of(rel) IS NULL;
        PERFORM audit.refresh(rel::regclass, 'ddl', false);
        done := done || rel;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Event trigger function (sql_drop): a dropped audited table is marked
-- disabled; its history stays.
CREATE FUNCTION audit.on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE audit.audited_table a SET enabled = false
    FROM pg_event_trigger_dropped_objects() d
    WHERE d.object_type = 'table' AND d.original AND a.table_schema = d.schema_name AND a.table_name = d.object_name;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Creates the event triggers. Only a superuser may create event triggers,
-- so the migration calls this when it runs as one; otherwise a superuser
-- must run `SELECT audit.install_event_triggers()` once per database.
CREATE FUNCTION audit.install_event_triggers() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'audit_ddl_end') THEN
        CREATE EVENT TRIGGER audit_ddl_end ON ddl_command_end
            WHEN TAG IN ('ALTER TABLE', 'CREATE INDEX', 'ALTER INDEX', 'DROP INDEX', 'CREATE TABLE')
            EXECUTE FUNCTION audit.on_ddl_end();
    END IF;
    IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'audit_sql_drop') THEN
        CREATE EVENT TRIGGER audit_sql_drop ON sql_drop
            WHEN TAG IN ('DROP TABLE')
            EXECUTE FUNCTION audit.on_sql_drop();
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Whether both event triggers exist and are enabled, for verify and health
-- checks: without them DDL leaves the metadata stale.
CREATE FUNCTION audit.event_triggers_installed() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT count(*) = 2 FROM pg_event_trigger
    WHERE evtname IN ('audit_ddl_end', 'audit_sql_drop') AND evtenabled <> 'D'
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        PERFORM audit.install_event_triggers();
    ELSE
        RAISE WARNING 'audit: not a superuser, event triggers not created; a superuser must run SELECT audit.install_event_triggers()';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The canonical bytes of a log row that seals hash: each field as
-- "<octet length>:<text>" or "~" for null, joined by "|". Text forms are
-- fixed (time as epoch microseconds, jsonb's normalized text) so they do
-- not depend on session settings.
CREATE FUNCTION audit.canonical(l audit.log) RETURNS bytea
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT convert_to(array_to_string(ARRAY(
        SELECT coalesce(octet_length(f)::text || ':' || f, '~')
        FROM unnest(ARRAY[
            l.id::text, (extract(epoch FROM l.at) * 1000000)::bigint::text, l.txid::text,
            l.table_version::text, l.table_schema, l.table_name, l.op, l.key_kind,
            l.key::text, l.new_key::text, l.old::text, l.new::text, l.db_user, l.actor,
            l.request_id, l.application_name, l.client_addr::text, l.table_id::text]) WITH ORDINALITY u(f, i)
        ORDER BY i), '|'), 'UTF8')
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Seals the log rows written since the last seal (at most max_rows): their
-- digests are chained to the previous seal's hash. It first waits for the
-- transactions that were writing when it started, so no row with a lower
-- id can appear after the seal. Returns the new seal, or null when there
-- was nothing to seal. Must run in READ COMMITTED.
CREATE FUNCTION audit.seal(max_rows integer DEFAULT 100000) RETURNS audit.seal
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    last   audit.seal;
    upto   bigint;
    x      xid8;
    me     xid8 := pg_current_xact_id_if_assigned();
    ids    bigint[];
    dig    bytea;
    result audit.seal;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'audit.seal must run in READ COMMITTED' USING ERRCODE = 'invalid_transaction_state';
    END IF;
    LOCK TABLE audit.seal IN EXCLUSIVE MODE;
    SELECT * INTO last FROM audit.seal ORDER BY id DESC LIMIT 1;
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO upto FROM audit.log_id_seq;
    FOR x IN SELECT pg_snapshot_xip(pg_current_snapshot()) LOOP
        CONTINUE WHEN x = me;
        WHILE pg_xact_status(x) = 'in progress' LOOP
            PERFORM pg_sleep(0.01);
        END LOOP;
    END LOOP;
    SELECT coalesce(array_agg(r.id ORDER BY r.id), '{}'), coalesce(string_agg(r.d, ''::bytea ORDER BY r.id), ''::bytea)
    INTO ids, dig
    FROM (SELECT l.id, sha256(audit.canonical(l)) AS d FROM audit.log l
          WHERE l.id > coalesce(last.upto_id, 0) AND l.id <= upto
          ORDER BY l.id LIMIT max_rows) r;
    IF cardinality(ids) = 0 THEN
        RETURN NULL;
    END IF;
    IF cardinality(ids) = max_rows THEN
        upto := ids[cardinality(ids)];
    END IF;
    INSERT INTO audit.seal (from_id, upto_id, row_count, ids, digests, prev_hash, hash)
    VALUES (coalesce(last.upto_id, 0), upto, cardinality(ids), ids, dig, last.hash,
            sha256(coalesce(last.hash, ''::bytea) || int8send(coalesce(last.upto_id, 0)) || int8send(upto) || dig))
    RETURNING * INTO result;
    RETURN result;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The current row with the given key (current column names) of audited
-- table tid, as jsonb without excluded columns, or null. It runs with the
-- caller's rights, so row-level security applies. AsOf uses it to rebuild
-- rows that existed before auditing started, backwards from today.
CREATE FUNCTION audit.current_row(tid integer, key jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t    audit.audited_table;
    v    audit.table_version;
    rel  regclass;
    cond text;
    r    jsonb;
BEGIN
    SELECT * INTO t FROM audit.audited_table a WHERE a.id = tid;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v FROM audit.table_version tv WHERE tv.id = t.current_version;
    rel := to_regclass(format('%I.%I', t.table_schema, t.table_name));
    IF rel IS NULL OR v.key_kind = 'row' THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('x.%I = k.%I', c, c), ' AND ') INTO cond FROM unnest(v.key_columns) c;
    EXECUTE format('SELECT to_jsonb(x) - $2 FROM %s x, jsonb_populate_record(NULL::%s, $1) k WHERE %s', rel, rel, cond)
        INTO r USING key, v.exclude;
    RETURN r;
END
$$;
-- +goose StatementEnd

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.seal(integer), audit.create_partitions(integer), audit.event_triggers_installed(),
    audit.canonical(audit.log), audit.current_row(integer, jsonb) TO messina_app;

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    DROP EVENT TRIGGER IF EXISTS audit_ddl_end;
    DROP EVENT TRIGGER IF EXISTS audit_sql_drop;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'audit: a superuser must drop event triggers audit_ddl_end and audit_sql_drop';
END
$$;
-- +goose StatementEnd
DROP SCHEMA audit CASCADE;
