package backup

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File and directory names of a backup (see the package doc).
const (
	// ManifestFile is written last: its presence marks a complete backup.
	ManifestFile = "manifest.json"
	// DumpFile is the pg_dump -Fc archive.
	DumpFile = "database.dump"
	// BlobsDir, next to the backups, holds the blob files all of them share.
	BlobsDir = "blobs"
	// ManifestFormat names the manifest's format; restore refuses others.
	ManifestFormat = "messina-backup/1"
	// dirTimeLayout names a backup's directory by its start time (UTC).
	dirTimeLayout = "20060102T150405Z"
)

// Manifest describes one complete backup: the dump, the audit chain's head
// at the snapshot and every blob the dump references.
type Manifest struct {
	Format string `json:"format"`
	// CreatedAt is the time of the database snapshot; CompletedAt when the
	// last blob was copied.
	CreatedAt   time.Time `json:"created_at"`
	CompletedAt time.Time `json:"completed_at"`
	// SchemaVersion is the newest migration applied to the database.
	SchemaVersion int64        `json:"schema_version"`
	Database      DatabaseInfo `json:"database"`
	Audit         AuditHead    `json:"audit"`
	BlobCount     int          `json:"blob_count"`
	BlobBytes     int64        `json:"blob_bytes"`
	// Blobs are in ascending SHA-256 order, each once.
	Blobs []BlobEntry `json:"blobs"`
}

// DatabaseInfo describes the dump and where it came from.
type DatabaseInfo struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Name and OwnerRole are the source database and the role that owns
	// its objects (and made the dump); restore connects as that role.
	Name          string `json:"name"`
	OwnerRole     string `json:"owner_role"`
	ServerVersion string `json:"server_version"`
	PGDumpVersion string `json:"pg_dump_version"`
}

// AuditHead is the newest audit seal in the snapshot; a restored database
// must end its seal chain there. Zero when the log was never sealed.
type AuditHead struct {
	LastSealID int64 `json:"last_seal_id"`
	// SealedUpto is the last audit.log id the seal covers.
	SealedUpto   int64  `json:"sealed_upto"`
	LastSealHash string `json:"last_seal_hash,omitempty"`
}

// BlobEntry is one blob of the backup: its address (hex SHA-256) and size.
type BlobEntry struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// ErrIncomplete: the directory has no manifest, so it is not a complete
// backup (the backup failed, or is still running).
var ErrIncomplete = errors.New("incomplete backup")

// ReadManifest reads and checks the manifest of the backup in dir. It
// wraps ErrIncomplete when there is none. It checks the manifest's own
// consistency, not the files it describes (see Check).
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, statErr := os.Stat(dir); statErr != nil {
			return nil, fmt.Errorf("backup %s: %w", dir, statErr)
		}
		return nil, fmt.Errorf("%w: %s has no %s (the backup failed or is still running)", ErrIncomplete, dir, ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: not valid JSON: %v", filepath.Join(dir, ManifestFile), err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Format != ManifestFormat {
		return fmt.Errorf("format %q, want %q", m.Format, ManifestFormat)
	}
	if m.Database.File != DumpFile {
		return fmt.Errorf("database file %q, want %q", m.Database.File, DumpFile)
	}
	if _, err := decodeSum(m.Database.SHA256); err != nil {
		return fmt.Errorf("database sha256: %w", err)
	}
	if m.Database.Size <= 0 {
		return fmt.Errorf("database size %d", m.Database.Size)
	}
	if m.Database.OwnerRole == "" {
		return errors.New("no owner role")
	}
	if m.BlobCount != len(m.Blobs) {
		return fmt.Errorf("blob_count %d but %d blobs listed", m.BlobCount, len(m.Blobs))
	}
	var total int64
	prev := ""
	for _, b := range m.Blobs {
		if _, err := decodeSum(b.SHA256); err != nil {
			return fmt.Errorf("blob %q: %w", b.SHA256, err)
		}
		if b.SHA256 <= prev {
			return fmt.Errorf("blob %s: not in ascending order or listed twice", b.SHA256)
		}
		if b.Size < 0 {
			return fmt.Errorf("blob %s: size %d", b.SHA256, b.Size)
		}
		prev = b.SHA256
		total += b.Size
	}
	if total != m.BlobBytes {
		return fmt.Errorf("blob_bytes %d but the blobs add up to %d", m.BlobBytes, total)
	}
	return nil
}

// decodeSum parses a lower-case hex SHA-256.
func decodeSum(h string) ([]byte, error) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 || strings.ToLower(h) != h {
		return nil, errors.New("not a lower-case hex SHA-256")
	}
	return b, nil
}

// writeManifest writes m as dir/manifest.json, atomically and durably.
func writeManifest(dir string, m *Manifest) error {
	return writeFileAtomic(filepath.Join(dir, ManifestFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
}

// writeFileAtomic writes path through a temporary file in the same
// directory: write, fsync, rename, fsync the directory. On error nothing
// is left under path or the temporary name.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	done = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// mkdirAllSynced creates dir and its missing parents, fsyncing each parent
// that got a new entry, so the directories survive a crash.
func mkdirAllSynced(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}
