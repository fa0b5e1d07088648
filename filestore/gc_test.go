package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
)

// putUnreferenced stores content as a blob no revision uses, as a retired
// attachment would leave it.
func (b *testBundle) putUnreferenced(t *testing.T, content []byte, pinnedFor time.Duration) []byte {
	t.Helper()
	s := sum(content)
	_, err := b.store.Put(context.Background(), filestore.ContentKey(s), bytes.NewReader(content), int64(len(content)), filestore.PutOptions{})
	require.NoError(t, err)
	_, err = b.db.Owner.Exec(context.Background(),
		`INSERT INTO files.blob (sha256, size, stored, stored_at, pinned_until, created_at)
		 VALUES ($1, $2, true, now(), now() + make_interval(secs => $3), now() - interval '1 hour')`,
		s, len(content), pinnedFor.Seconds())
	require.NoError(t, err)
	return s
}

func (b *testBundle) blobExists(t *testing.T, s []byte) bool {
	return b.count(t, "SELECT count(*) FROM files.blob WHERE sha256 = $1", s) == 1
}

func (b *testBundle) objectExists(t *testing.T, key string) bool {
	t.Helper()
	_, err := b.store.Stat(context.Background(), key)
	if errors.Is(err, filestore.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}

func TestGCDeletesOnlyWhatNothingNeeds(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name string
		opts []func(*setupOpts)
	}{{"minio", nil}, {"disk", []func(*setupOpts){withDisk}}} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, backend.opts...)
			ctx := context.Background()

			_, kept, err := b.svc.CreateAttachment(b.ctx, b.owner, "kept", textUpload("referenced"))
			require.NoError(t, err)
			unreferenced := b.putUnreferenced(t, []byte("nobody uses me"), -time.Minute)
			pinned := b.putUnreferenced(t, []byte("an upload is using me"), time.Hour)

			orphan := "upload/" + uuid.NewString()
			_, err = b.store.Put(ctx, orphan, bytes.NewReader([]byte("orphan")), 6, filestore.PutOptions{})
			require.NoError(t, err)
			orphanContent := filestore.ContentKey(sum([]byte("orphan content")))
			_, err = b.store.Put(ctx, orphanContent, bytes.NewReader([]byte("orphan content")), 14, filestore.PutOptions{})
			require.NoError(t, err)
			inFlight := "upload/" + uuid.NewString()
			_, err = b.db.Owner.Exec(ctx, "INSERT INTO files.upload (key, pinned_until) VALUES ($1, now() + interval '1 hour')", inFlight)
			require.NoError(t, err)
			_, err = b.store.Put(ctx, inFlight, bytes.NewReader([]byte("in flight")), 9, filestore.PutOptions{})
			require.NoError(t, err)
			deadUpload := "upload/" + uuid.NewString()
			_, err = b.db.Owner.Exec(ctx, "INSERT INTO files.upload (key, pinned_until) VALUES ($1, now() - interval '1 second')", deadUpload)
			require.NoError(t, err)
			_, err = b.store.Put(ctx, deadUpload, bytes.NewReader([]byte("killed before recording")), 23, filestore.PutOptions{})
			require.NoError(t, err)

			// Within the grace period no object goes; the expired pin does
			// (its object is then an orphan like any other).
			rep, err := b.svc.GC(ctx, time.Hour*2)
			require.NoError(t, err)
			require.Equal(t, filestore.GCReport{PinsExpired: 1}, rep)
			require.True(t, b.objectExists(t, orphan))
			require.True(t, b.objectExists(t, deadUpload))

			rep, err = b.svc.GC(ctx, 0)
			require.NoError(t, err)
			require.Equal(t, 1, rep.BlobsDeleted)
			require.Equal(t, 3, rep.OrphansDeleted, "orphan, orphan content and the killed upload's object")

			require.False(t, b.blobExists(t, unreferenced))
			require.False(t, b.objectExists(t, filestore.ContentKey(unreferenced)))
			require.True(t, b.blobExists(t, pinned), "pinned blobs stay")
			require.True(t, b.objectExists(t, filestore.ContentKey(pinned)))
			require.Equal(t, "referenced", string(b.readAll(t, kept)))
			require.False(t, b.objectExists(t, orphan))
			require.False(t, b.objectExists(t, orphanContent))
			require.True(t, b.objectExists(t, inFlight), "a live upload pin protects its object")
			require.False(t, b.objectExists(t, deadUpload))
			require.Equal(t, 1, b.count(t, "SELECT count(*) FROM files.upload"), "only the live pin remains")
		})
	}
}

// TestGCLoopWhileUploadingSameBytes runs GC with no grace period in a
// loop while uploads come in whose content GC is about to collect: each
// upload's bytes were first left as an unreferenced blob, so GC and the
// upload (deduplicating, with or without digest) race for the same row.
// Every revision must end up with its blob and a verifiable object.
func TestGCLoopWhileUploadingSameBytes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	var gcRuns, deleted atomic.Int64
	var gcErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			rep, err := b.svc.GC(ctx, 0)
			if err != nil && ctx.Err() == nil {
				gcErr = err
				return
			}
			gcRuns.Add(1)
			deleted.Add(int64(rep.BlobsDeleted))
		}
	}()

	att, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", textUpload("start"))
	require.NoError(t, err)
	const workers, perWorker = 4, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				content := randomBytes(16 << 10)
				b.putUnreferenced(t, content, -time.Second)
				if i%3 == 2 {
					time.Sleep(time.Duration(i) * time.Millisecond) // let GC get there first now and then
				}
				up := filestore.Upload{Body: body(content), Size: int64(len(content)), Filename: fmt.Sprint(w, "-", i)}
				if (w+i)%2 == 0 {
					up.Digest = sum(content)
				}
				_, err := b.svc.AddRevision(b.ctx, att.ID, up)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	cancel()
	<-done
	require.NoError(t, gcErr)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("GC ran %d times and deleted %d blobs during the uploads", gcRuns.Load(), deleted.Load())
	require.Greater(t, gcRuns.Load(), int64(3))

	// One more GC with no grace must not touch anything referenced.
	_, err = b.svc.GC(context.Background(), 0)
	require.NoError(t, err)
	revs, err := b.svc.ListRevisions(b.ctx, att.ID, 0, 1000)
	require.NoError(t, err)
	require.Len(t, revs, workers*perWorker+1)
	for _, r := range revs {
		got := b.readAll(t, r)
		require.Equal(t, r.SHA256, sum(got), "revision %d is readable and verified", r.Number)
	}
	rep, err := b.svc.Scrub(context.Background(), 0)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
	require.Equal(t, workers*perWorker+1, rep.Checked, "no unreferenced blob is left")
}

func TestScrub(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var revs []filestore.Revision
	for i := range 4 {
		_, r, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", textUpload(fmt.Sprint("content ", i)))
		require.NoError(t, err)
		revs = append(revs, r)
	}
	key := func(r filestore.Revision) string {
		var k string
		require.NoError(t, b.db.Owner.QueryRow(ctx, "SELECT object_key FROM files.blob WHERE sha256 = $1", r.SHA256).Scan(&k))
		return k
	}
	require.NoError(t, b.store.Delete(ctx, key(revs[0])))
	_, err := b.store.Put(ctx, key(revs[1]), bytes.NewReader([]byte("tampered!")), 9, filestore.PutOptions{})
	require.NoError(t, err)

	rep, err := b.svc.Scrub(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Checked, "a sample checks only that many")

	rep, err = b.svc.Scrub(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, 4, rep.Checked)
	require.False(t, rep.OK())
	require.Equal(t, []string{revs[0].SHA256Hex()}, rep.Missing)
	require.Equal(t, []string{revs[1].SHA256Hex()}, rep.Corrupt)
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM files.blob WHERE corrupt_at IS NOT NULL"))
	require.Equal(t, 2, b.count(t, "SELECT count(*) FROM files.blob WHERE verified_at IS NOT NULL AND corrupt_at IS NULL"))
}

// gcAtEOF runs GC (no grace) when the body has been read to the end, i.e.
// after the bytes were sent and before the upload is recorded.
type gcAtEOF struct {
	t   *testing.T
	r   io.Reader
	svc *filestore.Service
	ran bool
}

func (g *gcAtEOF) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err == io.EOF && !g.ran {
		g.ran = true
		_, gcErr := g.svc.GC(context.Background(), 0)
		require.NoError(g.t, gcErr)
	}
	return n, err
}

// TestUploadOutlivingItsPin covers uploads that take longer than the pin
// TTL while GC runs. When GC may have taken the upload's object (no
// digest), or aborted its multipart upload (unknown size), the upload fails
// with ErrConflict and leaves nothing; a single-request upload with a
// digest finds its blob row re-created, checks the object and succeeds.
func TestUploadOutlivingItsPin(t *testing.T) {
	t.Parallel()
	data := randomBytes(10 << 10)
	for _, tc := range []struct {
		name      string
		knownSize bool
		digest    bool
		wantErr   error
	}{
		{"no digest, known size", true, false, filestore.ErrConflict},
		{"no digest, unknown size", false, false, filestore.ErrConflict},
		{"digest, unknown size", false, true, filestore.ErrConflict},
		{"digest, known size", true, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, withConfig(func(c *filestore.Config) { c.PinTTL = time.Microsecond }))
			up := filestore.Upload{Body: &gcAtEOF{t: t, r: body(data), svc: b.svc}, Size: -1}
			if tc.knownSize {
				up.Size = int64(len(data))
			}
			if tc.digest {
				up.Digest = sum(data)
			}
			_, rev, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", up)
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.True(t, bytes.Equal(data, b.readAll(t, rev)))
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.revision"))
			_, err = b.svc.GC(context.Background(), 0)
			require.NoError(t, err)
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.blob"))
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.upload"))
			require.Empty(t, b.objects(t, ""))
		})
	}
}
