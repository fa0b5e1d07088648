package devenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinioModule is the MinIO server version we build. MinIO publishes only
// pseudo-versions to the module proxy, so we pin one.
const MinioModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// Bucket is the bucket created in every throwaway MinIO.
const Bucket = "messina"

// Minio is a running throwaway MinIO server.
type Minio struct {
	// Bin is the server binary, for tests that start their own instance.
	Bin       string
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	DataDir   string

	proc *process
}

// MinioConfig says where and how to run MinIO.
type MinioConfig struct {
	// BinDir is where the minio binary is built when missing.
	BinDir string
	// Dir holds the server's data, log and state.
	Dir string
	// Port to listen on; 0 picks a free loopback port.
	Port int
	Log  func(format string, args ...any)
}

type minioState struct {
	Port      int    `json:"port"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// EnsureMinioBinary builds MinIO at the pinned version into binDir unless it
// is already there, and returns its path.
func EnsureMinioBinary(ctx context.Context, binDir string, log func(string, ...any)) (string, error) {
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(abs, "minio")
	if fileExists(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}
	logf(log, "building MinIO (%s) into %s; the first time takes a few minutes...", MinioModule, abs)
	cmd := exec.CommandContext(ctx, "go", "install", MinioModule)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+abs, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", MinioModule, err, out)
	}
	return bin, nil
}

// StartMinio builds MinIO when missing, starts it on loopback with its data
// under cfg.Dir and creates the Messina bucket.
func StartMinio(ctx context.Context, cfg MinioConfig) (*Minio, error) {
	bin, err := EnsureMinioBinary(ctx, cfg.BinDir, cfg.Log)
	if err != nil {
		return nil, err
	}
	statePath := filepath.Join(cfg.Dir, "minio.json")
	var st minioState
	if err := readJSON(statePath, &st); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if st.AccessKey == "" {
		st = minioState{AccessKey: "messina" + randomSecret()[:8], SecretKey: randomSecret()}
	}
	killStale(filepath.Join(cfg.Dir, "minio.pid"))
	port, err := pickPort(cfg.Port, st.Port)
	if err != nil {
		return nil, err
	}
	st.Port = port
	if err := writeJSON(statePath, st); err != nil {
		return nil, err
	}
	m := &Minio{Bin: bin, Endpoint: "127.0.0.1:" + strconv.Itoa(port), AccessKey: st.AccessKey, SecretKey: st.SecretKey,
		DataDir: filepath.Join(cfg.Dir, "minio")}
	if err := m.Start(ctx, filepath.Join(cfg.Dir, "minio.log")); err != nil {
		return nil, err
	}
	_ = os.WriteFile(filepath.Join(cfg.Dir, "minio.pid"), []byte(strconv.Itoa(m.proc.pid())), 0o644)
	return m, nil
}

// Start (re)starts the server on its endpoint and data directory, waits until
// it is ready and makes sure the bucket exists. Fault tests use it to bring
// a stopped server back.
func (m *Minio) Start(ctx context.Context, logPath string) error {
	consolePort, err := freePort()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
		return err
	}
	env := []string{
		"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1",
	}
	args := []string{"server", "--quiet", "--address", m.Endpoint,
		"--console-address", "127.0.0.1:" + strconv.Itoa(consolePort), m.DataDir}
	proc, err := startProcess(m.Bin, args, env, logPath, nil)
	if err != nil {
		return fmt.Errorf("start minio: %w", err)
	}
	m.proc = proc
	if err := m.waitReady(ctx); err != nil {
		_ = m.Stop()
		return fmt.Errorf("%w\n%s", err, tail(logPath, 20))
	}
	return nil
}

// Stop terminates the server and waits for it to exit.
func (m *Minio) Stop() error {
	if m.proc == nil {
		return nil
	}
	return m.proc.stop(syscall.SIGTERM, 20*time.Second)
}

// Client returns a minio-go client for the server.
func (m *Minio) Client() (*minio.Client, error) {
	return minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""), Secure: false, Region: "us-east-1"})
}

// BlobURL is the MESSINA_BLOB_URL that points at this server's bucket.
func (m *Minio) BlobURL() string {
	return "s3://" + Bucket + "?endpoint=" + m.Endpoint + "&secure=false&region=us-east-1"
}

func (m *Minio) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if m.proc.exited() {
			return fmt.Errorf("minio exited during start-up")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.Endpoint+"/minio/health/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m.ensureBucket(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("minio not ready after 60s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m *Minio) ensureBucket(ctx context.Context) error {
	c, err := m.Client()
	if err != nil {
		return err
	}
	ok, err := c.BucketExists(ctx, Bucket)
	if err != nil {
		return fmt.Errorf("check bucket: %w", err)
	}
	if ok {
		return nil
	}
	if err := c.MakeBucket(ctx, Bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		return fmt.Errorf("make bucket: %w", err)
	}
	return nil
}
