package web

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/messina-oms/messina/filestore"
)

// maxListedRevisions is how many revisions an attachment page lists.
const maxListedRevisions = 1000

// attachmentPageData is one attachment's page: its revisions, newest
// first, with what may be done to them.
type attachmentPageData struct {
	Attachment filestore.Attachment
	// Owner links the record the attachment belongs to.
	Owner     ownerLink
	Revisions []filestore.Revision
	// Numbers are the revision numbers, oldest first, for the diff form.
	Numbers []int
	// DiffFrom and DiffTo preselect the diff form: the last two.
	DiffFrom, DiffTo int
	// Truncated says that older revisions exist beyond the list.
	Truncated bool
	MaxUpload int64
}

// ownerLink is the record an attachment belongs to as the breadcrumbs
// show it: the list of its kind and its own page.
type ownerLink struct {
	ListURL, ListName string
	URL, Name         string
}

func ownerOfAttachment(a filestore.Attachment) ownerLink {
	id := a.Owner.ID.String()
	switch a.Owner.Type {
	case filestore.OwnerOrder:
		return ownerLink{ListURL: "/orders", ListName: "Orders", URL: "/orders/" + id, Name: "the order"}
	case filestore.OwnerContract:
		return ownerLink{ListURL: "/contracts", ListName: "Contracts", URL: "/contracts/" + id, Name: "the contract"}
	case filestore.OwnerInvoice:
		return ownerLink{ListURL: "/invoices", ListName: "Invoices", URL: "/invoices/" + id, Name: "the invoice"}
	}
	return ownerLink{ListURL: "/orders", ListName: "Orders"}
}

func (s *Server) attachmentPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := s.files.GetAttachment(ctx, id)
	if err != nil {
		return err
	}
	revs, err := s.files.ListRevisions(ctx, id, max(a.LatestRevision-maxListedRevisions, 0), maxListedRevisions)
	if err != nil {
		return err
	}
	d := attachmentPageData{Attachment: a, Owner: ownerOfAttachment(a), MaxUpload: s.cfg.MaxUploadBytes,
		Truncated: a.LatestRevision > maxListedRevisions}
	for _, rv := range revs {
		d.Numbers = append(d.Numbers, rv.Number)
	}
	slices.Reverse(revs)
	d.Revisions = revs
	if n := len(d.Numbers); n > 0 {
		d.DiffTo = d.Numbers[n-1]
		d.DiffFrom = d.Numbers[max(n-2, 0)]
	}
	return s.render(w, r, http.StatusOK, "attachment", a.Name, d)
}

// maxFieldBytes bounds each text field of an upload form (the comment
// column holds 4000 bytes).
const maxFieldBytes = 4000

// uploadForm reads a multipart form's text fields up to the part named
// "file" and returns that part unread, so the caller streams it to the
// store: the file is never held in memory or spooled to disk. The form
// puts its text fields first; any after the file are ignored.
func uploadForm(r *http.Request) (map[string]string, *multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, &pageError{Status: http.StatusBadRequest, Detail: "The upload must be sent as a multipart form."}
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, nil, invalid("Choose a file to upload.", fieldError{"file", "is required"})
		}
		if err != nil {
			return nil, nil, badForm(err)
		}
		if part.FormName() == "file" {
			if part.FileName() == "" {
				return nil, nil, invalid("Choose a file to upload.", fieldError{"file", "is required"})
			}
			return fields, part, nil
		}
		if len(fields) >= 8 {
			return nil, nil, &pageError{Status: http.StatusBadRequest, Detail: "The form has too many fields."}
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return nil, nil, badForm(err)
		}
		if len(b) > maxFieldBytes || !utf8.Valid(b) {
			return nil, nil, invalid("A field is too long or not text.", fieldError{part.FormName(), "must be text of at most 4000 bytes"})
		}
		fields[part.FormName()] = string(b)
	}
}

// upload is the filestore's view of the file part: unknown size, streamed.
func upload(fields map[string]string, part *multipart.Part) filestore.Upload {
	return filestore.Upload{Body: part, Size: -1, ContentType: part.Header.Get("Content-Type"),
		Filename: part.FileName(), Comment: strings.TrimSpace(fields["comment"])}
}

// ownerOf resolves the record a new document attaches to, through the
// domain service and so through row-level security: another site's
// record, or none, is an error (404).
type ownerOf func(ctx context.Context, id uuid.UUID) (filestore.Owner, error)

func (s *Server) orderOwner(ctx context.Context, id uuid.UUID) (filestore.Owner, error) {
	site, err := s.orders.OrderSite(ctx, id)
	return filestore.Owner{Type: filestore.OwnerOrder, ID: id, Site: site}, err
}

func (s *Server) contractOwner(ctx context.Context, id uuid.UUID) (filestore.Owner, error) {
	site, err := s.contracts.ContractSite(ctx, id)
	return filestore.Owner{Type: filestore.OwnerContract, ID: id, Site: site}, err
}

// createAttachment uploads a new document of the record owner resolves
// (an order, a contract) as revision 1.
func (s *Server) createAttachment(owner ownerOf) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		id, err := pathID(r)
		if err != nil {
			return err
		}
		// Another site's record is refused as unknown before the body is
		// read.
		o, err := owner(ctx, id)
		if err != nil {
			return err
		}
		fields, part, err := uploadForm(r)
		if err != nil {
			return err
		}
		a, _, err := s.files.CreateAttachment(ctx, o, strings.TrimSpace(fields["name"]), upload(fields, part))
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/attachments/"+a.ID.String()+"?msg=uploaded", http.StatusSeeOther)
		return nil
	}
}

// addRevision uploads the next revision of an attachment.
func (s *Server) addRevision(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// An invoice's document is refused (filestore.ErrRendered) before the
	// file part is read.
	fields, part, err := uploadForm(r)
	if err != nil {
		return err
	}
	if _, err := s.files.AddRevision(r.Context(), id, upload(fields, part)); err != nil {
		return err
	}
	http.Redirect(w, r, "/attachments/"+id.String()+"?msg=revision", http.StatusSeeOther)
	return nil
}

// restore makes a new revision with the content of an older one.
func (s *Server) restore(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return badForm(err)
	}
	n, err := strconv.Atoi(r.PostForm.Get("revision"))
	if err != nil || n < 1 {
		return invalid("Choose a revision to restore.", fieldError{"revision", "must be a revision number"})
	}
	if _, err := s.files.Restore(r.Context(), id, n, strings.TrimSpace(r.PostForm.Get("comment"))); err != nil {
		return err
	}
	http.Redirect(w, r, "/attachments/"+id.String()+"?msg=restored", http.StatusSeeOther)
	return nil
}

// download streams one revision's bytes, verified against their SHA-256
// while they stream. The page's security headers are replaced by the
// API's for content: an attachment, never rendered as ours.
func (s *Server) download(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(mux.Vars(r)["n"])
	if err != nil || n < 1 {
		return notFound("No such revision.")
	}
	rev, err := s.files.GetRevision(ctx, id, n)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", rev.ETag())
	// A numbered revision never changes: the browser may keep it.
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("Content-Type", rev.ContentType)
	h.Set("Content-Disposition", filestore.ContentDisposition(rev.Filename))
	h.Set("Content-Security-Policy", "sandbox")
	content := s.files.Content(ctx, rev)
	defer content.Close()
	// Opened before any header is sent, so that an unreachable store is
	// still an error page (503) rather than a broken download.
	if r.Method == http.MethodGet && r.Header.Get("Range") == "" && r.Header.Get("If-None-Match") == "" {
		if err := content.Open(); err != nil {
			return err
		}
	}
	// ServeContent answers If-None-Match (304), Range and HEAD, as the API.
	http.ServeContent(w, r, "", rev.CreatedAt, content)
	if content.Err() != nil {
		// The response has started: the only honest signal left is to
		// break the connection, never to end the body as if complete.
		s.log.ErrorContext(ctx, "content read failed mid-download", "request_id", requestID(ctx), "error", content.Err())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// diffData is the comparison of two revisions.
type diffData struct {
	Attachment filestore.Attachment
	Owner      ownerLink
	Diff       filestore.Diff
	Lines      []diffLine
}

// diffLine is one line of a unified diff with its kind, for styling.
type diffLine struct {
	Kind, Text string
}

func diffLines(unified string) []diffLine {
	if unified == "" {
		return nil
	}
	var out []diffLine
	for line := range strings.SplitSeq(strings.TrimSuffix(unified, "\n"), "\n") {
		kind := "same"
		switch {
		case strings.HasPrefix(line, "---"), strings.HasPrefix(line, "+++"):
			kind = "file"
		case strings.HasPrefix(line, "@@"):
			kind = "hunk"
		case strings.HasPrefix(line, "+"):
			kind = "add"
		case strings.HasPrefix(line, "-"):
			kind = "del"
		}
		out = append(out, diffLine{Kind: kind, Text: line})
	}
	return out
}

// diff shows what changed between two revisions: metadata and, for text
// (and PDF text), a unified diff.
func (s *Server) diff(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var fields []fieldError
	from, errFrom := strconv.Atoi(q.Get("from"))
	if errFrom != nil || from < 1 {
		fields = append(fields, fieldError{"from", "must be a revision number"})
	}
	to, errTo := strconv.Atoi(q.Get("to"))
	if errTo != nil || to < 1 {
		fields = append(fields, fieldError{"to", "must be a revision number"})
	}
	if len(fields) > 0 {
		return invalid("Choose the two revisions to compare.", fields...)
	}
	a, err := s.files.GetAttachment(ctx, id)
	if err != nil {
		return err
	}
	d, err := s.files.Diff(ctx, id, from, to)
	if err != nil {
		return err
	}
	title := a.Name + ": revision " + strconv.Itoa(from) + " → " + strconv.Itoa(to)
	return s.render(w, r, http.StatusOK, "diff", title, diffData{Attachment: a, Owner: ownerOfAttachment(a), Diff: d, Lines: diffLines(d.Unified)})
}
