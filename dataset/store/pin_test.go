package store_test

import (
	"bytes"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/dataset/store"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// pinning returns a new database with c's indexes over it (nothing
// indexed yet), the Pins of roots and the Blockstore reading them first.
func (c *chain) pinning(t *testing.T, roots ...cid.Cid) (*badger.DB, *blob.Index, *store.Pins, *store.Blockstore) {
	t.Helper()
	db := badgertest.Open(t)
	ds, bix := c.indexes(t, db)
	pins, err := store.NewPins(store.PinOptions{DB: db, Index: ds, Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := store.NewBlockstore(ds, c.squares, store.BlockstoreOptions{Pins: pins})
	if err != nil {
		t.Fatal(err)
	}
	return db, bix, pins, bs
}

// TestPinSurvivesPruning: a pinned dataset whose parts are not all
// indexed yet is pinned partly, completed by a later Sync once the rest
// is indexed, and served from Badger after its heights are pruned from
// the blob index and its squares are gone; an unpinned dataset pruned the
// same way is not found.
func TestPinSurvivesPruning(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	other := newChain(t) // the same dataset A: pinned by c's node only
	db, bix, pins, bs := c.pinning(t, c.root)

	// Height 1 only: A's DAG is incomplete.
	if err := bix.Index(ctx, 1, c.squares.byHeight[1]); err != nil {
		t.Fatal(err)
	}
	if n, err := pins.Sync(ctx, bs); n != 0 || err != nil {
		t.Fatalf("Sync with half the parts = %d, %v", n, err)
	}
	partial := countKeys(t, db, "dataset/pin/b/")
	if partial == 0 || partial >= len(c.blocks) {
		t.Fatalf("%d of %d blocks pinned from the first half of the parts", partial, len(c.blocks))
	}
	for h := uint64(2); h <= 4; h++ {
		if err := bix.Index(ctx, h, c.squares.byHeight[h]); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // idempotent
		if n, err := pins.Sync(ctx, bs); n != 1 || err != nil {
			t.Fatalf("Sync = %d, %v", n, err)
		}
		if n := countKeys(t, db, "dataset/pin/b/"); n != len(c.blocks) {
			t.Fatalf("%d blocks pinned, the DAG has %d", n, len(c.blocks))
		}
	}

	// Prune every height from the index and drop the squares.
	if err := bix.Prune(ctx, 5); err != nil {
		t.Fatal(err)
	}
	c.squares.mu.Lock()
	c.squares.byHeight = map[uint64]*eds.ExtendedDataSquare{}
	c.squares.mu.Unlock()
	_, readsBefore := c.squares.reads()
	for _, b := range c.blocks {
		got, err := bs.Get(ctx, b.Cid())
		if err != nil {
			t.Fatalf("Get %s after pruning: %v", b.Cid(), err)
		}
		if !got.Cid().Equals(b.Cid()) || !bytes.Equal(got.RawData(), b.RawData()) {
			t.Fatalf("Get %s returned other bytes", b.Cid())
		}
		if has, err := bs.Has(ctx, b.Cid()); !has || err != nil {
			t.Fatalf("Has %s = %v, %v", b.Cid(), has, err)
		}
		if n, err := bs.GetSize(ctx, b.Cid()); n != len(b.RawData()) || err != nil {
			t.Fatalf("GetSize %s = %d, %v", b.Cid(), n, err)
		}
	}
	if _, reads := c.squares.reads(); reads != readsBefore {
		t.Fatalf("pinned blocks read %d blobs", reads-readsBefore)
	}
	if n, err := pins.Sync(ctx, bs); n != 1 || err != nil {
		t.Fatalf("Sync after pruning = %d, %v", n, err)
	}

	// The same dataset unpinned, on another node: gone after pruning.
	_, bix2, _, bs2 := other.pinning(t)
	indexAll(t, other, bix2)
	if _, err := bs2.Get(ctx, other.root); err != nil {
		t.Fatalf("Get before pruning: %v", err)
	}
	if err := bix2.Prune(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for _, b := range other.blocks {
		if _, err := bs2.Get(ctx, b.Cid()); !ipld.IsNotFound(err) {
			t.Fatalf("Get %s of an unpinned dataset after pruning: %v", b.Cid(), err)
		}
		if has, err := bs2.Has(ctx, b.Cid()); has || err != nil {
			t.Fatalf("Has %s = %v, %v", b.Cid(), has, err)
		}
	}
}

// TestPinsUnknownRoot: a pinned root nothing holds stays incomplete
// without an error; ParseRoot takes CIDs only; a duplicate root counts
// once.
func TestPinsUnknownRoot(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	root, err := store.ParseRoot(c.root.String())
	if err != nil || !root.Equals(c.root) {
		t.Fatalf("ParseRoot = %v, %v", root, err)
	}
	if _, err := store.ParseRoot("not-a-cid"); err == nil {
		t.Fatal("ParseRoot took not-a-cid")
	}
	db, bix, pins, bs := c.pinning(t, root, c.rootB, c.root)
	indexAll(t, c, bix)
	if got := pins.Roots(); len(got) != 2 {
		t.Fatalf("Roots = %v, want the duplicate once", got)
	}
	// B's only part was tampered with: nothing of it is indexed.
	if n, err := pins.Sync(ctx, bs); n != 1 || err != nil {
		t.Fatalf("Sync = %d, %v", n, err)
	}
	if n := countKeys(t, db, "dataset/pin/r/"); n != 1 {
		t.Fatalf("%d complete pins", n)
	}
	if _, err := store.NewPins(store.PinOptions{DB: db, Index: bs.Index(), Roots: []cid.Cid{{}}}); err == nil {
		t.Fatal("NewPins took an undefined root")
	}
}
