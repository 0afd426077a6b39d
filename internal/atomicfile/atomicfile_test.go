package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/datamesh/mesh-node/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "file")
	for _, data := range []string{"first", "second, longer"} {
		if err := atomicfile.Write(path, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path, data, 0o640)
	}
	checkNoTemp(t, filepath.Dir(path))
}

func TestWriteNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "secret")
	created, err := atomicfile.WriteNew(path, []byte("mine"), 0o600)
	if err != nil || !created {
		t.Fatalf("first WriteNew: created %v, %v", created, err)
	}
	created, err = atomicfile.WriteNew(path, []byte("theirs"), 0o600)
	if err != nil || created {
		t.Fatalf("second WriteNew: created %v, %v; want false", created, err)
	}
	checkFile(t, path, "mine", 0o600)
	if info, err := os.Stat(filepath.Dir(path)); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v %v, want mode 0700", info, err)
	}
	checkNoTemp(t, filepath.Dir(path))
}

func checkFile(t *testing.T, path, want string, perm os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Fatalf("%s holds %q (%v), want %q", path, b, err, want)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != perm {
		t.Fatalf("%s: mode %v (%v), want %v", path, info.Mode().Perm(), err, perm)
	}
}

func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%s holds %d entries, want only the file: %v", dir, len(entries), entries)
	}
}
