package filestore_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/filestore"
)

// The test binary doubles as an uploading server that TestServerKilledMidUpload
// kills: with these variables set, TestMain runs killHelper instead of the
// tests.
const (
	helperDB     = "FILESTORE_HELPER_DB"
	helperBlob   = "FILESTORE_HELPER_BLOB"
	helperDigest = "FILESTORE_HELPER_DIGEST"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperDB) != "" {
		if err := killHelper(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// killHelper uploads an endless body until it is killed.
func killHelper() error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv(helperDB))
	if err != nil {
		return err
	}
	store, err := filestore.OpenStore(ctx, os.Getenv(helperBlob), filestore.StoreConfig{
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")})
	if err != nil {
		return err
	}
	svc, err := filestore.New(filestore.Config{Pool: pool, Store: store, PinTTL: 2 * time.Second, MaxUploadBytes: 1 << 40})
	if err != nil {
		return err
	}
	up := filestore.Upload{Body: endlessBody{make(chan struct{})}, Size: -1}
	if d := os.Getenv(helperDigest); d != "" {
		if up.Digest, err = hex.DecodeString(d); err != nil {
			return err
		}
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Actor: "user:helper", Role: auth.RoleStaff})
	_, _, err = svc.CreateAttachment(ctx, filestore.Owner{Type: filestore.OwnerOrder, ID: uuid.New(), Site: "UK"}, "x", up)
	return fmt.Errorf("upload ended: %w", err)
}

// TestServerKilledMidUpload kills (SIGKILL) a process in the middle of an
// upload that has already sent parts to MinIO, then checks that nothing
// was recorded and that GC, once the pins have expired, removes the
// pinned rows and the partial upload.
func TestServerKilledMidUpload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		digest string
	}{
		{"without digest", ""},
		{"with digest", hex.EncodeToString(sum([]byte("announced")))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prefix := "killtest/" + randomHex(6) + "/"
			blobURL := os.Getenv("MESSINA_BLOB_URL") + "&prefix=" + prefix
			b := setup(t, withStore(s3Store(t, blobURL)), withConfig(func(c *filestore.Config) { c.PinTTL = time.Second }))
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), helperDB+"="+b.db.AppURL, helperBlob+"="+blobURL, helperDigest+"="+tc.digest)
			cmd.Stderr = os.Stderr
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			// Wait for the pin, then for parts to reach MinIO.
			require.Eventually(t, func() bool {
				return b.count(t, "SELECT (SELECT count(*) FROM files.upload) + (SELECT count(*) FROM files.blob)") > 0
			}, 30*time.Second, 20*time.Millisecond, "the helper never pinned its upload")
			client := b.store.(*filestore.S3Store).Client()
			require.Eventually(t, func() bool {
				for u := range client.ListIncompleteUploads(context.Background(), "messina", "", true) {
					if u.Err == nil && strings.HasPrefix(u.Key, prefix) {
						return true
					}
				}
				return false
			}, 30*time.Second, 50*time.Millisecond, "no multipart upload started")
			time.Sleep(time.Second) // parts are on their way
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			<-exited

			require.Zero(t, b.count(t, "SELECT count(*) FROM files.revision"))
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.attachment"))
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.blob WHERE stored"))

			time.Sleep(2100 * time.Millisecond) // the helper's pins expire
			rep, err := b.svc.GC(context.Background(), 0)
			require.NoError(t, err)
			require.GreaterOrEqual(t, rep.StaleRemoved, 1, "the partial multipart upload is aborted")
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.blob"), "no blob row")
			require.Zero(t, b.count(t, "SELECT count(*) FROM files.upload"), "no upload pin")
			require.Empty(t, b.objects(t, ""))
			for u := range client.ListIncompleteUploads(context.Background(), "messina", "", true) {
				require.NoError(t, u.Err)
				require.False(t, strings.HasPrefix(u.Key, prefix), "incomplete upload left: %s", u.Key)
			}
		})
	}
}
