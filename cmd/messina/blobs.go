package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/auth"
	"github.com/messina-oms/messina/filestore"
)

// openBlobStore opens MESSINA_BLOB_URL and checks that it answers; the
// error is one line naming the setting.
func (c *config) openBlobStore(ctx context.Context) (filestore.Store, error) {
	if c.BlobURL == "" {
		return nil, fmt.Errorf("MESSINA_BLOB_URL is not set (s3://bucket?endpoint=host:port or file:///path)")
	}
	store, err := filestore.OpenStore(ctx, c.BlobURL, filestore.StoreConfig{
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), Logger: c.logger(),
	})
	if err != nil {
		return nil, fmt.Errorf("MESSINA_BLOB_URL: %s", oneLine(err))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.Ping(ctx); err != nil {
		return nil, fmt.Errorf("MESSINA_BLOB_URL: not reachable: %s", oneLine(err))
	}
	return store, nil
}

// openFiles opens the database and the blob store and returns the filestore
// service on them; close the pool when done.
func (c *config) openFiles(ctx context.Context, app string) (*filestore.Service, *pgxpool.Pool, error) {
	pool, err := c.openDB(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	store, err := c.openBlobStore(ctx)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	files, err := filestore.New(filestore.Config{Pool: pool, Store: store, MaxUploadBytes: c.MaxUploadBytes, Logger: c.logger()})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return files, pool, nil
}

// runGC deletes blobs no revision references and orphan objects older
// than the grace period.
func runGC(ctx context.Context, args []string) error {
	var grace time.Duration
	c, _, err := parseFlags("gc", args, func(fs *flag.FlagSet) {
		fs.DurationVar(&grace, "grace", 24*time.Hour, "keep unreferenced content younger than this")
	})
	if err != nil {
		return err
	}
	if grace < 0 {
		return usageError{"gc: --grace must not be negative"}
	}
	files, pool, err := c.openFiles(ctx, "messina-gc")
	if err != nil {
		return err
	}
	defer pool.Close()
	rep, err := files.GC(auth.WithPrincipal(ctx, auth.System("gc")), grace)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	fmt.Printf("gc: %d blobs and %d orphan objects deleted, %d expired upload pins and %d partial writes removed\n",
		rep.BlobsDeleted, rep.OrphansDeleted, rep.PinsExpired, rep.StaleRemoved)
	return nil
}

// errScrubFound makes scrub exit non-zero when it finds damage.
var errScrubFound = errors.New("scrub found missing or corrupt blobs")

// runScrub re-hashes stored blobs (all, or a sample) and reports what is
// missing or corrupt.
func runScrub(ctx context.Context, args []string) error {
	var sample int
	c, _, err := parseFlags("scrub", args, func(fs *flag.FlagSet) {
		fs.IntVar(&sample, "sample", 0, "check this many blobs, least recently verified first (0: all)")
	})
	if err != nil {
		return err
	}
	files, pool, err := c.openFiles(ctx, "messina-scrub")
	if err != nil {
		return err
	}
	defer pool.Close()
	rep, err := files.Scrub(auth.WithPrincipal(ctx, auth.System("scrub")), sample)
	if err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	fmt.Printf("scrub: %d blobs (%d bytes) checked, %d missing, %d corrupt\n", rep.Checked, rep.Bytes, len(rep.Missing), len(rep.Corrupt))
	for _, b := range rep.Missing {
		fmt.Println("missing", b)
	}
	for _, b := range rep.Corrupt {
		fmt.Println("corrupt", b)
	}
	if !rep.OK() {
		return errScrubFound
	}
	return nil
}
