package filestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/queries"
)

// Config configures a Service. Zero fields take the documented defaults.
type Config struct {
	// Pool connects as the application role (row-level security applies).
	Pool *pgxpool.Pool
	// Store holds the bytes.
	Store Store
	// MaxUploadBytes bounds one upload (MESSINA_MAX_UPLOAD_BYTES); default
	// 5 GiB.
	MaxUploadBytes int64
	// PinTTL is how long an upload's pin keeps GC away from the blob row or
	// object it is writing; it must exceed the longest upload. Default 6h.
	PinTTL time.Duration
	// DiffMaxBytes caps the size of each side of a text diff; default 1 MiB.
	DiffMaxBytes int64
	Logger       *slog.Logger
}

// Service is the filestore: attachments, revisions, upload, download, diff,
// GC and scrub. It is safe for concurrent use.
type Service struct {
	pool  *pgxpool.Pool
	store Store
	cfg   Config
	log   *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil || cfg.Store == nil {
		return nil, errors.New("filestore: Config needs Pool and Store")
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 5 << 30
	}
	if cfg.PinTTL <= 0 {
		cfg.PinTTL = 6 * time.Hour
	}
	if cfg.DiffMaxBytes <= 0 {
		cfg.DiffMaxBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{pool: cfg.Pool, store: cfg.Store, cfg: cfg, log: cfg.Logger}, nil
}

// Ping checks the database and the blob store, for /readyz. Errors wrap
// ErrUnavailable.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: database: %v", ErrUnavailable, err)
	}
	return s.store.Ping(ctx)
}

// Store returns the blob store the service writes to.
func (s *Service) Store() Store { return s.store }

// OwnerType is the kind of record an attachment belongs to.
type OwnerType string

// The owners of attachments.
const (
	OwnerOrder    OwnerType = "order"
	OwnerContract OwnerType = "contract"
	OwnerInvoice  OwnerType = "invoice"
)

// Valid reports whether t is a known owner type.
func (t OwnerType) Valid() bool {
	return t == OwnerOrder || t == OwnerContract || t == OwnerInvoice
}

// Owner identifies the record an attachment belongs to. The caller has
// checked that it exists and is visible, and passes its site.
type Owner struct {
	Type OwnerType
	ID   uuid.UUID
	Site string
}

// Attachment is a named document slot of an owner; its content is its
// revisions.
type Attachment struct {
	ID    uuid.UUID
	Owner Owner
	Name  string
	// LatestRevision is the highest revision number (0 never happens for an
	// attachment created through the service).
	LatestRevision int
	CreatedBy      string
	CreatedAt      time.Time
}

// Rendered says whether the attachment's revisions come only from
// rendering its owner: an invoice's documents (PutNamed). AddRevision and
// Restore refuse them with ErrRendered.
func (a Attachment) Rendered() bool { return a.Owner.Type == OwnerInvoice }

// Revision is one immutable version of an attachment's content.
type Revision struct {
	AttachmentID uuid.UUID
	Number       int
	// SHA256 is the blob's address (32 bytes); ETag is derived from it.
	SHA256      []byte
	Size        int64
	ContentType string
	Filename    string
	Comment     string
	CreatedBy   string
	CreatedAt   time.Time
	// RestoredFrom is the revision this one restored, or nil.
	RestoredFrom *int
	// Hash chains the revision to its predecessor (see VerifyHistory).
	Hash []byte

	// objectKey is where the bytes are, when loaded with the revision
	// (GetRevision); Open looks it up otherwise.
	objectKey string
}

// SHA256Hex is the blob address in lower-case hex, as in the API.
func (r Revision) SHA256Hex() string { return fmt.Sprintf("%x", r.SHA256) }

// ETag is the strong entity tag of the content: the quoted SHA-256 hex.
func (r Revision) ETag() string { return `"` + r.SHA256Hex() + `"` }

func attachmentFromRow(a queries.FilesAttachment) Attachment {
	return Attachment{
		ID:             a.ID,
		Owner:          Owner{Type: OwnerType(a.OwnerType), ID: a.OwnerID, Site: a.SiteID},
		Name:           a.Name,
		LatestRevision: int(a.LatestRevision),
		CreatedBy:      a.CreatedBy,
		CreatedAt:      a.CreatedAt,
	}
}

func revisionFromRow(r queries.FilesRevision) Revision {
	rev := Revision{
		AttachmentID: r.AttachmentID,
		Number:       int(r.Number),
		SHA256:       r.BlobSha256,
		Size:         r.Size,
		ContentType:  r.ContentType,
		Filename:     r.Filename,
		Comment:      r.Comment,
		CreatedBy:    r.CreatedBy,
		CreatedAt:    r.CreatedAt,
		Hash:         r.Hash,
	}
	if r.RestoredFrom != nil {
		n := int(*r.RestoredFrom)
		rev.RestoredFrom = &n
	}
	return rev
}

// inTx runs fn in a transaction carrying the caller's principal (audit
// actor, request id, visible sites), translating database errors.
func (s *Service) inTx(ctx context.Context, fn func(q *queries.Queries) error) error {
	return dbErr(auth.InQueries(ctx, s.pool, fn))
}

// single runs fn's statements each alone, in one round trip (auth.Single):
// for reads of one statement, and for checks and pins that need not commit
// together.
func (s *Service) single(ctx context.Context, fn func(q *queries.Queries) error) error {
	return dbErr(auth.InSingle(ctx, s.pool, fn))
}

// systemCtx is the context of maintenance the service does on its own
// behalf (marking a blob corrupt during someone's download): it survives
// the request's cancellation and keeps its request id.
func systemCtx(ctx context.Context) context.Context {
	p := auth.System("filestore")
	if caller, ok := auth.FromContext(ctx); ok {
		p.RequestID = caller.RequestID
	}
	return auth.WithPrincipal(context.WithoutCancel(ctx), p)
}

// dbErr translates driver errors into domain errors, once, at the database
// boundary. Errors that are already domain errors pass unchanged.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) || errors.Is(err, ErrDigestMismatch) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23503": // foreign key: unknown site, or a blob GC removed
			if pe.ConstraintName == "attachment_site_id_fkey" {
				return invalidf("unknown site")
			}
			return fmt.Errorf("%w: %s", ErrConflict, pe.Message)
		case "23514", "22001", "22P02": // check, too long, bad text
			return invalidf("%s", pe.Message)
		case "42501": // RLS refused the row: not the caller's site
			return fmt.Errorf("%w: %s", ErrNotFound, pe.Message)
		case "40001", "40P01":
			return fmt.Errorf("%w: %s", ErrConflict, pe.Message)
		}
		if pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P03" {
			return fmt.Errorf("%w: database: %s", ErrUnavailable, pe.Message)
		}
		return err
	}
	if errors.Is(err, auth.ErrNoPrincipal) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return fmt.Errorf("%w: database: %v", ErrUnavailable, err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: database: %v", ErrUnavailable, err)
	}
	return err
}

func actor(ctx context.Context) string {
	p, _ := auth.FromContext(ctx)
	return p.Actor
}

// GetAttachment returns the attachment, ErrNotFound when it does not exist
// or belongs to a site the caller cannot see.
func (s *Service) GetAttachment(ctx context.Context, id uuid.UUID) (Attachment, error) {
	var a Attachment
	err := s.single(ctx, func(q *queries.Queries) error {
		row, err := q.AttachmentGet(ctx, id)
		if err != nil {
			return err
		}
		a = attachmentFromRow(row)
		return nil
	})
	if err != nil {
		return Attachment{}, fmt.Errorf("get attachment %s: %w", id, err)
	}
	return a, nil
}

// ListAttachments returns up to limit (1..1000) attachments of the owner in
// creation order, starting after the attachment id after (uuid.Nil: from
// the start). The last item's ID is the next cursor.
func (s *Service) ListAttachments(ctx context.Context, ownerType OwnerType, ownerID uuid.UUID, after uuid.UUID, limit int) ([]Attachment, error) {
	if !ownerType.Valid() {
		return nil, invalidf("owner type %q", ownerType)
	}
	limit = clampLimit(limit)
	var out []Attachment
	err := s.single(ctx, func(q *queries.Queries) error {
		p := queries.AttachmentListParams{OwnerType: string(ownerType), OwnerID: ownerID, MaxRows: int32(limit)}
		if after != uuid.Nil {
			p.After = &after
		}
		rows, err := q.AttachmentList(ctx, p)
		for _, r := range rows {
			out = append(out, attachmentFromRow(r))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list attachments of %s %s: %w", ownerType, ownerID, err)
	}
	return out, nil
}

func clampLimit(limit int) int {
	if limit <= 0 {
		return 50
	}
	return min(limit, 1000)
}

// ListRevisions returns up to limit (1..1000) revisions of the attachment
// with numbers above after, in number order. ErrNotFound when the
// attachment is not visible.
func (s *Service) ListRevisions(ctx context.Context, attachmentID uuid.UUID, after, limit int) ([]Revision, error) {
	limit = clampLimit(limit)
	var out []Revision
	err := s.inTx(ctx, func(q *queries.Queries) error {
		if _, err := q.AttachmentGet(ctx, attachmentID); err != nil {
			return err
		}
		rows, err := q.RevisionList(ctx, queries.RevisionListParams{AttachmentID: attachmentID, After: int32(max(after, 0)), MaxRows: int32(limit)})
		for _, r := range rows {
			out = append(out, revisionFromRow(r))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list revisions of %s: %w", attachmentID, err)
	}
	return out, nil
}

// GetRevision returns revision number n of the attachment, or the latest
// when n is 0. ErrNotFound when either does not exist or is not visible.
func (s *Service) GetRevision(ctx context.Context, attachmentID uuid.UUID, n int) (Revision, error) {
	var rev Revision
	err := s.single(ctx, func(q *queries.Queries) error {
		var row queries.FilesRevision
		var key *string
		if n == 0 {
			r, err := q.RevisionLatest(ctx, attachmentID)
			if err != nil {
				return err
			}
			row, key = r.FilesRevision, r.ObjectKey
		} else {
			r, err := q.RevisionGet(ctx, queries.RevisionGetParams{AttachmentID: attachmentID, Number: int32(n)})
			if err != nil {
				return err
			}
			row, key = r.FilesRevision, r.ObjectKey
		}
		rev = revisionFromRow(row)
		rev.objectKey = blobKey(queries.FilesBlob{Sha256: row.BlobSha256, ObjectKey: key})
		return nil
	})
	if err != nil {
		return Revision{}, fmt.Errorf("get revision %d of %s: %w", n, attachmentID, err)
	}
	return rev, nil
}

// Restore makes a new revision of the attachment with the content and
// metadata of revision n (RestoredFrom = n): history is never rewritten.
func (s *Service) Restore(ctx context.Context, attachmentID uuid.UUID, n int, comment string) (Revision, error) {
	var rev Revision
	err := s.inTx(ctx, func(q *queries.Queries) error {
		a, err := q.AttachmentGet(ctx, attachmentID)
		if err != nil {
			return err
		}
		if attachmentFromRow(a).Rendered() {
			return ErrRendered
		}
		r, err := q.RevisionGet(ctx, queries.RevisionGetParams{AttachmentID: attachmentID, Number: int32(n)})
		if err != nil {
			return err
		}
		old := r.FilesRevision
		from := old.Number
		if comment == "" {
			comment = fmt.Sprintf("restored from revision %d", n)
		}
		row, err := q.RevisionCreate(ctx, queries.RevisionCreateParams{
			AttachmentID: attachmentID, BlobSha256: old.BlobSha256, Filename: old.Filename,
			ContentType: old.ContentType, Size: old.Size, Comment: comment, CreatedBy: actor(ctx),
			RestoredFrom: &from,
		})
		rev = revisionFromRow(row)
		return err
	})
	if err != nil {
		return Revision{}, fmt.Errorf("restore revision %d of %s: %w", n, attachmentID, err)
	}
	return rev, nil
}

// VerifyHistory recomputes the hash chain of the attachment's revisions.
// It returns an error wrapping ErrCorrupt that names the first revision
// that does not match, or nil when the history is intact.
func (s *Service) VerifyHistory(ctx context.Context, attachmentID uuid.UUID) error {
	var bad int32
	err := s.inTx(ctx, func(q *queries.Queries) error {
		if _, err := q.AttachmentGet(ctx, attachmentID); err != nil {
			return err
		}
		var err error
		bad, err = q.RevisionVerifyChain(ctx, attachmentID)
		return err
	})
	if err != nil {
		return fmt.Errorf("verify history of %s: %w", attachmentID, err)
	}
	if bad != 0 {
		return fmt.Errorf("%w: history of attachment %s breaks at revision %d", ErrCorrupt, attachmentID, bad)
	}
	return nil
}
