package blob_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// indexKeys counts the keys the index keeps.
func indexKeys(t *testing.T, db *badger.DB) int {
	t.Helper()
	n := 0
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("blob/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newIndex(t *testing.T, db *badger.DB, squares blob.SquareSource) *blob.Index {
	t.Helper()
	ix, err := blob.NewIndex(blob.IndexOptions{DB: db, Squares: squares, IsNotFound: func(err error) bool { return errors.Is(err, errNoSquare) }})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func checkLookup(t *testing.T, ix *blob.Index, b *blob.Blob, wantHeight uint64) {
	t.Helper()
	h, ns, index, err := ix.Lookup(context.Background(), b.Commitment)
	if err != nil {
		t.Fatalf("Lookup %X: %v", b.Commitment, err)
	}
	if h != wantHeight || ns != b.Namespace || index != b.Index {
		t.Fatalf("Lookup = height %d ns %s index %d; want %d %s %d", h, ns, index, wantHeight, b.Namespace, b.Index)
	}
}

func TestIndex(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	f := newFixture(t, 4, 4)
	ix := newIndex(t, db, f.getter)

	for h := uint64(1); h <= 3; h++ {
		if err := ix.Index(ctx, h, f.getter.squares[h]); err != nil {
			t.Fatal(err)
		}
	}
	for h := uint64(1); h <= 3; h++ {
		for _, b := range f.expected(t, h) {
			checkLookup(t, ix, b, h)
		}
	}
	// Idempotent: indexing a height again writes nothing.
	n := indexKeys(t, db)
	if err := ix.Index(ctx, customHeight, f.getter.squares[customHeight]); err != nil {
		t.Fatal(err)
	}
	if got := indexKeys(t, db); got != n {
		t.Fatalf("re-indexing changed the key count from %d to %d", n, got)
	}
	// Unknown and malformed commitments.
	for _, c := range []blob.Commitment{make([]byte, 32), {1, 2, 3}, nil} {
		if _, _, _, err := ix.Lookup(ctx, c); !errors.Is(err, blob.ErrBlobNotFound) {
			t.Fatalf("Lookup %X: %v, want ErrBlobNotFound", []byte(c), err)
		}
	}
	if err := ix.Index(ctx, 9, nil); err == nil {
		t.Fatal("indexing a nil square succeeded")
	}

	// CatchUp indexes height 4, skips 5 and 6 (no square), and leaves
	// indexed heights alone.
	if ok, _ := ix.Indexed(ctx, 4); ok {
		t.Fatal("height 4 indexed before CatchUp")
	}
	if err := ix.CatchUp(ctx, 1, 6); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[uint64]bool{1: true, 4: true, 5: false, 6: false} {
		if ok, err := ix.Indexed(ctx, h); err != nil || ok != want {
			t.Fatalf("Indexed(%d) = %v, %v; want %v", h, ok, err, want)
		}
	}
	for _, b := range f.expected(t, 4) {
		checkLookup(t, ix, b, 4)
	}
	if err := newIndex(t, db, failingSquares{}).CatchUp(ctx, 7, 8); err == nil {
		t.Fatal("CatchUp over a failing square source succeeded")
	}
	if err := newIndex(t, db, nil).CatchUp(ctx, 7, 8); err == nil {
		t.Fatal("CatchUp without a square source succeeded")
	}

	// The same blobs at a later height: Lookup returns the newest.
	if err := ix.Index(ctx, 10, f.getter.squares[customHeight]); err != nil {
		t.Fatal(err)
	}
	custom := f.expected(t, customHeight)
	for _, b := range custom {
		checkLookup(t, ix, b, 10)
	}

	// GetByCommitment reads the blob back from the square the index names.
	svc, err := blob.NewService(blob.Options{Headers: f.store, Getter: f.getter, Index: ix})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.GetByCommitment(ctx, f.expected(t, 3)[0].Commitment)
	if err != nil || r.Height != 3 {
		t.Fatalf("GetByCommitment = %+v, %v", r, err)
	}
	sameBlob(t, r.Blob, f.expected(t, 3)[0])
	if _, err := svc.GetByCommitment(ctx, make([]byte, 32)); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Fatalf("GetByCommitment of an unknown commitment: %v", err)
	}

	// The index survives a restart.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	ix = newIndex(t, db, f.getter)
	checkLookup(t, ix, f.expected(t, 1)[0], 1)

	// Prune below 5 keeps height 10 only.
	if err := ix.Prune(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for _, b := range custom {
		checkLookup(t, ix, b, 10)
	}
	if _, _, _, err := ix.Lookup(ctx, f.expected(t, 1)[0].Commitment); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Fatalf("Lookup of a pruned blob: %v", err)
	}
	if ok, _ := ix.Indexed(ctx, 4); ok {
		t.Fatal("height 4 still marked after Prune")
	}
	if err := ix.Prune(ctx, 11); err != nil {
		t.Fatal(err)
	}
	if n := indexKeys(t, db); n != 0 {
		t.Fatalf("%d keys left after pruning everything", n)
	}
}

func TestIndexPruneManyBatches(t *testing.T) {
	ctx := ctxT(t)
	db := badgertest.Open(t)
	f := newFixture(t, 2, 2)
	ix := newIndex(t, db, f.getter)
	e := f.getter.squares[1]
	const heights = 300
	for h := uint64(1); h <= heights; h++ {
		if err := ix.Index(ctx, h, e); err != nil {
			t.Fatal(err)
		}
	}
	blobs := f.expected(t, 1)
	perHeight := 2*len(blobs) + 1
	if n := indexKeys(t, db); n != heights*perHeight {
		t.Fatalf("%d keys, want %d", n, heights*perHeight)
	}
	if err := ix.Prune(ctx, heights); err != nil {
		t.Fatal(err)
	}
	if n := indexKeys(t, db); n != perHeight {
		t.Fatalf("%d keys after pruning below the last height, want %d", n, perHeight)
	}
	checkLookup(t, ix, blobs[0], heights)
}

type failingSquares struct{}

func (failingSquares) EDS(context.Context, uint64) (*eds.ExtendedDataSquare, error) {
	return nil, errors.New("disk on fire")
}

func TestIndexSquareLargerThanATransaction(t *testing.T) {
	// A memtable this small makes Badger refuse a transaction of more
	// than a dozen keys, fewer than a height of six blobs needs.
	ctx := ctxT(t)
	db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil).WithMemTableSize(8 << 10).WithValueThreshold(64))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	txn := db.NewTransaction(true)
	var tooBig error
	for i := 0; i < 13 && tooBig == nil; i++ {
		tooBig = txn.Set(append([]byte("blob/probe/"), byte(i)), make([]byte, 33))
	}
	txn.Discard()
	if !errors.Is(tooBig, badger.ErrTxnTooBig) {
		t.Fatalf("13 keys fit one transaction (%v); the test does not exercise the split", tooBig)
	}
	f := newFixture(t, 2, 2)
	ix := newIndex(t, db, f.getter)
	if err := ix.Index(ctx, 1, f.getter.squares[1]); err != nil {
		t.Fatal(err)
	}
	blobs := f.expected(t, 1)
	for _, b := range blobs {
		checkLookup(t, ix, b, 1)
	}
	if n := indexKeys(t, db); n != 2*len(blobs)+1 {
		t.Fatalf("%d keys, want %d", n, 2*len(blobs)+1)
	}
}

// countingSquares serves the squares of heights in have, counting calls.
type countingSquares struct {
	squares map[uint64]*eds.ExtendedDataSquare
	have    map[uint64]bool
	calls   map[uint64]int
}

func (c *countingSquares) EDS(_ context.Context, h uint64) (*eds.ExtendedDataSquare, error) {
	c.calls[h]++
	if !c.have[h] {
		return nil, fmt.Errorf("%w: height %d", errNoSquare, h)
	}
	return c.squares[h], nil
}

// CatchUp keeps a checkpoint: a restart reads no square below it, and a
// height whose square was missing stops it, so that square is caught up
// once it is stored.
func TestIndexCatchUpCheckpoint(t *testing.T) {
	ctx := ctxT(t)
	db := badgertest.Open(t)
	f := newFixture(t, 4, 4)
	src := &countingSquares{squares: f.getter.squares, have: map[uint64]bool{1: true, 2: true, 4: true}, calls: map[uint64]int{}}
	ix := newIndex(t, db, src)
	if err := ix.CatchUp(ctx, 1, 4); err != nil {
		t.Fatal(err)
	}
	src.have[3] = true // stored later, never indexed (a crash in between)
	clear(src.calls)
	if err := newIndex(t, db, src).CatchUp(ctx, 1, 4); err != nil {
		t.Fatal(err)
	}
	// Heights 1 and 2 are below the checkpoint; 4 is marked indexed.
	if want := map[uint64]int{3: 1}; !maps.Equal(src.calls, want) {
		t.Fatalf("second CatchUp read squares %v, want %v", src.calls, want)
	}
	if ok, err := ix.Indexed(ctx, 3); err != nil || !ok {
		t.Fatalf("height 3 after the second CatchUp: indexed %v, %v", ok, err)
	}
	clear(src.calls)
	if err := ix.CatchUp(ctx, 1, 4); err != nil {
		t.Fatal(err)
	}
	if len(src.calls) != 0 {
		t.Fatalf("third CatchUp read squares %v, want none", src.calls)
	}
}

// Delete removes one height's entries, in the caller's transaction, and
// leaves the others.
func TestIndexDelete(t *testing.T) {
	ctx := ctxT(t)
	db := badgertest.Open(t)
	f := newFixture(t, 4, 4)
	ix := newIndex(t, db, f.getter)
	for h := uint64(1); h <= 3; h++ {
		if err := ix.Index(ctx, h, f.getter.squares[h]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Update(func(txn *badger.Txn) error { return ix.Delete(txn, 2) }); err != nil {
		t.Fatal(err)
	}
	if ok, err := ix.Indexed(ctx, 2); ok || err != nil {
		t.Fatalf("Indexed(2) after Delete = %v, %v", ok, err)
	}
	for _, b := range f.expected(t, 2) {
		if h, _, _, err := ix.Lookup(ctx, b.Commitment); err == nil && h == 2 {
			t.Fatalf("Lookup %X still finds height 2", []byte(b.Commitment))
		}
	}
	for _, h := range []uint64{1, 3} {
		for _, b := range f.expected(t, h) {
			checkLookup(t, ix, b, h)
		}
	}
	// Indexed again once its square is stored again.
	if err := ix.Index(ctx, 2, f.getter.squares[2]); err != nil {
		t.Fatal(err)
	}
	for _, b := range f.expected(t, 2) {
		checkLookup(t, ix, b, 2)
	}
}

// sizeExtension records each blob's data length under
// "test/<height 8><commitment>", or, with badKey, a key under "blob/".
type sizeExtension struct{ badKey bool }

func (e sizeExtension) BlobEntries(height uint64, b *share.Blob, c blob.Commitment) []blob.IndexEntry {
	key := binary.BigEndian.AppendUint64([]byte("test/"), height)
	if e.badKey {
		key = []byte("blob/mine")
	}
	return []blob.IndexEntry{{Key: append(key, c...), Value: binary.BigEndian.AppendUint64(nil, uint64(len(b.Data())))}}
}

// extensionKeys returns the extension's entries: key -> value.
func extensionKeys(t *testing.T, db *badger.DB) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("test/")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().Key())] = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIndexExtension: an IndexExtension's entries are written with each
// height's blob entries (one per blob, its value what the extension
// computed), once however often the height is indexed, and go with the
// height's entries in Delete and Prune. An extension key under "blob/"
// fails the indexing and writes nothing.
func TestIndexExtension(t *testing.T) {
	ctx := ctxT(t)
	db := badgertest.OpenAt(t, t.TempDir())
	f := newFixture(t, 4, 4)
	ix, err := blob.NewIndex(blob.IndexOptions{DB: db, Extension: sizeExtension{}})
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 3; h++ {
		if err := ix.Index(ctx, h, f.getter.squares[h]); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]uint64{}
	for h := uint64(1); h <= 3; h++ {
		for _, b := range f.expected(t, h) {
			key := append(binary.BigEndian.AppendUint64([]byte("test/"), h), b.Commitment...)
			want[string(key)] = uint64(len(b.Data))
		}
	}
	if got := extensionKeys(t, db); !maps.Equal(got, want) {
		t.Fatalf("extension entries %v, want %v", got, want)
	}
	n := indexKeys(t, db)
	if err := ix.Index(ctx, 2, f.getter.squares[2]); err != nil {
		t.Fatal(err)
	}
	if indexKeys(t, db) != n || len(extensionKeys(t, db)) != len(want) {
		t.Fatal("re-indexing a height wrote again")
	}

	if err := db.Update(func(txn *badger.Txn) error { return ix.Delete(txn, 2) }); err != nil {
		t.Fatal(err)
	}
	if err := ix.Prune(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for k := range want {
		if h := binary.BigEndian.Uint64([]byte(k)[len("test/"):]); h != 3 {
			delete(want, k)
		}
	}
	if got := extensionKeys(t, db); len(want) == 0 || !maps.Equal(got, want) {
		t.Fatalf("after Delete(2) and Prune(2): %d extension entries, want height 3's %d", len(got), len(want))
	}
	if err := ix.Prune(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if got := extensionKeys(t, db); len(got) != 0 || indexKeys(t, db) != 0 {
		t.Fatalf("after Prune(4): %d extension entries, %d blob/ keys", len(got), indexKeys(t, db))
	}

	bad, err := blob.NewIndex(blob.IndexOptions{DB: db, Extension: sizeExtension{badKey: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Index(ctx, 1, f.getter.squares[1]); err == nil {
		t.Fatal("an extension key under blob/ was accepted")
	}
	if ok, _ := bad.Indexed(ctx, 1); ok || indexKeys(t, db) != 0 {
		t.Fatal("a failed indexing wrote keys")
	}
}
