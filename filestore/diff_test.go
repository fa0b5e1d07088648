package filestore_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
)

// minimalPDF builds a one-page PDF showing lines of text, with a correct
// cross-reference table.
func minimalPDF(lines ...string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 12 Tf 72 720 Td 14 TL\n")
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) Tj T*\n", l)
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func TestDiff(t *testing.T) {
	t.Parallel()
	b := setup(t, withConfig(func(c *filestore.Config) { c.DiffMaxBytes = 4096 }))
	up := func(content []byte, ct, name, comment string) filestore.Upload {
		return filestore.Upload{Body: body(content), Size: int64(len(content)), ContentType: ct, Filename: name, Comment: comment}
	}
	att, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "terms", up([]byte("line one\nline two\nline three\n"), "text/plain", "terms.txt", "draft"))
	require.NoError(t, err)
	steps := []filestore.Upload{
		up([]byte("line one\nline 2\nline three\n"), "text/plain", "terms-v2.txt", "fix"),              // 2: text
		up(minimalPDF("Price 100 EUR", "Term 12 months"), "application/pdf", "terms.pdf", "as pdf"),    // 3: pdf
		up(minimalPDF("Price 120 EUR", "Term 12 months"), "application/pdf", "terms.pdf", "new price"), // 4: pdf
		up(append([]byte{0, 1, 2}, randomBytes(100)...), "", "blob.bin", ""),                           // 5: binary
		up(bytes.Repeat([]byte("big line\n"), 1000), "text/plain", "big.txt", ""),                      // 6: too large text
		up(bytes.Repeat([]byte("big line 2\n"), 1000), "text/plain", "big.txt", ""),                    // 7: too large text
		up([]byte("%PDF-1.4 broken"), "application/pdf", "broken.pdf", ""),                             // 8: bad pdf
	}
	for _, s := range steps {
		_, err := b.svc.AddRevision(b.ctx, att.ID, s)
		require.NoError(t, err)
	}
	_, err = b.svc.Restore(b.ctx, att.ID, 1, "back") // 9: same blob as 1
	require.NoError(t, err)

	for _, tc := range []struct {
		name        string
		from, to    int
		kind        filestore.DiffKind
		contains    []string
		fields      []string
		wantErr     error
		summaryHint string
	}{
		{"text", 1, 2, filestore.DiffText, []string{"-line two", "+line 2", "revision 1 (terms.txt)", "revision 2 (terms-v2.txt)"}, []string{"filename", "size", "sha256", "comment"}, nil, "text differs"},
		{"identical content", 1, 9, filestore.DiffSame, nil, []string{"comment"}, nil, "identical"},
		{"pdf text", 3, 4, filestore.DiffPDF, []string{"-Price 100 EUR", "+Price 120 EUR"}, []string{"sha256", "comment"}, nil, "PDF text differs"},
		{"text against pdf", 2, 3, filestore.DiffBinary, nil, []string{"filename", "content_type"}, nil, "binary differs"},
		{"binary", 4, 5, filestore.DiffBinary, nil, []string{"content_type"}, nil, "binary differs"},
		{"over the size cap", 6, 7, filestore.DiffTooLarge, nil, []string{"size", "sha256"}, nil, "too large"},
		{"unparsable pdf", 4, 8, filestore.DiffBinary, nil, []string{"filename"}, nil, "could not be extracted"},
		{"missing revision", 1, 42, "", nil, nil, filestore.ErrNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := b.svc.Diff(b.ctx, att.ID, tc.from, tc.to)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.kind, d.Kind, d.Summary)
			require.Contains(t, d.Summary, tc.summaryHint)
			for _, s := range tc.contains {
				require.Contains(t, d.Unified, s)
			}
			var fields []string
			for _, c := range d.Metadata {
				fields = append(fields, c.Field)
			}
			for _, f := range tc.fields {
				require.Contains(t, fields, f)
			}
			require.Equal(t, tc.from, d.From.Number)
			require.Equal(t, tc.to, d.To.Number)
		})
	}
}
