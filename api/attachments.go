package api

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/messina-oms/messina/filestore"
)

func (s *Server) attachmentRoutes() []route {
	upload := s.cfg.MaxUploadBytes + 1 // the filestore enforces the limit itself, with its own error
	return []route{
		{name: "createOrderAttachment", method: http.MethodPost, path: "/v1/orders/{id}/attachments", roles: writers, maxBody: upload, handle: s.createOrderAttachment},
		{name: "listOrderAttachments", method: http.MethodGet, path: "/v1/orders/{id}/attachments", roles: anyRole, handle: s.listOrderAttachments},
		{name: "createContractAttachment", method: http.MethodPost, path: "/v1/contracts/{id}/attachments", roles: writers, maxBody: upload, handle: s.createContractAttachment},
		{name: "listContractAttachments", method: http.MethodGet, path: "/v1/contracts/{id}/attachments", roles: anyRole, handle: s.listContractAttachments},
		{name: "getAttachment", method: http.MethodGet, path: "/v1/attachments/{id}", roles: anyRole, handle: s.getAttachment},
		{name: "addRevision", method: http.MethodPost, path: "/v1/attachments/{id}/revisions", roles: writers, maxBody: upload, handle: s.addRevision},
		{name: "listRevisions", method: http.MethodGet, path: "/v1/attachments/{id}/revisions", roles: anyRole, handle: s.listRevisions},
		{name: "getRevision", method: http.MethodGet, path: "/v1/attachments/{id}/revisions/{n}", roles: anyRole, handle: s.getRevision},
		{name: "getRevisionContent", method: http.MethodGet, path: "/v1/attachments/{id}/revisions/{n}/content", roles: anyRole, handle: s.revisionContent},
		{name: "headRevisionContent", method: http.MethodHead, path: "/v1/attachments/{id}/revisions/{n}/content", roles: anyRole, handle: s.revisionContent},
		{name: "getLatestContent", method: http.MethodGet, path: "/v1/attachments/{id}/content", roles: anyRole, handle: s.revisionContent},
		{name: "headLatestContent", method: http.MethodHead, path: "/v1/attachments/{id}/content", roles: anyRole, handle: s.revisionContent},
		{name: "restoreRevision", method: http.MethodPost, path: "/v1/attachments/{id}/restore", roles: writers, handle: s.restoreRevision},
		{name: "diffRevisions", method: http.MethodGet, path: "/v1/attachments/{id}/diff", roles: anyRole, handle: s.diffRevisions},
	}
}

type attachmentJSON struct {
	ID             uuid.UUID     `json:"id"`
	OwnerType      string        `json:"owner_type"`
	OwnerID        uuid.UUID     `json:"owner_id"`
	Site           string        `json:"site"`
	Name           string        `json:"name"`
	LatestRevision int           `json:"latest_revision"`
	CreatedBy      string        `json:"created_by"`
	CreatedAt      time.Time     `json:"created_at"`
	Revision       *revisionJSON `json:"revision,omitempty"`
}

type revisionJSON struct {
	AttachmentID uuid.UUID `json:"attachment_id"`
	Number       int       `json:"number"`
	SHA256       string    `json:"sha256"`
	Size         int64     `json:"size"`
	ContentType  string    `json:"content_type"`
	Filename     string    `json:"filename"`
	Comment      string    `json:"comment"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	RestoredFrom *int      `json:"restored_from"`
}

func toAttachmentJSON(a filestore.Attachment) attachmentJSON {
	return attachmentJSON{ID: a.ID, OwnerType: string(a.Owner.Type), OwnerID: a.Owner.ID, Site: a.Owner.Site, Name: a.Name,
		LatestRevision: a.LatestRevision, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt}
}

func toRevisionJSON(r filestore.Revision) revisionJSON {
	return revisionJSON{AttachmentID: r.AttachmentID, Number: r.Number, SHA256: r.SHA256Hex(), Size: r.Size, ContentType: r.ContentType,
		Filename: r.Filename, Comment: r.Comment, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, RestoredFrom: r.RestoredFrom}
}

// upload reads what describes an uploaded file: the body streams through.
func upload(r *http.Request) (filestore.Upload, error) {
	digest, err := filestore.ParseContentDigest(r.Header.Get("Content-Digest"))
	if err != nil {
		return filestore.Upload{}, problem(http.StatusBadRequest, "invalid_content_digest", "Content-Digest must be sha-256=:<base64 of 32 bytes>:")
	}
	name := r.URL.Query().Get("filename")
	if cd := r.Header.Get("Content-Disposition"); cd != "" && name == "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			name = params["filename"]
		}
	}
	if name == "" {
		return filestore.Upload{}, validationProblem("a file name is required", FieldError{Field: "filename", Message: "send ?filename= or Content-Disposition: attachment; filename=..."})
	}
	comment := r.URL.Query().Get("comment")
	if !utf8.ValidString(name) || !utf8.ValidString(comment) {
		return filestore.Upload{}, validationProblem("file name and comment must be UTF-8")
	}
	return filestore.Upload{Body: r.Body, Size: r.ContentLength, Digest: digest, ContentType: r.Header.Get("Content-Type"), Filename: name, Comment: comment}, nil
}

func (s *Server) orderOwner(r *http.Request) (filestore.Owner, error) {
	id, err := pathUUID(r, "id")
	if err != nil {
		return filestore.Owner{}, err
	}
	// Row-level security makes another site's order as absent as an
	// unknown one: both answer 404.
	site, err := s.orders.OrderSite(r.Context(), id)
	if err != nil {
		return filestore.Owner{}, err
	}
	return filestore.Owner{Type: filestore.OwnerOrder, ID: id, Site: site}, nil
}

func (s *Server) contractOwner(r *http.Request) (filestore.Owner, error) {
	id, err := pathUUID(r, "id")
	if err != nil {
		return filestore.Owner{}, err
	}
	site, err := s.contracts.ContractSite(r.Context(), id)
	if err != nil {
		return filestore.Owner{}, err
	}
	return filestore.Owner{Type: filestore.OwnerContract, ID: id, Site: site}, nil
}

func (s *Server) createOrderAttachment(w http.ResponseWriter, r *http.Request) error {
	return s.createAttachment(w, r, s.orderOwner)
}

func (s *Server) createContractAttachment(w http.ResponseWriter, r *http.Request) error {
	return s.createAttachment(w, r, s.contractOwner)
}

func (s *Server) listOrderAttachments(w http.ResponseWriter, r *http.Request) error {
	return s.listAttachments(w, r, s.orderOwner)
}

func (s *Server) listContractAttachments(w http.ResponseWriter, r *http.Request) error {
	return s.listAttachments(w, r, s.contractOwner)
}

// createAttachment stores the body as revision 1 of a new attachment of
// the owner that ownerOf finds (404 when it does not exist or is another
// site's).
func (s *Server) createAttachment(w http.ResponseWriter, r *http.Request, ownerOf func(*http.Request) (filestore.Owner, error)) error {
	owner, err := ownerOf(r)
	if err != nil {
		return err
	}
	up, err := upload(r)
	if err != nil {
		return err
	}
	// Without ?name= the attachment takes the file's name (CreateAttachment).
	att, rev, err := s.files.CreateAttachment(r.Context(), owner, r.URL.Query().Get("name"), up)
	if err != nil {
		return err
	}
	out := toAttachmentJSON(att)
	rj := toRevisionJSON(rev)
	out.Revision = &rj
	w.Header().Set("Location", "/v1/attachments/"+att.ID.String())
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listAttachments(w http.ResponseWriter, r *http.Request, ownerOf func(*http.Request) (filestore.Owner, error)) error {
	owner, err := ownerOf(r)
	if err != nil {
		return err
	}
	pg, after, err := parseUUIDPage(r)
	if err != nil {
		return err
	}
	if after == nil {
		after = &uuid.Nil
	}
	atts, err := s.files.ListAttachments(r.Context(), owner.Type, owner.ID, *after, pg.limit+1)
	if err != nil {
		return err
	}
	items := make([]attachmentJSON, len(atts))
	for i, a := range atts {
		items[i] = toAttachmentJSON(a)
	}
	return writeJSON(w, http.StatusOK, newList(items, pg.limit, func(a attachmentJSON) string { return a.ID.String() }))
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.files.GetAttachment(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toAttachmentJSON(a))
}

func (s *Server) addRevision(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	up, err := upload(r)
	if err != nil {
		return err
	}
	rev, err := s.files.AddRevision(r.Context(), id, up)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/attachments/"+id.String()+"/revisions/"+strconv.Itoa(rev.Number))
	return writeJSON(w, http.StatusCreated, toRevisionJSON(rev))
}

func (s *Server) listRevisions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	after := 0
	if pg.after != "" {
		if after, err = strconv.Atoi(pg.after); err != nil || after < 0 {
			return validationProblem("invalid cursor", FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
		}
	}
	// An attachment the caller cannot see answers 404 (ListRevisions checks).
	revs, err := s.files.ListRevisions(r.Context(), id, after, pg.limit+1)
	if err != nil {
		return err
	}
	items := make([]revisionJSON, len(revs))
	for i, rv := range revs {
		items[i] = toRevisionJSON(rv)
	}
	return writeJSON(w, http.StatusOK, newList(items, pg.limit, func(rv revisionJSON) string { return strconv.Itoa(rv.Number) }))
}

// revisionParam reads {n}; 0 (no {n} in the route) is the latest.
func revisionParam(r *http.Request) (int, error) {
	v, ok := mux.Vars(r)["n"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, problem(http.StatusNotFound, "revision_not_found", "no such revision")
	}
	return n, nil
}

func (s *Server) getRevision(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	n, err := revisionParam(r)
	if err != nil {
		return err
	}
	rev, err := s.files.GetRevision(r.Context(), id, n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRevisionJSON(rev))
}

// revisionContent serves a revision's bytes through http.ServeContent, which
// implements ETag validation (If-None-Match, If-Match), If-Range, single and
// multi-part Range and HEAD. The content is read lazily from the store
// through filestore.Content; a full read is verified against its SHA-256 while
// it streams.
func (s *Server) revisionContent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	n, err := revisionParam(r)
	if err != nil {
		return err
	}
	rev, err := s.files.GetRevision(r.Context(), id, n)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", rev.ETag())
	h.Set("Content-Type", rev.ContentType)
	h.Set("Content-Disposition", filestore.ContentDisposition(rev.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	if n > 0 {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	content := s.files.Content(r.Context(), rev)
	defer content.Close()
	// Open the common case, a whole unconditional GET, before any header is
	// sent, so that an unreachable store still answers 503.
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" && r.Header.Get("If-None-Match") == "" {
		if err := content.Open(); err != nil {
			h.Del("Content-Disposition")
			h.Del("Cache-Control")
			return err
		}
	}
	http.ServeContent(largeCopyWriter{w}, r, "", rev.CreatedAt, content)
	if content.Err() != nil {
		// The response has started: the only honest signal left is to
		// break the connection, never to end the body as if complete.
		s.log.ErrorContext(r.Context(), "content read failed mid-response", "request_id", requestID(r.Context()), "error", content.Err())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// largeCopyWriter makes http.ServeContent copy content in 1 MiB reads and
// writes instead of net/http's 32 KiB: a download relays the store's
// stream to the client through user space (it is hashed on the way), and
// with 32 KiB buffers the read and write system calls cost as much CPU as
// the copying itself.
type largeCopyWriter struct{ http.ResponseWriter }

// copyBuffers holds the 1 MiB buffers of largeCopyWriter.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// ReadFrom implements io.ReaderFrom, which io.Copy prefers.
func (w largeCopyWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// The anonymous struct hides the ResponseWriter's own ReadFrom, which
	// io.CopyBuffer would otherwise call with its small buffer.
	return io.CopyBuffer(struct{ io.Writer }{w.ResponseWriter}, r, *buf)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w largeCopyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) restoreRevision(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Revision int    `json:"revision"`
		Comment  string `json:"comment"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Revision < 1 {
		return validationProblem("invalid revision", FieldError{Field: "revision", Message: "must be a revision number (1 or more)"})
	}
	rev, err := s.files.Restore(r.Context(), id, in.Revision, in.Comment)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/attachments/"+id.String()+"/revisions/"+strconv.Itoa(rev.Number))
	return writeJSON(w, http.StatusCreated, toRevisionJSON(rev))
}

func (s *Server) diffRevisions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var fields []FieldError
	from, errFrom := strconv.Atoi(q.Get("from"))
	if errFrom != nil || from < 1 {
		fields = append(fields, FieldError{Field: "from", Message: "must be a revision number"})
	}
	to, errTo := strconv.Atoi(q.Get("to"))
	if errTo != nil || to < 1 {
		fields = append(fields, FieldError{Field: "to", Message: "must be a revision number"})
	}
	if len(fields) > 0 {
		return validationProblem("from and to name the revisions to compare", fields...)
	}
	d, err := s.files.Diff(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	type change struct {
		Field string `json:"field"`
		From  string `json:"from"`
		To    string `json:"to"`
	}
	changes := make([]change, len(d.Metadata))
	for i, c := range d.Metadata {
		changes[i] = change{Field: c.Field, From: c.From, To: c.To}
	}
	if strings.Contains(r.Header.Get("Accept"), "text/x-diff") && d.Unified != "" {
		w.Header().Set("Content-Type", "text/x-diff; charset=utf-8")
		_, err := io.WriteString(w, d.Unified)
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"from": toRevisionJSON(d.From), "to": toRevisionJSON(d.To),
		"metadata": changes, "kind": d.Kind, "summary": d.Summary, "unified": d.Unified,
	})
}
