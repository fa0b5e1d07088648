package filestore

import (
	"context"
	"errors"
	"io"
)

// Content is a revision's bytes as the io.ReadSeeker that
// http.ServeContent needs (it answers Range, If-Range, If-None-Match and
// HEAD), over a store that streams: Seek only moves the offset, and Read
// opens, or reopens, a stream at it (Open). A stream from offset 0 is the
// verified whole-content read. Close it after use.
type Content struct {
	ctx   context.Context
	s     *Service
	rev   Revision
	off   int64
	rc    io.ReadCloser
	rcOff int64
	err   error
}

// Content returns the bytes of rev, read lazily.
func (s *Service) Content(ctx context.Context, rev Revision) *Content {
	return &Content{ctx: ctx, s: s, rev: rev}
}

// Open opens the stream at the current offset now, so that a caller can
// answer an unreachable store (ErrUnavailable) or a corrupt blob before
// it sends any header.
func (c *Content) Open() error {
	if c.rc != nil {
		c.rc.Close()
		c.rc = nil
	}
	var rng *Range
	if c.off > 0 {
		rng = &Range{Offset: c.off, Length: c.rev.Size - c.off}
	}
	rc, err := c.s.Open(c.ctx, c.rev, rng)
	if err != nil {
		c.err = err
		return err
	}
	c.rc, c.rcOff = rc, c.off
	return nil
}

// Read implements io.Reader.
func (c *Content) Read(p []byte) (int, error) {
	if c.off >= c.rev.Size {
		return 0, io.EOF
	}
	if c.rc == nil || c.rcOff != c.off {
		if err := c.Open(); err != nil {
			return 0, err
		}
	}
	n, err := c.rc.Read(p)
	c.off += int64(n)
	c.rcOff = c.off
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// Seek implements io.Seeker; it only moves the offset.
func (c *Content) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += c.rev.Size
	}
	if offset < 0 {
		return 0, errors.New("seek before start")
	}
	c.off = offset
	return offset, nil
}

// Err is the error that broke reading, if any (a store failure, or a
// corrupt blob found by verification), as opposed to the client going
// away: once a response has started, the caller's only honest signal is
// to abort it.
func (c *Content) Err() error { return c.err }

// Close releases the open stream, if any.
func (c *Content) Close() error {
	if c.rc != nil {
		return c.rc.Close()
	}
	return nil
}
