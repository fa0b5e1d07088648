package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/filestore"
)

func TestUploadStoresRevisionOne(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name string
		opts []func(*setupOpts)
	}{{"minio", nil}, {"disk", []func(*setupOpts){withDisk}}} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, backend.opts...)
			for _, tc := range []struct {
				name      string
				size      int
				knownSize bool
				digest    bool
			}{
				{"small, known size, no digest", 10, true, false},
				{"small, unknown size, digest", 10, false, true},
				{"multipart, unknown size, no digest", filestore.DefaultPartSize + 5, false, false},
				{"multipart, known size, digest", filestore.DefaultPartSize + 7, true, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					data := randomBytes(tc.size)
					data[0] = 0 // binary for the sniffer
					up := filestore.Upload{Body: body(data), Size: -1, Filename: "scan.bin", Comment: "first"}
					if tc.knownSize {
						up.Size = int64(tc.size)
					}
					if tc.digest {
						up.Digest = sum(data)
					}
					att, rev, err := b.svc.CreateAttachment(b.ctx, b.owner, "Signed contract", up)
					require.NoError(t, err)
					require.Equal(t, "Signed contract", att.Name)
					require.Equal(t, b.owner, att.Owner)
					require.Equal(t, 1, att.LatestRevision)
					require.Equal(t, "user:tester@example.com", att.CreatedBy)

					require.Equal(t, att.ID, rev.AttachmentID)
					require.Equal(t, 1, rev.Number)
					require.Equal(t, sum(data), rev.SHA256)
					require.Equal(t, int64(tc.size), rev.Size)
					require.Equal(t, "application/octet-stream", rev.ContentType)
					require.Equal(t, "scan.bin", rev.Filename)
					require.Equal(t, "first", rev.Comment)
					require.Nil(t, rev.RestoredFrom)
					require.Equal(t, `"`+rev.SHA256Hex()+`"`, rev.ETag())

					require.True(t, bytes.Equal(data, b.readAll(t, rev)))
					got, err := b.svc.GetRevision(b.ctx, att.ID, 0)
					require.NoError(t, err)
					require.Equal(t, rev.SHA256, got.SHA256)
					if tc.digest {
						_, err := b.store.Stat(b.ctx, filestore.ContentKey(sum(data)))
						require.NoError(t, err, "with a digest the object is at its content key")
					}
				})
			}
		})
	}
}

// failIfRead fails the test when the body is read: deduplicated uploads
// must not consume it.
type failIfRead struct{ t *testing.T }

func (f failIfRead) Read([]byte) (int, error) {
	f.t.Error("body was read although the blob exists")
	return 0, errors.New("read")
}

func TestUploadDeduplicates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := randomBytes(5000)

	_, r1, err := b.svc.CreateAttachment(b.ctx, b.owner, "a", filestore.Upload{Body: body(data), Size: 5000, Filename: "a.bin"})
	require.NoError(t, err)
	// Same content without digest: stored again while hashing, then found
	// to exist; the duplicate object is removed at once.
	_, r2, err := b.svc.CreateAttachment(b.ctx, b.owner, "b", filestore.Upload{Body: body(data), Size: -1, Filename: "b.bin"})
	require.NoError(t, err)
	// With the digest the body is not read at all.
	other := filestore.Owner{Type: filestore.OwnerContract, ID: uuid.New(), Site: "FR"}
	_, r3, err := b.svc.CreateAttachment(b.ctx, other, "c", filestore.Upload{Body: failIfRead{t}, Size: 5000, Digest: sum(data), Filename: "c.bin"})
	require.NoError(t, err)

	for _, r := range []filestore.Revision{r1, r2, r3} {
		require.Equal(t, sum(data), r.SHA256)
		require.True(t, bytes.Equal(data, b.readAll(t, r)))
	}
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM files.blob"))
	require.Equal(t, 3, b.count(t, "SELECT count(*) FROM files.revision"))
	require.Len(t, b.objects(t, "upload/"), 1, "one object holds the bytes")
	require.Empty(t, b.objects(t, "sha256/"))
}

func TestUploadErrorsLeaveNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, withConfig(func(c *filestore.Config) { c.MaxUploadBytes = 1000 }))
	data := randomBytes(500)
	limited := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:fr", Role: auth.RoleStaff, Sites: []string{"FR"}})
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		owner   filestore.Owner
		up      filestore.Upload
		wantErr error
	}{
		{"empty body of size 0", b.ctx, b.owner, filestore.Upload{Body: body(nil), Size: 0}, filestore.ErrEmpty},
		{"empty body of unknown size", b.ctx, b.owner, filestore.Upload{Body: body(nil), Size: -1}, filestore.ErrEmpty},
		{"empty body with digest", b.ctx, b.owner, filestore.Upload{Body: body(nil), Size: -1, Digest: sum(nil)}, filestore.ErrEmpty},
		{"no body", b.ctx, b.owner, filestore.Upload{Size: -1}, filestore.ErrEmpty},
		{"announced size over the limit", b.ctx, b.owner, filestore.Upload{Body: body(randomBytes(1001)), Size: 1001}, filestore.ErrTooLarge},
		{"stream over the limit", b.ctx, b.owner, filestore.Upload{Body: body(randomBytes(1001)), Size: -1}, filestore.ErrTooLarge},
		{"stream over the limit with digest", b.ctx, b.owner, filestore.Upload{Body: body(randomBytes(5000)), Size: -1, Digest: sum([]byte("x"))}, filestore.ErrTooLarge},
		{"digest mismatch", b.ctx, b.owner, filestore.Upload{Body: body(data), Size: 500, Digest: sum([]byte("other"))}, filestore.ErrDigestMismatch},
		{"digest mismatch, unknown size", b.ctx, b.owner, filestore.Upload{Body: body(data), Size: -1, Digest: sum([]byte("other"))}, filestore.ErrDigestMismatch},
		{"digest of wrong length", b.ctx, b.owner, filestore.Upload{Body: body(data), Size: 500, Digest: []byte{1, 2}}, filestore.ErrInvalid},
		{"body shorter than announced", b.ctx, b.owner, filestore.Upload{Body: body(data), Size: 600}, filestore.ErrSizeMismatch},
		{"unknown owner type", b.ctx, filestore.Owner{Type: "customer", ID: uuid.New(), Site: "UK"}, filestore.Upload{Body: body(data), Size: 500}, filestore.ErrInvalid},
		{"owner without id", b.ctx, filestore.Owner{Type: filestore.OwnerOrder, Site: "UK"}, filestore.Upload{Body: body(data), Size: 500}, filestore.ErrInvalid},
		{"unknown site", b.ctx, filestore.Owner{Type: filestore.OwnerOrder, ID: uuid.New(), Site: "XX"}, filestore.Upload{Body: failIfRead{t}, Size: 500}, filestore.ErrInvalid},
		{"site the caller cannot see", limited, b.owner, filestore.Upload{Body: body(data), Size: 500}, filestore.ErrNotFound},
		{"client gone mid-stream", b.ctx, b.owner, filestore.Upload{Body: io.MultiReader(body(data), errReader{}), Size: -1}, errClientGone},
		{"client gone mid-stream with digest", b.ctx, b.owner, filestore.Upload{Body: io.MultiReader(body(data), errReader{}), Size: -1, Digest: sum(data)}, errClientGone},
		{"comment too long", b.ctx, b.owner, filestore.Upload{Body: failIfRead{t}, Size: 500, Comment: strings.Repeat("x", 4001)}, filestore.ErrInvalid},
		{"no principal", context.Background(), b.owner, filestore.Upload{Body: body(data), Size: 500}, auth.ErrNoPrincipal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := b.svc.CreateAttachment(tc.ctx, tc.owner, "x", tc.up)
			require.ErrorIs(t, err, tc.wantErr)
			require.NotEmpty(t, filestore.Code(err)+fmt.Sprint(errors.Is(err, errClientGone) || errors.Is(err, auth.ErrNoPrincipal)))
		})
	}
	// Checked after all cases, so a leak from any of them shows.
	require.Zero(t, b.count(t, "SELECT count(*) FROM files.attachment"))
	require.Zero(t, b.count(t, "SELECT count(*) FROM files.revision"))
	require.Zero(t, b.count(t, "SELECT count(*) FROM files.blob"), "a failed upload leaves no blob row")
	require.Zero(t, b.count(t, "SELECT count(*) FROM files.upload"), "a failed upload leaves no upload pin")
	require.Empty(t, b.objects(t, ""), "a failed upload leaves no object")
}

var errClientGone = errors.New("client went away")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errClientGone }

func TestDigestMismatchCarriesComputedDigest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := randomBytes(100)
	_, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", filestore.Upload{Body: body(data), Size: 100, Digest: sum([]byte("no"))})
	var dm *filestore.DigestMismatchError
	require.ErrorAs(t, err, &dm)
	require.Equal(t, sum(data), dm.Computed)
	require.Equal(t, "digest_mismatch", filestore.Code(err))
}

func TestAddRevisionToMissingAttachment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.svc.AddRevision(b.ctx, uuid.New(), filestore.Upload{Body: failIfRead{t}, Size: 10})
	require.ErrorIs(t, err, filestore.ErrNotFound)
	_, err = b.svc.ListRevisions(b.ctx, uuid.New(), 0, 10)
	require.ErrorIs(t, err, filestore.ErrNotFound)
	_, err = b.svc.GetRevision(b.ctx, uuid.New(), 1)
	require.ErrorIs(t, err, filestore.ErrNotFound)
}

func TestConcurrentRevisionsAreGapFree(t *testing.T) {
	t.Parallel()
	b := setup(t)
	att, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", textUpload("v1"))
	require.NoError(t, err)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			content := fmt.Sprintf("version %d", i)
			up := textUpload(content)
			if i%2 == 0 {
				up.Digest = sum([]byte(content))
			}
			_, err := b.svc.AddRevision(b.ctx, att.ID, up)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	revs, err := b.svc.ListRevisions(b.ctx, att.ID, 0, 1000)
	require.NoError(t, err)
	require.Len(t, revs, n+1)
	for i, r := range revs {
		require.Equal(t, i+1, r.Number, "numbers are 1..n without gap or duplicate")
	}
	page, err := b.svc.ListRevisions(b.ctx, att.ID, 10, 5)
	require.NoError(t, err)
	require.Equal(t, []int{11, 12, 13, 14, 15}, numbers(page))
	require.NoError(t, b.svc.VerifyHistory(b.ctx, att.ID))
	got, err := b.svc.GetAttachment(b.ctx, att.ID)
	require.NoError(t, err)
	require.Equal(t, n+1, got.LatestRevision)
}

func numbers(revs []filestore.Revision) []int {
	var out []int
	for _, r := range revs {
		out = append(out, r.Number)
	}
	return out
}

func TestRestoreMakesNewRevisionWithSameBlob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	att, r1, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", textUpload("first"))
	require.NoError(t, err)
	r2, err := b.svc.AddRevision(b.ctx, att.ID, textUpload("second"))
	require.NoError(t, err)
	r3, err := b.svc.Restore(b.ctx, att.ID, 1, "")
	require.NoError(t, err)
	require.Equal(t, 3, r3.Number)
	require.Equal(t, r1.SHA256, r3.SHA256)
	require.Equal(t, r1.Filename, r3.Filename)
	require.Equal(t, 1, *r3.RestoredFrom)
	require.Equal(t, "restored from revision 1", r3.Comment)
	require.Equal(t, "first", string(b.readAll(t, r3)))
	require.NotEqual(t, r2.SHA256, r3.SHA256)

	_, err = b.svc.Restore(b.ctx, att.ID, 9, "")
	require.ErrorIs(t, err, filestore.ErrNotFound)
	_, err = b.svc.Restore(b.ctx, uuid.New(), 1, "")
	require.ErrorIs(t, err, filestore.ErrNotFound)
	require.NoError(t, b.svc.VerifyHistory(b.ctx, att.ID))
}

func TestRevisionsAreAppendOnlyAndChained(t *testing.T) {
	t.Parallel()
	b := setup(t)
	att, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", textUpload("one"))
	require.NoError(t, err)
	_, err = b.svc.AddRevision(b.ctx, att.ID, textUpload("two"))
	require.NoError(t, err)
	ctx := context.Background()
	for _, tc := range []struct{ name, sql string }{
		{"update", "UPDATE files.revision SET comment = 'rewritten' WHERE attachment_id = $1"},
		{"delete", "DELETE FROM files.revision WHERE attachment_id = $1"},
	} {
		t.Run("app role cannot "+tc.name, func(t *testing.T) {
			_, err := b.db.App.Exec(ctx, tc.sql, att.ID)
			require.ErrorContains(t, err, "permission denied")
		})
		t.Run("owner cannot "+tc.name, func(t *testing.T) {
			_, err := b.db.Owner.Exec(ctx, tc.sql, att.ID)
			require.ErrorContains(t, err, "append-only")
		})
	}
	_, err = b.db.Owner.Exec(ctx, "TRUNCATE files.revision CASCADE")
	require.ErrorContains(t, err, "append-only")

	// Tampering past the trigger is caught by the hash chain.
	_, err = b.db.Owner.Exec(ctx, `ALTER TABLE files.revision DISABLE TRIGGER revision_append_only;
		UPDATE files.revision SET comment = 'rewritten' WHERE number = 2;
		ALTER TABLE files.revision ENABLE TRIGGER revision_append_only`)
	require.NoError(t, err)
	err = b.svc.VerifyHistory(b.ctx, att.ID)
	require.ErrorIs(t, err, filestore.ErrCorrupt)
	require.ErrorContains(t, err, "revision 2")
}

func TestSiteIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	att, rev, err := b.svc.CreateAttachment(b.ctx, b.owner, "uk doc", textUpload("uk only"))
	require.NoError(t, err)
	fr := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:fr", Role: auth.RoleStaff, Sites: []string{"FR"}})
	_, err = b.svc.GetAttachment(fr, att.ID)
	require.ErrorIs(t, err, filestore.ErrNotFound)
	_, err = b.svc.GetRevision(fr, att.ID, 1)
	require.ErrorIs(t, err, filestore.ErrNotFound)
	list, err := b.svc.ListAttachments(fr, filestore.OwnerOrder, b.owner.ID, uuid.Nil, 10)
	require.NoError(t, err)
	require.Empty(t, list)
	_, err = b.svc.AddRevision(fr, att.ID, textUpload("x"))
	require.ErrorIs(t, err, filestore.ErrNotFound)
	_, err = b.svc.Restore(fr, att.ID, 1, "")
	require.ErrorIs(t, err, filestore.ErrNotFound)
	_, err = b.svc.Diff(fr, att.ID, 1, 1)
	require.ErrorIs(t, err, filestore.ErrNotFound)

	uk := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:uk", Role: auth.RoleStaff, Sites: []string{"UK"}})
	got, err := b.svc.GetRevision(uk, att.ID, 1)
	require.NoError(t, err)
	require.Equal(t, rev.SHA256, got.SHA256)
}

func TestListAttachments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ids []uuid.UUID
	for i := range 5 {
		att, _, err := b.svc.CreateAttachment(b.ctx, b.owner, fmt.Sprint("doc ", i), textUpload(fmt.Sprint("content ", i)))
		require.NoError(t, err)
		ids = append(ids, att.ID)
	}
	_, _, err := b.svc.CreateAttachment(b.ctx, filestore.Owner{Type: filestore.OwnerOrder, ID: uuid.New(), Site: "UK"}, "other", textUpload("o"))
	require.NoError(t, err)

	first, err := b.svc.ListAttachments(b.ctx, filestore.OwnerOrder, b.owner.ID, uuid.Nil, 3)
	require.NoError(t, err)
	require.Len(t, first, 3)
	rest, err := b.svc.ListAttachments(b.ctx, filestore.OwnerOrder, b.owner.ID, first[2].ID, 3)
	require.NoError(t, err)
	require.Len(t, rest, 2)
	var got []uuid.UUID
	for _, a := range append(first, rest...) {
		got = append(got, a.ID)
		require.Equal(t, 1, a.LatestRevision)
	}
	require.Equal(t, ids, got, "creation order, stable cursor")
	none, err := b.svc.ListAttachments(b.ctx, filestore.OwnerContract, b.owner.ID, uuid.Nil, 3)
	require.NoError(t, err)
	require.Empty(t, none)
	_, err = b.svc.ListAttachments(b.ctx, "customer", b.owner.ID, uuid.Nil, 3)
	require.ErrorIs(t, err, filestore.ErrInvalid)
}

func TestOpenRanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	data := randomBytes(1000)
	_, rev, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", filestore.Upload{Body: body(data), Size: 1000})
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		rng     *filestore.Range
		want    []byte
		wantErr error
	}{
		{"whole", nil, data, nil},
		{"whole as a range", &filestore.Range{Offset: 0, Length: -1}, data, nil},
		{"first 10", &filestore.Range{Offset: 0, Length: 10}, data[:10], nil},
		{"middle", &filestore.Range{Offset: 500, Length: 20}, data[500:520], nil},
		{"tail", &filestore.Range{Offset: 900, Length: -1}, data[900:], nil},
		{"beyond the end", &filestore.Range{Offset: 1000, Length: 1}, nil, filestore.ErrRangeNotSatisfiable},
		{"negative", &filestore.Range{Offset: -5, Length: 1}, nil, filestore.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := b.svc.Open(b.ctx, rev, tc.rng)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			defer rc.Close()
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDownloadDetectsCorruption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, b *testBundle, key string, size int)
		reason string
	}{
		{"same size, other bytes", func(t *testing.T, b *testBundle, key string, size int) {
			_, err := b.store.Put(context.Background(), key, bytes.NewReader(randomBytes(size)), int64(size), filestore.PutOptions{})
			require.NoError(t, err)
		}, "hashes to"},
		{"truncated", func(t *testing.T, b *testBundle, key string, size int) {
			_, err := b.store.Put(context.Background(), key, bytes.NewReader(randomBytes(size-1)), int64(size-1), filestore.PutOptions{})
			require.NoError(t, err)
		}, "bytes"},
		{"missing", func(t *testing.T, b *testBundle, key string, size int) {
			require.NoError(t, b.store.Delete(context.Background(), key))
		}, "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			data := randomBytes(300 << 10)
			_, rev, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", filestore.Upload{Body: body(data), Size: int64(len(data)), Digest: sum(data)})
			require.NoError(t, err)
			tc.damage(t, b, filestore.ContentKey(rev.SHA256), len(data))

			var got []byte
			rc, err := b.svc.Open(b.ctx, rev, nil)
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			require.ErrorIs(t, err, filestore.ErrCorrupt)
			require.Less(t, len(got), len(data), "a corrupt download never completes")
			var reason string
			require.NoError(t, b.db.Owner.QueryRow(context.Background(),
				"SELECT corrupt_reason FROM files.blob WHERE corrupt_at IS NOT NULL AND sha256 = $1", rev.SHA256).Scan(&reason))
			require.Contains(t, reason, tc.reason)

			// A new upload of the right bytes heals the blob.
			_, err = b.svc.AddRevision(b.ctx, rev.AttachmentID, filestore.Upload{Body: body(data), Size: int64(len(data)), Digest: sum(data)})
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, b.readAll(t, rev)))
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.blob WHERE corrupt_at IS NOT NULL"))
		})
	}
}

func TestServicePing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, b.svc.Ping(context.Background()))
	broken, err := filestore.NewDiskStore(t.TempDir() + "/gone")
	require.NoError(t, err)
	require.NoError(t, removeAll(t, broken))
	svc, err := filestore.New(filestore.Config{Pool: b.db.App, Store: broken})
	require.NoError(t, err)
	require.ErrorIs(t, svc.Ping(context.Background()), filestore.ErrUnavailable)
}

func TestGetRevisionLatestAndByNumber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	att, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "x", textUpload("a"))
	require.NoError(t, err)
	_, err = b.svc.AddRevision(b.ctx, att.ID, textUpload("b"))
	require.NoError(t, err)
	latest, err := b.svc.GetRevision(b.ctx, att.ID, 0)
	require.NoError(t, err)
	require.Equal(t, 2, latest.Number)
	one, err := b.svc.GetRevision(b.ctx, att.ID, 1)
	require.NoError(t, err)
	require.Equal(t, "a", string(b.readAll(t, one)))
	_, err = b.svc.GetRevision(b.ctx, att.ID, 3)
	require.ErrorIs(t, err, filestore.ErrNotFound)
	require.True(t, strings.HasPrefix(one.ContentType, "text/plain"))

}

func TestPutNamedMakesOneAttachmentPerNameUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 20
	var wg sync.WaitGroup
	type result struct {
		att filestore.Attachment
		rev filestore.Revision
		err error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Half send the same content: the blob is shared, not the name's
			// decision.
			content := fmt.Sprintf("render %d", i%2)
			att, rev, err := b.svc.PutNamed(b.ctx, b.owner, "report.txt", textUpload(content))
			results <- result{att, rev, err}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	var id uuid.UUID
	seen := map[int]bool{}
	for r := range results {
		require.NoError(t, r.err)
		if id == uuid.Nil {
			id = r.att.ID
		}
		require.Equal(t, id, r.att.ID, "one attachment for the name")
		require.Equal(t, r.rev.Number, r.att.LatestRevision)
		require.False(t, seen[r.rev.Number], "revision %d twice", r.rev.Number)
		seen[r.rev.Number] = true
	}
	atts, err := b.svc.ListAttachments(b.ctx, b.owner.Type, b.owner.ID, uuid.Nil, 100)
	require.NoError(t, err)
	require.Len(t, atts, 1)
	require.Equal(t, n, atts[0].LatestRevision)
	revs, err := b.svc.ListRevisions(b.ctx, id, 0, 100)
	require.NoError(t, err)
	for i, r := range revs {
		require.Equal(t, i+1, r.Number)
	}
	require.NoError(t, b.svc.VerifyHistory(b.ctx, id))

	// Another name is another attachment; a name made by CreateAttachment
	// is found and continued.
	other, rev, err := b.svc.PutNamed(b.ctx, b.owner, "other.txt", textUpload("x"))
	require.NoError(t, err)
	require.NotEqual(t, id, other.ID)
	require.Equal(t, 1, rev.Number)
	made, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "uploaded.txt", textUpload("v1"))
	require.NoError(t, err)
	again, rev, err := b.svc.PutNamed(b.ctx, b.owner, "uploaded.txt", textUpload("v2"))
	require.NoError(t, err)
	require.Equal(t, made.ID, again.ID)
	require.Equal(t, 2, rev.Number)

	// A site the caller cannot see is refused before the body is read.
	fr := auth.WithPrincipal(context.Background(), auth.Principal{Actor: "user:fr@example.com", Role: auth.RoleStaff, Sites: []string{"FR"}})
	_, _, err = b.svc.PutNamed(fr, b.owner, "report.txt", filestore.Upload{Body: failIfRead{t}, Size: 10})
	require.ErrorIs(t, err, filestore.ErrNotFound)
}

// A new attachment is inserted at latest_revision 1 with its first
// revision: its history holds one insert, and each later revision one
// update of latest_revision.
func TestNewAttachmentAuditsOneInsert(t *testing.T) {
	t.Parallel()
	b := setup(t)
	att, _, err := b.svc.CreateAttachment(b.ctx, b.owner, "quote", textUpload("v1"))
	require.NoError(t, err)
	events := func(op string) int {
		return b.count(t, `SELECT count(*) FROM audit.log WHERE table_schema = 'files' AND table_name = 'attachment'
			AND op = $1 AND key = jsonb_build_object('id', $2::uuid)`, op, att.ID)
	}
	require.Equal(t, 1, events("I"))
	require.Equal(t, 0, events("U"), "no update right after the insert")
	require.Equal(t, 1, b.count(t, `SELECT latest_revision FROM files.attachment WHERE id = $1`, att.ID))

	rev, err := b.svc.AddRevision(b.ctx, att.ID, textUpload("v2"))
	require.NoError(t, err)
	require.Equal(t, 2, rev.Number)
	require.Equal(t, 1, events("U"))
	require.Equal(t, 2, b.count(t, `SELECT latest_revision FROM files.attachment WHERE id = $1`, att.ID))
}
