package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// DefaultPartSize is the multipart part size of the S3 backend. minio-go
// buffers one part per upload, so this bounds upload memory; without it an
// upload of unknown size buffers about 512 MiB (5 TiB / 10,000 parts).
// 16 MiB parts allow objects up to 156 GiB.
const DefaultPartSize = 16 << 20

// S3Config configures the S3 backend.
type S3Config struct {
	Endpoint string // host:port
	Bucket   string
	Region   string
	Secure   bool
	// Prefix is prepended to every key, so several deployments (or tests)
	// can share a bucket; "" or ending in "/".
	Prefix    string
	AccessKey string
	SecretKey string
	// PartSize of multipart uploads; DefaultPartSize when 0.
	PartSize uint64
	// MaxRetries of a failed request; 3 when 0. minio-go's default (10,
	// with backoff) makes a stopped server look like a hang.
	MaxRetries int
	Logger     *slog.Logger
}

// S3Store keeps objects in an S3 bucket through minio-go.
type S3Store struct {
	core     *minio.Core
	bucket   string
	prefix   string
	partSize uint64
	log      *slog.Logger
}

// NewS3Store returns a store on cfg.Bucket. It does not contact the server;
// call Ping to check it.
func NewS3Store(cfg S3Config) (*S3Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, invalidf("s3 store needs an endpoint and a bucket")
	}
	if cfg.Prefix != "" && (cfg.Prefix[len(cfg.Prefix)-1] != '/' || validateKey(cfg.Prefix[:len(cfg.Prefix)-1]) != nil) {
		return nil, invalidf("s3 store prefix %q: want lower-case path segments ending in /", cfg.Prefix)
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c, err := minio.NewCore(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.Secure,
		Region:     cfg.Region,
		MaxRetries: cfg.MaxRetries,
		// Trailing headers let minio-go send a CRC32C checksum of each
		// request body, which the server verifies (see Put).
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	return &S3Store{core: c, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: cfg.PartSize, log: cfg.Logger}, nil
}

// Client is the underlying minio-go client, for benchmarks that compare
// against direct use.
func (s *S3Store) Client() *minio.Client { return s.core.Client }

// Put implements Store. The body is streamed in parts of PartSize; the
// digest and size are checked by the reader before the last byte is handed
// to minio-go, so a mismatch aborts the upload (multipart: abort instead of
// complete) and nothing becomes visible. S3's own SHA-256 checksum of a
// multipart object is a checksum of part checksums, so the address is
// always our own streaming hash.
func (s *S3Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (PutResult, error) {
	if err := validateKey(key); err != nil {
		return PutResult{}, err
	}
	hr := newHashingReader(ctx, r, size, opts.SHA256)
	_, err := s.core.Client.PutObject(ctx, s.bucket, s.prefix+key, hr, size, minio.PutObjectOptions{
		ContentType: opts.ContentType,
		PartSize:    s.partSize,
		// One part buffer per upload: memory stays bounded.
		NumThreads: 1,
		// Without TLS minio-go would sign every 64 KiB chunk, hashing all
		// the bytes with SHA-256 a second time (the first is our address),
		// which costs more CPU than the rest of the upload; with TLS it
		// never does. The body's integrity on the wire is kept by the
		// CRC32C checksum the server verifies, and its content by our
		// address, checked on every full read and by scrub.
		DisableContentSha256: true,
	})
	if err != nil {
		// The reader's own verdict (size, digest, client error, context)
		// is more precise than minio-go's wrapping of it.
		if hr.err != nil && hr.err != io.EOF {
			return PutResult{}, fmt.Errorf("put %s: %w", key, hr.err)
		}
		return PutResult{}, fmt.Errorf("put %s: %w", key, s.classify(ctx, err))
	}
	res, err := hr.finish()
	if err != nil {
		// minio-go completed without reading to the end: unreachable with
		// an exact size, but never leave a wrong object behind.
		if derr := s.core.Client.RemoveObject(context.WithoutCancel(ctx), s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); derr != nil {
			s.log.Error("remove unverified object", "key", key, "err", derr)
		}
		return PutResult{}, fmt.Errorf("put %s: %w", key, err)
	}
	return res, nil
}

// Get implements Store. It uses the Core API so a missing object is
// reported by Get itself, not on the first Read.
func (s *S3Store) Get(ctx context.Context, key string, rng *Range) (io.ReadCloser, ObjectInfo, error) {
	if err := rng.validate(); err != nil {
		return nil, ObjectInfo{}, err
	}
	if err := validateKey(key); err != nil {
		return nil, ObjectInfo{}, err
	}
	var opts minio.GetObjectOptions
	if rng != nil {
		end := int64(0) // minio-go: start-0 means "to the end" when start > 0
		if rng.Length > 0 {
			end = rng.Offset + rng.Length - 1
		}
		if rng.Offset == 0 && end == 0 && rng.Length < 0 {
			rng = nil // the whole object
		} else if err := opts.SetRange(rng.Offset, end); err != nil {
			return nil, ObjectInfo{}, invalidf("range: %v", err)
		}
	}
	body, oi, hdr, err := s.core.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		return nil, ObjectInfo{}, fmt.Errorf("get %s: %w", key, s.classify(ctx, err))
	}
	info := ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified}
	if rng != nil {
		// oi.Size is the length of the range; the full size ends
		// Content-Range ("bytes a-b/size").
		info.Size = totalFromContentRange(hdr.Get("Content-Range"), oi.Size)
	}
	return body, info, nil
}

func totalFromContentRange(cr string, fallback int64) int64 {
	var a, b, total int64
	if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &a, &b, &total); err == nil {
		return total
	}
	return fallback
}

// Stat implements Store.
func (s *S3Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	oi, err := s.core.Client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, s.classify(ctx, err))
	}
	return ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// Delete implements Store.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := s.core.Client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		err = s.classify(ctx, err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// List implements Store.
func (s *S3Store) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine when fn fails
	for oi := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if oi.Err != nil {
			return fmt.Errorf("list %q: %w", prefix, s.classify(ctx, oi.Err))
		}
		if err := fn(ObjectInfo{Key: strings.TrimPrefix(oi.Key, s.prefix), Size: oi.Size, ModTime: oi.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// RemoveStale aborts multipart uploads left behind by a process killed
// mid-upload (they hold storage but are invisible to List) unless keep
// keeps them. ObjectInfo.ModTime is the upload's start. (MinIO also drops
// stale uploads by itself after 24 hours by default.)
func (s *S3Store) RemoveStale(ctx context.Context, keep func(ObjectInfo) bool) (int, error) {
	n := 0
	// MinIO lists incomplete uploads only for an empty prefix or an exact
	// key, so list them all and filter here.
	for u := range s.core.Client.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if u.Err != nil {
			return n, fmt.Errorf("list incomplete uploads: %w", s.classify(ctx, u.Err))
		}
		if !strings.HasPrefix(u.Key, s.prefix) {
			continue
		}
		if keep(ObjectInfo{Key: strings.TrimPrefix(u.Key, s.prefix), Size: u.Size, ModTime: u.Initiated}) {
			continue
		}
		if err := s.core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil {
			return n, fmt.Errorf("abort upload of %s: %w", u.Key, s.classify(ctx, err))
		}
		n++
	}
	return n, nil
}

// Ping implements Store: the bucket must exist and answer.
func (s *S3Store) Ping(ctx context.Context) error {
	ok, err := s.core.Client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("ping s3 bucket %s: %w", s.bucket, s.classify(ctx, err))
	}
	if !ok {
		return fmt.Errorf("%w: bucket %s does not exist", ErrUnavailable, s.bucket)
	}
	return nil
}

// classify translates minio-go and network errors into domain errors,
// once, at the backend boundary.
func (s *S3Store) classify(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey":
		return fmt.Errorf("%w: %s", ErrNotFound, resp.Message)
	case "NoSuchUpload":
		// Our multipart upload was aborted under us: GC does that to
		// uploads older than the pin TTL.
		return fmt.Errorf("%w: multipart upload aborted: %s", ErrConflict, resp.Message)
	case "NoSuchBucket":
		return fmt.Errorf("%w: %s", ErrUnavailable, resp.Message)
	case "InvalidRange":
		return fmt.Errorf("%w: %s", ErrRangeNotSatisfiable, resp.Message)
	}
	if resp.StatusCode == 404 && resp.Code == "" {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	if resp.StatusCode >= 500 || resp.Code == "XMinioServerNotInitialized" || resp.Code == "SlowDown" {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var opErr *net.OpError
	var urlErr *url.Error
	if errors.As(err, &opErr) || errors.As(err, &urlErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}
