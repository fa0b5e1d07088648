// Command filestore benchmarks uploads and downloads through Messina's HTTP
// API against direct minio-go PutObject/GetObject on the same MinIO, in the
// same run, and reports the server's peak memory.
//
// The server is a real `messina serve` process (built from this tree), so
// its peak RSS (VmHWM) can be read from /proc. Every upload has unique
// content (no deduplication helps us) and declares its length, as the
// minio-go baseline does; downloads read the whole content, which our
// server verifies against its SHA-256 while streaming.
//
//	go run ./cmd/devenv -bin .bin -temp -- go run ./bench/filestore [-sizes 1MiB,64MiB,1GiB]
//
// It prints lines like `filestore upload 64MiB: ours / minio-go = 0.91`.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	sizes := flag.String("sizes", "1MiB,64MiB,1GiB", "transfer sizes to measure")
	small := flag.Int("small", 1000, "number of 4 KiB uploads per round and target")
	clients := flag.Int("c", 8, "concurrent clients for the 4 KiB uploads")
	flag.Parse()
	if err := run(context.Background(), *sizes, *small, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "bench/filestore:", err)
		os.Exit(1)
	}
}

type env struct {
	base, token, order string
	relay              string // startRelay's base URL
	mc                 *minio.Client
	bucket             string
	http               *http.Client
}

func run(ctx context.Context, sizeList string, small, clients int) error {
	for _, k := range []string{"MESSINA_DATABASE_URL", "MESSINA_OWNER_DATABASE_URL", "MESSINA_BLOB_URL", "AWS_ACCESS_KEY_ID"} {
		if os.Getenv(k) == "" {
			return fmt.Errorf("%s is not set: run under go run ./cmd/devenv -- go run ./bench/filestore", k)
		}
	}
	dir, err := os.MkdirTemp("", "bench-filestore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "messina")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/messina").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "migrate").CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "seed", "--if-empty", "--customers", "5", "--orders", "5").CombinedOutput(); err != nil {
		return fmt.Errorf("seed: %v\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	e := &env{base: "http://" + addr, token: "msn_bench_" + randHex(16), http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	srv := exec.Command(bin, "serve", "-migrate=false", "-jobs=false", "-log-level=warn")
	srv.Env = append(os.Environ(), "MESSINA_LISTEN="+addr, "MESSINA_BOOTSTRAP_TOKEN="+e.token, "MESSINA_MAX_UPLOAD_BYTES="+strconv.Itoa(2<<30), "MESSINA_RATE_LIMIT=100000")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	if err := e.waitReady(ctx); err != nil {
		return err
	}
	if e.order, err = e.anyOrder(ctx); err != nil {
		return err
	}
	if e.mc, e.bucket, err = minioClient(); err != nil {
		return err
	}
	stopRelay, err := e.startRelay()
	if err != nil {
		return err
	}
	defer stopRelay()

	for _, s := range strings.Split(sizeList, ",") {
		size, err := parseSize(s)
		if err != nil {
			return err
		}
		if err := e.transfer(ctx, s, size); err != nil {
			return err
		}
	}
	if err := e.smallUploads(ctx, small, clients); err != nil {
		return err
	}
	hwm, err := peakRSS(srv.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("filestore server peak RSS: %.1f MiB (goal: under 100 MiB while uploading 1 GiB)\n", float64(hwm)/(1<<20))
	return nil
}

// transfer measures one upload and one download of size bytes each way,
// ours then minio-go's, best of two runs each (the machine is shared).
func (e *env) transfer(ctx context.Context, label string, size int64) error {
	var upOurs, upBase, downOurs, downBase, relayPlain, relayHash time.Duration
	runs := 2
	if size >= 1<<30 {
		runs = 1
	}
	for i := 0; i < runs; i++ {
		d, att, err := e.uploadOurs(ctx, size)
		if err != nil {
			return err
		}
		upOurs = best(upOurs, d)
		key := "bench/" + randHex(8)
		d, err = e.putBaseline(ctx, key, size)
		if err != nil {
			return err
		}
		upBase = best(upBase, d)
		d, err = e.timeGet(ctx, e.base+"/v1/attachments/"+att+"/content", size)
		if err != nil {
			return err
		}
		downOurs = best(downOurs, d)
		d, err = e.getBaseline(ctx, key, size)
		if err != nil {
			return err
		}
		downBase = best(downBase, d)
		d, err = e.timeGet(ctx, e.relay+"/plain/"+key, size)
		if err != nil {
			return err
		}
		relayPlain = best(relayPlain, d)
		d, err = e.timeGet(ctx, e.relay+"/sha256/"+key, size)
		if err != nil {
			return err
		}
		relayHash = best(relayHash, d)
		_ = e.mc.RemoveObject(ctx, e.bucket, key, minio.RemoveObjectOptions{})
	}
	mibps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	fmt.Printf("filestore upload %s: ours / minio-go = %.2f (%.0f vs %.0f MiB/s)\n", label, upBase.Seconds()/upOurs.Seconds(), mibps(upOurs), mibps(upBase))
	fmt.Printf("filestore download %s: ours / minio-go = %.2f (%.0f vs %.0f MiB/s)\n", label, downBase.Seconds()/downOurs.Seconds(), mibps(downOurs), mibps(downBase))
	fmt.Printf("filestore download %s floor: bare relay / minio-go = %.2f, relay hashing SHA-256 / minio-go = %.2f (%.0f and %.0f MiB/s)\n",
		label, downBase.Seconds()/relayPlain.Seconds(), downBase.Seconds()/relayHash.Seconds(), mibps(relayPlain), mibps(relayHash))
	return nil
}

func best(cur, d time.Duration) time.Duration {
	if cur == 0 || d < cur {
		return d
	}
	return cur
}

func (e *env) uploadOurs(ctx context.Context, size int64) (time.Duration, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/v1/orders/"+e.order+"/attachments?filename=bench.bin", newContent(size))
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+e.token)
	start := time.Now()
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	d := time.Since(start)
	if resp.StatusCode != http.StatusCreated {
		return 0, "", fmt.Errorf("upload %d bytes: %d %s", size, resp.StatusCode, body)
	}
	var att struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &att); err != nil {
		return 0, "", err
	}
	return d, att.ID, nil
}

func (e *env) putBaseline(ctx context.Context, key string, size int64) (time.Duration, error) {
	start := time.Now()
	_, err := e.mc.PutObject(ctx, e.bucket, key, newContent(size), size, minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: 16 << 20})
	return time.Since(start), err
}

func (e *env) timeGet(ctx context.Context, url string, size int64) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	start := time.Now()
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != size || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("download: status %d, %d of %d bytes: %v", resp.StatusCode, n, size, err)
	}
	return time.Since(start), nil
}

func (e *env) getBaseline(ctx context.Context, key string, size int64) (time.Duration, error) {
	start := time.Now()
	obj, err := e.mc.GetObject(ctx, e.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return 0, err
	}
	defer obj.Close()
	n, err := io.Copy(io.Discard, obj)
	if err != nil || n != size {
		return 0, fmt.Errorf("baseline download: %d of %d bytes: %v", n, size, err)
	}
	return time.Since(start), nil
}

// smallUploads compares 4 KiB uploads per second with clients at once,
// after a warm-up, in alternated rounds (ours, then minio-go) so that
// drift in the load of the shared machine hits both; the ratio is the
// median of the rounds'.
func (e *env) smallUploads(ctx context.Context, n, clients int) error {
	const rounds = 5
	// A warm-up round of each first, as bench/orders does: eight clients
	// at once open connections (and PostgreSQL backends, which compile
	// their plans) that one-at-a-time transfers before did not need.
	if _, _, err := rate(n/4, clients, func() error { _, _, err := e.uploadOurs(ctx, 4096); return err }); err != nil {
		return err
	}
	if _, _, err := rate(n/4, clients, func() error { _, err := e.putBaseline(ctx, "bench/small-"+randHex(8), 4096); return err }); err != nil {
		return err
	}
	var ratios []float64
	var ours, base []float64
	var p99ours, p99base time.Duration
	for i := 0; i < rounds; i++ {
		o, p99o, err := rate(n, clients, func() error {
			_, _, err := e.uploadOurs(ctx, 4096)
			return err
		})
		if err != nil {
			return err
		}
		b, p99b, err := rate(n, clients, func() error {
			_, err := e.putBaseline(ctx, "bench/small-"+randHex(8), 4096)
			return err
		})
		if err != nil {
			return err
		}
		ours, base, ratios = append(ours, o), append(base, b), append(ratios, o/b)
		p99ours, p99base = max(p99ours, p99o), max(p99base, p99b)
	}
	sort.Float64s(ratios)
	fmt.Printf("filestore upload 4KiB: ours / minio-go = %.2f (median of %d alternated rounds; uploads/s ours %.0f, minio-go %.0f; worst p99 %s vs %s)\n",
		ratios[len(ratios)/2], rounds, ours, base, p99ours, p99base)
	return nil
}

func rate(n, clients int, op func() error) (float64, time.Duration, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				t := time.Now()
				err := op()
				mu.Lock()
				lat = append(lat, time.Since(t))
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(n) / time.Since(start).Seconds(), lat[len(lat)*99/100].Round(time.Millisecond / 10), nil
}

// content is a reader of size bytes: a random 1 MiB block repeated, with
// the first 16 bytes unique so that no two uploads share an address.
type content struct {
	block []byte
	size  int64
	off   int64
}

var block = func() []byte {
	b := make([]byte, 1<<20)
	_, _ = rand.Read(b)
	return b
}()

func newContent(size int64) io.Reader {
	b := make([]byte, len(block))
	copy(b, block)
	_, _ = rand.Read(b[:16])
	binary.BigEndian.PutUint64(b[16:], uint64(time.Now().UnixNano()))
	return &content{block: b, size: size}
}

func (c *content) Read(p []byte) (int, error) {
	if c.off >= c.size {
		return 0, io.EOF
	}
	i := c.off % int64(len(c.block))
	n := copy(p, c.block[i:])
	if rem := c.size - c.off; int64(n) > rem {
		n = int(rem)
	}
	c.off += int64(n)
	return n, nil
}

func (e *env) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("server not ready in 60s")
}

func (e *env) anyOrder(ctx context.Context) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/v1/orders?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Items) == 0 {
		return "", fmt.Errorf("no order to attach to (status %d): %v", resp.StatusCode, err)
	}
	return page.Items[0].ID, nil
}

func minioClient() (*minio.Client, string, error) {
	raw := os.Getenv("MESSINA_BLOB_URL")
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return nil, "", errors.New("MESSINA_BLOB_URL is not an s3:// URL")
	}
	bucket, query, _ := strings.Cut(rest, "?")
	var endpoint string
	for _, kv := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(kv, "endpoint="); ok {
			endpoint = v
		}
	}
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""), Region: "us-east-1"})
	return c, bucket, err
}

// peakRSS reads the process's high-water resident set (VmHWM).
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

func parseSize(s string) (int64, error) {
	units := map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	for u, m := range units {
		if n, ok := strings.CutSuffix(s, u); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * m, err
		}
	}
	return 0, fmt.Errorf("size %q: want e.g. 64MiB", s)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// startRelay serves GET /plain/<key> and /sha256/<key> from MinIO through
// this process: the least any server between the client and the object
// store does (one more hop), and that plus the SHA-256 a verified download
// needs, without our API's checks, database or abort-before-the-end. It
// shows how close to direct minio-go a verifying server can come on this
// machine: our download is compared with it.
func (e *env) startRelay() (func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	serve := func(hash bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			obj, err := e.mc.GetObject(r.Context(), e.bucket, r.PathValue("key"), minio.GetObjectOptions{})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer obj.Close()
			info, err := obj.Stat()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
			var src io.Reader = obj
			h := sha256.New()
			if hash {
				src = io.TeeReader(obj, h)
			}
			// Big copies, as our server makes (largeCopyWriter).
			if _, err := io.CopyBuffer(struct{ io.Writer }{w}, src, make([]byte, 1<<20)); err != nil {
				return
			}
			_ = h.Sum(nil)
		}
	}
	mux.Handle("GET /plain/{key...}", serve(false))
	mux.Handle("GET /sha256/{key...}", serve(true))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	e.relay = "http://" + addr
	return func() { _ = srv.Close() }, nil
}
