package filestore_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/devenv"
)

// privateMinio starts a MinIO only this test uses, so it can be stopped.
func privateMinio(t *testing.T) (*devenv.Minio, filestore.Store) {
	t.Helper()
	bin := os.Getenv("MESSINA_MINIO_BIN")
	require.NotEmpty(t, bin, "run the tests under cmd/devenv (make test)")
	m, err := devenv.StartMinio(context.Background(), devenv.MinioConfig{BinDir: filepath.Dir(bin), Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Stop() })
	s, err := filestore.OpenStore(context.Background(), m.BlobURL(), filestore.StoreConfig{AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	require.NoError(t, err)
	return m, s
}

// endlessBody feeds 64 KiB chunks slowly until stop is closed, like a
// client on a slow link.
type endlessBody struct{ stop chan struct{} }

func (e endlessBody) Read(p []byte) (int, error) {
	select {
	case <-e.stop:
		return 0, io.ErrUnexpectedEOF
	case <-time.After(2 * time.Millisecond):
	}
	n := min(len(p), 64<<10)
	for i := range p[:n] {
		p[i] = byte(i)
	}
	return n, nil
}

func TestMinioStoppedMidUpload(t *testing.T) {
	t.Parallel()
	m, store := privateMinio(t)
	b := setup(t, withStore(store))
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		digest []byte
	}{
		{"without digest", nil},
		{"with digest", sum([]byte("whatever the client claims"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			time.AfterFunc(700*time.Millisecond, func() { require.NoError(t, m.Stop()) })
			start := time.Now()
			_, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", filestore.Upload{Body: endlessBody{stop}, Size: -1, Digest: tc.digest})
			require.ErrorIs(t, err, filestore.ErrUnavailable)
			require.Equal(t, "store_unavailable", filestore.Code(err))
			require.Less(t, time.Since(start), 60*time.Second)
			require.ErrorIs(t, b.svc.Ping(ctx), filestore.ErrUnavailable)

			require.Zero(t, b.count(t, "SELECT count(*) FROM files.revision"))
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.attachment"))
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.blob"), "no blob row")
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.upload"), "no upload pin")

			require.NoError(t, m.Start(ctx, filepath.Join(t.TempDir(), "minio.log")))
			require.NoError(t, b.svc.Ping(ctx))
			// The store works again, and GC leaves nothing behind.
			_, err = b.svc.GC(ctx, 0)
			require.NoError(t, err)
			require.Empty(t, b.objects(t, ""))
			_, rev, err := b.svc.CreateAttachment(b.ctx, b.owner, "again", textUpload("back up"))
			require.NoError(t, err)
			require.Equal(t, "back up", string(b.readAll(t, rev)))
			_, err = b.db.Owner.Exec(ctx, "ALTER TABLE files.revision DISABLE TRIGGER revision_append_only; DELETE FROM files.revision; ALTER TABLE files.revision ENABLE TRIGGER revision_append_only; DELETE FROM files.attachment; DELETE FROM files.blob")
			require.NoError(t, err)
			_, err = b.svc.GC(ctx, 0)
			require.NoError(t, err)
		})
	}
}

// TestGCAbortsPartialUploadsOfKilledProcesses leaves an incomplete
// multipart upload, as a server killed mid-upload does, and an orphan
// object of an upload killed before recording; GC removes both once the
// pin TTL has passed.
func TestGCAbortsPartialUploadsOfKilledProcesses(t *testing.T) {
	t.Parallel()
	m, store := privateMinio(t)
	b := setup(t, withStore(store), withConfig(func(c *filestore.Config) { c.PinTTL = time.Second }))
	ctx := context.Background()
	c, err := m.Client()
	require.NoError(t, err)
	core := minio.Core{Client: c}
	key := "upload/killed-mid-upload"
	id, err := core.NewMultipartUpload(ctx, devenv.Bucket, key, minio.PutObjectOptions{})
	require.NoError(t, err)
	part := bytes.Repeat([]byte("x"), 5<<20)
	_, err = core.PutObjectPart(ctx, devenv.Bucket, key, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{})
	require.NoError(t, err)
	// Killed after the object was written, before the revision: the pin
	// is there, the object is there, nothing else.
	_, err = b.db.Owner.Exec(ctx, "INSERT INTO files.upload (key, pinned_until) VALUES ('upload/killed-before-record', now() + interval '1 second')")
	require.NoError(t, err)
	_, err = store.Put(ctx, "upload/killed-before-record", bytes.NewReader([]byte("x")), 1, filestore.PutOptions{})
	require.NoError(t, err)

	rep, err := b.svc.GC(ctx, 0)
	require.NoError(t, err)
	require.Zero(t, rep.StaleRemoved, "a fresh partial upload may still be running")
	require.Zero(t, rep.OrphansDeleted, "a live pin protects the object")

	time.Sleep(1100 * time.Millisecond)
	rep, err = b.svc.GC(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, 1, rep.StaleRemoved)
	require.Equal(t, 1, rep.OrphansDeleted)
	for u := range c.ListIncompleteUploads(ctx, devenv.Bucket, "", true) {
		require.NoError(t, u.Err)
		t.Errorf("incomplete upload left: %s", u.Key)
	}
	require.Empty(t, b.objects(t, ""))
	require.Zero(t, b.count(t, "SELECT count(*) FROM files.upload"))
}
