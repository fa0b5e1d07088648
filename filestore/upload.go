package filestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/gabriel-vasile/mimetype"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/queries"
)

// Upload is the content of a new revision.
type Upload struct {
	// Body is read once, in order; it is not closed.
	Body io.Reader
	// Size is the exact length of Body, or -1 when unknown.
	Size int64
	// Digest is the SHA-256 the client announced (ParseContentDigest), or
	// nil. With a digest the body goes straight to its content key and is
	// verified before it becomes visible, and is not read at all when the
	// blob is already stored.
	Digest []byte
	// ContentType is what the client declared ("" when none); the stored
	// type is the declared one only when it agrees with the sniffed one.
	ContentType string
	// Filename is the client's name for the file; it is cleaned with
	// SafeFilename.
	Filename string
	Comment  string
}

// maxCommentBytes matches the revision table's check, tested before the
// body is read.
const maxCommentBytes = 4000

// sniffLen is how much of the body is examined to detect its type, and
// all the body that is ever held in memory at once by the service.
const sniffLen = 3072

// storedBlob is a blob whose bytes are in the store, ready to be recorded.
type storedBlob struct {
	sum         []byte
	size        int64
	contentType string
	objectKey   *string // nil: the content key
	pinnedGen   int64   // digest path: the generation of the row we pinned
	pinnedUntil *time.Time
	uploadKey   string // no-digest path: the object's upload pin
}

// CreateAttachment creates an attachment of owner with revision 1 holding
// up. The owner's existence is the caller's business; a site the caller
// cannot see gives ErrNotFound. On any error no attachment, revision or
// blob row is left (and GC removes any object written).
func (s *Service) CreateAttachment(ctx context.Context, owner Owner, name string, up Upload) (Attachment, Revision, error) {
	name, id, check, err := s.newAttachment(ctx, owner, name, up)
	if err != nil {
		return Attachment{}, Revision{}, fmt.Errorf("create attachment: %w", err)
	}
	var att Attachment
	rev, err := s.upload(ctx, up, check, func(q *queries.Queries) (uuid.UUID, bool, error) {
		row, err := q.AttachmentCreate(ctx, queries.AttachmentCreateParams{
			ID: id, OwnerType: string(owner.Type), OwnerID: owner.ID, SiteID: owner.Site,
			Name: name, CreatedBy: actor(ctx),
		})
		att = attachmentFromRow(row)
		return id, true, err
	})
	if err != nil {
		return Attachment{}, Revision{}, fmt.Errorf("create attachment of %s %s: %w", owner.Type, owner.ID, err)
	}
	return att, rev, nil
}

// newAttachment checks what an upload that may create an attachment of
// owner needs before its body is read: a valid owner on a site the caller
// can see (RLS would refuse the others anyway). It returns the cleaned
// name (the file's when name is empty), an id for a new attachment, and
// the check that runs in the transaction pinning the upload.
func (s *Service) newAttachment(ctx context.Context, owner Owner, name string, up Upload) (string, uuid.UUID, func(*queries.Queries) error, error) {
	if !owner.Type.Valid() {
		return "", uuid.Nil, nil, invalidf("owner type %q", owner.Type)
	}
	if owner.ID == uuid.Nil || owner.Site == "" {
		return "", uuid.Nil, nil, invalidf("owner needs an id and a site")
	}
	if p, ok := auth.FromContext(ctx); ok && !p.CanSeeSite(owner.Site) {
		return "", uuid.Nil, nil, fmt.Errorf("%w: site %s", ErrNotFound, owner.Site)
	}
	if name == "" {
		name = up.Filename
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", uuid.Nil, nil, err
	}
	check := func(q *queries.Queries) error {
		ok, err := q.FilesSiteVisible(ctx, owner.Site)
		if err == nil && !ok {
			err = invalidf("unknown site %q", owner.Site)
		}
		return err
	}
	return SafeFilename(name), id, check, nil
}

// PutNamed stores up as the next revision of owner's attachment called
// name, creating the attachment (with revision 1) when the owner has none
// of that name. The choice is made in the transaction that records the
// revision, under a lock on the owner and name held until commit, so
// concurrent calls for one name make one attachment and consecutive
// revisions of it, never two attachments. It is for names the system
// gives (an invoice's rendered documents), which must stay unique; files
// users upload keep CreateAttachment, where two may share a name. Errors
// as CreateAttachment.
func (s *Service) PutNamed(ctx context.Context, owner Owner, name string, up Upload) (Attachment, Revision, error) {
	name, newID, check, err := s.newAttachment(ctx, owner, name, up)
	if err != nil {
		return Attachment{}, Revision{}, fmt.Errorf("put attachment: %w", err)
	}
	var att Attachment
	rev, err := s.upload(ctx, up, check, func(q *queries.Queries) (uuid.UUID, bool, error) {
		if err := q.AttachmentLockName(ctx, queries.AttachmentLockNameParams{OwnerType: string(owner.Type), OwnerID: owner.ID, Name: name}); err != nil {
			return uuid.Nil, false, err
		}
		row, err := q.AttachmentGetByName(ctx, queries.AttachmentGetByNameParams{OwnerType: string(owner.Type), OwnerID: owner.ID, Name: name})
		created := errors.Is(err, pgx.ErrNoRows)
		if created {
			row, err = q.AttachmentCreate(ctx, queries.AttachmentCreateParams{
				ID: newID, OwnerType: string(owner.Type), OwnerID: owner.ID, SiteID: owner.Site, Name: name, CreatedBy: actor(ctx),
			})
		}
		att = attachmentFromRow(row)
		return row.ID, created, err
	})
	if err != nil {
		return Attachment{}, Revision{}, fmt.Errorf("put attachment %q of %s %s: %w", name, owner.Type, owner.ID, err)
	}
	att.LatestRevision = rev.Number
	return att, rev, nil
}

// AddRevision stores up as the next revision of the attachment. Under
// concurrent calls every revision gets its own number, without gaps.
// ErrNotFound when the attachment is not visible, ErrRendered when it is
// an invoice's document (both checked before the body is read).
func (s *Service) AddRevision(ctx context.Context, attachmentID uuid.UUID, up Upload) (Revision, error) {
	// The attachment is checked in the transaction that pins the upload,
	// before the body is read.
	check := func(q *queries.Queries) error {
		a, err := q.AttachmentGet(ctx, attachmentID)
		if err == nil && attachmentFromRow(a).Rendered() {
			err = ErrRendered
		}
		return err
	}
	rev, err := s.upload(ctx, up, check, func(*queries.Queries) (uuid.UUID, bool, error) { return attachmentID, false, nil })
	if err != nil {
		return Revision{}, fmt.Errorf("add revision to %s: %w", attachmentID, err)
	}
	return rev, nil
}

// upload stores the body and then, in one transaction, records the blob,
// calls attach (which returns the attachment to add a revision to, and
// whether it just created it) and creates the revision. check, when not
// nil, runs in the transaction that pins the upload, before the body is
// read.
func (s *Service) upload(ctx context.Context, up Upload, check func(*queries.Queries) error, attach func(*queries.Queries) (uuid.UUID, bool, error)) (Revision, error) {
	blob, err := s.storeBlob(ctx, up, check)
	if err != nil {
		return Revision{}, err
	}
	var rev Revision
	err = s.record(ctx, blob, func(q *queries.Queries) error {
		attID, created, err := attach(q)
		if err != nil {
			return err
		}
		var row queries.FilesRevision
		if created {
			row, err = q.RevisionCreateFirst(ctx, queries.RevisionCreateFirstParams{
				AttachmentID: attID, BlobSha256: blob.sum, Filename: SafeFilename(up.Filename),
				ContentType: blob.contentType, Size: blob.size, Comment: up.Comment, CreatedBy: actor(ctx),
			})
		} else {
			row, err = q.RevisionCreate(ctx, queries.RevisionCreateParams{
				AttachmentID: attID, BlobSha256: blob.sum, Filename: SafeFilename(up.Filename),
				ContentType: blob.contentType, Size: blob.size, Comment: up.Comment, CreatedBy: actor(ctx),
			})
		}
		rev = revisionFromRow(row)
		return err
	})
	if err != nil {
		return Revision{}, err
	}
	return rev, nil
}

// storeBlob writes the body to the store (unless the announced blob is
// already there) in constant memory, pinned against GC.
func (s *Service) storeBlob(ctx context.Context, up Upload, check func(*queries.Queries) error) (storedBlob, error) {
	if up.Body == nil || up.Size == 0 {
		return storedBlob{}, ErrEmpty
	}
	if up.Size > s.cfg.MaxUploadBytes {
		return storedBlob{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, up.Size, s.cfg.MaxUploadBytes)
	}
	if up.Size < -1 {
		return storedBlob{}, invalidf("size %d", up.Size)
	}
	if len(up.Comment) > maxCommentBytes {
		return storedBlob{}, invalidf("comment longer than %d bytes", maxCommentBytes)
	}
	if up.Digest != nil {
		if len(up.Digest) != 32 {
			return storedBlob{}, invalidf("sha-256 digest of %d bytes", len(up.Digest))
		}
		return s.storeAtContentKey(ctx, up, check)
	}
	key := "upload/" + uuid.Must(uuid.NewV7()).String()
	// The check and the pin are a statement each, one round trip each: the
	// pin holds whatever the check saw (sites and attachments are never
	// deleted).
	if err := s.single(ctx, func(q *queries.Queries) error {
		if check != nil {
			if err := check(q); err != nil {
				return err
			}
		}
		return q.UploadPin(ctx, queries.UploadPinParams{Key: key, PinSeconds: s.cfg.PinTTL.Seconds()})
	}); err != nil {
		return storedBlob{}, fmt.Errorf("pin upload: %w", err)
	}
	br, head, err := peek(up.Body)
	if err != nil {
		s.unpinUpload(ctx, key)
		return storedBlob{}, err
	}
	blob := storedBlob{contentType: decideContentType(up.ContentType, head)}
	body := &limitReader{r: br, left: s.cfg.MaxUploadBytes, limit: s.cfg.MaxUploadBytes}
	res, err := s.store.Put(ctx, key, body, up.Size, PutOptions{ContentType: blob.contentType})
	if err != nil {
		s.unpinUpload(ctx, key)
		return storedBlob{}, uploadErr(body, err)
	}
	blob.sum, blob.size, blob.objectKey, blob.uploadKey = res.SHA256, res.Size, &key, key
	return blob, nil
}

// peek reads the head of the body for type sniffing, without consuming it.
func peek(r io.Reader) (*bufio.Reader, []byte, error) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	if len(head) == 0 {
		return nil, nil, ErrEmpty
	}
	return br, head, nil
}

// storeAtContentKey is the upload with a client digest: pin the blob row,
// then skip the body when the blob is stored and sound (sniffing the type
// from the stored object), else stream it to the content key, verified
// before it becomes visible.
func (s *Service) storeAtContentKey(ctx context.Context, up Upload, check func(*queries.Queries) error) (storedBlob, error) {
	var pinned queries.FilesBlob
	if err := s.single(ctx, func(q *queries.Queries) error {
		if check != nil {
			if err := check(q); err != nil {
				return err
			}
		}
		var err error
		pinned, err = q.BlobPin(ctx, queries.BlobPinParams{Sha256: up.Digest, PinSeconds: s.cfg.PinTTL.Seconds()})
		return err
	}); err != nil {
		return storedBlob{}, fmt.Errorf("pin blob: %w", err)
	}
	blob := storedBlob{sum: up.Digest, pinnedGen: pinned.Gen, pinnedUntil: pinned.PinnedUntil}
	if pinned.Stored && pinned.CorruptAt == nil && pinned.Size != nil {
		// Deduplication: the pin keeps GC away until the revision takes its
		// reference; check the object really is there before trusting it.
		head, err := s.storedHead(ctx, pinned)
		if err == nil && (up.Size < 0 || up.Size == *pinned.Size) {
			blob.size = *pinned.Size
			blob.objectKey = pinned.ObjectKey
			blob.contentType = decideContentType(up.ContentType, head)
			return blob, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
			s.unpinBlob(ctx, pinned)
			return storedBlob{}, fmt.Errorf("read stored blob: %w", err)
		}
		s.log.Warn("blob row says stored but the object is missing or wrong; storing it again",
			"sha256", fmt.Sprintf("%x", up.Digest), "err", err)
	}
	br, head, err := peek(up.Body)
	if err != nil {
		s.unpinBlob(ctx, pinned)
		return storedBlob{}, err
	}
	blob.contentType = decideContentType(up.ContentType, head)
	body := &limitReader{r: br, left: s.cfg.MaxUploadBytes, limit: s.cfg.MaxUploadBytes}
	res, err := s.store.Put(ctx, ContentKey(up.Digest), body, up.Size, PutOptions{SHA256: up.Digest, ContentType: blob.contentType})
	if err != nil {
		s.unpinBlob(ctx, pinned)
		return storedBlob{}, uploadErr(body, err)
	}
	blob.size = res.Size
	return blob, nil
}

// storedHead returns the first bytes of a stored blob, for sniffing, after
// checking the object has the recorded size.
func (s *Service) storedHead(ctx context.Context, b queries.FilesBlob) ([]byte, error) {
	rng := &Range{Offset: 0, Length: sniffLen}
	if *b.Size == 0 {
		rng = nil
	}
	rc, info, err := s.store.Get(ctx, blobKey(b), rng)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if info.Size != *b.Size {
		return nil, fmt.Errorf("%w: object is %d bytes, want %d", ErrCorrupt, info.Size, *b.Size)
	}
	return io.ReadAll(io.LimitReader(rc, sniffLen))
}

// record commits the blob and, through fn, the revision in one
// transaction, after making sure the pinned object is still there. When
// the transaction surely rolled back (any failure before COMMIT), the
// upload's own object and pin are released at once; after a failed COMMIT
// the outcome is unknown and GC, which checks, cleans up.
func (s *Service) record(ctx context.Context, blob storedBlob, fn func(*queries.Queries) error) error {
	tx, err := auth.Begin(ctx, s.pool)
	if err != nil {
		s.release(ctx, blob)
		return dbErr(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	stale, err := s.recordIn(ctx, queries.New(tx), blob, fn)
	if err != nil {
		_ = tx.Rollback(ctx)
		s.release(ctx, blob)
		return dbErr(err)
	}
	if err := tx.Commit(ctx); err != nil {
		s.unpinBlob(ctx, queries.FilesBlob{Sha256: blob.sum, Gen: blob.pinnedGen, PinnedUntil: blob.pinnedUntil})
		return dbErr(fmt.Errorf("commit: %w", err))
	}
	if stale != "" {
		if err := s.store.Delete(context.WithoutCancel(ctx), stale); err != nil {
			s.log.Warn("delete duplicate upload object; GC will", "key", stale, "err", err)
		}
	}
	return nil
}

// recordIn does record's work in tx; stale is our object when the blob
// turned out to be stored already.
func (s *Service) recordIn(ctx context.Context, q *queries.Queries, blob storedBlob, fn func(*queries.Queries) error) (stale string, err error) {
	var unpin *string
	if blob.uploadKey != "" {
		unpin = &blob.uploadKey
	}
	row, err := q.BlobMarkStored(ctx, queries.BlobMarkStoredParams{Sha256: blob.sum, Size: &blob.size, ObjectKey: blob.objectKey, UnpinKey: unpin})
	if errors.Is(err, pgx.ErrNoRows) && unpin != nil {
		// GC took the pin (it expired) and with it the object.
		return "", fmt.Errorf("%w: upload pin of %s expired before the upload was recorded", ErrConflict, blob.uploadKey)
	}
	if err != nil {
		return "", err
	}
	// The row lock taken by the upsert keeps GC away from here on.
	switch {
	case blob.uploadKey != "" && (row.ObjectKey == nil || *row.ObjectKey != blob.uploadKey):
		// Deduplicated after the fact: another upload stored this content
		// first. Keep theirs if it is really there, else use ours.
		if _, err := s.store.Stat(ctx, blobKey(row)); err != nil {
			if !errors.Is(err, ErrNotFound) {
				return "", err
			}
			if err := q.BlobMarkCorrupt(ctx, queries.BlobMarkCorruptParams{Sha256: blob.sum, Reason: ptr("object missing")}); err != nil {
				return "", err
			}
			if _, err = q.BlobMarkStored(ctx, queries.BlobMarkStoredParams{Sha256: blob.sum, Size: &blob.size, ObjectKey: blob.objectKey}); err != nil {
				return "", err
			}
		} else {
			stale = blob.uploadKey
		}
	case blob.uploadKey == "" && row.Gen != blob.pinnedGen:
		// The row we pinned went away (and maybe its object with it):
		// record only what is really there.
		if _, err := s.store.Stat(ctx, blobKey(row)); err != nil {
			if errors.Is(err, ErrNotFound) {
				return "", fmt.Errorf("%w: blob %x vanished during the upload", ErrConflict, blob.sum)
			}
			return "", err
		}
	}
	return stale, fn(q)
}

// release frees what an upload that surely was not recorded holds: its
// own object (uploads without digest) and its pins. A content-key object
// is left alone: other revisions may share it, and GC decides.
func (s *Service) release(ctx context.Context, blob storedBlob) {
	if blob.uploadKey != "" {
		if err := s.store.Delete(context.WithoutCancel(ctx), blob.uploadKey); err != nil {
			s.log.Warn("delete object of failed upload; GC will", "key", blob.uploadKey, "err", err)
			return // keep the pin expiring, so GC finds the object
		}
		s.unpinUpload(ctx, blob.uploadKey)
		return
	}
	s.unpinBlob(ctx, queries.FilesBlob{Sha256: blob.sum, Gen: blob.pinnedGen, PinnedUntil: blob.pinnedUntil})
}

func (s *Service) unpinBlob(ctx context.Context, pinned queries.FilesBlob) {
	ctx = systemCtx(ctx)
	err := s.inTx(ctx, func(q *queries.Queries) error {
		_, err := q.BlobUnpinFailed(ctx, queries.BlobUnpinFailedParams{Sha256: pinned.Sha256, Gen: pinned.Gen, PinnedUntil: pinned.PinnedUntil})
		return err
	})
	if err != nil {
		s.log.Warn("release blob pin of failed upload; GC will", "sha256", fmt.Sprintf("%x", pinned.Sha256), "err", err)
	}
}

func (s *Service) unpinUpload(ctx context.Context, key string) {
	ctx = systemCtx(ctx)
	if err := s.inTx(ctx, func(q *queries.Queries) error { _, err := q.UploadUnpin(ctx, key); return err }); err != nil {
		s.log.Warn("release upload pin of failed upload; GC will", "key", key, "err", err)
	}
}

// uploadErr prefers the body's own verdict (too large) over the store's
// wrapping of it.
func uploadErr(body *limitReader, err error) error {
	if errors.Is(body.err, ErrTooLarge) {
		return fmt.Errorf("%w: limit %d bytes", ErrTooLarge, body.limit)
	}
	return fmt.Errorf("store body: %w", err)
}

// limitReader fails with ErrTooLarge once more than limit bytes are read.
type limitReader struct {
	r     io.Reader
	left  int64
	limit int64
	err   error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.err = ErrTooLarge
		return 0, l.err
	}
	return n, err
}

// blobKey is where a blob row's bytes are.
func blobKey(b queries.FilesBlob) string {
	if b.ObjectKey != nil {
		return *b.ObjectKey
	}
	return ContentKey(b.Sha256)
}

func ptr[T any](v T) *T { return &v }

// decideContentType keeps the declared media type only when the content
// agrees with it, else uses the sniffed one. The declared type agrees when
// it is the sniffed type or one of its ancestors (text/plain for CSV), or
// when the sniffer found only a generic type (plain text, unknown binary)
// and the declared type is not one it would have recognised, and is not
// markup a browser would run.
func decideContentType(declared string, head []byte) string {
	sniffed := mimetype.Detect(head)
	mt, _, err := mime.ParseMediaType(declared)
	if declared == "" || err != nil || mt == "application/octet-stream" || len(declared) > 255 {
		return sniffed.String()
	}
	for m := sniffed; m != nil; m = m.Parent() {
		if m.Is(mt) {
			if strings.HasPrefix(mt, "text/") && !strings.Contains(declared, "charset") {
				return sniffed.String() // carries the charset
			}
			return declared
		}
	}
	generic := sniffed.Is("text/plain") || sniffed.Is("application/octet-stream")
	known := mimetype.Lookup(mt) != nil
	active := mt == "text/html" || mt == "image/svg+xml" || mt == "application/xhtml+xml" || strings.Contains(mt, "javascript")
	if generic && !known && !active {
		if sniffed.Is("text/plain") == strings.HasPrefix(mt, "text/") || sniffed.Is("application/octet-stream") {
			return declared
		}
	}
	return sniffed.String()
}
