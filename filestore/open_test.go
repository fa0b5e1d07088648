package filestore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
)

func TestOpenStore(t *testing.T) {
	t.Parallel()
	creds := filestore.StoreConfig{AccessKey: "ak", SecretKey: "sk"}
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		url      string
		cfg      filestore.StoreConfig
		wantType any
		wantErr  string // a part of the message naming the bad part
	}{
		{"s3", "s3://messina?endpoint=127.0.0.1:9000&secure=false&region=us-east-1", creds, &filestore.S3Store{}, ""},
		{"s3 with prefix", "s3://messina?endpoint=127.0.0.1:9000&prefix=prod/", creds, &filestore.S3Store{}, ""},
		{"file", "file://" + dir, filestore.StoreConfig{}, &filestore.DiskStore{}, ""},
		{"file on localhost", "file://localhost" + dir, filestore.StoreConfig{}, &filestore.DiskStore{}, ""},
		{"no scheme", "/var/lib/messina", creds, nil, "missing scheme"},
		{"unknown scheme", "gs://bucket", creds, nil, `unknown scheme "gs"`},
		{"s3 without bucket", "s3://?endpoint=h:1", creds, nil, "needs a bucket"},
		{"s3 without endpoint", "s3://messina?region=x", creds, nil, "endpoint=host:port"},
		{"s3 with a path", "s3://messina/dir?endpoint=h:1", creds, nil, `no path after the bucket, got "/dir"`},
		{"s3 bad secure", "s3://messina?endpoint=h:1&secure=maybe", creds, nil, `secure="maybe"`},
		{"s3 unknown parameter", "s3://messina?endpoint=h:1&acl=public", creds, nil, `unknown s3 parameter "acl"`},
		{"s3 bad prefix", "s3://messina?endpoint=h:1&prefix=../x", creds, nil, "prefix"},
		{"s3 without credentials", "s3://messina?endpoint=h:1", filestore.StoreConfig{}, nil, "AWS_ACCESS_KEY_ID"},
		{"file with host", "file://server/share", creds, nil, "host must be empty"},
		{"file relative", "file:data", creds, nil, "absolute path"},
		{"file with query", "file://" + dir + "?x=1", creds, nil, "no query"},
		{"unparsable", "s3://%zz", creds, nil, "blob URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := filestore.OpenStore(context.Background(), tc.url, tc.cfg)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, filestore.ErrInvalid)
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.IsType(t, tc.wantType, s)
		})
	}
}

func TestS3StorePingFailsWithoutServer(t *testing.T) {
	t.Parallel()
	s, err := filestore.OpenStore(context.Background(), "s3://messina?endpoint=127.0.0.1:1&secure=false", filestore.StoreConfig{AccessKey: "a", SecretKey: "b"})
	require.NoError(t, err)
	require.ErrorIs(t, s.Ping(context.Background()), filestore.ErrUnavailable)
}
