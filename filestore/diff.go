package filestore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
	"github.com/gabriel-vasile/mimetype"
	"github.com/google/uuid"
	"github.com/ledongthuc/pdf"
)

// DiffKind says how the content of two revisions was compared.
type DiffKind string

// The content comparisons of Diff.
const (
	// DiffSame: both revisions have the same blob.
	DiffSame DiffKind = "identical"
	// DiffText: Unified holds a unified diff of the text.
	DiffText DiffKind = "text"
	// DiffPDF: Unified holds a unified diff of the text extracted from both
	// PDFs.
	DiffPDF DiffKind = "pdf_text"
	// DiffBinary: the content differs and cannot be shown as text.
	DiffBinary DiffKind = "binary"
	// DiffTooLarge: a side is over the diff size cap.
	DiffTooLarge DiffKind = "too_large"
)

// FieldChange is one metadata field that differs between two revisions.
type FieldChange struct {
	Field string
	From  string
	To    string
}

// Diff compares two revisions of an attachment.
type Diff struct {
	From, To Revision
	// Metadata lists the fields that differ (filename, content_type, size,
	// sha256, comment, created_by), in that order.
	Metadata []FieldChange
	Kind     DiffKind
	// Unified is the unified diff for DiffText and DiffPDF; empty
	// otherwise, and empty when the texts are equal.
	Unified string
	// Summary is one human line, e.g. "binary differs".
	Summary string
}

// Diff compares revisions from and to of the attachment: metadata always;
// the content as a unified text diff when both are text (each at most
// Config.DiffMaxBytes), PDFs through their extracted text (each at most
// 8 x DiffMaxBytes), else "binary differs". ErrNotFound when a revision
// does not exist; ErrCorrupt when a content read fails verification.
func (s *Service) Diff(ctx context.Context, attachmentID uuid.UUID, from, to int) (Diff, error) {
	a, err := s.GetRevision(ctx, attachmentID, from)
	if err != nil {
		return Diff{}, fmt.Errorf("diff: %w", err)
	}
	b, err := s.GetRevision(ctx, attachmentID, to)
	if err != nil {
		return Diff{}, fmt.Errorf("diff: %w", err)
	}
	d := Diff{From: a, To: b, Metadata: metadataChanges(a, b)}
	switch {
	case bytes.Equal(a.SHA256, b.SHA256):
		d.Kind, d.Summary = DiffSame, "content identical"
	case isText(a.ContentType) && isText(b.ContentType):
		if a.Size > s.cfg.DiffMaxBytes || b.Size > s.cfg.DiffMaxBytes {
			d.Kind, d.Summary = DiffTooLarge, fmt.Sprintf("text differs; too large to diff (limit %d bytes)", s.cfg.DiffMaxBytes)
			break
		}
		ta, err := s.readAll(ctx, a)
		if err != nil {
			return Diff{}, err
		}
		tb, err := s.readAll(ctx, b)
		if err != nil {
			return Diff{}, err
		}
		if !utf8.Valid(ta) || !utf8.Valid(tb) {
			d.Kind, d.Summary = DiffBinary, "binary differs (not UTF-8 text)"
			break
		}
		d.Kind, d.Summary = DiffText, "text differs"
		d.Unified = udiff.Unified(label(a), label(b), string(ta), string(tb))
	case isPDF(a.ContentType) && isPDF(b.ContentType):
		limit := 8 * s.cfg.DiffMaxBytes
		if a.Size > limit || b.Size > limit {
			d.Kind, d.Summary = DiffTooLarge, fmt.Sprintf("PDF differs; too large to diff (limit %d bytes)", limit)
			break
		}
		ta, errA := s.pdfText(ctx, a)
		tb, errB := s.pdfText(ctx, b)
		if errA != nil || errB != nil {
			s.log.Info("pdf text extraction failed; reporting binary diff", "a", errA, "b", errB)
			d.Kind, d.Summary = DiffBinary, "binary differs (PDF text could not be extracted)"
			break
		}
		d.Kind, d.Summary = DiffPDF, "PDF text differs"
		if ta == tb {
			d.Summary = "PDF text identical; the files differ"
		}
		d.Unified = udiff.Unified(label(a), label(b), ta, tb)
	default:
		d.Kind, d.Summary = DiffBinary, "binary differs"
	}
	return d, nil
}

func label(r Revision) string { return fmt.Sprintf("revision %d (%s)", r.Number, r.Filename) }

func metadataChanges(a, b Revision) []FieldChange {
	var out []FieldChange
	add := func(field, x, y string) {
		if x != y {
			out = append(out, FieldChange{Field: field, From: x, To: y})
		}
	}
	add("filename", a.Filename, b.Filename)
	add("content_type", a.ContentType, b.ContentType)
	add("size", strconv.FormatInt(a.Size, 10), strconv.FormatInt(b.Size, 10))
	add("sha256", a.SHA256Hex(), b.SHA256Hex())
	add("comment", a.Comment, b.Comment)
	add("created_by", a.CreatedBy, b.CreatedBy)
	return out
}

func isText(contentType string) bool {
	m := mimetype.Lookup(mediaType(contentType))
	for ; m != nil; m = m.Parent() {
		if m.Is("text/plain") {
			return true
		}
	}
	return false
}

func isPDF(contentType string) bool { return mediaType(contentType) == "application/pdf" }

func mediaType(ct string) string {
	if i := bytes.IndexByte([]byte(ct), ';'); i >= 0 {
		ct = ct[:i]
	}
	return string(bytes.TrimSpace([]byte(ct)))
}

// readAll reads a whole revision, verified; callers cap the size first.
func (s *Service) readAll(ctx context.Context, r Revision) ([]byte, error) {
	rc, err := s.Open(ctx, r, nil)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("diff: read revision %d: %w", r.Number, err)
	}
	return b, nil
}

// pdfText extracts the text of a PDF. The parser panics on some malformed
// files; that is turned into an error.
func (s *Service) pdfText(ctx context.Context, r Revision) (text string, err error) {
	b, err := s.readAll(ctx, r)
	if err != nil {
		return "", err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pdf parser panic: %v", p)
		}
	}()
	pr, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", err
	}
	tr, err := pr.GetPlainText()
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(io.LimitReader(tr, 8*s.cfg.DiffMaxBytes))
	return string(out), err
}
