package core_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/eds"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// fullBlocks returns a function returning consecutive signed blocks whose
// squares are k wide and nearly full of blobs: k-4 blobs of k-1 shares
// each, one per BlobTx (none for k = 1: an empty block). Every block
// carries the same transactions (one slice, made once), so a block costs
// only its header and commit to make and keep.
func fullBlocks(b testing.TB, k int) func() signedBlock {
	b.Helper()
	var last cmttypes.Txs
	g := headertest.NewGenerator(headertest.Options{Validators: 4, Seed: 3,
		Byzantine: func(h int64, _ cmttypes.Txs) cmttypes.Txs {
			if last != nil {
				return last
			}
			var txs [][]byte
			for i := range k - 4 {
				id := make([]byte, share.NamespaceVersionZeroIDSize)
				id[0], id[1], id[2] = 0x42, byte(i>>8), byte(i)
				ns, err := share.NewV0Namespace(id)
				if err != nil {
					b.Fatal(err)
				}
				blob, err := share.NewBlob(ns, bytes.Repeat([]byte{byte(i)}, (k-2)*478), 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				btx, err := share.MarshalBlobTx([]byte(fmt.Sprint("pfb ", i)), blob)
				if err != nil {
					b.Fatal(err)
				}
				txs = append(txs, btx)
			}
			sq, err := share.Construct(txs, share.SquareSizeUpperBound)
			if err != nil {
				b.Fatal(err)
			}
			if sq.Width != k {
				b.Fatalf("square width %d, want %d", sq.Width, k)
			}
			ext, err := eds.Extend(sq.Shares)
			if err != nil {
				b.Fatal(err)
			}
			dah, err := eds.NewDAH(ext)
			if err != nil {
				b.Fatal(err)
			}
			drt, err := header.DataRootTx{SquareSize: uint32(k), DataRoot: dah.Hash()}.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			out := make(cmttypes.Txs, 0, len(txs)+1)
			for _, tx := range txs {
				out = append(out, tx)
			}
			last = append(out, drt)
			return last
		}})
	return func() signedBlock {
		eh := g.Must(b)
		return signedBlock{block: &cmttypes.Block{Header: eh.RawHeader, Data: cmttypes.Data{Txs: last}}, commit: eh.Commit, vals: eh.ValidatorSet}
	}
}

// BenchmarkIngest measures one block through the bridge, in MB of original
// square per second: fetch (an in-memory core node: RPC decoding is not
// included), square layout, extension, roots, header validation and the
// atomic store of header and square ("ingest"); and extension plus roots
// alone ("extend+roots"), the floor it is compared with. Ingest is timed in
// a bridge's steady state, after a warm-up that fills the store's cache
// (see below). k = 256 takes several seconds of warm-up and block making:
// run it with -benchtime 5x.
func BenchmarkIngest(b *testing.B) {
	for _, k := range []int{32, 64, 128, 256} {
		b.Run(fmt.Sprintf("k=%d/ingest", k), func(b *testing.B) {
			// The timed blocks are made before the clock starts, and their
			// garbage collected: made between iterations, their garbage
			// was collected on the clock. They share their transactions
			// (fullBlocks), so keeping them does not grow the heap.
			next := fullBlocks(b, k)
			ctx := context.Background()
			db := badgertest.Open(b)
			s := core.NewStore(db, 0)
			fc := &fakeCore{chainID: "test-chain"}
			ingest := func(height int64) {
				rb, _ := fc.Block(ctx, &height)
				rc, _ := fc.Commit(ctx, &height)
				if _, _, err := s.Ingest(ctx, rb.Block, rc.Commit, fc.blocks[height-1].vals, share.SquareSizeUpperBound, nil); err != nil {
					b.Fatal(err)
				}
			}
			add := func() {
				fc.blocks = append(fc.blocks, next())
				fc.latest.Store(int64(len(fc.blocks)))
			}
			// A running bridge's cache is full and its heap has reached
			// its size: each square it ingests is memory the garbage
			// collector freed, already mapped. Until then every square
			// is fresh memory from the kernel, whose page faults cost
			// more than extending it (about 2.5 ms a MiB on the 2-core
			// VM of docs/benchmarks.md).
			warmUp(cachedSquares(k), func(i int) {
				add()
				ingest(int64(i + 1))
			})
			warm := len(fc.blocks)
			for range b.N {
				add()
			}
			b.SetBytes(int64(k * k * share.ShareSize))
			b.ReportAllocs()
			runtime.GC()
			b.ResetTimer()
			for i := range b.N {
				ingest(int64(warm + i + 1))
			}
		})
		b.Run(fmt.Sprintf("k=%d/extend+roots", k), func(b *testing.B) {
			sq, err := share.Construct(blockTxs(fullBlocks(b, k)()), share.SquareSizeUpperBound)
			if err != nil {
				b.Fatal(err)
			}
			// The extended squares are kept as the store's cache keeps
			// ingested ones, as many, and warmed up the same way, so that
			// the floor is measured in a bridge's heap too. (Dropped at
			// once, a k = 256 square is more than the collector's goal
			// for the small heap left, and the runtime gives its memory
			// back to the kernel: the next square is fresh pages again.)
			kept := make([]*eds.ExtendedDataSquare, cachedSquares(k))
			extend := func(i int) {
				ext, err := eds.Extend(sq.Shares)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := eds.NewDAH(ext); err != nil {
					b.Fatal(err)
				}
				kept[i%len(kept)] = ext
			}
			warmUp(len(kept), extend)
			b.SetBytes(int64(k * k * share.ShareSize))
			b.ReportAllocs()
			runtime.GC()
			for i := 0; b.Loop(); i++ {
				extend(i)
			}
		})
	}
}

// cachedSquares is how many extended squares of width k the store's cache
// keeps with its default bounds (eds/store DefaultCacheSize and
// DefaultCacheBytes).
func cachedSquares(k int) int {
	return max(1, min(edsstore.DefaultCacheSize, int(edsstore.DefaultCacheBytes/int64(4*k*k*share.ShareSize))))
}

// warmUp calls step(0), step(1), ... until the squares it made outnumber
// the cached ones (so the oldest is being dropped, as a running bridge's
// cache drops them) and the Go runtime has completed two garbage
// collections since, so that the heap has grown to its running size;
// maxWarmBlocks calls at most.
func warmUp(cached int, step func(i int)) {
	gcs := int64(-1)
	for i := 0; i < maxWarmBlocks; i++ {
		step(i)
		if i == cached {
			gcs = gcCycles()
		}
		if gcs >= 0 && gcCycles() >= gcs+2 {
			return
		}
	}
}

// maxWarmBlocks bounds BenchmarkIngest's warm-up.
const maxWarmBlocks = 64

// gcCycles returns the number of garbage collections the process
// completed.
func gcCycles() int64 {
	m := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(m)
	return int64(m[0].Value.Uint64())
}

func blockTxs(b signedBlock) [][]byte {
	out := make([][]byte, 0, len(b.block.Txs)-1)
	for _, tx := range b.block.Txs[:len(b.block.Txs)-1] {
		out = append(out, tx)
	}
	return out
}

// BenchmarkCatchUp measures a follower catching up 1,000 existing blocks
// (small squares, four validators) from an in-memory core node into an
// empty store, in headers per second.
func BenchmarkCatchUp(b *testing.B) {
	const n = 1000
	var last cmttypes.Txs
	g := headertest.NewGenerator(headertest.Options{Validators: 4, Blobs: 2, Seed: 5,
		StartTime: time.Now().Add(-2 * time.Hour),
		Byzantine: func(_ int64, txs cmttypes.Txs) cmttypes.Txs { last = txs; return txs }})
	blocks := make([]signedBlock, n)
	for i := range blocks {
		eh := g.Must(b)
		blocks[i] = signedBlock{block: &cmttypes.Block{Header: eh.RawHeader, Data: cmttypes.Data{Txs: last}}, commit: eh.Commit, vals: eh.ValidatorSet}
	}
	fc := &fakeCore{chainID: "test-chain", blocks: blocks}
	fc.latest.Store(n)
	ctx := context.Background()
	b.ReportAllocs()
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		db := badgertest.Open(b)
		s := core.NewStore(db, 0)
		done := make(chan struct{})
		f, err := core.New(core.Options{RPC: "fake", ChainID: fc.chainID, Store: s,
			Dial: func(string) (core.Client, error) { return fc, nil },
			OnHeader: func(h *header.ExtendedHeader) {
				if h.Height() == n {
					close(done)
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		startAt := time.Now()
		b.StartTimer()
		if err := f.Start(ctx); err != nil {
			b.Fatal(err)
		}
		<-done
		b.StopTimer()
		elapsed += time.Since(startAt)
		if err := f.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "headers/s")
}
