package filestore_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/filestore/storetest"
)

func TestDiskStoreConformance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	storetest.Run(t, func(t *testing.T) filestore.Store {
		s, err := filestore.NewDiskStore(dir)
		require.NoError(t, err)
		return s
	})
}

// envStore opens the MinIO of the test environment (MESSINA_BLOB_URL).
func envStore(t *testing.T) filestore.Store {
	t.Helper()
	u := os.Getenv("MESSINA_BLOB_URL")
	if u == "" {
		t.Fatal("MESSINA_BLOB_URL is not set: run the tests under cmd/devenv (make test)")
	}
	s, err := filestore.OpenStore(context.Background(), u, filestore.StoreConfig{
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	})
	require.NoError(t, err)
	return s
}

func TestS3StoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, envStore)
}

// TestS3StoreLarge is the one 1 GiB case of the repository. It does not
// call t.Parallel because it measures the process heap: sequential tests
// run before the parallel ones start.
func TestS3StoreLarge(t *testing.T) {
	storetest.RunLarge(t, envStore(t), 96<<20)
}
