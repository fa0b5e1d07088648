package backup

import (
	"slices"
	"testing"
)

func TestBackupNamesSortByStartThenSuffix(t *testing.T) {
	names := []string{"20261129T150405Z-10", "20261129T150406Z", "20261129T150405Z", "20261129T150405Z-2", "20251231T235959Z", "20261129T150405Z-9"}
	slices.SortFunc(names, compareBackupNames)
	want := []string{"20251231T235959Z", "20261129T150405Z", "20261129T150405Z-2", "20261129T150405Z-9", "20261129T150405Z-10", "20261129T150406Z"}
	if !slices.Equal(names, want) {
		t.Fatalf("sorted %v, want %v", names, want)
	}
	for _, name := range names {
		if !backupDirName.MatchString(name) {
			t.Errorf("%s is not recognized as a backup directory", name)
		}
	}
	for _, name := range []string{"blobs", "keep-me", "20261129T150405", "20261129T150405Z-", "x20261129T150405Z"} {
		if backupDirName.MatchString(name) {
			t.Errorf("%s is taken for a backup directory", name)
		}
	}
}
