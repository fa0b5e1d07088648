-- +goose Up
-- The site of each audit event, so that auditors limited to sites read
-- the audit log too, seeing only their sites' changes.
--
-- * audit.audited_table.site_column names a table's site column (set by
--   audit.set_site_column, like the exclusions a configuration of the
--   table, never a name hard-coded in the trigger); the capture triggers
--   get it as their 8th argument and store the row's value in
--   audit.log.site.
-- * Events of tables without a site column (the catalogue) have no site
--   and are for everyone. Events of a table with one that have no site
--   (written before this migration, or when the column was renamed
--   without the event trigger) are for all-sites readers only: unknown is
--   never read as "any".
-- * audit.canonical adds the site only when there is one, so the rows
--   sealed before keep their digests.

ALTER TABLE audit.audited_table ADD COLUMN site_column text;
ALTER TABLE audit.log ADD COLUMN site text;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit.attach(tbl regclass, ver bigint) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v     audit.table_version;
    mode  text;
    site  text;
    rel   regclass;
    args  text;
    named text;
    ops   text[] := ARRAY['INSERT', 'UPDATE', 'DELETE'];
    refs  text[] := ARRAY['NEW TABLE AS new_rows', 'OLD TABLE AS old_rows NEW TABLE AS new_rows', 'OLD TABLE AS old_rows'];
    i     integer;
BEGIN
    SELECT * INTO STRICT v FROM audit.table_version WHERE id = ver;
    SELECT t.mode, coalesce(t.site_column, '') INTO STRICT mode, site FROM audit.audited_table t WHERE t.id = v.table_id;
    PERFORM audit.detach(tbl);
    -- Arguments 5 and 6 name the audited table for triggers on its
    -- partitions (empty: the trigger's own table); 7 is the site column.
    args := format('%L, %L, %L, %L, %L, %L, %L, %L', ver, v.key_kind, v.exclude, v.key_columns, v.table_id, '', '', site);
    named := format('%L, %L, %L, %L, %L, %L, %L, %L', ver, v.key_kind, v.exclude, v.key_columns, v.table_id,
                    v.table_schema, v.table_name, site);
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
CREATE OR REPLACE FUNCTION audit.capture_row() RETURNS trigger
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
                               key, new_key, old, new, db_user, actor, request_id, application_name, client_addr, site)
        VALUES (nextval('audit.log_id_seq'), clock_timestamp(), pg_current_xact_id(), TG_ARGV[0]::bigint, TG_ARGV[4]::integer,
                coalesce(nullif(TG_ARGV[5], ''), TG_TABLE_SCHEMA), coalesce(nullif(TG_ARGV[6], ''), TG_TABLE_NAME), 'U', v_kind,
                k, nk, oj - same, nj - same, session_user,
                nullif(current_setting('messina.actor', true), ''), nullif(current_setting('messina.request_id', true), ''),
                nullif(current_setting('application_name'), ''), inet_client_addr(), nj ->> nullif(TG_ARGV[7], ''));
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
                           key, old, new, db_user, actor, request_id, application_name, client_addr, site)
    VALUES (nextval('audit.log_id_seq'), clock_timestamp(), pg_current_xact_id(), TG_ARGV[0]::bigint, TG_ARGV[4]::integer,
            coalesce(nullif(TG_ARGV[5], ''), TG_TABLE_SCHEMA), coalesce(nullif(TG_ARGV[6], ''), TG_TABLE_NAME), left(TG_OP, 1), v_kind,
            k, CASE WHEN TG_OP = 'DELETE' THEN nj END, CASE WHEN TG_OP = 'INSERT' THEN nj END, session_user,
            nullif(current_setting('messina.actor', true), ''), nullif(current_setting('messina.request_id', true), ''),
            nullif(current_setting('application_name'), ''), inet_client_addr(), nj ->> nullif(TG_ARGV[7], ''));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit.capture() RETURNS trigger
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
    v_schema text := coalesce(nullif(TG_ARGV[5], ''), TG_TABLE_SCHEMA);
    v_name   text := coalesce(nullif(TG_ARGV[6], ''), TG_TABLE_NAME);
    v_site   text := nullif(TG_ARGV[7], '');
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
                               key, new_key, old, new, db_user, actor, request_id, application_name, client_addr, site)
        SELECT nextval('audit.log_id_seq'), v_at, v_txid, v_ver, v_tid, v_schema, v_name, 'U', v_kind,
               CASE WHEN v_kind = 'row' THEN q.oj - v_excl
                    WHEN q.oh ?& v_keys THEN q.oj - akeys(delete(q.oh, v_keys))
                    ELSE audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)) END,
               CASE WHEN v_kind = 'row' THEN q.nj - v_excl
                    WHEN q.ch && v_keys THEN q.nj - akeys(delete(q.nh, v_keys)) END,
               q.oj - q.same, q.nj - q.same,
               v_user, v_actor, v_req, v_app, v_addr, q.nj ->> v_site
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
                               key, new, db_user, actor, request_id, application_name, client_addr, site)
        SELECT nextval('audit.log_id_seq'), v_at, v_txid, v_ver, v_tid, v_schema, v_name, 'I', v_kind,
               CASE WHEN v_kind = 'row' THEN n.j
                    WHEN n.h ?& v_keys THEN n.j - akeys(delete(n.h, v_keys))
                    ELSE audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)) END,
               n.j, v_user, v_actor, v_req, v_app, v_addr, n.j ->> v_site
        FROM (SELECT hstore(t) AS h, to_jsonb(t) - v_excl AS j FROM new_rows t OFFSET 0) n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit.log (id, at, txid, table_version, table_id, table_schema, table_name, op, key_kind,
                               key, old, db_user, actor, request_id, application_name, client_addr, site)
        SELECT nextval('audit.log_id_seq'), v_at, v_txid, v_ver, v_tid, v_schema, v_name, 'D', v_kind,
               CASE WHEN v_kind = 'row' THEN o.j
                    WHEN o.h ?& v_keys THEN o.j - akeys(delete(o.h, v_keys))
                    ELSE audit.stale_key(format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)) END,
               o.j, v_user, v_actor, v_req, v_app, v_addr, o.j ->> v_site
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
CREATE OR REPLACE FUNCTION audit.canonical(l audit.log) RETURNS bytea
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT convert_to(array_to_string(ARRAY(
        SELECT coalesce(octet_length(f)::text || ':' || f, '~')
        FROM unnest(ARRAY[
            l.id::text, (extract(epoch FROM l.at) * 1000000)::bigint::text, l.txid::text,
            l.table_version::text, l.table_schema, l.table_name, l.op, l.key_kind,
            l.key::text, l.new_key::text, l.old::text, l.new::text, l.db_user, l.actor,
            l.request_id, l.application_name, l.client_addr::text, l.table_id::text]
            -- The site joined later: rows without one keep the bytes
            -- (and the seals) they had.
            || CASE WHEN l.site IS NULL THEN '{}'::text[] ELSE ARRAY[l.site] END) WITH ORDINALITY u(f, i)
        ORDER BY i), '|'), 'UTF8')
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Names the site column of an audited table (NULL: none) and re-attaches
-- its triggers. Only the table's owner may call it.
CREATE FUNCTION audit.set_site_column(tbl regclass, col text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tid integer := audit.table_of(tbl);
BEGIN
    IF tid IS NULL THEN
        RAISE EXCEPTION 'audit: % is not audited', tbl USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'audit: must own % to configure auditing', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF col IS NOT NULL AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col
                                       AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'audit: % has no column %', tbl, col USING ERRCODE = 'undefined_column';
    END IF;
    UPDATE audit.audited_table SET site_column = col WHERE id = tid;
    PERFORM audit.attach(tbl, (SELECT current_version FROM audit.audited_table WHERE id = tid));
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Every audited table with a site_id column has it as its site column;
-- the others are re-attached with the new argument layout.
DO $$
DECLARE
    t   audit.audited_table;
    rel regclass;
BEGIN
    FOR t IN SELECT * FROM audit.audited_table WHERE enabled ORDER BY id LOOP
        rel := to_regclass(format('%I.%I', t.table_schema, t.table_name));
        CONTINUE WHEN rel IS NULL;
        IF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = 'site_id' AND a.attnum > 0 AND NOT a.attisdropped) THEN
            PERFORM audit.set_site_column(rel, 'site_id');
        ELSE
            PERFORM audit.attach(rel, t.current_version);
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Whether the transaction's principal (messina.sites, see
-- core.site_visible) may read an audit event: one of its sites, or an
-- event of a table without a site column. An event without a site of a
-- table with one is for all-sites readers only.
CREATE FUNCTION audit.event_visible(site text, table_id integer) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT core.site_visible(site)
        OR (site IS NULL AND NOT EXISTS (SELECT FROM audit.audited_table a
                                         WHERE a.id = table_id AND a.site_column IS NOT NULL))
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION audit.set_site_column(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.event_visible(text, integer) TO messina_app;

-- +goose Down
-- The 00002 bodies again, then the columns go.
DROP FUNCTION audit.event_visible(text, integer);
DROP FUNCTION audit.set_site_column(regclass, text);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit.attach(tbl regclass, ver bigint) RETURNS void
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
CREATE OR REPLACE FUNCTION audit.capture_row() RETURNS trigger
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
CREATE OR REPLACE FUNCTION audit.capture() RETURNS trigger
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
CREATE OR REPLACE FUNCTION audit.canonical(l audit.log) RETURNS bytea
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
DO $$
DECLARE
    t   audit.audited_table;
    rel regclass;
BEGIN
    FOR t IN SELECT * FROM audit.audited_table WHERE enabled ORDER BY id LOOP
        rel := to_regclass(format('%I.%I', t.table_schema, t.table_name));
        CONTINUE WHEN rel IS NULL;
        PERFORM audit.attach(rel, t.current_version);
    END LOOP;
END
$$;
-- +goose StatementEnd
ALTER TABLE audit.log DROP COLUMN site;
ALTER TABLE audit.audited_table DROP COLUMN site_column;
