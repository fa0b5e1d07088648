package backup_test

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/messina-oms/messina/audit"
	"github.com/messina-oms/messina/backup"
	"github.com/messina-oms/messina/filestore"
	"github.com/messina-oms/messina/internal/pgtest"
)

// A backup, a second one that reuses its blobs, and a restore of the
// second into a fresh database and store: every revision reads back
// byte-identical and the audit chain verifies up to the backup.
func TestBackupIncrementalAndRestoreGiveBackEveryRevision(t *testing.T) {
	t.Parallel()
	b := setup(t)
	shared := randomBytes(40 << 10)
	contract := b.attach(t, "contract.pdf", randomBytes(3<<20+17), false) // under an upload key
	b.revise(t, contract, randomBytes(100<<10), true)                     // at its content key
	b.attach(t, "notes.txt", []byte("first notes\n"), true)
	b.attach(t, "copy-a.bin", shared, false)
	b.attach(t, "copy-b.bin", shared, true) // the same blob as copy-a
	_, err := b.src.files.Restore(b.ctx, contract, 1, "")
	require.NoError(t, err)
	b.docs[contract] = append(b.docs[contract], b.docs[contract][0])

	first := b.backup(t)
	m := first.Manifest
	require.Equal(t, 4, m.BlobCount, "distinct blobs that revisions reference")
	require.Equal(t, 4, first.BlobsCopied)
	require.Zero(t, first.BlobsReused)
	require.NotZero(t, m.Audit.LastSealID, "the backup seals the audit log")
	for _, e := range m.Blobs {
		st, err := os.Stat(filepath.Join(b.root, "blobs", "sha256", e.SHA256[:2], e.SHA256[2:4], e.SHA256))
		require.NoError(t, err)
		require.Equal(t, e.Size, st.Size())
	}

	// Garbage the restore must not carry over: a blob row no revision
	// references, and the pin of an upload in flight.
	_, err = b.src.db.Owner.Exec(b.ctx, `INSERT INTO files.blob (sha256, size, stored) VALUES ($1, 3, true)`, sum([]byte("old")))
	require.NoError(t, err)
	_, err = b.src.db.Owner.Exec(b.ctx, `INSERT INTO files.upload (key, pinned_until) VALUES ('upload/in-flight', now() + interval '1 hour')`)
	require.NoError(t, err)
	b.revise(t, contract, []byte("a later version"), false)

	second := b.backup(t)
	require.NotEqual(t, first.Dir, second.Dir)
	require.Equal(t, 5, second.Manifest.BlobCount)
	require.Equal(t, 1, second.BlobsCopied, "only the new blob is copied")
	require.Equal(t, 4, second.BlobsReused)

	checked, err := backup.Check(b.ctx, b.src.config(t), second.Dir)
	require.NoError(t, err)
	require.Equal(t, 5, checked.BlobsChecked)

	dst := newSystem(t, pgtest.Empty(t))
	rep, err := backup.Restore(b.ctx, dst.config(t), second.Dir, backup.RestoreOptions{})
	require.NoError(t, err)
	require.Equal(t, 5, rep.BlobsUploaded)
	require.Equal(t, 5, rep.BlobsVerified)
	require.EqualValues(t, 1, rep.UnreferencedBlobsRemoved)
	require.EqualValues(t, 1, rep.UploadPinsRemoved)
	require.EqualValues(t, 3, rep.ContentKeysAdopted, "blobs the source kept under upload keys")
	require.True(t, rep.Audit.OK, rep.Audit.String())
	require.True(t, rep.EventTriggers)
	require.Equal(t, second.Manifest.SchemaVersion, rep.SchemaVersion)

	b.requireSameDocuments(t, dst)
	ver, err := audit.Verify(b.ctx, dst.db.Owner)
	require.NoError(t, err)
	require.True(t, ver.OK, ver.String())
	require.Equal(t, second.Manifest.Audit.LastSealID, int64(ver.Seals))

	// Resuming a finished restore redoes the idempotent steps only.
	again, err := backup.Restore(b.ctx, dst.config(t), second.Dir, backup.RestoreOptions{Resume: true})
	require.NoError(t, err)
	require.Equal(t, 5, again.BlobsPresent)
	require.Zero(t, again.BlobsUploaded)
	require.Zero(t, again.ContentKeysAdopted)

	// The restored system works on: GC without grace keeps every revision,
	// auditing follows writes, and the chain still verifies.
	_, err = dst.files.GC(b.ctx, 0)
	require.NoError(t, err)
	b.requireSameDocuments(t, dst)
	_, err = dst.db.Owner.Exec(b.ctx, `UPDATE core.site SET name = 'Britain' WHERE id = 'UK'`)
	require.NoError(t, err)
	_, err = audit.Seal(b.ctx, dst.db.Owner)
	require.NoError(t, err)
	ver, err = audit.Verify(b.ctx, dst.db.Owner)
	require.NoError(t, err)
	require.True(t, ver.OK, ver.String())

}

// A blob whose object is missing or whose bytes do not hash to its
// address fails the backup, which names it and keeps no backup.
func TestBackupFailsOnMissingOrCorruptBlobNamingIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := b.attach(t, "good.txt", []byte("good content"), true)
	corrupt := []byte("this will be corrupted")
	b.attach(t, "corrupt.txt", corrupt, true)
	missing := []byte("this will go missing")
	b.attach(t, "missing.txt", missing, true)
	_ = good

	ctx := context.Background()
	_, err := b.src.store.Put(ctx, filestore.ContentKey(sum(corrupt)), strings.NewReader("THIS WILL BE CORRUPTED"), int64(len(corrupt)), filestore.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, b.src.store.Delete(ctx, filestore.ContentKey(sum(missing))))

	_, err = backup.Create(b.ctx, b.src.config(t), b.root, backup.CreateOptions{Seal: true})
	var be *backup.BlobsError
	require.ErrorAs(t, err, &be)
	require.Len(t, be.Bad, 2)
	require.Contains(t, err.Error(), hexOf(corrupt))
	require.Contains(t, err.Error(), hexOf(missing))
	require.Contains(t, err.Error(), "missing")
	require.Contains(t, err.Error(), "hashes to")

	entries, err := os.ReadDir(b.root)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{backup.LockFile, backup.BlobsDir}, names, "only the shared blobs directory and the lock file are left")
}

// Restore refuses a damaged or incomplete backup and a non-empty database
// before it writes anything.
func TestRestoreRefusesBadBackupsAndNonEmptyDatabases(t *testing.T) {
	t.Parallel()
	b := setup(t)
	content := randomBytes(64 << 10)
	b.attach(t, "doc.bin", content, true)
	res := b.backup(t)

	// copyBackup makes a private copy of the backup to damage.
	copyBackup := func(t *testing.T) string {
		root := t.TempDir()
		require.NoError(t, os.CopyFS(root, os.DirFS(b.root)))
		return filepath.Join(root, filepath.Base(res.Dir))
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		stage  backup.Stage
		want   string
		// checkWant is what Check says about the damage.
		checkWant string
	}{
		{"tampered dump", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, backup.DumpFile), 1000)
		}, backup.StageCheck, "does not match the manifest", "does not match the manifest"},
		{"missing manifest", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, backup.ManifestFile)))
		}, backup.StageCheck, "incomplete backup", "incomplete backup"},
		{"missing blob file", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(blobFile(dir, content)))
		}, backup.StageCheck, "no file", "no file"},
		{"damaged blob file", func(t *testing.T, dir string) {
			flipByte(t, blobFile(dir, content), 10)
		}, backup.StageBlobs, "of the backup is damaged", "file hashes to"},
		{"manifest from another format", func(t *testing.T, dir string) {
			p := filepath.Join(dir, backup.ManifestFile)
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(raw), backup.ManifestFormat, "messina-backup/99", 1)), 0o600))
		}, backup.StageCheck, "format", "format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyBackup(t)
			tc.damage(t, dir)
			_, err := backup.Check(b.ctx, b.src.config(t), dir)
			require.ErrorContains(t, err, tc.checkWant)
			dst := newSystem(t, pgtest.Empty(t))
			_, err = backup.Restore(b.ctx, dst.config(t), dir, backup.RestoreOptions{})
			var re *backup.RestoreError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.stage, re.Stage, err.Error())
			require.ErrorContains(t, err, tc.want)
			requireEmpty(t, dst.db)
		})
	}

	t.Run("missing manifest is ErrIncomplete", func(t *testing.T) {
		t.Parallel()
		dir := copyBackup(t)
		require.NoError(t, os.Remove(filepath.Join(dir, backup.ManifestFile)))
		_, err := backup.ReadManifest(dir)
		require.True(t, errors.Is(err, backup.ErrIncomplete), err)
	})

	t.Run("non-empty database", func(t *testing.T) {
		t.Parallel()
		dst := newSystem(t, pgtest.New(t)) // migrated: not empty
		_, err := backup.Restore(b.ctx, dst.config(t), res.Dir, backup.RestoreOptions{})
		var re *backup.RestoreError
		require.ErrorAs(t, err, &re)
		require.Equal(t, backup.StageCheck, re.Stage)
		require.ErrorContains(t, err, "is not empty (schema ")
		require.ErrorContains(t, err, "nothing was changed")
	})

	t.Run("resume into a database that does not hold the backup", func(t *testing.T) {
		t.Parallel()
		dst := newSystem(t, pgtest.Empty(t))
		_, err := backup.Restore(b.ctx, dst.config(t), res.Dir, backup.RestoreOptions{Resume: true})
		var re *backup.RestoreError
		require.ErrorAs(t, err, &re)
		require.Equal(t, backup.StageCheck, re.Stage)
		requireEmpty(t, dst.db)
	})
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	var one [1]byte
	_, err = f.ReadAt(one[:], at)
	require.NoError(t, err)
	one[0] ^= 0xff
	_, err = f.WriteAt(one[:], at)
	require.NoError(t, err)
}

// blobFile is the file of content in the backup dir's blobs directory.
func blobFile(dir string, content []byte) string {
	h := hexOf(content)
	return filepath.Join(filepath.Dir(dir), "blobs", "sha256", h[:2], h[2:4], h)
}

func hexOf(content []byte) string { return hex.EncodeToString(sum(content)) }

// A restore that fails after pg_restore says that the database holds the
// backup, refuses to start over, and finishes with Resume.
func TestRestoreFailingAfterTheDatabaseFinishesWithResume(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.attach(t, "doc.txt", []byte("resume me"), false)
	res := b.backup(t)

	dst := newSystem(t, pgtest.Empty(t))
	cfg := dst.config(t)
	cfg.SuperPool = dst.db.Owner // not a superuser: installing event triggers fails
	_, err := backup.Restore(b.ctx, cfg, res.Dir, backup.RestoreOptions{})
	var re *backup.RestoreError
	require.ErrorAs(t, err, &re)
	require.Equal(t, backup.StageFinish, re.Stage, err.Error())
	require.ErrorContains(t, err, "event triggers")
	require.ErrorContains(t, err, "--resume")

	_, err = backup.Restore(b.ctx, dst.config(t), res.Dir, backup.RestoreOptions{})
	require.ErrorAs(t, err, &re)
	require.Equal(t, backup.StageCheck, re.Stage)

	rep, err := backup.Restore(b.ctx, dst.config(t), res.Dir, backup.RestoreOptions{Resume: true})
	require.NoError(t, err)
	require.True(t, rep.EventTriggers)
	require.True(t, rep.Audit.OK)
	b.requireSameDocuments(t, dst)
}
