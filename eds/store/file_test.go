package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// TestFileSquareMatchesValueAndSurvivesReopen stores one square through a
// file and the same square as a Badger value, reads both back, byte for
// byte, and again after the database is closed and opened; with the files
// synced (a bridge) and not (a full node, Options.UnsyncedFiles).
func TestFileSquareMatchesValueAndSurvivesReopen(t *testing.T) {
	for _, unsynced := range []bool{false, true} {
		t.Run(fmt.Sprintf("unsynced=%v", unsynced), func(t *testing.T) { fileSquareMatchesValue(t, unsynced) })
	}
}

func fileSquareMatchesValue(t *testing.T, unsynced bool) {
	ctx := context.Background()
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	s := New(db, Options{CacheSize: -1, UnsyncedFiles: unsynced})
	if !s.Files() || s.FileDir() != filepath.Join(dir, FileDirName) {
		t.Fatalf("Files %v FileDir %q", s.Files(), s.FileDir())
	}
	e := testSquare(t, 5)
	put(t, db, s, 1, e)
	w, err := s.StartWrite(2, e.ODSRows())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(w.Commit); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		inline, err := s.ODS(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		file, err := s.ODS(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.Join(inline, nil), bytes.Join(file, nil)) || !bytes.Equal(bytes.Join(file, nil), bytes.Join(e.ODS(), nil)) {
			t.Fatal("the square read from its file is not the one stored")
		}
		got, err := s.EDS(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		sameRoots(t, got, e)
	}
	check(s)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	check(New(db, Options{CacheSize: -1}))
}

// TestFileSquareUncommittedIsInvisible: a file written whose reference
// never committed (a crash between the two, or a failed transaction) is
// not a stored square, and Prune removes it; Abort removes its own file.
func TestFileSquareUncommittedIsInvisible(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	s := New(db, Options{CacheSize: -1})
	e := testSquare(t, 3)
	w, err := s.StartWrite(1, e.ODSRows())
	if err != nil {
		t.Fatal(err)
	}
	txn := db.NewTransaction(true)
	if err := w.Commit(txn); err != nil {
		t.Fatal(err)
	}
	txn.Discard() // the crash: file on disk, reference never committed
	if ok, err := s.Has(ctx, 1); err != nil || ok {
		t.Fatalf("Has = %v, %v for an uncommitted square", ok, err)
	}
	if _, err := s.ODS(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ODS: %v, want ErrNotFound", err)
	}
	if n := countFiles(t, s); n != 1 {
		t.Fatalf("%d files, want the orphan", n)
	}
	if _, err := s.Prune(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, s); n != 0 {
		t.Fatalf("%d files after Prune, want 0", n)
	}

	w, err = s.StartWrite(1, e.ODSRows())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, s); n != 0 {
		t.Fatalf("%d files after Abort, want 0", n)
	}
}

// TestFileSquareDeleteAndPrune: Delete then Forget, and Prune, remove the
// squares' files; a square above Prune's bound keeps its file.
func TestFileSquareDeleteAndPrune(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	s := New(db, Options{})
	e := testSquare(t, 2)
	for h := uint64(1); h <= 3; h++ {
		w, err := s.StartWrite(h, e.ODSRows())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(w.Commit); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(func(txn *badger.Txn) error { return s.Delete(txn, 1) }); err != nil {
		t.Fatal(err)
	}
	s.Forget(1)
	if n := countFiles(t, s); n != 2 {
		t.Fatalf("%d files after deleting one of 3, want 2", n)
	}
	if n, err := s.Prune(ctx, 3); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	if n := countFiles(t, s); n != 1 {
		t.Fatalf("%d files after pruning below 3, want 1", n)
	}
	if _, err := s.ODS(ctx, 3); err != nil {
		t.Fatal(err)
	}
}

// TestFileSquareCorrupt: a missing, short or altered file is ErrCorrupt,
// reported to OnCorrupt.
func TestFileSquareCorrupt(t *testing.T) {
	ctx := context.Background()
	for _, damage := range []string{"missing", "short", "flipped", "long"} {
		t.Run(damage, func(t *testing.T) {
			db := badgertest.Open(t)
			var reported error
			s := New(db, Options{CacheSize: -1, OnCorrupt: func(_ uint64, err error) { reported = err }})
			e := testSquare(t, 2)
			w, err := s.StartWrite(1, e.ODSRows())
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(w.Commit); err != nil {
				t.Fatal(err)
			}
			path := w.path
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "missing":
				err = os.Remove(path)
			case "short":
				err = os.WriteFile(path, b[:len(b)-1], 0o600)
			case "flipped":
				b[len(b)/2] ^= 1
				err = os.WriteFile(path, b, 0o600)
			case "long":
				err = os.WriteFile(path, append(b, 0), 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.ODS(ctx, 1); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ODS: %v, want ErrCorrupt", err)
			}
			if !errors.Is(reported, ErrCorrupt) {
				t.Fatalf("OnCorrupt got %v", reported)
			}
		})
	}
}

// TestStartWriteRefusesBadInput: rows that are not a square, and a
// database in memory.
func TestStartWriteRefusesBadInput(t *testing.T) {
	db := badgertest.Open(t)
	s := New(db, Options{})
	rows := testSquare(t, 1).ODSRows()
	if _, err := s.StartWrite(1, append(rows, rows[0])); err == nil {
		t.Errorf("%d rows accepted", len(rows)+1)
	}
	if _, err := s.StartWrite(1, [][]byte{make([]byte, 10)}); err == nil {
		t.Error("a short row accepted")
	}
	mem, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if ms := New(mem, Options{}); ms.Files() {
		t.Error("an in-memory database has files")
	} else if _, err := ms.StartWrite(1, rows); err == nil {
		t.Error("StartWrite on an in-memory database")
	}
}

func countFiles(t testing.TB, s *Store) int {
	t.Helper()
	es, err := os.ReadDir(s.FileDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// FuzzDecodeRef: a stored file reference never panics its decoder, and
// what it accepts names a square of power-of-two width up to
// eds.MaxSquareSize and encodes back to the same bytes.
func FuzzDecodeRef(f *testing.F) {
	f.Add(ref{k: 1, crc: 7, id: 9}.encode())
	f.Add(ref{k: eds.MaxSquareSize, crc: 0xffffffff, id: 1 << 63}.encode())
	f.Add([]byte{odsFileVersion, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{odsFileVersion, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{odsVersion})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeRef(v)
		if err != nil {
			return
		}
		if r.k <= 0 || r.k&(r.k-1) != 0 || r.k > eds.MaxSquareSize {
			t.Fatalf("accepted a square of width %d", r.k)
		}
		if !bytes.Equal(r.encode(), v) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", v, r, r.encode())
		}
	})
}
