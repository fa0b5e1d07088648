-- +goose Up
-- Filestore (design.md section 5): content-addressed blobs, attachments
-- owned by orders, contracts and invoices, and their append-only,
-- hash-chained revisions.

-- A blob is the bytes with a given SHA-256, stored once however many
-- revisions use them. Blobs are shared across sites (deduplication), so the
-- table has no row-level security; what a caller may see is decided by the
-- attachment and revision tables.
CREATE TABLE files.blob (
    sha256         bytea PRIMARY KEY CHECK (length(sha256) = 32),
    -- Identifies this incarnation of the row: GC may delete a row and an
    -- upload create it again, and an upload must notice that its pin went
    -- away with the old row.
    gen            bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    size           bigint CHECK (size >= 0),
    -- Where the bytes are when not at the content key
    -- (sha256/ab/cd/<hex>): uploads without a client digest are written,
    -- while hashing, under a unique key and stay there (no second copy).
    object_key     text UNIQUE,
    -- False while an upload that announced this digest is writing it.
    stored         boolean NOT NULL DEFAULT false,
    -- GC leaves the row and its object alone until then: an upload pins
    -- the row before writing the object.
    pinned_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    stored_at      timestamptz,
    verified_at    timestamptz,
    -- Set when a download or scrub found the object missing or its bytes
    -- not hashing to sha256; a new upload of the content heals it.
    corrupt_at     timestamptz,
    corrupt_reason text,
    CHECK (NOT stored OR size IS NOT NULL)
);

-- Objects being written under a unique key (uploads without a digest):
-- the pin keeps GC from taking the object for an orphan before the upload
-- records it on a blob row.
CREATE TABLE files.upload (
    key          text PRIMARY KEY,
    pinned_until timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE files.attachment (
    id              uuid PRIMARY KEY,
    owner_type      text NOT NULL CHECK (owner_type IN ('order', 'contract', 'invoice')),
    -- The owner's existence is checked by the caller (the API loads the
    -- order, contract or invoice and passes its id and site).
    owner_id        uuid NOT NULL,
    site_id         text NOT NULL REFERENCES core.site (id),
    name            text NOT NULL CHECK (name <> '' AND length(name) <= 255),
    -- The highest revision number; the revision insert increments it under
    -- the row lock, which makes numbers gap-free under concurrency.
    latest_revision integer NOT NULL DEFAULT 0 CHECK (latest_revision >= 0),
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachment_owner ON files.attachment (owner_type, owner_id, id);
SELECT core.isolate_by_site('files.attachment');

CREATE TABLE files.revision (
    attachment_id uuid NOT NULL REFERENCES files.attachment (id),
    number        integer NOT NULL CHECK (number > 0),
    blob_sha256   bytea NOT NULL REFERENCES files.blob (sha256),
    filename      text NOT NULL CHECK (filename <> '' AND length(filename) <= 255),
    content_type  text NOT NULL CHECK (content_type <> ''),
    size          bigint NOT NULL CHECK (size >= 0),
    comment       text NOT NULL DEFAULT '' CHECK (length(comment) <= 4000),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    restored_from integer CHECK (restored_from > 0 AND restored_from < number),
    -- hash = sha256(prev_hash || canonical row); prev_hash is the previous
    -- revision's hash (NULL for number 1). Set by the insert trigger, so
    -- files.revision_verify can recompute the chain.
    prev_hash     bytea,
    hash          bytea NOT NULL,
    PRIMARY KEY (attachment_id, number)
);
CREATE INDEX revision_blob ON files.revision (blob_sha256);
ALTER TABLE files.revision ENABLE ROW LEVEL SECURITY;
-- A revision is visible when its attachment is (that subquery is itself
-- filtered by the attachment policy).
CREATE POLICY revision_site_isolation ON files.revision TO messina_app
    USING (EXISTS (SELECT FROM files.attachment a WHERE a.id = attachment_id))
    WITH CHECK (EXISTS (SELECT FROM files.attachment a WHERE a.id = attachment_id));

-- The canonical form of a revision that its hash covers. Times are
-- rendered in UTC with microseconds so the text does not depend on the
-- session's TimeZone.
CREATE FUNCTION files.revision_hash(prev bytea, r files.revision) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT sha256(coalesce(prev, ''::bytea) || convert_to(json_build_array(
            r.attachment_id::text, r.number, encode(r.blob_sha256, 'hex'), r.filename,
            r.content_type, r.size, r.comment, r.created_by,
            to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            r.restored_from)::text, 'UTF8'))
    $$;

-- +goose StatementBegin
CREATE FUNCTION files.revision_chain() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.number > 1 THEN
        SELECT hash INTO NEW.prev_hash FROM files.revision
        WHERE attachment_id = NEW.attachment_id AND number = NEW.number - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'revision % of attachment % has no predecessor', NEW.number, NEW.attachment_id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSE
        NEW.prev_hash := NULL;
    END IF;
    NEW.hash := files.revision_hash(NEW.prev_hash, NEW);
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER revision_chain BEFORE INSERT ON files.revision
    FOR EACH ROW EXECUTE FUNCTION files.revision_chain();

-- History is never rewritten: the application role has no right to change
-- revisions, and the trigger refuses it for everyone else too.
-- +goose StatementBegin
CREATE FUNCTION files.revision_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'files.revision is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER revision_append_only BEFORE UPDATE OR DELETE ON files.revision
    FOR EACH ROW EXECUTE FUNCTION files.revision_append_only();
CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON files.revision
    FOR EACH STATEMENT EXECUTE FUNCTION files.revision_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON files.revision FROM messina_app;

-- revision_verify recomputes the hash chain of an attachment and returns
-- the number of the first revision that does not match, or NULL when the
-- history is intact.
-- +goose StatementBegin
CREATE FUNCTION files.revision_verify(attachment uuid) RETURNS integer
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    r    files.revision;
    prev bytea;
    want integer := 1;
BEGIN
    FOR r IN SELECT * FROM files.revision WHERE attachment_id = attachment ORDER BY number LOOP
        IF r.number <> want
           OR r.prev_hash IS DISTINCT FROM prev
           OR r.hash IS DISTINCT FROM files.revision_hash(prev, r) THEN
            RETURN want;
        END IF;
        prev := r.hash;
        want := want + 1;
    END LOOP;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- CASCADE takes files.revision_hash, which uses the row type.
DROP TABLE files.revision CASCADE;
DROP TABLE files.attachment, files.upload, files.blob;
DROP FUNCTION files.revision_verify(uuid), files.revision_append_only(), files.revision_chain();
