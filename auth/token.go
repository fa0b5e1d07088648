package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// TokenPrefix starts every Messina token, so secret scanners can find them.
const TokenPrefix = "msn_"

// NewToken returns a random 256-bit bearer token and its SHA-256 hash, which
// is all that is stored.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// VisiblePrefix is the part of a token that may be shown in listings.
func VisiblePrefix(token string) string {
	if len(token) < len(TokenPrefix)+6 || !strings.HasPrefix(token, TokenPrefix) {
		return ""
	}
	return token[:len(TokenPrefix)+6]
}
