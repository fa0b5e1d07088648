package filestore

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ParseContentDigest extracts the SHA-256 from an RFC 9530 Content-Digest
// (or Repr-Digest) header value, a structured-field dictionary such as
// `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:…:`.
// It returns nil and no error when the header is empty or names no sha-256
// (other algorithms may be ignored, RFC 9530 section 2), and an error
// wrapping ErrInvalid when the header is malformed or the sha-256 value is
// not 32 bytes of base64. As in RFC 8941, the last sha-256 member wins.
func ParseContentDigest(header string) ([]byte, error) {
	var sum []byte
	rest := strings.TrimLeft(header, " \t")
	for rest != "" {
		// key
		i := 0
		for i < len(rest) && isKeyChar(rest[i], i == 0) {
			i++
		}
		if i == 0 {
			return nil, invalidf("Content-Digest: expected a key at %q", clip(rest))
		}
		key := rest[:i]
		rest = rest[i:]
		var value []byte
		isBytes := false
		if strings.HasPrefix(rest, "=") {
			rest = rest[1:]
			if !strings.HasPrefix(rest, ":") {
				// Another item type (token, integer, string): skip it
				// unless it is the member we need.
				j := strings.IndexAny(rest, ",;")
				if j < 0 {
					j = len(rest)
				}
				if key == "sha-256" {
					return nil, invalidf("Content-Digest: sha-256 must be a byte sequence (:base64:)")
				}
				if strings.TrimSpace(rest[:j]) == "" {
					return nil, invalidf("Content-Digest: empty value of %q", key)
				}
				rest = rest[j:]
			} else {
				end := strings.IndexByte(rest[1:], ':')
				if end < 0 {
					return nil, invalidf("Content-Digest: unterminated byte sequence of %q", key)
				}
				b64 := rest[1 : 1+end]
				rest = rest[2+end:]
				var err error
				value, err = decodeBase64(b64)
				if err != nil {
					return nil, invalidf("Content-Digest: %q is not base64: %v", key, err)
				}
				isBytes = true
			}
		}
		// parameters: ;name[=value] — ignored
		for strings.HasPrefix(rest, ";") {
			j := strings.IndexAny(rest[1:], ",;")
			if j < 0 {
				rest = ""
			} else {
				rest = rest[1+j:]
			}
		}
		if key == "sha-256" {
			if !isBytes {
				return nil, invalidf("Content-Digest: sha-256 has no value")
			}
			if len(value) != 32 {
				return nil, invalidf("Content-Digest: sha-256 is %d bytes, want 32", len(value))
			}
			sum = value
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, invalidf("Content-Digest: expected ',' at %q", clip(rest))
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		if rest == "" {
			return nil, invalidf("Content-Digest: trailing comma")
		}
	}
	return sum, nil
}

// FormatContentDigest is the Content-Digest value of a SHA-256, for
// responses and clients.
func FormatContentDigest(sum []byte) string {
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum) + ":"
}

func isKeyChar(c byte, first bool) bool {
	if c >= 'a' && c <= 'z' || c == '*' {
		return true
	}
	return !first && (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.')
}

// decodeBase64 accepts padded (RFC 8941) and, leniently, unpadded base64.
func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") || len(s)%4 == 0 {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// maxFilenameBytes keeps names within common filesystem limits.
const maxFilenameBytes = 255

// SafeFilename reduces a client-supplied file name to something safe to
// store and to send back in Content-Disposition: the last path element,
// valid UTF-8, without control or invisible formatting characters (such
// as right-to-left overrides), quotes, backslashes or leading dots, and at
// most 255 bytes. An empty result becomes "file".
func SafeFilename(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '\\' || r == '/':
			return '_'
		case r == '\t':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			return -1
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, name)
	name = norm.NFC.String(name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	name = strings.TrimRight(name, ". ")
	for len(name) > maxFilenameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return "file"
	}
	return name
}

// ContentDisposition is the Content-Disposition header value (RFC 6266)
// for sending name as an attachment: an ASCII fallback in filename= and
// the exact UTF-8 name in filename*=. name is first passed through
// SafeFilename, so the value can never break out of the header.
func ContentDisposition(name string) string {
	name = SafeFilename(name)
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, asciiFallback(name), percentEncode(name))
}

// asciiFallback drops accents (é -> e) and replaces what remains outside
// printable ASCII with '_'.
func asciiFallback(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// combining mark: the base letter is already written
		case r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '%':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// percentEncode encodes all but RFC 5987 attr-chars.
func percentEncode(s string) string {
	const attrChars = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(attrChars, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
