package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/queries"
)

// GCReport says what a GC run removed.
type GCReport struct {
	// BlobsDeleted: unreferenced blob rows (and their objects) removed.
	BlobsDeleted int
	// OrphansDeleted: objects no blob row owns, older than the grace period.
	OrphansDeleted int
	// PinsExpired: upload pins of uploads that died before recording.
	PinsExpired int
	// StaleRemoved: partial writes of killed processes (disk temp files,
	// incomplete S3 multipart uploads).
	StaleRemoved int
}

// staleRemover is the optional capability of backends that can leave
// partial writes behind when a process dies (DiskStore, S3Store).
type staleRemover interface {
	RemoveStale(ctx context.Context, keep func(ObjectInfo) bool) (int, error)
}

const gcPage = 500

// GC deletes blobs that no revision references once their pin and the
// grace period are over, then objects under sha256/ and upload/ that no
// blob row owns and that are older than grace, expired upload pins, and
// partial writes older than both grace and the pin TTL. It is safe to run
// at any time, concurrently with uploads and with itself: uploads pin the
// blob row or upload key before writing, and GC deletes an object only
// under the lock of the row that would own it, deleting the row in the
// same transaction. The context's principal is used for the database, or
// system:gc when it has none.
func (s *Service) GC(ctx context.Context, grace time.Duration) (GCReport, error) {
	if _, ok := auth.FromContext(ctx); !ok {
		ctx = auth.WithPrincipal(ctx, auth.System("gc"))
	}
	var rep GCReport
	var err error
	if rep.BlobsDeleted, err = s.gcBlobs(ctx, grace); err != nil {
		return rep, fmt.Errorf("gc blobs: %w", err)
	}
	if rep.OrphansDeleted, err = s.gcOrphans(ctx, grace); err != nil {
		return rep, fmt.Errorf("gc orphan objects: %w", err)
	}
	if err := s.inTx(ctx, func(q *queries.Queries) error {
		n, err := q.UploadDeleteExpired(ctx)
		rep.PinsExpired = int(n)
		return err
	}); err != nil {
		return rep, fmt.Errorf("gc upload pins: %w", err)
	}
	if sr, ok := s.store.(staleRemover); ok {
		cutoff := time.Now().Add(-max(grace, s.cfg.PinTTL))
		if rep.StaleRemoved, err = sr.RemoveStale(ctx, func(oi ObjectInfo) bool { return oi.ModTime.After(cutoff) }); err != nil {
			return rep, fmt.Errorf("gc partial writes: %w", err)
		}
	}
	s.log.Info("gc done", "blobs", rep.BlobsDeleted, "orphans", rep.OrphansDeleted, "pins", rep.PinsExpired, "stale", rep.StaleRemoved)
	return rep, nil
}

func (s *Service) gcBlobs(ctx context.Context, grace time.Duration) (int, error) {
	deleted := 0
	for {
		var cands [][]byte
		if err := s.inTx(ctx, func(q *queries.Queries) error {
			var err error
			cands, err = q.BlobGCCandidates(ctx, queries.BlobGCCandidatesParams{GraceSeconds: grace.Seconds(), MaxRows: gcPage})
			return err
		}); err != nil {
			return deleted, err
		}
		progress := 0
		for _, sum := range cands {
			ok, err := s.gcBlob(ctx, sum, grace)
			if err != nil {
				return deleted, fmt.Errorf("blob %x: %w", sum, err)
			}
			if ok {
				deleted++
				progress++
			}
		}
		if len(cands) < gcPage || progress == 0 {
			return deleted, nil
		}
	}
}

// gcBlob deletes one blob under its row lock; false when it is pinned,
// locked by an upload or referenced by now.
func (s *Service) gcBlob(ctx context.Context, sum []byte, grace time.Duration) (bool, error) {
	deleted := false
	err := s.inTx(ctx, func(q *queries.Queries) error {
		row, err := q.BlobLockForGC(ctx, queries.BlobLockForGCParams{Sha256: sum, GraceSeconds: grace.Seconds()})
		if err != nil {
			if errors.Is(dbErr(err), ErrNotFound) {
				return nil
			}
			return err
		}
		ref, err := q.BlobReferenced(ctx, sum)
		if err != nil || ref {
			return err
		}
		// Object first, row second, one transaction: if the commit fails
		// the row points at nothing, which the next run (or an upload's
		// check before deduplicating) notices.
		if err := s.store.Delete(ctx, blobKey(row)); err != nil {
			return err
		}
		if row.ObjectKey != nil {
			// An upload with a digest may have left a copy at the content
			// key that lost the race to be recorded.
			if err := s.store.Delete(ctx, ContentKey(sum)); err != nil {
				return err
			}
		}
		deleted = true
		return q.BlobDelete(ctx, sum)
	})
	return deleted, err
}

// gcOrphans streams the object listing in pages: a page is prefiltered
// against blob rows and live upload pins in two queries, and only objects
// that look orphaned are re-checked and deleted one by one under lock.
// Memory stays bounded by the page size whatever the store's size.
func (s *Service) gcOrphans(ctx context.Context, grace time.Duration) (int, error) {
	cutoff := time.Now().Add(-grace)
	deleted := 0
	page := make([]string, 0, gcPage)
	flush := func() error {
		n, err := s.gcOrphanPage(ctx, page)
		deleted += n
		page = page[:0]
		return err
	}
	for _, prefix := range []string{"sha256/", "upload/"} {
		if err := s.store.List(ctx, prefix, func(oi ObjectInfo) error {
			if !oi.ModTime.Before(cutoff) {
				return nil
			}
			page = append(page, oi.Key)
			if len(page) == gcPage {
				return flush()
			}
			return nil
		}); err != nil {
			return deleted, err
		}
	}
	if err := flush(); err != nil {
		return deleted, err
	}
	return deleted, nil
}

func (s *Service) gcOrphanPage(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	var sums [][]byte
	for _, k := range keys {
		if sum := contentKeySum(k); sum != nil {
			sums = append(sums, sum)
		}
	}
	owned := map[string]bool{}
	if err := s.inTx(ctx, func(q *queries.Queries) error {
		rows, err := q.BlobOwnersOf(ctx, queries.BlobOwnersOfParams{Sums: sums, ObjectKeys: keys})
		if err != nil {
			return err
		}
		for _, r := range rows {
			owned[blobKey(queries.FilesBlob{Sha256: r.Sha256, ObjectKey: r.ObjectKey})] = true
		}
		pins, err := q.UploadLivePins(ctx, keys)
		for _, k := range pins {
			owned[k] = true
		}
		return err
	}); err != nil {
		return 0, err
	}
	deleted := 0
	for _, key := range keys {
		if owned[key] {
			continue
		}
		ok, err := s.gcOrphan(ctx, key)
		if err != nil {
			return deleted, fmt.Errorf("object %s: %w", key, err)
		}
		if ok {
			deleted++
		}
	}
	return deleted, nil
}

// gcOrphan deletes the object under key unless a blob row owns it or a
// live upload pin protects it, holding the locks of those rows meanwhile.
func (s *Service) gcOrphan(ctx context.Context, key string) (bool, error) {
	deleted := false
	err := s.inTx(ctx, func(q *queries.Queries) error {
		isUpload := strings.HasPrefix(key, "upload/")
		if isUpload {
			pin, err := q.UploadLockForGC(ctx, key)
			if err == nil && pin.PinnedUntil.After(time.Now()) {
				return nil // an upload is about to record it
			}
			if err != nil && !errors.Is(dbErr(err), ErrNotFound) {
				return err
			}
		}
		sum := contentKeySum(key)
		if sum != nil {
			// Keeps uploads of this content from pinning (and then
			// writing) until the decision below is committed.
			if err := q.BlobAddressLock(ctx, sum); err != nil {
				return err
			}
		}
		rows, err := q.BlobLockForOrphan(ctx, queries.BlobLockForOrphanParams{Sha256: sum, ObjectKey: &key})
		if err != nil {
			return err
		}
		for _, r := range rows {
			if blobKey(r) == key {
				return nil
			}
		}
		if err := s.store.Delete(ctx, key); err != nil {
			return err
		}
		if isUpload {
			if _, err := q.UploadUnpin(ctx, key); err != nil {
				return err
			}
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// ScrubReport says what a scrub found. Missing and Corrupt hold the hex
// SHA-256 of blobs now marked corrupt.
type ScrubReport struct {
	Checked int
	Bytes   int64
	Missing []string
	Corrupt []string
}

// OK reports whether every checked blob was sound (the CLI exits non-zero
// otherwise).
func (r ScrubReport) OK() bool { return len(r.Missing) == 0 && len(r.Corrupt) == 0 }

// Scrub re-reads and re-hashes stored blobs: the sample least recently
// verified ones, or all when sample <= 0. A blob whose object is missing
// or whose bytes do not hash to its address is marked corrupt and
// reported; a sound one gets verified_at (and loses a stale corrupt mark).
// Store outages abort the scrub with ErrUnavailable rather than marking
// blobs.
func (s *Service) Scrub(ctx context.Context, sample int) (ScrubReport, error) {
	if _, ok := auth.FromContext(ctx); !ok {
		ctx = auth.WithPrincipal(ctx, auth.System("scrub"))
	}
	var rep ScrubReport
	var after []byte = []byte{}
	for {
		var rows []queries.FilesBlob
		if err := s.inTx(ctx, func(q *queries.Queries) error {
			var err error
			if sample > 0 {
				rows, err = q.BlobScrubList(ctx, int32(sample))
			} else {
				rows, err = q.BlobScrubPage(ctx, queries.BlobScrubPageParams{After: after, MaxRows: gcPage})
			}
			return err
		}); err != nil {
			return rep, fmt.Errorf("scrub: %w", err)
		}
		for _, b := range rows {
			if err := s.scrubBlob(ctx, b, &rep); err != nil {
				return rep, fmt.Errorf("scrub blob %x: %w", b.Sha256, err)
			}
			after = b.Sha256
		}
		if sample > 0 || len(rows) < gcPage {
			break
		}
	}
	s.log.Info("scrub done", "checked", rep.Checked, "missing", len(rep.Missing), "corrupt", len(rep.Corrupt))
	return rep, nil
}

func (s *Service) scrubBlob(ctx context.Context, b queries.FilesBlob, rep *ScrubReport) error {
	rep.Checked++
	hexSum := fmt.Sprintf("%x", b.Sha256)
	rc, _, err := s.store.Get(ctx, blobKey(b), nil)
	if errors.Is(err, ErrNotFound) {
		rep.Missing = append(rep.Missing, hexSum)
		return s.markBlob(ctx, b.Sha256, "object missing")
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return err
	}
	rep.Bytes += n
	if got := h.Sum(nil); !bytes.Equal(got, b.Sha256) || b.Size == nil || n != *b.Size {
		rep.Corrupt = append(rep.Corrupt, hexSum)
		return s.markBlob(ctx, b.Sha256, fmt.Sprintf("scrub: %d bytes hashing to %x", n, got))
	}
	return s.inTx(ctx, func(q *queries.Queries) error { return q.BlobMarkVerified(ctx, b.Sha256) })
}

func (s *Service) markBlob(ctx context.Context, sum []byte, reason string) error {
	s.log.Error("blob corrupt", "sha256", fmt.Sprintf("%x", sum), "reason", reason)
	return s.inTx(ctx, func(q *queries.Queries) error {
		return q.BlobMarkCorrupt(ctx, queries.BlobMarkCorruptParams{Sha256: sum, Reason: &reason})
	})
}
