package core_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/eds"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

type built struct {
	h   *header.ExtendedHeader
	ext *eds.ExtendedDataSquare
}

func buildAll(t testing.TB, blocks []signedBlock) []built {
	t.Helper()
	out := make([]built, len(blocks))
	for i, b := range blocks {
		h, ext, err := core.BuildHeader(b.block, b.commit, b.vals, share.DefaultMaxSquareSize)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = built{h, ext}
	}
	return out
}

// putAll stores each of bs in order, or fails t.
func putAll(ctx context.Context, t testing.TB, s *core.Store, bs ...built) {
	t.Helper()
	for _, b := range bs {
		if err := s.Put(ctx, b.h, b.ext); err != nil {
			t.Fatal(err)
		}
	}
}

// checkBlobs reads every blob of the square at height back from s by
// namespace and commitment and checks it, and its proof against the stored
// header. It returns how many blobs it checked.
func checkBlobs(ctx context.Context, t testing.TB, s *core.Store, height uint64, ods [][]byte) int {
	t.Helper()
	ps, err := share.ParseSquare(ods)
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range ps.Blobs {
		c, err := pb.Blob.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		checkBlob(ctx, t, s, height, pb.Blob.Namespace(), c, pb.Blob.Data())
	}
	return len(ps.Blobs)
}

func checkBlob(ctx context.Context, t testing.TB, s *core.Store, height uint64, ns share.Namespace, commitment, data []byte) {
	t.Helper()
	got, err := s.GetBlob(ctx, height, ns, commitment)
	if err != nil {
		t.Fatalf("height %d namespace %s: %v", height, ns, err)
	}
	if !bytes.Equal(got.Blob.Data(), data) {
		t.Fatalf("height %d namespace %s: blob data differs", height, ns)
	}
	stored, err := s.GetByHeight(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Proof.Verify(stored.DAH, ns); err != nil {
		t.Fatalf("height %d namespace %s: proof does not verify against the stored header: %v", height, ns, err)
	}
	// The proven shares hold the blob.
	blobs, err := share.ParseBlobs(got.Proof.Flatten())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range blobs {
		if c, _ := b.Blob.Commitment(); bytes.Equal(c, commitment) {
			found = bytes.Equal(b.Blob.Data(), data)
		}
	}
	if !found {
		t.Fatalf("height %d namespace %s: the proven shares do not hold the blob", height, ns)
	}
}

func TestStorePutGetReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	chain := buildAll(t, genBlocks(t, 4, nil))
	db := badgertest.OpenAt(t, dir)
	s := core.NewStore(db, 2)
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	putAll(ctx, t, s, chain...)
	// Out of order, twice, or with another block's square: rejected.
	if err := s.Put(ctx, chain[1].h, chain[1].ext); !errors.Is(err, header.ErrHeightGap) {
		t.Fatalf("a second put of height 2: %v", err)
	}
	if err := s.Put(ctx, chain[3].h, chain[2].ext); err == nil {
		t.Fatal("stored a header with another block's square")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	s = core.NewStore(db, 2)
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Height() != 4 {
		t.Fatalf("height %d after reopen, want 4", s.Height())
	}
	n := 0
	for _, b := range chain {
		got, err := s.Get(ctx, b.h.Hash())
		if err != nil || got.Height() != b.h.Height() {
			t.Fatalf("Get(%X): %v", b.h.Hash(), err)
		}
		ods, err := s.ODS(ctx, b.h.Height())
		if err != nil {
			t.Fatal(err)
		}
		n += checkBlobs(ctx, t, s, b.h.Height(), ods)
		e, err := s.EDS(ctx, b.h.Height())
		if err != nil {
			t.Fatal(err)
		}
		if dah, _ := eds.NewDAH(e); !dah.Equals(b.h.DAH) {
			t.Fatalf("height %d: the recomputed square does not match the header", b.h.Height())
		}
	}
	if n != 12 {
		t.Fatalf("checked %d blobs, want 12", n)
	}
	if _, err := s.GetBlob(ctx, 1, mustNamespace(t, 0x77), make([]byte, 32)); !errors.Is(err, core.ErrBlobNotFound) {
		t.Fatalf("unknown blob: %v", err)
	}
	if _, err := s.GetBlob(ctx, 9, mustNamespace(t, 0x77), make([]byte, 32)); !errors.Is(err, header.ErrNotFound) {
		t.Fatalf("unknown height: %v", err)
	}
}

func mustNamespace(t testing.TB, b byte) share.Namespace {
	t.Helper()
	id := make([]byte, share.NamespaceVersionZeroIDSize)
	id[0], id[len(id)-1] = 0x42, b
	ns, err := share.NewV0Namespace(id)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// A write that fails midway (after the square, before the header) leaves
// neither, also after a reopen; the next attempt stores both.
func TestStoreFailedWriteLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	chain := buildAll(t, genBlocks(t, 3, nil))
	db := badgertest.OpenAt(t, dir)
	s := core.NewStore(db, 0)
	putAll(ctx, t, s, chain[:2]...)
	injected := errors.New("injected: disk full")
	core.SetBeforeHeaders(s, func() error { return injected })
	if err := s.Put(ctx, chain[2].h, chain[2].ext); !errors.Is(err, injected) {
		t.Fatalf("got %v, want the injected error", err)
	}
	check := func(s *core.Store) {
		t.Helper()
		if err := s.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if s.Height() != 2 {
			t.Fatalf("height %d, want 2", s.Height())
		}
		if _, err := s.ODS(ctx, 3); !errors.Is(err, edsstore.ErrNotFound) {
			t.Fatalf("the failed write left a square: %v", err)
		}
		if _, err := s.GetByHeight(ctx, 3); !errors.Is(err, header.ErrNotFound) {
			t.Fatalf("the failed write left a header: %v", err)
		}
	}
	check(s)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	s = core.NewStore(db, 0)
	check(s)
	putAll(ctx, t, s, chain[2])
	if err := s.Check(ctx); err != nil || s.Height() != 3 {
		t.Fatalf("after the retry: height %d, %v", s.Height(), err)
	}
}

// Check finds a square without its header and a header without its square.
func TestStoreCheckFindsOrphans(t *testing.T) {
	ctx := context.Background()
	chain := buildAll(t, genBlocks(t, 2, nil))
	db := badgertest.Open(t)
	s := core.NewStore(db, 0)
	putAll(ctx, t, s, chain[0])
	sq := edsstore.New(db, edsstore.Options{})
	if err := db.Update(func(txn *badger.Txn) error { return sq.Put(txn, 2, chain[1].ext) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, core.ErrInconsistentStore) {
		t.Fatalf("a square without its header: %v", err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Delete(edsstore.Key(2)) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Headers().Append(ctx, chain[1].h); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, core.ErrInconsistentStore) {
		t.Fatalf("a header without its square: %v", err)
	}
	if err := s.CheckHead(ctx); !errors.Is(err, core.ErrInconsistentStore) {
		t.Fatalf("CheckHead, a head without its square: %v", err)
	}
	f, err := core.New(core.Options{ChainID: "test-chain", RPC: "unused", Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); !errors.Is(err, core.ErrInconsistentStore) {
		t.Fatalf("Start on an inconsistent store: %v", err)
	}
}

// A nearly full disk makes Put fail with ErrDiskFull before it writes
// anything (Badger would otherwise die of SIGBUS in its memory-mapped value
// log); once there is room again the same header stores.
func TestStorePutRefusesANearlyFullDisk(t *testing.T) {
	ctx := context.Background()
	chain := buildAll(t, genBlocks(t, 2, nil))
	db := badgertest.Open(t)
	s := core.NewStore(db, 0)
	putAll(ctx, t, s, chain[0])
	var free uint64 = core.MinFreeBytes // less than the square needs on top
	core.SetFreeBytes(s, func(string) (uint64, bool, error) { return free, true, nil })
	err := s.Put(ctx, chain[1].h, chain[1].ext)
	if !errors.Is(err, core.ErrDiskFull) || !strings.Contains(err.Error(), "MiB free") {
		t.Fatalf("got %v, want ErrDiskFull saying how much is free", err)
	}
	if s.Height() != 1 {
		t.Fatalf("height %d after a refused write, want 1", s.Height())
	}
	if _, err := s.ODS(ctx, 2); !errors.Is(err, edsstore.ErrNotFound) {
		t.Fatalf("the refused write left a square: %v", err)
	}
	free = 2 * core.MinFreeBytes
	if err := s.Put(ctx, chain[1].h, chain[1].ext); err != nil {
		t.Fatalf("with room again: %v", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// PruneSquares deletes the squares below a height and keeps every header;
// Check accepts the headers left without squares, and the head keeps its
// square whatever height is asked for.
func TestStorePruneSquares(t *testing.T) {
	ctx := context.Background()
	chain := buildAll(t, genBlocks(t, 6, nil))
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	s := core.NewStore(db, 4)
	putAll(ctx, t, s, chain...)
	if from, err := s.SquaresFrom(ctx); err != nil || from != 1 {
		t.Fatalf("SquaresFrom before pruning: %d, %v", from, err)
	}
	for range 2 { // the second time finds nothing to delete
		n, err := s.PruneSquares(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 && n != 0 {
			t.Fatalf("PruneSquares(4) deleted %d squares", n)
		}
	}
	if from, err := s.SquaresFrom(ctx); err != nil || from != 4 {
		t.Fatalf("SquaresFrom after pruning below 4: %d, %v", from, err)
	}
	check := func(keepFrom uint64) {
		t.Helper()
		if err := s.Check(ctx); err != nil {
			t.Fatalf("Check after pruning: %v", err)
		}
		for _, b := range chain {
			h := b.h.Height()
			if _, err := s.GetByHeight(ctx, h); err != nil {
				t.Fatalf("header %d: %v", h, err)
			}
			_, err := s.EDS(ctx, h) // the cache must not answer for a pruned height
			if (err == nil) != (h >= keepFrom) || (err != nil && !errors.Is(err, edsstore.ErrNotFound)) {
				t.Fatalf("EDS(%d) after pruning below %d: %v", h, keepFrom, err)
			}
		}
	}
	check(4)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	s = core.NewStore(db, 4)
	check(4) // the pruning floor is persisted
	if n, err := s.PruneSquares(ctx, 100); err != nil || n != 2 {
		t.Fatalf("PruneSquares(100) = %d, %v; want 2 (the head keeps its square)", n, err)
	}
	check(6)
	if err := s.CheckHead(ctx); err != nil {
		t.Fatal(err)
	}
}
