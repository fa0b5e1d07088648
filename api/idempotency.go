package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/queries"
)

// idempotent runs a POST at most once per (token, Idempotency-Key). The
// first request claims the key in PostgreSQL (one INSERT decides between
// concurrent duplicates), runs, and stores its response; a later request
// with the same key and the same body gets that response replayed, one with
// another body 422, one that arrives while the first still runs 409.
// Request bodies are hashed while they stream, so uploads need no buffer.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, p auth.Principal, rt route) error {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 || !printableASCII(key) {
		return problem(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters")
	}
	ctx := r.Context()
	h := requestHasher(r)
	_, err := s.q.IdempotencyClaim(ctx, queries.IdempotencyClaimParams{
		TokenID: p.TokenID, Key: key, Method: r.Method, Path: r.URL.Path,
		RequestHash: make([]byte, sha256.Size), ExpiresAt: s.cfg.Now().Add(s.cfg.IdempotencyTTL),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.replay(w, r, p, key, h)
	}
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}

	r.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.Body, h), r.Body}
	rec := newRecorder()
	if err := rt.handle(rec, r); err != nil {
		s.writeError(rec, r, err)
	}
	// Whatever the handler left unread still counts towards the hash.
	_, _ = io.Copy(h, r.Body)
	if rec.status >= 500 {
		// A failure may be transient: release the key so a retry can run.
		if err := s.q.IdempotencyRelease(ctx, queries.IdempotencyReleaseParams{TokenID: p.TokenID, Key: key}); err != nil {
			s.log.WarnContext(ctx, "release idempotency key", "error", err)
		}
	} else {
		headers, _ := json.Marshal(rec.header)
		status := int32(rec.status)
		if err := s.q.IdempotencyComplete(ctx, queries.IdempotencyCompleteParams{
			TokenID: p.TokenID, Key: key, RequestHash: h.Sum(nil), Status: &status, Headers: headers, Body: rec.body.Bytes(),
		}); err != nil {
			return fmt.Errorf("store idempotent response: %w", err)
		}
	}
	rec.copyTo(w)
	return nil
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request, p auth.Principal, key string, h hash.Hash) error {
	row, err := s.q.IdempotencyGet(r.Context(), queries.IdempotencyGetParams{TokenID: p.TokenID, Key: key})
	if errors.Is(err, pgx.ErrNoRows) {
		return problem(http.StatusConflict, "idempotency_in_progress", "a request with this Idempotency-Key is being processed").withHeader("Retry-After", "1")
	}
	if err != nil {
		return fmt.Errorf("read idempotency key: %w", err)
	}
	if row.Status == nil {
		return problem(http.StatusConflict, "idempotency_in_progress", "a request with this Idempotency-Key is being processed").withHeader("Retry-After", "1")
	}
	if _, err := io.Copy(h, r.Body); err != nil {
		return err
	}
	if row.Method != r.Method || row.Path != r.URL.Path || subtle.ConstantTimeCompare(h.Sum(nil), row.RequestHash) != 1 {
		return problem(http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
	}
	var header http.Header
	_ = json.Unmarshal(row.Headers, &header)
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(int(*row.Status))
	_, err = w.Write(row.Body)
	return err
}

// requestHasher starts the request hash with what identifies the request
// besides its body.
func requestHasher(r *http.Request) hash.Hash {
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition")} {
		fmt.Fprintf(h, "%d:%s\n", len(part), part)
	}
	return h
}

func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > unicode.MaxASCII || !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// recorder buffers a response so it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(b)
}

func (rec *recorder) copyTo(w http.ResponseWriter) {
	for k, vs := range rec.header {
		w.Header()[k] = vs
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}
