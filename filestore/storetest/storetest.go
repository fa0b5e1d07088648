// Package storetest is the conformance suite of filestore.Store: every
// backend runs Run (and one of them RunLarge) against a real instance, so
// the service can rely on the documented contract whatever the backend.
// It must not import net/http or api/.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
)

// NewStore returns the store under test. It may return the same store to
// every caller: the suite uses a fresh key prefix per test.
type NewStore func(t *testing.T) filestore.Store

// partBoundary is just over the S3 backend's part size, so the suite covers
// multipart uploads (and, on disk, nothing special).
const partBoundary = filestore.DefaultPartSize + 1

// Run runs the conformance suite. Subtests run in parallel.
func Run(t *testing.T, newStore NewStore) {
	t.Run("PutGetStat", func(t *testing.T) { t.Parallel(); testPutGetStat(t, newStore(t)) })
	t.Run("PutWrongDigestStoresNothing", func(t *testing.T) { t.Parallel(); testWrongDigest(t, newStore(t)) })
	t.Run("PutWrongSizeStoresNothing", func(t *testing.T) { t.Parallel(); testWrongSize(t, newStore(t)) })
	t.Run("PutReaderErrorStoresNothing", func(t *testing.T) { t.Parallel(); testReaderError(t, newStore(t)) })
	t.Run("PutCancelledMidStreamStoresNothing", func(t *testing.T) { t.Parallel(); testCancel(t, newStore(t)) })
	t.Run("PutReplacesWhole", func(t *testing.T) { t.Parallel(); testReplace(t, newStore(t)) })
	t.Run("ConcurrentPutsOfSameContent", func(t *testing.T) { t.Parallel(); testConcurrentSame(t, newStore(t)) })
	t.Run("Ranges", func(t *testing.T) { t.Parallel(); testRanges(t, newStore(t)) })
	t.Run("MissingObjects", func(t *testing.T) { t.Parallel(); testMissing(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDelete(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { t.Parallel(); testList(t, newStore(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { t.Parallel(); testInvalidKeys(t, newStore(t)) })
	t.Run("Ping", func(t *testing.T) { t.Parallel(); require.NoError(t, newStore(t).Ping(context.Background())) })
}

// prefix returns a key prefix no other test uses.
func prefix(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "storetest/" + hex.EncodeToString(b) + "/"
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// onlyReader hides Seek/ReaderAt/Len so backends see a plain stream, as
// from a network body.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func getAll(t *testing.T, s filestore.Store, key string, rng *filestore.Range) ([]byte, filestore.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key, rng)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b, info
}

func requireAbsent(t *testing.T, s filestore.Store, key string) {
	t.Helper()
	_, err := s.Stat(context.Background(), key)
	require.ErrorIs(t, err, filestore.ErrNotFound, "object %s must not exist", key)
}

func testPutGetStat(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	p := prefix(t)
	for _, size := range []int{0, 1, 4096, 1 << 20, partBoundary} {
		data := randomBytes(size)
		for _, tc := range []struct {
			name      string
			knownSize bool
			digest    bool
		}{
			{"known size, no digest", true, false},
			{"unknown size, no digest", false, false},
			{"known size, digest", true, true},
			{"unknown size, digest", false, true},
		} {
			if size == partBoundary && tc.knownSize == tc.digest {
				continue // two of the four combinations cover multipart
			}
			t.Run(fmt.Sprintf("%d bytes, %s", size, tc.name), func(t *testing.T) {
				key := fmt.Sprintf("%s%d-%t-%t", p, size, tc.knownSize, tc.digest)
				n := int64(-1)
				if tc.knownSize {
					n = int64(size)
				}
				var opts filestore.PutOptions
				if tc.digest {
					opts.SHA256 = sum(data)
				}
				res, err := s.Put(ctx, key, onlyReader{bytes.NewReader(data)}, n, opts)
				require.NoError(t, err)
				require.Equal(t, int64(size), res.Size)
				require.Equal(t, sum(data), res.SHA256)

				info, err := s.Stat(ctx, key)
				require.NoError(t, err)
				require.Equal(t, int64(size), info.Size)
				require.Equal(t, key, info.Key)
				require.WithinDuration(t, time.Now(), info.ModTime, time.Hour)

				got, ginfo := getAll(t, s, key, nil)
				require.Equal(t, int64(size), ginfo.Size)
				require.True(t, bytes.Equal(data, got), "content read back differs")
			})
		}
	}
}

func testWrongDigest(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	p := prefix(t)
	for _, tc := range []struct {
		name      string
		size      int
		knownSize bool
	}{
		{"small, known size", 100, true},
		{"small, unknown size", 100, false},
		{"multipart, known size", partBoundary, true},
		{"multipart, unknown size", partBoundary, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randomBytes(tc.size)
			wrong := sum([]byte("something else"))
			key := p + fmt.Sprintf("s%d-%t", tc.size, tc.knownSize)
			n := int64(-1)
			if tc.knownSize {
				n = int64(tc.size)
			}
			_, err := s.Put(ctx, key, onlyReader{bytes.NewReader(data)}, n, filestore.PutOptions{SHA256: wrong})
			require.ErrorIs(t, err, filestore.ErrDigestMismatch)
			var dm *filestore.DigestMismatchError
			require.ErrorAs(t, err, &dm)
			require.Equal(t, sum(data), dm.Computed, "the error carries the computed digest")
			require.Equal(t, wrong, dm.Expected)
			requireAbsent(t, s, key)
		})
	}
}

func testWrongSize(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	p := prefix(t)
	for _, tc := range []struct {
		name     string
		actual   int
		declared int64
	}{
		{"body shorter than declared", 100, 200},
		{"body longer than declared", 200, 100},
		{"empty body declared non-empty", 0, 10},
		{"body declared empty", 10, 0},
		{"multipart body shorter than declared", partBoundary, partBoundary + 10},
		{"multipart body longer than declared", partBoundary, partBoundary - 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := p + fmt.Sprintf("a%d-d%d", tc.actual, tc.declared)
			_, err := s.Put(ctx, key, onlyReader{bytes.NewReader(randomBytes(tc.actual))}, tc.declared, filestore.PutOptions{})
			require.ErrorIs(t, err, filestore.ErrSizeMismatch)
			requireAbsent(t, s, key)
		})
	}
}

var errClientGone = errors.New("client went away")

// failingReader yields n random bytes and then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errClientGone
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	f.n -= len(p)
	return len(p), nil
}

func testReaderError(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	p := prefix(t)
	for _, tc := range []struct {
		name      string
		failAfter int
		size      int64
	}{
		{"at once, unknown size", 0, -1},
		{"after 1 MiB, unknown size", 1 << 20, -1},
		{"after 1 MiB, known size", 1 << 20, 4 << 20},
		{"after first part, unknown size", partBoundary, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := p + fmt.Sprintf("f%d-s%d", tc.failAfter, tc.size)
			_, err := s.Put(ctx, key, &failingReader{n: tc.failAfter}, tc.size, filestore.PutOptions{})
			require.ErrorIs(t, err, errClientGone)
			requireAbsent(t, s, key)
		})
	}
}

// slowReader yields random chunks forever with a pause, like a slow client.
type slowReader struct{}

func (slowReader) Read(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	return len(p), nil
}

func testCancel(t *testing.T, s filestore.Store) {
	p := prefix(t)
	for _, tc := range []struct {
		name string
		size int64
	}{
		{"known size", 1 << 30},
		{"unknown size", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			key := p + fmt.Sprintf("s%d", tc.size)
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			_, err := s.Put(ctx, key, slowReader{}, tc.size, filestore.PutOptions{})
			require.ErrorIs(t, err, context.Canceled)
			require.Less(t, time.Since(start), 10*time.Second, "Put must stop soon after cancel")
			requireAbsent(t, s, key)
		})
	}
}

func testReplace(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	key := prefix(t) + "obj"
	a, b := randomBytes(1000), randomBytes(2000)
	_, err := s.Put(ctx, key, bytes.NewReader(a), int64(len(a)), filestore.PutOptions{})
	require.NoError(t, err)
	// A failed replacement leaves the old object whole.
	_, err = s.Put(ctx, key, bytes.NewReader(b), int64(len(b)), filestore.PutOptions{SHA256: sum(a)})
	require.ErrorIs(t, err, filestore.ErrDigestMismatch)
	got, _ := getAll(t, s, key, nil)
	require.Equal(t, a, got)
	_, err = s.Put(ctx, key, bytes.NewReader(b), int64(len(b)), filestore.PutOptions{})
	require.NoError(t, err)
	got, _ = getAll(t, s, key, nil)
	require.Equal(t, b, got)
}

func testConcurrentSame(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	data := randomBytes(3 << 20)
	key := filestore.ContentKey(sum(data))
	key = prefix(t) + key
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := int64(len(data))
			if i%2 == 1 {
				size = -1
			}
			_, errs[i] = s.Put(ctx, key, onlyReader{bytes.NewReader(data)}, size, filestore.PutOptions{SHA256: sum(data)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "put %d", i)
	}
	got, _ := getAll(t, s, key, nil)
	require.True(t, bytes.Equal(data, got))
}

func testRanges(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	p := prefix(t)
	data := randomBytes(1000)
	key := p + "obj"
	_, err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), filestore.PutOptions{})
	require.NoError(t, err)
	empty := p + "empty"
	_, err = s.Put(ctx, empty, bytes.NewReader(nil), 0, filestore.PutOptions{})
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		key     string
		rng     filestore.Range
		want    []byte
		wantErr error
	}{
		{"first byte", key, filestore.Range{Offset: 0, Length: 1}, data[:1], nil},
		{"whole as a range", key, filestore.Range{Offset: 0, Length: -1}, data, nil},
		{"middle", key, filestore.Range{Offset: 10, Length: 100}, data[10:110], nil},
		{"suffix to the end", key, filestore.Range{Offset: 990, Length: -1}, data[990:], nil},
		{"past the end is cut", key, filestore.Range{Offset: 990, Length: 100}, data[990:], nil},
		{"last byte", key, filestore.Range{Offset: 999, Length: 1}, data[999:], nil},
		{"starting at the end", key, filestore.Range{Offset: 1000, Length: 1}, nil, filestore.ErrRangeNotSatisfiable},
		{"starting beyond the end", key, filestore.Range{Offset: 5000, Length: -1}, nil, filestore.ErrRangeNotSatisfiable},
		{"any range of an empty object", empty, filestore.Range{Offset: 0, Length: 1}, nil, filestore.ErrRangeNotSatisfiable},
		{"negative offset", key, filestore.Range{Offset: -1, Length: 1}, nil, filestore.ErrInvalid},
		{"zero length", key, filestore.Range{Offset: 0, Length: 0}, nil, filestore.ErrInvalid},
		{"range of a missing object", p + "missing", filestore.Range{Offset: 0, Length: 1}, nil, filestore.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := tc.rng
			rc, info, err := s.Get(ctx, tc.key, &rng)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			defer rc.Close()
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, int64(len(data)), info.Size, "info.Size is the whole object's size")
		})
	}
}

func testMissing(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	key := prefix(t) + "missing"
	_, err := s.Stat(ctx, key)
	require.ErrorIs(t, err, filestore.ErrNotFound)
	_, _, err = s.Get(ctx, key, nil)
	require.ErrorIs(t, err, filestore.ErrNotFound)
	require.NoError(t, s.Delete(ctx, key), "deleting a missing object is not an error")
}

func testDelete(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	key := prefix(t) + "a/b"
	_, err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1, filestore.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, key))
	requireAbsent(t, s, key)
	_, _, err = s.Get(ctx, key, nil)
	require.ErrorIs(t, err, filestore.ErrNotFound)
	require.NoError(t, s.Delete(ctx, key))
}

func testList(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	p := prefix(t)
	want := map[string]int64{p + "a": 1, p + "b/c": 2, p + "b/d/e": 3}
	for k, n := range want {
		_, err := s.Put(ctx, k, bytes.NewReader(randomBytes(int(n))), n, filestore.PutOptions{})
		require.NoError(t, err)
	}
	_, err := s.Put(ctx, p[:len(p)-1]+"x/other", bytes.NewReader([]byte("z")), 1, filestore.PutOptions{})
	require.NoError(t, err)

	collect := func(prefix string) map[string]int64 {
		got := map[string]int64{}
		require.NoError(t, s.List(ctx, prefix, func(oi filestore.ObjectInfo) error {
			got[oi.Key] = oi.Size
			return nil
		}))
		return got
	}
	require.Equal(t, want, collect(p))
	require.Equal(t, map[string]int64{p + "b/c": 2, p + "b/d/e": 3}, collect(p+"b/"))
	require.Equal(t, map[string]int64{p + "b/c": 2, p + "b/d/e": 3}, collect(p+"b"))
	require.Empty(t, collect(p+"nothing/"))

	stop := errors.New("stop")
	calls := 0
	err = s.List(ctx, p, func(filestore.ObjectInfo) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)
}

func testInvalidKeys(t *testing.T, s filestore.Store) {
	ctx := context.Background()
	for _, key := range []string{"", "../escape", "a/../../b", "/abs", "a//b", "a/", "Upper", "a/.hidden", "sp ace", "a\x00b"} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			_, err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1, filestore.PutOptions{})
			require.ErrorIs(t, err, filestore.ErrInvalid)
			_, err = s.Stat(ctx, key)
			require.ErrorIs(t, err, filestore.ErrInvalid)
			_, _, err = s.Get(ctx, key, nil)
			require.ErrorIs(t, err, filestore.ErrInvalid)
			require.ErrorIs(t, s.Delete(ctx, key), filestore.ErrInvalid)
		})
	}
}

// prng is a fast deterministic byte stream for large cases.
type prng struct {
	c *mrand.ChaCha8
	n int64
}

func (p *prng) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	_, _ = p.c.Read(b)
	p.n -= int64(len(b))
	return len(b), nil
}

// RunLarge puts and reads back one 1 GiB object of unknown size and checks
// that the heap stays bounded meanwhile. Run it on one backend only (the
// machine is shared), and not in parallel with other tests, since it
// measures the process heap.
func RunLarge(t *testing.T, s filestore.Store, maxHeap uint64) {
	const size = 1 << 30
	ctx := context.Background()
	seed := [32]byte{1, 2, 3}
	h := sha256.New()
	_, _ = io.Copy(h, &prng{c: mrand.NewChaCha8(seed), n: size})
	want := h.Sum(nil)

	key := prefix(t) + "large"
	peak := watchHeap(t)
	start := time.Now()
	res, err := s.Put(ctx, key, &prng{c: mrand.NewChaCha8(seed), n: size}, -1, filestore.PutOptions{SHA256: want})
	require.NoError(t, err)
	putTime := time.Since(start)
	require.Equal(t, int64(size), res.Size)
	require.Equal(t, want, res.SHA256)

	start = time.Now()
	rc, info, err := s.Get(ctx, key, nil)
	require.NoError(t, err)
	h.Reset()
	n, err := io.Copy(h, rc)
	rc.Close()
	require.NoError(t, err)
	getTime := time.Since(start)
	require.Equal(t, int64(size), n)
	require.Equal(t, int64(size), info.Size)
	require.Equal(t, want, h.Sum(nil))
	heap := peak()
	t.Logf("1 GiB: put %.0f MiB/s, get %.0f MiB/s, peak heap %d MiB", 1024/putTime.Seconds(), 1024/getTime.Seconds(), heap>>20)
	require.Less(t, heap, maxHeap, "peak heap while streaming 1 GiB")
	require.NoError(t, s.Delete(ctx, key))
}

// watchHeap samples the heap until the returned function is called and
// returns the peak.
func watchHeap(t *testing.T) func() uint64 {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	stop := func() uint64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
	return stop
}
