// Package httplog holds what the API and the web UI both need to log a
// request the same way: its id and the status and size of its response.
package httplog

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
)

// idPattern is what an incoming X-Request-Id must look like to be kept: a
// proxy's plain id is worth keeping, anything else could forge log lines.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestID returns the request's X-Request-Id when it is plain, else a
// new random id.
func RequestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); idPattern.MatchString(id) {
		return id
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StatusWriter remembers the status and size of a response.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the status sent, 0 while nothing is.
	Status int
	// Bytes counts the body bytes written.
	Bytes int64
}

// WriteHeader records the first status and sends it.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes, the first write implying status 200.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
