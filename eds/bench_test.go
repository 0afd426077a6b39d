package eds_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gsmerkle "github.com/celestiaorg/go-square/merkle"
	"github.com/celestiaorg/rsmt2d"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/klauspost/reedsolomon"
)

var benchKs = []int{32, 64, 128, 256}

var sink []byte

// BenchmarkExtendRoots measures ODS → EDS → row and column roots → data
// root, three ways:
//
//   - impl=ours: Extend, NewDAH, Hash;
//   - impl=rsmt2d: rsmt2d.ComputeExtendedDataSquare with the
//     ErasuredNamespacedMerkleTree oracle, RowRoots, ColRoots and go-square's
//     merkle.HashFromByteSlices;
//   - impl=floor: only the unavoidable work, spread over GOMAXPROCS
//     goroutines: the 3k Leopard encodes of the extension and the SHA-256
//     calls of the 4k trees (every leaf over 1+29+512 bytes, every inner node
//     over 1+90+90 bytes), with no tree bookkeeping and no allocation.
//
// SetBytes is the EDS size, (2k)²·512 bytes. Each runs once before the
// timed loop, so one-time codec set-up is not counted.
func BenchmarkExtendRoots(b *testing.B) {
	for _, k := range benchKs {
		ods := edstest.RandomODS(1, k, k)
		size := int64(4 * k * k * shareSize)
		b.Run(fmt.Sprintf("k=%d/impl=ours", k), func(b *testing.B) {
			run := func() {
				e, err := eds.Extend(ods)
				if err != nil {
					b.Fatal(err)
				}
				dah, err := eds.NewDAH(e)
				if err != nil {
					b.Fatal(err)
				}
				sink = dah.Hash()
			}
			run() // warm the codec cache and the codec's global tables
			benchCPU(b, size, run)
		})
		b.Run(fmt.Sprintf("k=%d/impl=rsmt2d", k), func(b *testing.B) {
			codec := rsmt2d.NewLeoRSCodec()
			run := func() {
				ref, err := rsmt2d.ComputeExtendedDataSquare(ods, codec, oracleTreeFn(uint(k)))
				if err != nil {
					b.Fatal(err)
				}
				rows, err := ref.RowRoots()
				if err != nil {
					b.Fatal(err)
				}
				cols, err := ref.ColRoots()
				if err != nil {
					b.Fatal(err)
				}
				sink = gsmerkle.HashFromByteSlices(slices.Concat(rows, cols))
			}
			run()
			benchCPU(b, size, run)
		})
		b.Run(fmt.Sprintf("k=%d/impl=floor", k), func(b *testing.B) {
			f := newFloor(b, ods, k)
			f.run()
			benchCPU(b, size, f.run)
		})
	}
}

// benchCPU times run with allocations and bytes reported, and adds the
// process's CPU time (user and system, every goroutine, GC included) per
// operation as cpu-ns/op, which other load on the machine disturbs much less
// than the wall time.
func benchCPU(b *testing.B, size int64, run func()) {
	b.ReportAllocs()
	b.SetBytes(size)
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		if i == 0 {
			cpu = processCPU()
		}
		run()
	}
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
}

// floor holds a complete EDS to read from and does the bare work of
// BenchmarkExtendRoots' impl=floor.
type floor struct {
	k, w int
	enc  reedsolomon.Encoder
	data []byte
	ws   []*floorWorker
}

type floorWorker struct {
	shards [][]byte
	parity []byte
	level  []byte  // one tree level of digests-with-namespaces
	node   [1]byte // the inner-node prefix
	leaf   [1]byte
	h      interface {
		Reset()
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	_ [64]byte // keep workers' hot fields on their own cache lines
}

func newFloor(b *testing.B, ods [][]byte, k int) *floor {
	e, err := eds.Extend(ods)
	if err != nil {
		b.Fatal(err)
	}
	w := 2 * k
	f := &floor{k: k, w: w, data: make([]byte, 0, w*w*shareSize)}
	for r := 0; r < w; r++ {
		for c := 0; c < w; c++ {
			f.data = append(f.data, e.Share(r, c)...)
		}
	}
	if f.enc, err = reedsolomon.New(k, k, reedsolomon.WithLeopardGF(true)); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		fw := &floorWorker{
			shards: make([][]byte, w),
			parity: make([]byte, k*shareSize),
			level:  make([]byte, w*nmt.NodeSize),
			h:      sha256.New(),
		}
		fw.node[0] = nmt.NodePrefix
		for j := 0; j < k; j++ {
			fw.shards[k+j] = fw.parity[j*shareSize : (j+1)*shareSize]
		}
		f.ws = append(f.ws, fw)
	}
	return f
}

func (f *floor) cell(r, c int) []byte {
	off := (r*f.w + c) * shareSize
	return f.data[off : off+shareSize]
}

// each runs fn over n items on every worker.
func (f *floor) each(n int, fn func(fw *floorWorker, item int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, fw := range f.ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(fw, i)
			}
		}()
	}
	wg.Wait()
}

func (f *floor) run() {
	k, w := f.k, f.w
	// 3k encodes: Q0 rows, Q0 columns, Q2 rows; parity goes to scratch.
	f.each(3*k, func(fw *floorWorker, item int) {
		for j := 0; j < k; j++ {
			switch {
			case item < k:
				fw.shards[j] = f.cell(item, j)
			case item < 2*k:
				fw.shards[j] = f.cell(j, item-k)
			default:
				fw.shards[j] = f.cell(item-k, j)
			}
		}
		if err := f.enc.Encode(fw.shards); err != nil {
			panic(err)
		}
	})
	// 4k trees of 2k leaves: 2k leaf hashes and 2k-1 node hashes each.
	f.each(2*w, func(fw *floorWorker, tree int) {
		for j := 0; j < w; j++ {
			var cell []byte
			if tree < w {
				cell = f.cell(tree, j)
			} else {
				cell = f.cell(j, tree-w)
			}
			out := fw.level[j*nmt.NodeSize : j*nmt.NodeSize]
			out = append(out, cell[:nsSize]...)
			out = append(out, cell[:nsSize]...)
			fw.h.Reset()
			fw.h.Write(fw.leaf[:])
			fw.h.Write(cell[:nsSize])
			fw.h.Write(cell)
			fw.h.Sum(out)
		}
		for n := w; n > 1; n /= 2 {
			for j := 0; j < n/2; j++ {
				out := fw.level[j*nmt.NodeSize : j*nmt.NodeSize+2*nsSize]
				fw.h.Reset()
				fw.h.Write(fw.node[:1])
				fw.h.Write(fw.level[2*j*nmt.NodeSize : (2*j+1)*nmt.NodeSize])
				fw.h.Write(fw.level[(2*j+1)*nmt.NodeSize : (2*j+2)*nmt.NodeSize])
				fw.h.Sum(out)
			}
		}
	})
}

// BenchmarkRepair rebuilds a square from half of its shares (a fixed random
// half) and from Q0 alone. SetBytes is the EDS size.
func BenchmarkRepair(b *testing.B) {
	for _, k := range []int{32, 64, 128} {
		_, dah, flat := square(b, 1, k)
		half := cloneShares(flat)
		for _, i := range rand.New(rand.NewPCG(1, 42)).Perm(len(flat))[:len(flat)/2] {
			half[i] = nil
		}
		for _, in := range []struct {
			name   string
			shares [][]byte
		}{
			{"half", half},
			{"q0", keep(flat, func(r, c int) bool { return r < k && c < k })},
		} {
			b.Run(fmt.Sprintf("k=%d/from=%s", k, in.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(flat) * shareSize))
				for b.Loop() {
					if _, err := eds.Repair(dah, in.shares); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
