package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strings"
	"time"
)

// Store is a blob backend: a flat namespace of immutable objects under
// slash-separated keys. Implementations are safe for concurrent use.
// Errors wrap ErrNotFound, ErrUnavailable, ErrInvalid, ErrDigestMismatch,
// ErrSizeMismatch or ErrRangeNotSatisfiable where the method says so; a
// reader's own error (e.g. ErrTooLarge from a limiting reader, or a dropped
// client connection) is returned wrapped, and ctx.Err() when ctx ends.
type Store interface {
	// Put stores the bytes of r under key, replacing any object there
	// atomically: readers see the old object or the whole new one, never a
	// part. size is the exact length, or -1 when unknown; memory use is
	// bounded whatever the size. When opts.SHA256 is set, the object becomes
	// visible only if the bytes hash to it; otherwise Put returns a
	// *DigestMismatchError (ErrDigestMismatch) and stores nothing. A body
	// that is not exactly size bytes gives ErrSizeMismatch and stores
	// nothing. On any error nothing becomes visible under key. The result
	// carries the size and SHA-256 computed while streaming.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (PutResult, error)
	// Get returns a reader of the object under key, or of the byte range
	// rng when rng is not nil, and the object's info. The caller closes the
	// reader. ErrNotFound when there is no object; ErrRangeNotSatisfiable
	// when rng starts at or beyond the end.
	Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, ObjectInfo, error)
	// Stat returns the object's info, ErrNotFound when there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object under key. Deleting a missing object is not
	// an error, so cleanup can be retried.
	Delete(ctx context.Context, key string) error
	// List calls fn for every complete object whose key starts with prefix,
	// in no particular order, stopping at and returning fn's first error.
	// Objects being written are not listed.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Ping checks that the backend is reachable and usable (for /readyz);
	// ErrUnavailable when it is not.
	Ping(ctx context.Context) error
}

// PutOptions are the optional inputs of Store.Put.
type PutOptions struct {
	// SHA256 is the digest the content must have (32 bytes), or nil.
	SHA256 []byte
	// ContentType is stored as object metadata where the backend can.
	ContentType string
}

// PutResult is what Store.Put measured while streaming.
type PutResult struct {
	Size   int64
	SHA256 []byte
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Range is a byte range of an object: Length bytes from Offset, or to the
// end when Length is negative. A range reaching past the end is cut at the
// end, as in HTTP.
type Range struct {
	Offset int64
	Length int64
}

func (r *Range) validate() error {
	if r == nil {
		return nil
	}
	if r.Offset < 0 || r.Length == 0 {
		return invalidf("range offset %d length %d", r.Offset, r.Length)
	}
	return nil
}

// ContentKey is the object key of the blob whose SHA-256 is sum:
// sha256/ab/cd/<64 hex>. The two directory levels keep disk directories
// small.
func ContentKey(sum []byte) string {
	h := hex.EncodeToString(sum)
	return "sha256/" + h[0:2] + "/" + h[2:4] + "/" + h
}

// contentKeySum returns the digest named by a content key, or nil when key
// is not one.
func contentKeySum(key string) []byte {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "sha256" || len(parts[3]) != 64 {
		return nil
	}
	sum, err := hex.DecodeString(parts[3])
	if err != nil || parts[1] != parts[3][0:2] || parts[2] != parts[3][2:4] {
		return nil
	}
	return sum
}

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)

// validateKey keeps keys to a portable alphabet with no empty, dot-leading
// or ".." segments, so a key can never escape the disk store's root.
func validateKey(key string) error {
	if len(key) > 512 || !keyPattern.MatchString(key) {
		return invalidf("object key %q", key)
	}
	return nil
}

// hashingReader hashes and counts what passes through it and enforces the
// announced size and digest at the end of the stream: the read that would
// deliver the end fails instead, so a backend never completes an object
// whose bytes are wrong. It also stops when ctx ends.
type hashingReader struct {
	ctx    context.Context
	r      io.Reader
	size   int64 // -1 unknown
	want   []byte
	h      hash.Hash
	n      int64
	err    error // sticky
	sumOut []byte
}

func newHashingReader(ctx context.Context, r io.Reader, size int64, want []byte) *hashingReader {
	return &hashingReader{ctx: ctx, r: r, size: size, want: want, h: sha256.New()}
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	if hr.err != nil {
		return 0, hr.err
	}
	if err := hr.ctx.Err(); err != nil {
		hr.err = err
		return 0, err
	}
	if hr.size >= 0 && int64(len(p)) > hr.size-hr.n+1 {
		// Ask for one byte past the announced end so an overlong body is
		// noticed.
		p = p[:hr.size-hr.n+1]
	}
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	if hr.size >= 0 && hr.n > hr.size {
		hr.err = fmt.Errorf("%w: more than %d bytes", ErrSizeMismatch, hr.size)
		return 0, hr.err
	}
	if err != nil && err != io.EOF {
		hr.err = err
		return n, err
	}
	if err == nil && hr.size >= 0 && hr.n == hr.size {
		// The consumer may stop here; make sure the body ends here too
		// before handing over the last bytes.
		err = hr.expectEOF()
		if err != io.EOF {
			hr.err = err
			return 0, err
		}
	}
	if err == io.EOF {
		if hr.size >= 0 && hr.n != hr.size {
			hr.err = fmt.Errorf("%w: got %d of %d bytes", ErrSizeMismatch, hr.n, hr.size)
			return 0, hr.err
		}
		hr.sumOut = hr.h.Sum(nil)
		if hr.want != nil && !bytes.Equal(hr.sumOut, hr.want) {
			hr.err = &DigestMismatchError{Expected: hr.want, Computed: hr.sumOut}
			return 0, hr.err
		}
		hr.err = io.EOF
	}
	return n, err
}

// expectEOF reads one byte past the announced size: io.EOF is the good
// answer.
func (hr *hashingReader) expectEOF() error {
	var b [1]byte
	for i := 0; i < 100; i++ {
		n, err := hr.r.Read(b[:])
		if n > 0 {
			return fmt.Errorf("%w: more than %d bytes", ErrSizeMismatch, hr.size)
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// finish drains the end of the stream when the consumer stopped reading
// exactly at the announced size, and returns the verified result.
func (hr *hashingReader) finish() (PutResult, error) {
	if hr.sumOut == nil {
		if hr.err != nil {
			return PutResult{}, hr.err
		}
		// The consumer stopped early; read on to check the end.
		if _, err := io.Copy(io.Discard, hr); err != nil {
			return PutResult{}, err
		}
		if hr.sumOut == nil {
			return PutResult{}, hr.err
		}
	}
	return PutResult{Size: hr.n, SHA256: hr.sumOut}, nil
}
