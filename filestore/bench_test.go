package filestore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/pgtest"
)

// seededBody is a cheap pseudo-random stream, different per seed so
// uploads never deduplicate.
type seededBody struct {
	c *mrand.ChaCha8
	n int64
}

func newBody(seed uint64, n int64) *seededBody {
	var s [32]byte
	s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7] = byte(seed), byte(seed>>8), byte(seed>>16), byte(seed>>24), byte(seed>>32), byte(seed>>40), byte(seed>>48), byte(seed>>56)
	return &seededBody{c: mrand.NewChaCha8(s), n: n}
}

func (s *seededBody) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	_, _ = s.c.Read(p)
	s.n -= int64(len(p))
	return len(p), nil
}

var benchSizes = []struct {
	name string
	size int64
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

// benchEnv is a database, the env MinIO under a fresh prefix, a service
// and an attachment to add revisions to.
type benchEnv struct {
	svc    *filestore.Service
	ctx    context.Context
	att    uuid.UUID
	client *minio.Client
}

func newBenchEnv(b *testing.B) benchEnv {
	db := pgtest.New(b)
	store, err := filestore.OpenStore(context.Background(), os.Getenv("MESSINA_BLOB_URL")+"&prefix=bench/"+randomHex(4)+"/",
		filestore.StoreConfig{AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Owner.Exec(context.Background(), "INSERT INTO core.site (id, name, country, currency, timezone) VALUES ('UK', 'UK', 'GB', 'GBP', 'Europe/London')"); err != nil {
		b.Fatal(err)
	}
	svc, err := filestore.New(filestore.Config{Pool: db.App, Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := auth.WithPrincipal(context.Background(), auth.System("bench"))
	owner := filestore.Owner{Type: filestore.OwnerOrder, ID: uuid.New(), Site: "UK"}
	att, _, err := svc.CreateAttachment(ctx, owner, "bench", textUpload("start"))
	if err != nil {
		b.Fatal(err)
	}
	return benchEnv{svc: svc, ctx: ctx, att: att.ID, client: store.(*filestore.S3Store).Client()}
}

// BenchmarkDownload compares a verified full read through the service
// (revision lookup, blob lookup, stream while hashing) with a direct
// minio-go GetObject of the same object.
func BenchmarkDownload(b *testing.B) {
	e := newBenchEnv(b)
	for i, sz := range benchSizes {
		rev, err := e.svc.AddRevision(e.ctx, e.att, filestore.Upload{Body: newBody(uint64(1000+i), sz.size), Size: sz.size})
		if err != nil {
			b.Fatal(err)
		}
		direct := fmt.Sprintf("bench-direct/download-%s-%s", sz.name, randomHex(4))
		if _, err := e.client.PutObject(e.ctx, "messina", direct, newBody(uint64(2000+i), sz.size), sz.size, minio.PutObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		b.Run(sz.name+"/direct-minio-go", func(b *testing.B) {
			b.SetBytes(sz.size)
			for b.Loop() {
				obj, err := e.client.GetObject(e.ctx, "messina", direct, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, obj); err != nil || n != sz.size {
					b.Fatal(n, err)
				}
				obj.Close()
			}
		})
		b.Run(sz.name+"/service", func(b *testing.B) {
			b.SetBytes(sz.size)
			for b.Loop() {
				r, err := e.svc.GetRevision(e.ctx, e.att, rev.Number)
				if err != nil {
					b.Fatal(err)
				}
				rc, err := e.svc.Open(e.ctx, r, nil)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, rc); err != nil || n != sz.size {
					b.Fatal(n, err)
				}
				rc.Close()
			}
		})
	}
}

// BenchmarkUpload compares an upload through the service (stream to the
// store while hashing, pin, record blob and revision) with a direct
// minio-go PutObject of the same bytes to the same MinIO. Run:
//
//	go run ./cmd/devenv -bin .bin -temp -fast -- go test -run XXX -bench Upload ./filestore/
func BenchmarkUpload(b *testing.B) {
	e := newBenchEnv(b)
	svc, ctx, client, bucket := e.svc, e.ctx, e.client, "messina"
	att := struct{ ID uuid.UUID }{e.att}
	seed := uint64(1)
	for _, sz := range benchSizes {
		b.Run(sz.name+"/direct-minio-go", func(b *testing.B) {
			b.SetBytes(sz.size)
			for b.Loop() {
				seed++
				_, err := client.PutObject(ctx, bucket, fmt.Sprintf("bench-direct/%d", seed), newBody(seed, sz.size), sz.size,
					minio.PutObjectOptions{PartSize: filestore.DefaultPartSize, NumThreads: 1})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(sz.name+"/service", func(b *testing.B) {
			b.SetBytes(sz.size)
			for b.Loop() {
				seed++
				_, err := svc.AddRevision(ctx, att.ID, filestore.Upload{Body: newBody(seed, sz.size), Size: sz.size, Filename: "b.bin"})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
