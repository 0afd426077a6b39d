package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/store"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// partSize is the part limit of the test datasets: a few small files
// share a part.
const partSize = 2000

// chain is four squares of datasets:
//
//	1: the first half of dataset A's parts, and a blob that is no CAR
//	2: the rest of A's parts, and a part of dataset B with one block
//	   byte flipped (valid CAR framing, a wrong hash)
//	3: A's manifest
//	4: the manifests of B and C (whose parts are not posted: they lie,
//	   which the index does not check)
type chain struct {
	root, rootB cid.Cid
	parts       []dataset.Part
	partAt      []uint64 // height of each part of A
	blocks      []blocks.Block
	badBlocks   []cid.Cid // the blocks of B's tampered part
	manifest    cid.Cid
	manifestNS  share.Namespace
	manifestCom []byte
	others      []cid.Cid // B's and C's manifests
	squares     *squares
}

func newChain(t *testing.T) *chain {
	t.Helper()
	ctx := context.Background()
	root, parts, sum, src := smallDataset(t, 1, 12, partSize)
	rootB, partsB, _, _ := smallDataset(t, 2, 6, partSize)
	rootC, _, _, _ := smallDataset(t, 3, 4, partSize)
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	nsB, _ := dataset.DefaultNamespace(rootB)
	c := &chain{root: root, rootB: rootB, parts: parts, squares: &squares{byHeight: map[uint64]*eds.ExtendedDataSquare{}, readsAt: map[uint64]int{}}}

	if err := dataset.Walk(ctx, src, root, func(b blocks.Block) error {
		c.blocks = append(c.blocks, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if uint64(len(c.blocks)) != sum.Blocks {
		t.Fatalf("%d blocks, the summary says %d", len(c.blocks), sum.Blocks)
	}

	half := len(parts) / 2
	var refs []dataset.PartRef
	var first, second []*share.Blob
	for i, p := range parts {
		b, com := newBlob(t, ns, p.Data)
		h := uint64(1)
		if i >= half {
			h = 2
			second = append(second, b)
		} else {
			first = append(first, b)
		}
		c.partAt = append(c.partAt, h)
		refs = append(refs, dataset.PartRef{Height: h, Commitment: com})
	}
	notCAR, _ := newBlob(t, ns, []byte("a blob that is not a CAR"))
	c.squares.byHeight[1] = square(t, append(first, notCAR)...)

	decoded, err := dataset.DecodePart(partsB[0].Data, rootB, partSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range decoded {
		c.badBlocks = append(c.badBlocks, pb.Cid)
	}
	bad := bytes.Clone(partsB[0].Data)
	bad[decoded[len(decoded)-1].Offset] ^= 0x01
	if _, _, err := dataset.DecodeAnyPart(bad, partSize); !errors.Is(err, dataset.ErrHashMismatch) {
		t.Fatalf("the tampered part decodes with %v", err)
	}
	badBlob, _ := newBlob(t, nsB, bad)
	c.squares.byHeight[2] = square(t, append(second, badBlob)...)

	m, mc, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		t.Fatal(err)
	}
	mb, mcom := newBlob(t, ns, m)
	c.manifest, c.manifestNS, c.manifestCom = mc, ns, mcom
	c.squares.byHeight[3] = square(t, mb)

	var others []*share.Blob
	for i, r := range []cid.Cid{rootB, rootC} {
		m, mc, err := dataset.ManifestFor(r, 1000, 10, []dataset.PartRef{{Height: 9, Commitment: bytes.Repeat([]byte{byte(i)}, 32)}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := newBlob(t, nsB, m)
		others = append(others, b)
		c.others = append(c.others, mc)
	}
	c.squares.byHeight[4] = square(t, others...)
	return c
}

// indexes returns the dataset index and the blob index that writes it,
// over db and c's squares.
func (c *chain) indexes(t *testing.T, db *badger.DB) (*store.Index, *blob.Index) {
	t.Helper()
	ds, err := store.NewIndex(store.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	bix, err := blob.NewIndex(blob.IndexOptions{DB: db, Squares: c.squares, Extension: ds,
		IsNotFound: func(err error) bool { return errors.Is(err, errNoSquare) }})
	if err != nil {
		t.Fatal(err)
	}
	return ds, bix
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func indexAll(t *testing.T, c *chain, bix *blob.Index) {
	t.Helper()
	for h := uint64(1); h <= 4; h++ {
		if err := bix.Index(ctxT(t), h, c.squares.byHeight[h]); err != nil {
			t.Fatal(err)
		}
	}
}

// checkServes checks that the index locates every block of A in its part
// and the blockstore returns it, hash-checked, and that nothing of the
// tampered part is indexed.
func checkServes(t *testing.T, c *chain, ds *store.Index, bs *store.Blockstore) {
	t.Helper()
	ctx := ctxT(t)
	for _, b := range c.blocks {
		locs, err := ds.Locate(ctx, b.Cid())
		if err != nil || len(locs) == 0 {
			t.Fatalf("Locate %s: %v, %v", b.Cid(), locs, err)
		}
		if l := locs[0]; l.Length != len(b.RawData()) || l.Namespace != c.manifestNS || len(l.Commitment) != 32 || (l.Height != 1 && l.Height != 2) {
			t.Fatalf("Locate %s: %+v", b.Cid(), l)
		}
		got, err := bs.Get(ctx, b.Cid())
		if err != nil {
			t.Fatalf("Get %s: %v", b.Cid(), err)
		}
		if !got.Cid().Equals(b.Cid()) || !bytes.Equal(got.RawData(), b.RawData()) {
			t.Fatalf("Get %s returned other bytes", b.Cid())
		}
		if again, _ := got.Cid().Prefix().Sum(got.RawData()); !again.Equals(b.Cid()) {
			t.Fatalf("Get %s: data does not hash to the CID", b.Cid())
		}
		if has, err := bs.Has(ctx, b.Cid()); !has || err != nil {
			t.Fatalf("Has %s = %v, %v", b.Cid(), has, err)
		}
		if n, err := bs.GetSize(ctx, b.Cid()); n != len(b.RawData()) || err != nil {
			t.Fatalf("GetSize %s = %d, %v", b.Cid(), n, err)
		}
	}
	for _, bad := range c.badBlocks {
		if locs, err := ds.Locate(ctx, bad); len(locs) != 0 || err != nil {
			t.Fatalf("a block of the tampered part is indexed: %v %v", locs, err)
		}
	}
}

// TestIndexAndBlockstore indexes four squares of dataset blobs: every
// block of every part is located and served, the manifest is found by its
// CID and by the dataset's root and served as a block, the tampered part
// indexes nothing (and the heights after it are indexed), an unknown CID
// is not found without reading a blob, parts are cached, and writes are
// refused.
func TestIndexAndBlockstore(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	db := badgertest.Open(t)
	ds, bix := c.indexes(t, db)
	indexAll(t, c, bix)

	// One entry per block of A, one per manifest block, nothing more.
	if got, want := countKeys(t, db, "dataset/b/"), len(c.blocks)+3; got != want {
		t.Fatalf("%d block entries, want %d (A's blocks and three manifests)", got, want)
	}
	bs, err := store.NewBlockstore(ds, c.squares, store.BlockstoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkServes(t, c, ds, bs)
	if _, reads := c.squares.reads(); reads != len(distinct(c.partAt)) {
		t.Fatalf("%d namespace reads for parts at heights %v: the cache did not keep them", reads, c.partAt)
	}

	for _, q := range []cid.Cid{c.root, c.manifest} {
		rec, err := ds.Manifest(ctx, q)
		if err != nil {
			t.Fatalf("Manifest(%s): %v", q, err)
		}
		if !rec.CID.Equals(c.manifest) || !rec.Manifest.Root.Equals(c.root) || len(rec.Manifest.Parts) != len(c.parts) ||
			rec.Location.Height != 3 || !bytes.Equal(rec.Location.Commitment, c.manifestCom) || rec.Location.Namespace != c.manifestNS {
			t.Fatalf("Manifest(%s) = %+v", q, rec)
		}
		for i, p := range rec.Manifest.Parts {
			if p.Height != c.partAt[i] {
				t.Fatalf("part %d at height %d, want %d", i, p.Height, c.partAt[i])
			}
		}
	}
	mblock, err := bs.Get(ctx, c.manifest)
	if err != nil {
		t.Fatal(err)
	}
	if m, _, err := dataset.DecodeManifest(append(mustHeader(t, c.manifest), section(c.manifest, mblock.RawData())...), 1<<20); err != nil || !m.Root.Equals(c.root) {
		t.Fatalf("the manifest block served is not the manifest: %v", err)
	}
	// A lying manifest is indexed as it is; B's root finds it.
	if rec, err := ds.Manifest(ctx, c.rootB); err != nil || !rec.CID.Equals(c.others[0]) || rec.Location.Height != 4 {
		t.Fatalf("Manifest(B's root) = %+v, %v", rec, err)
	}

	// Unknown: not found, fast, no blob read.
	_, before := c.squares.reads()
	unknown, _ := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: 0x12, MhLength: -1}.Sum([]byte("unknown"))
	if _, err := bs.Get(ctx, unknown); !ipld.IsNotFound(err) {
		t.Fatalf("Get(unknown) = %v, want ipld.ErrNotFound", err)
	}
	if _, err := bs.GetSize(ctx, unknown); !ipld.IsNotFound(err) {
		t.Fatalf("GetSize(unknown) = %v", err)
	}
	if has, err := bs.Has(ctx, unknown); has || err != nil {
		t.Fatalf("Has(unknown) = %v, %v", has, err)
	}
	if _, after := c.squares.reads(); after != before {
		t.Fatal("an unknown CID read a blob")
	}
	if _, err := ds.Manifest(ctx, unknown); !errors.Is(err, store.ErrManifestNotFound) {
		t.Fatalf("Manifest(unknown) = %v", err)
	}
	if _, err := ds.Manifest(ctx, c.blocks[0].Cid()); !errors.Is(err, store.ErrManifestNotFound) && !c.blocks[0].Cid().Equals(c.root) {
		t.Fatalf("Manifest(a block) = %v", err)
	}

	if err := bs.Put(ctx, c.blocks[0]); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("Put = %v", err)
	}
	if err := bs.PutMany(ctx, c.blocks[:1]); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("PutMany = %v", err)
	}
	if err := bs.DeleteBlock(ctx, c.root); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("DeleteBlock = %v", err)
	}
	if _, err := bs.AllKeysChan(ctx); !errors.Is(err, store.ErrAllKeysUnsupported) {
		t.Fatalf("AllKeysChan = %v", err)
	}
}

func mustHeader(t *testing.T, c cid.Cid) []byte {
	t.Helper()
	h, err := dataset.CARHeader(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func section(c cid.Cid, data []byte) []byte {
	var out []byte
	n := uint64(c.ByteLen() + len(data))
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	out = append(out, byte(n))
	return append(append(out, c.Bytes()...), data...)
}

// TestBlockstoreReadsAgain: a part evicted from a cache too small to keep
// two is read again, and a block whose square is gone is not found.
func TestBlockstoreReadsAgain(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	ds, bix := c.indexes(t, badgertest.Open(t))
	indexAll(t, c, bix)
	bs, err := store.NewBlockstore(ds, c.squares, store.BlockstoreOptions{CacheBytes: partSize})
	if err != nil {
		t.Fatal(err)
	}
	checkServes(t, c, ds, bs)
	_, first := c.squares.reads()
	checkServes(t, c, ds, bs)
	if _, second := c.squares.reads(); second-first < 2 {
		t.Fatalf("%d reads the second time: a one-part cache kept everything", second-first)
	}
	c.squares.mu.Lock()
	delete(c.squares.byHeight, 1)
	c.squares.mu.Unlock()
	for _, b := range c.blocks {
		locs, _ := ds.Locate(ctx, b.Cid())
		if locs[0].Height != 1 {
			continue
		}
		if _, err := bs.Get(ctx, b.Cid()); !ipld.IsNotFound(err) {
			t.Fatalf("Get of a block whose square is gone: %v", err)
		}
		return
	}
	t.Fatal("no block at height 1")
}

// TestList pages through the manifests (one at height 3, two at 4):
// a page never splits a height unless the height alone exceeds the limit.
func TestList(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	ds, bix := c.indexes(t, badgertest.Open(t))
	indexAll(t, c, bix)
	cids := func(recs []store.ManifestRecord) []cid.Cid {
		var out []cid.Cid
		for _, r := range recs {
			out = append(out, r.CID)
		}
		return out
	}
	// C's and B's manifests at height 4 come in commitment order.
	at4, err := ds.List(ctx, 4, 10)
	if err != nil || len(at4) != 2 {
		t.Fatalf("List(4, 10) = %v, %v", at4, err)
	}
	all := append([]cid.Cid{c.manifest}, cids(at4)...)
	for _, tc := range []struct {
		from  uint64
		limit int
		want  []cid.Cid
	}{
		{0, 10, all},
		{0, 3, all},
		{0, 2, all[:1]},  // height 4 does not fit whole
		{0, 1, all[:1]},  // height 3 alone
		{4, 1, all[1:2]}, // height 4 alone exceeds the limit: its first
		{3, 10, all},     // from is inclusive
		{5, 10, nil},     // nothing after
		{4, 2, all[1:3]}, //
		{1, 1000, all},   //
		{0, 2000, nil},   // refused below
		{0, 0, nil},      // refused below
	} {
		got, err := ds.List(ctx, tc.from, tc.limit)
		if tc.limit < 1 || tc.limit > store.MaxListLimit {
			if !errors.Is(err, store.ErrInvalidLimit) {
				t.Fatalf("List(%d, %d) = %v", tc.from, tc.limit, err)
			}
			continue
		}
		if err != nil || !slices.EqualFunc(cids(got), tc.want, cid.Cid.Equals) {
			t.Fatalf("List(%d, %d) = %v, %v; want %v", tc.from, tc.limit, cids(got), err, tc.want)
		}
	}
}

// TestPrune: pruning the blob index removes each height's dataset entries
// with its blob entries.
func TestPrune(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	db := badgertest.Open(t)
	ds, bix := c.indexes(t, db)
	indexAll(t, c, bix)
	bs, err := store.NewBlockstore(ds, c.squares, store.BlockstoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkServes(t, c, ds, bs)

	if err := bix.Prune(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for _, b := range c.blocks {
		if locs, err := ds.Locate(ctx, b.Cid()); len(locs) != 0 || err != nil {
			t.Fatalf("block %s located after pruning: %v %v", b.Cid(), locs, err)
		}
		// The cache holds the part, but the index no longer names it.
		if _, err := bs.Get(ctx, b.Cid()); !ipld.IsNotFound(err) {
			t.Fatalf("Get after pruning: %v", err)
		}
	}
	if _, err := ds.Manifest(ctx, c.root); err != nil {
		t.Fatalf("the manifest at height 3 went with heights 1 and 2: %v", err)
	}
	if err := bix.Prune(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Manifest(ctx, c.root); !errors.Is(err, store.ErrManifestNotFound) {
		t.Fatalf("Manifest after pruning = %v", err)
	}
	if got, err := ds.List(ctx, 0, 10); len(got) != 0 || err != nil {
		t.Fatalf("List after pruning = %v, %v", got, err)
	}
	if n := countKeys(t, db, "dataset/"); n != 0 {
		t.Fatalf("%d dataset keys after pruning everything", n)
	}
}

// TestCatchUpAfterRestart: the blob index's CatchUp indexes parts too;
// after a restart it resumes above its checkpoint (reading only the
// squares above it) and the parts of those heights are indexed.
func TestCatchUpAfterRestart(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	all := c.squares.byHeight
	c.squares.byHeight = map[uint64]*eds.ExtendedDataSquare{1: all[1]}
	_, bix := c.indexes(t, db)
	if err := bix.CatchUp(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = badgertest.OpenAt(t, dir)
	t.Cleanup(func() { _ = db.Close() })
	c.squares.byHeight = all
	c.squares.edsReads = nil
	ds, bix := c.indexes(t, db)
	if err := bix.CatchUp(ctx, 1, 4); err != nil {
		t.Fatal(err)
	}
	if reads, _ := c.squares.reads(); !slices.Equal(reads, []uint64{2, 3, 4}) {
		t.Fatalf("CatchUp after the restart read heights %v, want 2 3 4", reads)
	}
	bs, err := store.NewBlockstore(ds, c.squares, store.BlockstoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkServes(t, c, ds, bs)
	if rec, err := ds.Manifest(ctx, c.root); err != nil || rec.Location.Height != 3 {
		t.Fatalf("Manifest after CatchUp = %+v, %v", rec, err)
	}
}

// TestBlockstoreReadsEachHeightOnce: blocks asked for concurrently (as
// bitswap does) cost one namespace read per height, not one per block or
// part, and a second pass reads nothing.
func TestBlockstoreReadsEachHeightOnce(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	ds, bix := c.indexes(t, badgertest.Open(t))
	indexAll(t, c, bix)
	bs, err := store.NewBlockstore(ds, c.squares, store.BlockstoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(c.blocks))
	for _, b := range c.blocks {
		wg.Go(func() {
			got, err := bs.Get(ctx, b.Cid())
			if err == nil && !bytes.Equal(got.RawData(), b.RawData()) {
				err = fmt.Errorf("Get %s returned other bytes", b.Cid())
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[uint64]int{}
	for _, h := range distinct(c.partAt) {
		want[h] = 1
	}
	readsAt := func() map[uint64]int {
		c.squares.mu.Lock()
		defer c.squares.mu.Unlock()
		return maps.Clone(c.squares.readsAt)
	}
	if got := readsAt(); !maps.Equal(got, want) {
		t.Fatalf("namespace reads by height %v, want %v (parts at %v)", got, want, c.partAt)
	}
	checkServes(t, c, ds, bs) // from the cache: no more reads
	if got := readsAt(); !maps.Equal(got, want) {
		t.Fatalf("after a second pass, namespace reads by height %v, want %v", got, want)
	}
}

// distinct returns the distinct values of hs, in order of appearance.
func distinct(hs []uint64) []uint64 {
	var out []uint64
	for _, h := range hs {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// TestBlockstoreRefusesTamperedSquare: once indexed, a square whose part
// bytes changed (a store damaged after indexing) never serves the changed
// block: a block whose CID framing is still in place but whose bytes
// differ is a hash mismatch, and one no blob frames any more is not found.
func TestBlockstoreRefusesTamperedSquare(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	ds, bix := c.indexes(t, badgertest.Open(t))
	indexAll(t, c, bix)
	bs, err := store.NewBlockstore(ds, c.squares, store.BlockstoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := dataset.DefaultNamespace(c.root)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := dataset.DecodePart(c.parts[0].Data, c.root, partSize)
	if err != nil {
		t.Fatal(err)
	}
	flipped, moved := decoded[0], decoded[len(decoded)-1]
	tampered := bytes.Clone(c.parts[0].Data)
	tampered[flipped.Offset] ^= 0x01
	// Breaking the CID in front of another block unframes it.
	tampered[moved.Offset-1] ^= 0x01
	b, _ := newBlob(t, ns, tampered)
	var rest []*share.Blob
	for i, p := range c.parts {
		if i > 0 && c.partAt[i] == 1 {
			other, _ := newBlob(t, ns, p.Data)
			rest = append(rest, other)
		}
	}
	c.squares.mu.Lock()
	c.squares.byHeight[1] = square(t, append([]*share.Blob{b}, rest...)...)
	c.squares.mu.Unlock()

	if _, err := bs.Get(ctx, flipped.Cid); err == nil || !strings.Contains(err.Error(), "hash mismatch") {
		t.Fatalf("Get of a block whose bytes changed: %v, want a hash mismatch", err)
	}
	if _, err := bs.Get(ctx, moved.Cid); !ipld.IsNotFound(err) {
		t.Fatalf("Get of a block no blob frames: %v, want not found", err)
	}
	if len(decoded) > 2 {
		if got, err := bs.Get(ctx, decoded[1].Cid); err != nil || !bytes.Equal(got.RawData(), decoded[1].Data) {
			t.Fatalf("Get of an untouched block of the tampered part: %v", err)
		}
	}
}
