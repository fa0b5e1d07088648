-- +goose Up
-- audit.current_rows: audit.current_row for many keys of one table in one
-- statement. AsOf rebuilds rows older than auditing backwards from today's
-- row, and an order's lines as of a time would otherwise read today's rows
-- one statement per line. AsOf of one row is its one-key case, so
-- audit.current_row, which nothing calls any more, goes.

-- +goose StatementBegin
-- The rows of audited table tid as they are now (current column names,
-- excluded columns left out) for the keys
-- of the JSON array keys, each with its key's position in keys (from 1).
-- A key without a row gives no row. It runs with the caller's rights, so
-- row-level security applies, and it gives nothing for a dropped table or
-- one keyed by its whole row.
CREATE FUNCTION audit.current_rows(tid integer, keys jsonb) RETURNS TABLE (ord bigint, current jsonb)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t    audit.audited_table;
    v    audit.table_version;
    rel  regclass;
    cond text;
BEGIN
    SELECT * INTO t FROM audit.audited_table a WHERE a.id = tid;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO v FROM audit.table_version tv WHERE tv.id = t.current_version;
    rel := to_regclass(format('%I.%I', t.table_schema, t.table_name));
    IF rel IS NULL OR v.key_kind = 'row' THEN
        RETURN;
    END IF;
    SELECT string_agg(format('x.%I = k.%I', c, c), ' AND ') INTO cond FROM unnest(v.key_columns) c;
    -- Identifiers come from the catalogs (format %s of a regclass, %I);
    -- the keys and exclusions are parameters.
    RETURN QUERY EXECUTE format(
        'SELECT e.ord, to_jsonb(x) - $2
         FROM jsonb_array_elements($1) WITH ORDINALITY e(key, ord)
         CROSS JOIN LATERAL jsonb_populate_record(NULL::%s, e.key) k
         JOIN %s x ON %s', rel, rel, cond)
        USING keys, v.exclude;
END
$$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION audit.current_rows(integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.current_rows(integer, jsonb) TO messina_app;

DROP FUNCTION audit.current_row(integer, jsonb);

-- +goose Down
-- +goose StatementBegin
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
REVOKE ALL ON FUNCTION audit.current_row(integer, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.current_row(integer, jsonb) TO messina_app;
DROP FUNCTION audit.current_rows(integer, jsonb);
