package filestore_test

import (
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
)

func TestParseContentDigest(t *testing.T) {
	t.Parallel()
	hello := sha256.Sum256([]byte("hello"))
	b64 := base64.StdEncoding.EncodeToString(hello[:])
	for _, tc := range []struct {
		name    string
		header  string
		want    []byte
		wantErr bool
	}{
		{"empty header", "", nil, false},
		{"sha-256 alone", "sha-256=:" + b64 + ":", hello[:], false},
		{"with sha-512 first", "sha-512=:" + base64.StdEncoding.EncodeToString(make([]byte, 64)) + ":, sha-256=:" + b64 + ":", hello[:], false},
		{"with parameters", "sha-256=:" + b64 + ":;foo=1;bar", hello[:], false},
		{"unpadded base64", "sha-256=:" + strings.TrimRight(b64, "=") + ":", hello[:], false},
		{"spaces around", "  sha-256=:" + b64 + ":  ", hello[:], false},
		{"only other algorithms", "sha-512=:" + base64.StdEncoding.EncodeToString(make([]byte, 64)) + ":", nil, false},
		{"other item types ignored", "md5=abc, unixsum=12, sha-256=:" + b64 + ":", hello[:], false},
		{"last sha-256 wins", "sha-256=:" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + ":, sha-256=:" + b64 + ":", hello[:], false},
		{"wrong length", "sha-256=:" + base64.StdEncoding.EncodeToString([]byte("short")) + ":", nil, true},
		{"not base64", "sha-256=:!!!!:", nil, true},
		{"unterminated", "sha-256=:" + b64, nil, true},
		{"token instead of bytes", "sha-256=abc", nil, true},
		{"bare key", "sha-256", nil, true},
		{"upper-case key", "SHA-256=:" + b64 + ":", nil, true},
		{"trailing comma", "sha-256=:" + b64 + ":,", nil, true},
		{"garbage after value", "sha-256=:" + b64 + ":x", nil, true},
		{"hex instead of base64", "sha-256=:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824:", nil, true},
		{"header injection", "sha-256=:" + b64 + ":\r\nX-Evil: 1", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := filestore.ParseContentDigest(tc.header)
			if tc.wantErr {
				require.ErrorIs(t, err, filestore.ErrInvalid)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	require.Equal(t, "sha-256=:"+b64+":", filestore.FormatContentDigest(hello[:]))
}

func FuzzParseContentDigest(f *testing.F) {
	hello := sha256.Sum256([]byte("hello"))
	f.Add("sha-256=:" + base64.StdEncoding.EncodeToString(hello[:]) + ":")
	f.Add("sha-512=:AAAA:, sha-256=:" + base64.StdEncoding.EncodeToString(hello[:]) + ":;p=1")
	f.Add("a=1,b=:x:")
	f.Add(":,;=")
	f.Fuzz(func(t *testing.T, header string) {
		got, err := filestore.ParseContentDigest(header)
		if err != nil {
			require.ErrorIs(t, err, filestore.ErrInvalid)
			require.Nil(t, got)
			return
		}
		if got != nil {
			require.Len(t, got, 32)
			// What we accept re-parses to the same digest in canonical form.
			again, err := filestore.ParseContentDigest(filestore.FormatContentDigest(got))
			require.NoError(t, err)
			require.Equal(t, got, again)
		}
	})
}

func TestSafeFilename(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"contract.pdf", "contract.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\ana\offer.docx`, "offer.docx"},
		{"dir/", "file"},
		{"", "file"},
		{"...", "file"},
		{".bashrc", "bashrc"},
		{"a\r\nContent-Type: text/html\r\n.txt", "html.txt"},
		{"a\r\nX-Evil: 1.txt", "aX-Evil: 1.txt"},
		{`say "hi".txt`, "say _hi_.txt"},
		{"evil\u202Egpj.exe", "evilgpj.exe"},
		{"tab\there.txt", "tab here.txt"},
		{"Café Crème.pdf", "Café Crème.pdf"},
		{"bad\xffutf8.txt", "bad_utf8.txt"},
		{"trailing dots...", "trailing dots"},
		{strings.Repeat("é", 200), strings.Repeat("é", 127)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, filestore.SafeFilename(tc.in))
		})
	}
}

func TestContentDisposition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"offer.pdf", `attachment; filename="offer.pdf"; filename*=UTF-8''offer.pdf`},
		{"Café 100%.pdf", `attachment; filename="Cafe 100_.pdf"; filename*=UTF-8''Caf%C3%A9%20100%25.pdf`},
		{"日本.txt", `attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`},
		{"x\"; filename=evil.exe", `attachment; filename="x_; filename=evil.exe"; filename*=UTF-8''x_%3B%20filename%3Devil.exe`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got := filestore.ContentDisposition(tc.in)
			require.Equal(t, tc.want, got)
			_, params, err := mime.ParseMediaType(got)
			require.NoError(t, err)
			require.Equal(t, filestore.SafeFilename(tc.in), params["filename"], "filename* decodes to the safe name")
		})
	}
}

func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"a.pdf", "../x", "a\r\nb", "\"q\"", "é", "\u202e", "\xff", "..", "a/b\\c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		safe := filestore.SafeFilename(name)
		require.NotEmpty(t, safe)
		require.True(t, utf8.ValidString(safe))
		require.LessOrEqual(t, len(safe), 255)
		require.False(t, strings.ContainsAny(safe, "/\\\""), "no separators or quotes: %q", safe)
		require.False(t, strings.HasPrefix(safe, "."), "no hidden or relative names: %q", safe)
		for _, r := range safe {
			require.False(t, unicode.IsControl(r) || unicode.Is(unicode.Cf, r), "no control or format characters: %q", safe)
		}
		require.Equal(t, safe, filestore.SafeFilename(safe), "idempotent")

		cd := filestore.ContentDisposition(name)
		require.False(t, strings.ContainsAny(cd, "\r\n\x00"), "header cannot be split")
		for i := 0; i < len(cd); i++ {
			require.True(t, cd[i] >= 0x20 && cd[i] < 0x7f, "header value is printable ASCII: %q", cd)
		}
		disp, params, err := mime.ParseMediaType(cd)
		require.NoError(t, err, cd)
		require.Equal(t, "attachment", disp)
		require.Equal(t, safe, params["filename"])
	})
}
