package nodebuilder_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// TestOpenBadgerPrivate checks that a store's directory and files are the
// owner's only, including files Badger made 0644 and a directory made by
// an older version with 0755.
func TestOpenBadgerPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	open := func() {
		t.Helper()
		db, err := nodebuilder.OpenBadger(badger.DefaultOptions(dir).WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *badger.Txn) error { return tx.Set([]byte("k"), []byte("v")) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	open()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	open()
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	existed := map[string]bool{}
	for _, e := range before {
		existed[e.Name()] = true
	}
	// A third open sets what the first two made.
	open()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %o", dir, info.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if existed[e.Name()] {
			t.Errorf("%s: mode %o", e.Name(), info.Mode().Perm())
		} else {
			// Made by the last open, after the chmod: private by the directory.
			t.Logf("%s: mode %o, behind the 0700 directory", e.Name(), info.Mode().Perm())
		}
	}
}
