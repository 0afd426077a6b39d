package store_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/store"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// manifestCIDs returns the CIDs of recs, in order.
func manifestCIDs(recs []store.ManifestRecord) []cid.Cid {
	var out []cid.Cid
	for _, r := range recs {
		out = append(out, r.CID)
	}
	return out
}

// dropSquares removes c's squares of heights below below, as a prune
// does.
func (c *chain) dropSquares(below uint64) {
	c.squares.mu.Lock()
	defer c.squares.mu.Unlock()
	for h := range c.squares.byHeight {
		if h < below {
			delete(c.squares.byHeight, h)
		}
	}
}

// TestCatalogPinnedAfterPruning: once A is pinned and heights 1 to 3 (its
// parts and its manifest) are pruned from the index and their squares
// dropped, the Catalog still answers for A from what the pin recorded:
// Has for every block and the manifest, Locate with the location each
// block was published at (Pinned), Manifest by root and by CID, and List
// with A's manifest once, at its height, paged with the indexed manifests
// of height 4. Before pruning, the index's answers carry Pinned.
func TestCatalogPinnedAfterPruning(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	db, bix, pins, bs := c.pinning(t, c.root)
	indexAll(t, c, bix)
	ct, err := store.NewCatalog(bs.Index(), pins)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := pins.Sync(ctx, bs); n != 1 || err != nil {
		t.Fatalf("Sync = %d, %v", n, err)
	}

	// Before pruning: the index's locations, marked pinned; A listed once.
	published := map[cid.Cid]store.Location{}
	for _, b := range c.blocks {
		locs, err := bs.Index().Locate(ctx, b.Cid())
		if err != nil || len(locs) != 1 || locs[0].Pinned {
			t.Fatalf("Index.Locate(%s) = %+v, %v", b.Cid(), locs, err)
		}
		published[b.Cid()] = locs[0]
		got, err := ct.Locate(ctx, b.Cid())
		want := locs[0]
		want.Pinned = true
		if err != nil || len(got) != 1 || !sameLoc(got[0], want) {
			t.Fatalf("Catalog.Locate(%s) before pruning = %+v, %v; want %+v", b.Cid(), got, err, want)
		}
	}
	at4, err := bs.Index().List(ctx, 4, 10)
	if err != nil || len(at4) != 2 {
		t.Fatalf("Index.List(4) = %v, %v", at4, err)
	}
	all := append([]cid.Cid{c.manifest}, manifestCIDs(at4)...)
	if got, err := ct.List(ctx, 0, 10); err != nil || !slices.EqualFunc(manifestCIDs(got), all, cid.Cid.Equals) ||
		!got[0].Location.Pinned || got[1].Location.Pinned || got[2].Location.Pinned {
		t.Fatalf("List before pruning = %+v, %v; want %v, the first pinned", got, err, all)
	}
	if got, err := ct.List(ctx, 0, 1); err != nil || !slices.EqualFunc(manifestCIDs(got), all[:1], cid.Cid.Equals) {
		t.Fatalf("List(0, 1) before pruning = %v, %v", manifestCIDs(got), err)
	}
	if rec, err := ct.Manifest(ctx, c.root); err != nil || !rec.CID.Equals(c.manifest) || !rec.Location.Pinned {
		t.Fatalf("Manifest before pruning = %+v, %v", rec, err)
	}

	// Prune heights 1 to 3 and drop their squares.
	if err := bix.Prune(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if err := bs.Index().MarkPruned(ctx, 4); err != nil {
		t.Fatal(err)
	}
	c.dropSquares(4)
	if n := countKeys(t, db, "dataset/b/"); n != 2 {
		t.Fatalf("%d block entries left in the index, want the two manifests of height 4", n)
	}

	for _, b := range c.blocks {
		if has, err := ct.Has(ctx, b.Cid()); !has || err != nil {
			t.Fatalf("Has(%s) after pruning = %v, %v", b.Cid(), has, err)
		}
		got, err := ct.Locate(ctx, b.Cid())
		want := published[b.Cid()]
		want.Pinned = true
		if err != nil || len(got) != 1 || !sameLoc(got[0], want) {
			t.Fatalf("Locate(%s) after pruning = %+v, %v; want %+v", b.Cid(), got, err, want)
		}
		if blk, err := bs.Get(ctx, b.Cid()); err != nil || !bytes.Equal(blk.RawData(), b.RawData()) {
			t.Fatalf("Get(%s) after pruning: %v", b.Cid(), err)
		}
	}
	// The manifest: by root and by its CID, its block held and located.
	for _, q := range []cid.Cid{c.root, c.manifest} {
		rec, err := ct.Manifest(ctx, q)
		if err != nil || !rec.CID.Equals(c.manifest) || !rec.Manifest.Root.Equals(c.root) || len(rec.Manifest.Parts) != len(c.parts) ||
			rec.Location.Height != 3 || !bytes.Equal(rec.Location.Commitment, c.manifestCom) || rec.Location.Namespace != c.manifestNS ||
			!rec.Location.Pinned {
			t.Fatalf("Manifest(%s) after pruning = %+v, %v", q, rec, err)
		}
	}
	if has, err := ct.Has(ctx, c.manifest); !has || err != nil {
		t.Fatalf("Has(manifest) after pruning = %v, %v", has, err)
	}
	if locs, err := ct.Locate(ctx, c.manifest); err != nil || len(locs) != 1 || locs[0].Height != 3 || !locs[0].Pinned {
		t.Fatalf("Locate(manifest) after pruning = %+v, %v", locs, err)
	}
	mblock, err := bs.Get(ctx, c.manifest)
	if err != nil {
		t.Fatalf("Get(manifest) after pruning: %v", err)
	}
	if m, _, err := dataset.DecodeManifest(append(mustHeader(t, c.manifest), section(c.manifest, mblock.RawData())...), 1<<20); err != nil || !m.Root.Equals(c.root) {
		t.Fatalf("the pinned manifest block is not the manifest: %v", err)
	}

	// List: A's manifest at height 3 (pinned, pruned) then height 4's.
	for _, tc := range []struct {
		from  uint64
		limit int
		want  []cid.Cid
	}{
		{0, 10, all},
		{0, 3, all},
		{0, 2, all[:1]}, // height 4 does not fit whole
		{0, 1, all[:1]},
		{3, 10, all},
		{4, 10, all[1:]},
		{4, 1, all[1:2]}, // height 4 alone exceeds the limit
		{5, 10, nil},
	} {
		got, err := ct.List(ctx, tc.from, tc.limit)
		if err != nil || !slices.EqualFunc(manifestCIDs(got), tc.want, cid.Cid.Equals) {
			t.Fatalf("List(%d, %d) after pruning = %v, %v; want %v", tc.from, tc.limit, manifestCIDs(got), err, tc.want)
		}
		for _, r := range got {
			if r.Location.Pinned != r.CID.Equals(c.manifest) {
				t.Fatalf("List(%d, %d): %s pinned %v", tc.from, tc.limit, r.CID, r.Location.Pinned)
			}
		}
	}
	// Paging from 0 with the next page at the last height + 1 names each
	// manifest once.
	var paged []cid.Cid
	for from := uint64(0); ; {
		got, err := ct.List(ctx, from, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		paged = append(paged, manifestCIDs(got)...)
		from = got[len(got)-1].Location.Height + 1
	}
	if !slices.EqualFunc(paged, all, cid.Cid.Equals) {
		t.Fatalf("paged List = %v, want %v", paged, all)
	}
	if _, err := ct.List(ctx, 0, 0); !errors.Is(err, store.ErrInvalidLimit) {
		t.Fatalf("List(0, 0) = %v", err)
	}
	// B's manifest (height 4) is indexed, not pinned.
	if rec, err := ct.Manifest(ctx, c.rootB); err != nil || !rec.CID.Equals(c.others[0]) || rec.Location.Pinned {
		t.Fatalf("Manifest(B) = %+v, %v", rec, err)
	}
}

func sameLoc(a, b store.Location) bool {
	return a.Height == b.Height && a.Namespace == b.Namespace && bytes.Equal(a.Commitment, b.Commitment) &&
		a.Offset == b.Offset && a.Length == b.Length && a.Pinned == b.Pinned
}

// TestCatalogUnpinnedPruned: on a node that pins nothing, a dataset whose
// heights are pruned is not found, and the errors name the height the
// node pruned below once it recorded one; other errors pass as they are.
func TestCatalogUnpinnedPruned(t *testing.T) {
	ctx := ctxT(t)
	c := newChain(t)
	_, bix, pins, bs := c.pinning(t)
	indexAll(t, c, bix)
	for _, p := range []*store.Pins{pins, nil} {
		ct, err := store.NewCatalog(bs.Index(), p)
		if err != nil {
			t.Fatal(err)
		}
		if rec, err := ct.Manifest(ctx, c.root); err != nil || rec.Location.Pinned {
			t.Fatalf("Manifest before pruning = %+v, %v", rec, err)
		}
	}
	if _, err := store.NewCatalog(nil, pins); err == nil {
		t.Fatal("NewCatalog took no Index")
	}
	ct, err := store.NewCatalog(bs.Index(), pins)
	if err != nil {
		t.Fatal(err)
	}
	notFound := ipld.ErrNotFound{Cid: c.root}
	if err := ct.NotFound(ctx, notFound); err.Error() != notFound.Error() {
		t.Fatalf("NotFound before any prune = %v", err)
	}

	if err := bix.Prune(ctx, 4); err != nil {
		t.Fatal(err)
	}
	c.dropSquares(4)
	// Pruned, not yet recorded: a plain not found.
	if _, err := ct.Manifest(ctx, c.root); !errors.Is(err, store.ErrManifestNotFound) || strings.Contains(err.Error(), "pruned") {
		t.Fatalf("Manifest after an unrecorded prune = %v", err)
	}
	if err := bs.Index().MarkPruned(ctx, 4); err != nil {
		t.Fatal(err)
	}

	for _, q := range []cid.Cid{c.root, c.manifest} {
		_, err := ct.Manifest(ctx, q)
		var pe *store.PrunedError
		if !errors.Is(err, store.ErrManifestNotFound) || !errors.As(err, &pe) || pe.Below != 4 ||
			!strings.Contains(err.Error(), "pruned heights below 4") || !strings.HasPrefix(err.Error(), store.ErrManifestNotFound.Error()) {
			t.Fatalf("Manifest(%s) after pruning = %v", q, err)
		}
	}
	for _, b := range append(slices.Clone(c.blocks), blocks.NewBlock(nil)) {
		if has, err := ct.Has(ctx, b.Cid()); has || err != nil {
			t.Fatalf("Has(%s) after pruning = %v, %v", b.Cid(), has, err)
		}
		if locs, err := ct.Locate(ctx, b.Cid()); len(locs) != 0 || err != nil {
			t.Fatalf("Locate(%s) after pruning = %v, %v", b.Cid(), locs, err)
		}
		_, err := bs.Get(ctx, b.Cid())
		if !ipld.IsNotFound(err) {
			t.Fatalf("Get(%s) after pruning = %v", b.Cid(), err)
		}
		err = ct.NotFound(ctx, err)
		if !ipld.IsNotFound(err) || !strings.Contains(err.Error(), "could not find "+b.Cid().String()) ||
			!strings.Contains(err.Error(), "pruned heights below 4") {
			t.Fatalf("NotFound(Get(%s)) = %v", b.Cid(), err)
		}
	}
	if got, err := ct.List(ctx, 0, 10); err != nil || len(got) != 2 {
		t.Fatalf("List after pruning = %v, %v; want height 4's two", manifestCIDs(got), err)
	}
	other := errors.New("disk on fire")
	if err := ct.NotFound(ctx, other); err != other {
		t.Fatalf("NotFound(other) = %v", err)
	}
	if _, err := ct.Has(ctx, cid.Undef); err != nil {
		t.Fatalf("Has(undefined) = %v", err)
	}
	if _, err := ct.Manifest(ctx, cid.Undef); !errors.Is(err, store.ErrManifestNotFound) {
		t.Fatalf("Manifest(undefined) = %v", err)
	}
}

// TestMarkPrunedPersists: the recorded height only grows, and survives
// reopening the database.
func TestMarkPrunedPersists(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	ix, err := store.NewIndex(store.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if below, err := ix.PrunedBelow(ctx); below != 0 || err != nil {
		t.Fatalf("PrunedBelow of a new index = %d, %v", below, err)
	}
	for _, tc := range []struct{ mark, want uint64 }{{5, 5}, {3, 5}, {5, 5}, {0, 5}, {9, 9}} {
		if err := ix.MarkPruned(ctx, tc.mark); err != nil {
			t.Fatal(err)
		}
		if below, err := ix.PrunedBelow(ctx); below != tc.want || err != nil {
			t.Fatalf("PrunedBelow after MarkPruned(%d) = %d, %v; want %d", tc.mark, below, err, tc.want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	t.Cleanup(func() { _ = db.Close() })
	ix, err = store.NewIndex(store.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if below, err := ix.PrunedBelow(ctx); below != 9 || err != nil {
		t.Fatalf("PrunedBelow after reopening = %d, %v; want 9", below, err)
	}
	if err := ix.MarkPruned(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if below, _ := ix.PrunedBelow(ctx); below != 9 {
		t.Fatalf("PrunedBelow after a lower mark on reopen = %d", below)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := ix.MarkPruned(cancelled, 20); !errors.Is(err, context.Canceled) {
		t.Fatalf("MarkPruned with a cancelled context = %v", err)
	}
	if below, _ := ix.PrunedBelow(ctx); below != 9 {
		t.Fatalf("a cancelled MarkPruned recorded %d", below)
	}
}

// sharedDataset is a directory dataset imported from files (name ->
// content), packed into parts of at most partSize bytes.
type sharedDataset struct {
	root   cid.Cid
	parts  []dataset.Part
	sum    dataset.Summary
	blocks map[cid.Cid][]byte
}

func importFiles(t *testing.T, files map[string][]byte) sharedDataset {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	root, err := dataset.Import(ctx, src, dir)
	if err != nil {
		t.Fatal(err)
	}
	d := sharedDataset{root: root, blocks: map[cid.Cid][]byte{}}
	if d.sum, err = dataset.Pack(ctx, src, root, partSize, func(p dataset.Part) error {
		d.parts = append(d.parts, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := dataset.Walk(ctx, src, root, func(b blocks.Block) error {
		d.blocks[b.Cid()] = b.RawData()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

// post puts d's parts in a square of height h and its manifest in one of
// h+1.
func (d sharedDataset) post(t *testing.T, sq *squares, h uint64) {
	t.Helper()
	ns, err := dataset.DefaultNamespace(d.root)
	if err != nil {
		t.Fatal(err)
	}
	var refs []dataset.PartRef
	var bs []*share.Blob
	for _, p := range d.parts {
		b, com := newBlob(t, ns, p.Data)
		bs = append(bs, b)
		refs = append(refs, dataset.PartRef{Height: h, Commitment: com})
	}
	m, _, err := dataset.ManifestFor(d.root, d.sum.Size, d.sum.Blocks, refs)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := newBlob(t, ns, m)
	sq.mu.Lock()
	defer sq.mu.Unlock()
	sq.byHeight[h] = square(t, bs...)
	sq.byHeight[h+1] = square(t, mb)
}

// snapshot returns the keys and values under prefix.
func snapshot(t *testing.T, db *badger.DB, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnpinKeepsSharedBlocks: X and Y share two files' blocks. Both are
// pinned, then pruned; with Y removed from the roots, the next Sync
// drops Y's records and the blocks only Y had, and keeps X whole (the
// shared blocks too), served after pruning. With no roots, nothing of
// the pins is left. Each Sync repeated changes nothing.
func TestUnpinKeepsSharedBlocks(t *testing.T) {
	ctx := ctxT(t)
	shared := map[string][]byte{"a": fileData(10, 700), "b": fileData(11, 1300)}
	xFiles, yFiles := maps.Clone(shared), maps.Clone(shared)
	xFiles["c"], xFiles["d"] = fileData(12, 900), fileData(13, 400)
	yFiles["e"] = fileData(14, 1100)
	x, y := importFiles(t, xFiles), importFiles(t, yFiles)
	var both, onlyY []cid.Cid
	for c := range y.blocks {
		if _, ok := x.blocks[c]; ok {
			both = append(both, c)
		} else {
			onlyY = append(onlyY, c)
		}
	}
	if len(both) != 2 || len(onlyY) < 2 {
		t.Fatalf("X and Y share %d blocks, Y alone has %d", len(both), len(onlyY))
	}

	c := &chain{squares: &squares{byHeight: map[uint64]*eds.ExtendedDataSquare{}, readsAt: map[uint64]int{}}}
	x.post(t, c.squares, 1) // parts 1, manifest 2
	y.post(t, c.squares, 3) // parts 3, manifest 4
	db := badgertest.Open(t)
	ix, bix := c.indexes(t, db)
	indexAll(t, c, bix)
	bsWith := func(roots ...cid.Cid) (*store.Pins, *store.Blockstore, *store.Catalog) {
		t.Helper()
		pins, err := store.NewPins(store.PinOptions{DB: db, Index: ix, Roots: roots})
		if err != nil {
			t.Fatal(err)
		}
		bs, err := store.NewBlockstore(ix, c.squares, store.BlockstoreOptions{Pins: pins})
		if err != nil {
			t.Fatal(err)
		}
		ct, err := store.NewCatalog(ix, pins)
		if err != nil {
			t.Fatal(err)
		}
		return pins, bs, ct
	}
	syncTwice := func(pins *store.Pins, bs *store.Blockstore, want int) {
		t.Helper()
		var first map[string]string
		for i := range 2 {
			if n, err := pins.Sync(ctx, bs); n != want || err != nil {
				t.Fatalf("Sync %d = %d, %v; want %d", i, n, err, want)
			}
			if got := snapshot(t, db, "dataset/pin/"); i == 0 {
				first = got
			} else if !maps.Equal(got, first) {
				t.Fatalf("a repeated Sync changed the pins: %d keys, then %d", len(first), len(got))
			}
		}
	}

	pins, bs, _ := bsWith(x.root, y.root)
	syncTwice(pins, bs, 2)
	union := len(x.blocks) + len(onlyY)
	if n := countKeys(t, db, "dataset/pin/b/"); n != union {
		t.Fatalf("%d blocks pinned, want %d (shared ones once)", n, union)
	}
	if err := bix.Prune(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if err := ix.MarkPruned(ctx, 5); err != nil {
		t.Fatal(err)
	}
	c.dropSquares(5)

	// Y unpinned.
	pins, bs, ct := bsWith(x.root)
	syncTwice(pins, bs, 1)
	if n := countKeys(t, db, "dataset/pin/b/"); n != len(x.blocks) {
		t.Fatalf("%d blocks pinned after unpinning Y, want X's %d", n, len(x.blocks))
	}
	for cc, data := range x.blocks {
		b, err := bs.Get(ctx, cc)
		if err != nil || !bytes.Equal(b.RawData(), data) {
			t.Fatalf("Get(%s) of X after unpinning Y: %v", cc, err)
		}
		if has, err := ct.Has(ctx, cc); !has || err != nil {
			t.Fatalf("Has(%s) of X = %v, %v", cc, has, err)
		}
		if locs, err := ct.Locate(ctx, cc); err != nil || len(locs) != 1 || !locs[0].Pinned {
			t.Fatalf("Locate(%s) of X = %+v, %v", cc, locs, err)
		}
	}
	for _, cc := range onlyY {
		if _, err := bs.Get(ctx, cc); !ipld.IsNotFound(err) {
			t.Fatalf("Get(%s) of Y alone after unpinning = %v", cc, err)
		}
		if has, err := ct.Has(ctx, cc); has || err != nil {
			t.Fatalf("Has(%s) of Y alone = %v, %v", cc, has, err)
		}
		if locs, err := ct.Locate(ctx, cc); len(locs) != 0 || err != nil {
			t.Fatalf("Locate(%s) of Y alone = %+v, %v", cc, locs, err)
		}
	}
	if rec, err := ct.Manifest(ctx, x.root); err != nil || rec.Location.Height != 2 || !rec.Location.Pinned {
		t.Fatalf("Manifest(X) = %+v, %v", rec, err)
	}
	if _, err := ct.Manifest(ctx, y.root); !errors.Is(err, store.ErrManifestNotFound) || !strings.Contains(err.Error(), "pruned heights below 5") {
		t.Fatalf("Manifest(Y) after unpinning = %v", err)
	}
	if got, err := ct.List(ctx, 0, 10); err != nil || len(got) != 1 || !got[0].Manifest.Root.Equals(x.root) || got[0].Location.Height != 2 {
		t.Fatalf("List after unpinning Y = %+v, %v", got, err)
	}

	// Nothing pinned: nothing of the pins left.
	pins, bs, ct = bsWith()
	syncTwice(pins, bs, 0)
	if got := snapshot(t, db, "dataset/pin/"); len(got) != 0 {
		t.Fatalf("%d pin keys left with no root pinned", len(got))
	}
	for cc := range x.blocks {
		if has, err := ct.Has(ctx, cc); has || err != nil {
			t.Fatalf("Has(%s) with nothing pinned = %v, %v", cc, has, err)
		}
	}
	if got, err := ct.List(ctx, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("List with nothing pinned = %v, %v", manifestCIDs(got), err)
	}
}
