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
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// testSquare returns the extended square of a block with n blobs.
func testSquare(t testing.TB, n int) *eds.ExtendedDataSquare {
	t.Helper()
	var txs [][]byte
	for i := range n {
		id := make([]byte, share.NamespaceVersionZeroIDSize)
		id[0], id[1] = 0x42, byte(i)
		ns, err := share.NewV0Namespace(id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := share.NewBlob(ns, bytes.Repeat([]byte{byte(i + 1)}, 700*(i+1)), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		btx, err := share.MarshalBlobTx([]byte(fmt.Sprint("pfb ", i)), b)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, btx)
	}
	return edstest.BuildEDS(t, txs, share.DefaultMaxSquareSize)
}

func put(t testing.TB, db *badger.DB, s *Store, height uint64, e *eds.ExtendedDataSquare) {
	t.Helper()
	if err := db.Update(func(txn *badger.Txn) error { return s.Put(txn, height, e) }); err != nil {
		t.Fatal(err)
	}
}

func sameRoots(t testing.TB, a, b *eds.ExtendedDataSquare) {
	t.Helper()
	da, err := eds.NewDAH(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := eds.NewDAH(b)
	if err != nil {
		t.Fatal(err)
	}
	if !da.Equals(db) {
		t.Fatal("squares have different roots")
	}
}

func TestPutGetReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	s := New(db, Options{CacheSize: -1}) // no cache: every read goes to disk
	squares := []*eds.ExtendedDataSquare{testSquare(t, 1), testSquare(t, 4), testSquare(t, 9)}
	for i, e := range squares {
		put(t, db, s, uint64(i+1), e)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	s = New(db, Options{})
	for i, want := range squares {
		h := uint64(i + 1)
		ok, err := s.Has(ctx, h)
		if err != nil || !ok {
			t.Fatalf("Has(%d) = %v, %v", h, ok, err)
		}
		ods, err := s.ODS(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		wantODS := want.ODS()
		if len(ods) != len(wantODS) {
			t.Fatalf("height %d: %d shares, want %d", h, len(ods), len(wantODS))
		}
		for j := range ods {
			if !bytes.Equal(ods[j], wantODS[j]) {
				t.Fatalf("height %d: share %d differs", h, j)
			}
		}
		got, err := s.EDS(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		sameRoots(t, got, want)
		if again, _ := s.EDS(ctx, h); again != got {
			t.Fatal("second EDS read did not come from the cache")
		}
	}
	for _, h := range []uint64{0, 4, 1 << 40} {
		if _, err := s.ODS(ctx, h); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ODS(%d): %v, want ErrNotFound", h, err)
		}
		if _, err := s.EDS(ctx, h); !errors.Is(err, ErrNotFound) {
			t.Fatalf("EDS(%d): %v, want ErrNotFound", h, err)
		}
		if ok, err := s.Has(ctx, h); ok || err != nil {
			t.Fatalf("Has(%d) = %v, %v", h, ok, err)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	s := New(db, Options{CacheSize: 3})
	e := testSquare(t, 2)
	for h := uint64(1); h <= 10; h++ {
		put(t, db, s, h, e)
		s.Cache(h, e)
	}
	if n := s.cache.len(); n != 3 {
		t.Fatalf("%d cached squares, want 3", n)
	}
	// The least recently used went first: 8, 9, 10 are left.
	if s.cache.get(7) != nil || s.cache.get(8) == nil {
		t.Fatal("the cache did not evict the least recently used squares")
	}
	// Reading an evicted height extends it again and caches it.
	got, err := s.EDS(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sameRoots(t, got, e)
	if s.cache.get(1) == nil || s.cache.len() != 3 {
		t.Fatal("a read square was not cached within the bound")
	}
}

// The cache is bounded in bytes as well as in squares: with room for two
// small squares, a third evicts the least
// recently used, and a square over the whole bound is not cached (and
// drops an older copy of its height).
func TestCacheIsBoundedInBytes(t *testing.T) {
	db := badgertest.Open(t)
	small := testSquare(t, 1)
	size := squareBytes(small)
	if w := int64(small.Width()); size != w*w*share.ShareSize {
		t.Fatalf("a square of width %d counts %d bytes", w, size)
	}
	s := New(db, Options{CacheSize: 10, CacheBytes: 2 * size})
	for h := uint64(1); h <= 3; h++ {
		put(t, db, s, h, small)
		s.Cache(h, small)
	}
	if s.cache.len() != 2 || s.cache.get(1) != nil || s.cache.get(3) == nil || s.cache.bytes != 2*size {
		t.Fatalf("%d squares, %d bytes cached; want heights 2 and 3, %d bytes", s.cache.len(), s.cache.bytes, 2*size)
	}
	big := testSquare(t, 24)
	if squareBytes(big) <= 2*size {
		t.Fatalf("the big square has %d bytes, not over the bound %d", squareBytes(big), 2*size)
	}
	put(t, db, s, 3, big)
	s.Cache(3, big)
	if s.cache.get(3) != nil || s.cache.len() != 1 || s.cache.bytes != size {
		t.Fatalf("a square over the bound: %d squares, %d bytes cached", s.cache.len(), s.cache.bytes)
	}
	s.Forget(2)
	if s.cache.len() != 0 || s.cache.bytes != 0 {
		t.Fatalf("after Forget: %d squares, %d bytes", s.cache.len(), s.cache.bytes)
	}
	// Negative: no byte bound, only the count.
	s = New(db, Options{CacheSize: 2, CacheBytes: -1})
	s.Cache(1, big)
	s.Cache(2, big)
	if s.cache.len() != 2 {
		t.Fatalf("without a byte bound: %d squares", s.cache.len())
	}
}

func TestCorruptValue(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	var reported []uint64
	s := New(db, Options{OnCorrupt: func(h uint64, err error) {
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("reported %v", err)
		}
		reported = append(reported, h)
	}})
	for i, v := range [][]byte{nil, {0x02}, append([]byte{odsVersion}, make([]byte, 3*share.ShareSize)...),
		append([]byte{odsVersion}, make([]byte, 100)...)} {
		h := uint64(i + 1)
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(Key(h), v) }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EDS(ctx, h); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("corrupt value %d: %v, want ErrCorrupt", i, err)
		}
		if _, err := s.ODS(ctx, h); !errors.Is(err, ErrCorrupt) && i != 2 { // 3 zero shares decode, and do not extend
			t.Fatalf("corrupt value %d: ODS: %v, want ErrCorrupt", i, err)
		}
	}
	if len(reported) < 4 || reported[0] != 1 || reported[len(reported)-1] != 4 {
		t.Fatalf("reported %v", reported)
	}
}

// A square whose value-log entry is damaged on disk reads back as
// ErrCorrupt (Badger itself returns an empty value), is reported, and is
// gone once deleted; the other square reads as before.
func TestCorruptValueLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := badgerdb.Options(dir).WithValueThreshold(1 << 10) // squares go to the value log
	db, err := badgerdb.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	e := testSquare(t, 3)
	s := New(db, Options{CacheSize: -1})
	put(t, db, s, 1, e)
	put(t, db, s, 2, e)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	vlogs, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil || len(vlogs) == 0 {
		t.Fatalf("no value log: %v", err)
	}
	f, err := os.OpenFile(vlogs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	// Inside height 2's value, the log's last entry.
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 64), fi.Size()-1000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = badgerdb.Open(opts); err != nil {
		t.Fatalf("the value log's structure is intact, open: %v", err)
	}
	defer db.Close()
	var reported []uint64
	s = New(db, Options{CacheSize: -1, OnCorrupt: func(h uint64, _ error) { reported = append(reported, h) }})
	if _, err := s.EDS(ctx, 2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("EDS of the damaged square: %v, want ErrCorrupt", err)
	}
	if fmt.Sprint(reported) != "[2]" {
		t.Fatalf("reported %v, want [2]", reported)
	}
	got, err := s.EDS(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sameRoots(t, got, e)
	if err := db.Update(func(txn *badger.Txn) error { return s.Delete(txn, 2) }); err != nil {
		t.Fatal(err)
	}
	s.Forget(2)
	if ok, err := s.Has(ctx, 2); ok || err != nil {
		t.Fatalf("Has after Delete: %v, %v", ok, err)
	}
	if _, err := s.EDS(ctx, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("EDS after Delete: %v, want ErrNotFound", err)
	}
}

func BenchmarkEDSFromDisk(b *testing.B) {
	ctx := context.Background()
	db := badgertest.Open(b)
	s := New(db, Options{CacheSize: -1})
	e := testSquare(b, 12)
	put(b, db, s, 1, e)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.EDS(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode: a stored value never panics the decoder, and what it accepts
// is a whole square of whole shares.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{odsVersion})
	f.Add(append([]byte{odsVersion}, make([]byte, share.ShareSize)...))
	f.Add(append([]byte{odsVersion}, make([]byte, 4*share.ShareSize)...))
	f.Add(append([]byte{0x02}, make([]byte, share.ShareSize)...))
	f.Fuzz(func(t *testing.T, v []byte) {
		ods, err := decode(v)
		if err != nil {
			return
		}
		k := 1
		for k*k < len(ods) {
			k *= 2
		}
		if k*k != len(ods) {
			t.Fatalf("accepted %d shares", len(ods))
		}
		for _, s := range ods {
			if len(s) != share.ShareSize {
				t.Fatalf("accepted a share of %d bytes", len(s))
			}
		}
	})
}

// SharedODS gives the stored original square, from the cache (aliasing
// the cached square) or from disk, and ErrNotFound for a missing height.
func TestSharedODS(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	s := New(db, Options{})
	e := testSquare(t, 3)
	put(t, db, s, 1, e)
	want := e.FlattenedODS()
	check := func(how string) {
		t.Helper()
		got, err := s.SharedODS(ctx, 1)
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d shares, want %d", how, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: share %d differs", how, i)
			}
		}
	}
	s.Forget(1)
	check("from disk")
	if _, err := s.EDS(ctx, 1); err != nil { // caches it
		t.Fatal(err)
	}
	check("from the cache")
	if _, err := s.SharedODS(ctx, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing height: %v", err)
	}
}
