package filestore

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecideContentType(t *testing.T) {
	t.Parallel()
	pdf := []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	text := []byte("Dear customer,\nplease find attached.\n")
	html := []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
	csv := []byte("a,b,c\n1,2,3\n4,5,6\n")
	binary := []byte{0, 1, 2, 3, 0xfe, 0xff, 0, 9}
	for _, tc := range []struct {
		name     string
		declared string
		head     []byte
		want     string
	}{
		{"nothing declared: sniffed", "", pdf, "application/pdf"},
		{"octet-stream declared: sniffed", "application/octet-stream", png, "image/png"},
		{"declared agrees", "application/pdf", pdf, "application/pdf"},
		{"declared with parameters agrees", "image/png; q=1", png, "image/png; q=1"},
		{"declared PDF but plain text", "application/pdf", text, "text/plain; charset=utf-8"},
		{"declared image but PDF", "image/png", pdf, "application/pdf"},
		{"declared text but HTML", "text/plain", html, "text/html; charset=utf-8"},
		{"declared HTML but text: no markup by declaration", "text/html", text, "text/plain; charset=utf-8"},
		{"declared SVG but text", "image/svg+xml", text, "text/plain; charset=utf-8"},
		{"declared CSV for CSV", "text/csv", csv, "text/csv"},
		{"declared charset kept", "text/plain; charset=iso-8859-1", text, "text/plain; charset=iso-8859-1"},
		{"unknown vendor type for binary", "application/x-messina-export", binary, "application/x-messina-export"},
		{"unknown text type for text", "text/x-ledger", text, "text/x-ledger"},
		{"unknown binary type for text", "application/x-messina-export", text, "text/plain; charset=utf-8"},
		{"malformed declared", "not a type", pdf, "application/pdf"},
		{"overlong declared", "application/pdf; x=" + strings.Repeat("a", 300), pdf, "application/pdf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, decideContentType(tc.declared, tc.head))
		})
	}
}
