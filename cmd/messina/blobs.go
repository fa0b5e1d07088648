package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// blobStore is what serve needs of the blob store before the filestore
// package is wired: a readiness probe.
type blobStore interface {
	Ping(ctx context.Context) error
}

type s3Probe struct {
	client *minio.Client
	bucket string
}

func (p s3Probe) Ping(ctx context.Context) error {
	ok, err := p.client.BucketExists(ctx, p.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %q does not exist", p.bucket)
	}
	return nil
}

type dirProbe string

func (d dirProbe) Ping(context.Context) error {
	_, err := os.Stat(string(d))
	return err
}

// openBlobStore opens MESSINA_BLOB_URL and checks that it answers; the
// error names the setting.
func (c *config) openBlobStore(ctx context.Context) (blobStore, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("MESSINA_BLOB_URL: "+format, args...)
	}
	if c.BlobURL == "" {
		return nil, fail("is not set (s3://bucket?endpoint=host:port or file:///path)")
	}
	u, err := url.Parse(c.BlobURL)
	if err != nil {
		return nil, fail("%s", oneLine(err))
	}
	var store blobStore
	switch u.Scheme {
	case "file":
		if u.Path == "" {
			return nil, fail("file URL needs a path, e.g. file:///var/lib/messina/blobs")
		}
		if err := os.MkdirAll(u.Path, 0o750); err != nil {
			return nil, fail("%s", oneLine(err))
		}
		store = dirProbe(u.Path)
	case "s3":
		q := u.Query()
		if u.Host == "" || q.Get("endpoint") == "" {
			return nil, fail("want s3://bucket?endpoint=host:port&secure=false&region=…")
		}
		secure := true
		if v := q.Get("secure"); v != "" {
			if secure, err = strconv.ParseBool(v); err != nil {
				return nil, fail("secure=%q is not true or false", v)
			}
		}
		client, err := minio.New(q.Get("endpoint"), &minio.Options{
			Creds:  credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
			Secure: secure, Region: q.Get("region"),
		})
		if err != nil {
			return nil, fail("%s", oneLine(err))
		}
		store = s3Probe{client: client, bucket: u.Host}
	default:
		return nil, fail("unknown scheme %q (want s3 or file)", u.Scheme)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.Ping(ctx); err != nil {
		return nil, fail("not reachable: %s", oneLine(err))
	}
	return store, nil
}
