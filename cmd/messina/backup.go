package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/backup"
	"github.com/messina-oms/messina/internal/bytesize"
)

// backupFlags are the flags backup and restore share.
type backupFlags struct {
	dir         string
	pgBinDir    string
	concurrency int
}

func (b *backupFlags) register(fs *flag.FlagSet, dirUsage string) {
	fs.StringVar(&b.dir, "dir", "", dirUsage)
	fs.StringVar(&b.pgBinDir, "pg-bindir", envOr("MESSINA_PG_BINDIR", ""), "directory of pg_dump and pg_restore (MESSINA_PG_BINDIR; default: found on PATH)")
	fs.IntVar(&b.concurrency, "concurrency", 4, "blobs copied at once")
}

func (b *backupFlags) check(name string, fs *flag.FlagSet) error {
	if b.dir == "" {
		return usageError{name + ": --dir is required"}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0))}
	}
	if b.concurrency < 1 || b.concurrency > 64 {
		return usageError{name + ": --concurrency must be between 1 and 64"}
	}
	return nil
}

// ownerURLForTools checks that the owner URL is one pg_dump and pg_restore
// understand, naming the setting when not.
func (c *config) ownerURLForTools() error {
	u := c.OwnerDatabaseURL
	if u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return fmt.Errorf("%s: backup and restore need a postgres:// URL", c.ownerSetting())
	}
	return nil
}

// runBackup makes a backup of the database and its blobs under --dir.
func runBackup(ctx context.Context, args []string) error {
	var bf backupFlags
	var seal bool
	c, fs, err := parseFlags("backup", args, func(fs *flag.FlagSet) {
		bf.register(fs, "directory of backups: this one goes to DIR/<UTC time>, blobs to DIR/blobs (shared by all backups)")
		fs.BoolVar(&seal, "seal", true, "seal the audit log just before the snapshot, so a restore verifies every audit row of the backup")
	})
	if err != nil {
		return err
	}
	if err := bf.check("backup", fs); err != nil {
		return err
	}
	if err := c.ownerURLForTools(); err != nil {
		return err
	}
	pool, err := openPool(ctx, c.ownerSetting(), c.OwnerDatabaseURL, "messina-backup")
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := c.openBlobStore(ctx)
	if err != nil {
		return err
	}
	res, err := backup.Create(ctx, backup.Config{
		Pool: pool, DatabaseURL: c.OwnerDatabaseURL, Store: store,
		PGBinDir: bf.pgBinDir, Concurrency: bf.concurrency, Logger: c.logger(),
	}, bf.dir, backup.CreateOptions{Seal: seal})
	if err != nil {
		var be *backup.BlobsError
		if errors.As(err, &be) {
			return fmt.Errorf("backup failed, no backup was kept: %s; `messina scrub` marks them, upload the documents again or restore them from an older backup", oneLine(err))
		}
		return fmt.Errorf("backup failed, no backup was kept: %s", oneLine(err))
	}
	m := res.Manifest
	fmt.Printf("backup %s complete: database %s (sha256 %s), %d blobs of %s (%d copied, %d already in the backup directory)\n",
		res.Dir, bytesize.Format(m.Database.Size), m.Database.SHA256, m.BlobCount, bytesize.Format(m.BlobBytes), res.BlobsCopied, res.BlobsReused)
	return nil
}

// runRestore restores a backup into an empty database and the blob store,
// or only checks it (--check).
func runRestore(ctx context.Context, args []string) error {
	var bf backupFlags
	var resume, check bool
	c, fs, err := parseFlags("restore", args, func(fs *flag.FlagSet) {
		bf.register(fs, "the backup to restore: DIR/<UTC time>, as printed by messina backup")
		fs.BoolVar(&resume, "resume", false, "finish a restore that failed after the database was restored (its error says so)")
		fs.BoolVar(&check, "check", false, "only verify the backup (manifest, dump and every blob's SHA-256); needs no database or blob store")
	})
	if err != nil {
		return err
	}
	if err := bf.check("restore", fs); err != nil {
		return err
	}
	if resume && check {
		return usageError{"restore: --check and --resume exclude each other"}
	}
	cfg := backup.Config{PGBinDir: bf.pgBinDir, Concurrency: bf.concurrency, Logger: c.logger()}
	if check {
		rep, err := backup.Check(ctx, cfg, bf.dir)
		if err != nil {
			return fmt.Errorf("restore --check: %s", oneLine(err))
		}
		m := rep.Manifest
		fmt.Printf("backup %s is intact: database %s (sha256 %s, schema version %d, taken %s), %d blobs of %s verified\n",
			bf.dir, bytesize.Format(m.Database.Size), m.Database.SHA256, m.SchemaVersion, m.CreatedAt.Format("2006-01-02 15:04:05Z"), rep.BlobsChecked, bytesize.Format(rep.BytesChecked))
		return nil
	}

	if err := c.ownerURLForTools(); err != nil {
		return err
	}
	pool, err := openPool(ctx, c.ownerSetting(), c.OwnerDatabaseURL, "messina-restore")
	if err != nil {
		return err
	}
	defer pool.Close()
	var super *pgxpool.Pool
	if c.SuperDatabaseURL != "" {
		if super, err = openPool(ctx, "MESSINA_SUPER_DATABASE_URL", c.SuperDatabaseURL, "messina-restore"); err != nil {
			return err
		}
		defer super.Close()
	}
	store, err := c.openBlobStore(ctx)
	if err != nil {
		return err
	}
	cfg.Pool, cfg.DatabaseURL, cfg.SuperPool, cfg.Store = pool, c.OwnerDatabaseURL, super, store
	rep, err := backup.Restore(ctx, cfg, bf.dir, backup.RestoreOptions{Resume: resume})
	if err != nil {
		return fmt.Errorf("restore failed: %s", oneLine(err))
	}
	m := rep.Manifest
	fmt.Printf("restore: blobs: %d of %s in the store (%d uploaded, %d already there)\n",
		m.BlobCount, bytesize.Format(m.BlobBytes), rep.BlobsUploaded, rep.BlobsPresent)
	verb := "restored"
	if resume {
		verb = "finished"
	}
	fmt.Printf("restore: database %s %s from %s (taken %s, schema version %d)\n",
		rep.Database, verb, bf.dir, m.CreatedAt.Format("2006-01-02 15:04:05Z"), m.SchemaVersion)
	fmt.Printf("restore: %d blob rows moved to content keys, %d unreferenced blob rows and %d upload pins removed, audit metadata of %d tables refreshed\n",
		rep.ContentKeysAdopted, rep.UnreferencedBlobsRemoved, rep.UploadPinsRemoved, rep.AuditTables)
	fmt.Printf("restore: verified: %s; %d revision blobs in the store\n", rep.Audit.String(), rep.BlobsVerified)
	if !rep.EventTriggers {
		fmt.Fprintln(os.Stderr, "messina: warning: the audit's event triggers are not installed; have a superuser run SELECT audit.install_event_triggers(), or set MESSINA_SUPER_DATABASE_URL and run the restore again with --resume")
	}
	if rep.SchemaVersion < rep.LatestSchemaVersion {
		fmt.Printf("restore: the backup's schema version %d is older than this messina's %d: run messina migrate\n", rep.SchemaVersion, rep.LatestSchemaVersion)
	}
	return nil
}

// runPruneBackups removes old and failed backups under --dir and the blob
// files no remaining backup references.
func runPruneBackups(ctx context.Context, args []string) error {
	var dir string
	var keep int
	var dryRun bool
	_, fs, err := parseFlags("prune-backups", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "dir", "", "directory of backups, as given to messina backup")
		fs.IntVar(&keep, "keep", 0, "keep the newest N complete backups, remove the older ones (0: keep every complete backup)")
		fs.BoolVar(&dryRun, "dry-run", false, "print what would be removed and remove nothing")
	})
	if err != nil {
		return err
	}
	switch {
	case dir == "":
		return usageError{"prune-backups: --dir is required"}
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("prune-backups: unexpected argument %q", fs.Arg(0))}
	case keep < 0:
		return usageError{"prune-backups: --keep must be 0 or more"}
	}
	res, err := backup.Prune(ctx, dir, backup.PruneOptions{Keep: keep, DryRun: dryRun})
	if errors.Is(err, backup.ErrBusy) {
		return fmt.Errorf("prune-backups: a backup is being made in %s; nothing removed, run it again when the backup has finished", dir)
	}
	if err != nil {
		return fmt.Errorf("prune-backups: %s", oneLine(err))
	}
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	for _, name := range res.Removed {
		fmt.Printf("%s backup %s\n", verb, filepath.Join(dir, name))
	}
	for _, name := range res.Incomplete {
		fmt.Printf("%s incomplete backup %s\n", verb, filepath.Join(dir, name))
	}
	fmt.Printf("prune-backups: %d complete backups kept; %s %d older and %d incomplete backups, %d blob files (%s) no kept backup needs and %d half-written files\n",
		len(res.Kept), verb, len(res.Removed), len(res.Incomplete), res.BlobsRemoved, bytesize.Format(res.BytesRemoved), res.TempFilesRemoved)
	return nil
}
