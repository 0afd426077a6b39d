package badgerdb_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

const values = 200

func key(i int) []byte { return fmt.Appendf(nil, "k%04d", i) }

func value(i int) []byte {
	v := make([]byte, 20000+i) // above the value threshold: in the value log
	for j := range v {
		v[j] = byte(i + j)
	}
	return v
}

// fill writes values keys, enough for two tables and a value log, and
// closes the store.
func fill(t *testing.T, dir string) {
	t.Helper()
	db, err := badgerdb.Open(badgerdb.Options(dir).WithMemTableSize(1 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	for i := range values {
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(key(i), value(i)) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// digest is every file's name, mode, size and content hash in dir.
func digest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%v %d %x", fi.Mode(), len(b), sha256.Sum256(b))
	}
	return out
}

func first(t *testing.T, dir, glob string) string {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil || len(ms) == 0 {
		t.Fatalf("no %s in %s (%v)", glob, dir, err)
	}
	return ms[0]
}

func halve(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesDamagedStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string) string // returns the damaged file's name
	}{
		{"truncated MANIFEST", func(t *testing.T, dir string) string {
			if err := os.Truncate(filepath.Join(dir, badger.ManifestFilename), 10); err != nil {
				t.Fatal(err)
			}
			return badger.ManifestFilename
		}},
		{"MANIFEST cut to its magic", func(t *testing.T, dir string) string {
			if err := os.Truncate(filepath.Join(dir, badger.ManifestFilename), 8); err != nil {
				t.Fatal(err)
			}
			return badger.ManifestFilename
		}},
		{"missing MANIFEST", func(t *testing.T, dir string) string {
			if err := os.Remove(filepath.Join(dir, badger.ManifestFilename)); err != nil {
				t.Fatal(err)
			}
			return badger.ManifestFilename
		}},
		{"garbage MANIFEST", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, badger.ManifestFilename), []byte("not a manifest at all"), 0o600); err != nil {
				t.Fatal(err)
			}
			return badger.ManifestFilename
		}},
		{"half-truncated table", func(t *testing.T, dir string) string {
			p := first(t, dir, "*.sst")
			halve(t, p)
			return filepath.Base(p)
		}},
		{"missing table", func(t *testing.T, dir string) string {
			p := first(t, dir, "*.sst")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return filepath.Base(p)
		}},
		{"half-truncated value log", func(t *testing.T, dir string) string {
			p := first(t, dir, "*.vlog")
			halve(t, p)
			return filepath.Base(p)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fill(t, dir)
			file := tc.damage(t, dir)
			before := digest(t, dir)
			db, err := badgerdb.Open(badgerdb.Options(dir))
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded on a damaged store")
			}
			var de *badgerdb.DamagedError
			if !errors.Is(err, badgerdb.ErrDamaged) || !errors.As(err, &de) {
				t.Fatalf("Open: %v, want a DamagedError", err)
			}
			if de.File != file || de.Dir != dir {
				t.Errorf("damaged file %s in %s, want %s in %s (%v)", de.File, de.Dir, file, dir, err)
			}
			after := digest(t, dir)
			if fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("the directory changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestOpenKeepsData(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir)
	// A table the MANIFEST never named, as an interrupted flush leaves.
	b, err := os.ReadFile(first(t, dir, "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "000099.sst"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := badgerdb.Open(badgerdb.Options(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(txn *badger.Txn) error {
		for i := range values {
			it, err := txn.Get(key(i))
			if err != nil {
				return err
			}
			v, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			if string(v) != string(value(i)) {
				return fmt.Errorf("value %d differs", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenMakesFilesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	fill(t, dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := badgerdb.Open(badgerdb.Options(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != badgerdb.DirMode {
		t.Errorf("%s is %v, want %v", dir, fi.Mode().Perm(), badgerdb.DirMode)
	}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n++
		if fi.Mode().Perm() != badgerdb.FileMode {
			t.Errorf("%s is %v, want %v", p, fi.Mode().Perm(), badgerdb.FileMode)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk: %v, %d files", err, n)
	}
}

func TestOpenNewStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "data")
	db, err := badgerdb.Open(badgerdb.Options(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := badgerdb.Check(badgerdb.Options(dir)); err != nil {
		t.Fatal(err)
	}
}

// ReadUint64 reads 8 big-endian bytes, 0 for a missing key, and refuses
// a value of another size.
func TestReadUint64(t *testing.T) {
	db := badgertest.Open(t)
	if err := db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("h"), []byte{0, 0, 0, 0, 0, 0, 1, 2}); err != nil {
			return err
		}
		return txn.Set([]byte("short"), []byte{1, 2})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(txn *badger.Txn) error {
		if v, err := badgerdb.ReadUint64(txn, []byte("h")); v != 258 || err != nil {
			t.Errorf("h: %d, %v", v, err)
		}
		if v, err := badgerdb.ReadUint64(txn, []byte("missing")); v != 0 || err != nil {
			t.Errorf("missing: %d, %v", v, err)
		}
		if _, err := badgerdb.ReadUint64(txn, []byte("short")); err == nil {
			t.Error("a 2-byte value read as a height")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
