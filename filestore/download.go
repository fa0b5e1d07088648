package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/messina-oms/messina/queries"
)

// Open returns a reader of the revision's content, or of the byte range
// rng when rng is not nil (the caller resolves HTTP ranges against
// rev.Size; for multiple ranges it calls Open once per range). A read of
// the whole content is verified while streaming: if the bytes do not hash
// to rev.SHA256 the final Read fails with ErrCorrupt instead of io.EOF (so
// the client sees a broken transfer, never silently wrong bytes) and the
// blob is marked corrupt. A missing object gives ErrCorrupt too, at once.
// The caller must Close the reader, also after a partial read.
// ErrRangeNotSatisfiable when rng starts at or beyond the end.
func (s *Service) Open(ctx context.Context, rev Revision, rng *Range) (io.ReadCloser, error) {
	key := rev.objectKey
	if key == "" {
		if err := s.single(ctx, func(q *queries.Queries) error {
			blob, err := q.BlobGet(ctx, rev.SHA256)
			key = blobKey(blob)
			return err
		}); err != nil {
			return nil, fmt.Errorf("open revision %d of %s: %w", rev.Number, rev.AttachmentID, err)
		}
	}
	full := rng == nil || (rng.Offset == 0 && (rng.Length < 0 || rng.Length >= rev.Size))
	if rev.Size == 0 && rng != nil {
		return nil, fmt.Errorf("open revision %d of %s: %w", rev.Number, rev.AttachmentID, ErrRangeNotSatisfiable)
	}
	if full {
		rng = nil
	}
	rc, info, err := s.store.Get(ctx, key, rng)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.markCorrupt(ctx, rev.SHA256, "object missing")
			return nil, fmt.Errorf("open revision %d of %s: %w: object %s missing", rev.Number, rev.AttachmentID, ErrCorrupt, key)
		}
		return nil, fmt.Errorf("open revision %d of %s: %w", rev.Number, rev.AttachmentID, err)
	}
	if !full {
		return rc, nil
	}
	if info.Size != rev.Size {
		rc.Close()
		s.markCorrupt(ctx, rev.SHA256, fmt.Sprintf("object is %d bytes, want %d", info.Size, rev.Size))
		return nil, fmt.Errorf("open revision %d of %s: %w: object size %d, want %d", rev.Number, rev.AttachmentID, ErrCorrupt, info.Size, rev.Size)
	}
	return newVerifyingReader(rc, rev.SHA256, rev.Size, func(reason string) {
		s.markCorrupt(ctx, rev.SHA256, reason)
	}), nil
}

// verifyingReader hashes a full read and turns a mismatch at the end into
// an error. It hashes in the reading goroutine: on a busy machine a
// separate hashing goroutine measured slower (it copies every chunk and
// competes for the same cores), and the reads come in 1 MiB pieces (see
// api's largeCopyWriter), so hashing does not add system calls.
type verifyingReader struct {
	rc    io.ReadCloser
	want  []byte
	size  int64
	n     int64
	err   error
	onBad func(reason string)
	h     hash.Hash
}

func newVerifyingReader(rc io.ReadCloser, want []byte, size int64, onBad func(string)) *verifyingReader {
	return &verifyingReader{rc: rc, want: want, size: size, onBad: onBad, h: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.size:
		v.fail(fmt.Sprintf("object longer than %d bytes", v.size))
		return 0, v.err
	case v.n == v.size && n > 0:
		// The last bytes are withheld until they are checked, so a bad
		// transfer never ends cleanly (the HTTP layer has sent at most
		// size minus this chunk).
		if got := v.h.Sum(nil); !bytes.Equal(got, v.want) {
			v.fail(fmt.Sprintf("content hashes to %x", got))
			return 0, v.err
		}
		if err == nil {
			err = io.EOF
		}
		v.err = err
		return n, err
	case err == io.EOF:
		v.fail(fmt.Sprintf("object ended after %d of %d bytes", v.n, v.size))
		return 0, v.err
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

func (v *verifyingReader) fail(reason string) {
	v.err = fmt.Errorf("%w: %s", ErrCorrupt, reason)
	v.onBad(reason)
}

// Close releases the object.
func (v *verifyingReader) Close() error {
	if v.err == nil {
		v.err = errReadAfterClose
	}
	return v.rc.Close()
}

var errReadAfterClose = errors.New("read after close")

func (s *Service) markCorrupt(ctx context.Context, sum []byte, reason string) {
	s.log.Error("blob corrupt", "sha256", fmt.Sprintf("%x", sum), "reason", reason)
	ctx = systemCtx(ctx)
	if err := s.single(ctx, func(q *queries.Queries) error {
		return q.BlobMarkCorrupt(ctx, queries.BlobMarkCorruptParams{Sha256: sum, Reason: &reason})
	}); err != nil {
		s.log.Error("mark blob corrupt", "sha256", fmt.Sprintf("%x", sum), "err", err)
	}
}
