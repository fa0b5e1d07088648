package filestore

import (
	"context"
	"log/slog"
	"net/url"
	"strconv"
)

// StoreConfig is what OpenStore needs besides the URL. Credentials are
// passed in by the caller (cmd reads AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY); this package never reads the environment.
type StoreConfig struct {
	AccessKey string
	SecretKey string
	// PartSize of S3 multipart uploads; DefaultPartSize when 0.
	PartSize uint64
	Logger   *slog.Logger
}

// OpenStore opens the blob store named by blobURL (MESSINA_BLOB_URL):
//
//	s3://bucket?endpoint=host:port&secure=false&region=us-east-1[&prefix=dir/]
//	file:///absolute/path
//
// Errors wrap ErrInvalid and name the bad part. It does not contact the
// store; call Ping for that.
func OpenStore(ctx context.Context, blobURL string, cfg StoreConfig) (Store, error) {
	u, err := url.Parse(blobURL)
	if err != nil {
		return nil, invalidf("blob URL: %v", err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, invalidf("blob URL: file URL host must be empty (file:///path), got %q", u.Host)
		}
		if u.Path == "" || u.Path[0] != '/' {
			return nil, invalidf("blob URL: file URL needs an absolute path (file:///path)")
		}
		if len(u.Query()) > 0 {
			return nil, invalidf("blob URL: file URL takes no query parameters")
		}
		return NewDiskStore(u.Path)
	case "s3":
		q := u.Query()
		for k := range q {
			switch k {
			case "endpoint", "secure", "region", "prefix":
			default:
				return nil, invalidf("blob URL: unknown s3 parameter %q (known: endpoint, secure, region, prefix)", k)
			}
		}
		if u.Host == "" {
			return nil, invalidf("blob URL: s3 URL needs a bucket (s3://bucket?...)")
		}
		if u.Path != "" && u.Path != "/" {
			return nil, invalidf("blob URL: s3 URL takes no path after the bucket, got %q", u.Path)
		}
		endpoint := q.Get("endpoint")
		if endpoint == "" {
			return nil, invalidf("blob URL: s3 URL needs endpoint=host:port")
		}
		secure := true
		if v := q.Get("secure"); v != "" {
			if secure, err = strconv.ParseBool(v); err != nil {
				return nil, invalidf("blob URL: secure=%q is not a boolean", v)
			}
		}
		if cfg.AccessKey == "" || cfg.SecretKey == "" {
			return nil, invalidf("blob URL: s3 store needs credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
		}
		return NewS3Store(S3Config{
			Endpoint: endpoint, Bucket: u.Host, Region: q.Get("region"), Secure: secure, Prefix: q.Get("prefix"),
			AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, PartSize: cfg.PartSize, Logger: cfg.Logger,
		})
	case "":
		return nil, invalidf("blob URL: missing scheme (s3:// or file://)")
	default:
		return nil, invalidf("blob URL: unknown scheme %q (s3 or file)", u.Scheme)
	}
}
