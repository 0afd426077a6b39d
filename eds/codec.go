package eds

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/datamesh/mesh-node/share"
	"github.com/klauspost/reedsolomon"
)

// codecs caches one Leopard encoder per original width k: building one is
// costly, and an encoder is safe for concurrent use. klauspost selects
// Leopard GF(2^8) for k ≤ 128 (2k ≤ 256 shards) and GF(2^16) above, as
// rsmt2d's LeoRSCodec does. The cache only grows, by at most one entry per
// power of two up to MaxSquareSize.
var codecs sync.Map // int -> reedsolomon.Encoder

// codecFor returns the (k data, k parity) Leopard encoder.
//
// Decode with Reconstruct only, never ReconstructData or ReconstructSome
// (which Leopard runs as ReconstructData unless asked for every shard).
// For up to 64 shards (k ≤ 32), klauspost v1.14.2's Leopard GF(2^8) caches
// the error locators of each erasure pattern, but ReconstructData keys them
// by the missing data shards alone although they depend on the missing
// parity shards too: a decode through ReconstructData and a later decode
// with the same data shards missing but other parity shards missing
// (through either method) share one cache entry, and one of them silently
// returns wrong shares. Reconstruct keys by every missing shard. The
// encoders are shared by the whole package, so one wrong call would corrupt
// later Repairs (TestBadEncodingProofValidateThenRepair).
func codecFor(k int) (reedsolomon.Encoder, error) {
	if enc, ok := codecs.Load(k); ok {
		return enc.(reedsolomon.Encoder), nil
	}
	enc, err := reedsolomon.New(k, k, reedsolomon.WithLeopardGF(true),
		reedsolomon.WithWorkAllocator(&leopardWork{out: make(map[*[]byte][]byte)}))
	if err != nil {
		return nil, fmt.Errorf("eds: codec for k=%d: %w", k, err)
	}
	actual, _ := codecs.LoadOrStore(k, enc)
	return actual.(reedsolomon.Encoder), nil
}

// leopardWork is the reedsolomon.WorkAllocator of our encoders. The default
// one keeps work buffers in a sync.Pool, which the garbage collector empties,
// so extending a square would allocate them again and again: for k ≤ 128
// (Leopard GF(2^8)) a call asks for 2k buffers of 32 KiB, 8 MiB at k = 128.
//
// klauspost's Leopard codecs process shards in chunks of at most the
// requested buffer size and truncate every work buffer to the chunk they
// process, so with shards of at most maxShardBytes they never touch more
// than the first maxShardBytes of a buffer (klauspost v1.14.2, leopard8.go
// and leopard.go; the outputs are checked against rsmt2d's in the tests).
// The buffers handed out therefore start maxShardBytes apart in one backing
// array, each reaching the requested length: 1 MiB instead of 8 MiB at
// k = 128. Up to GOMAXPROCS sets are kept for reuse, the largest ones when
// sizes differ (about 2 MiB each at k = 256, 4 MiB at k = 512).
type leopardWork struct {
	mu   sync.Mutex
	free [][][]byte
	out  map[*[]byte][]byte // backing array of each set handed out, by &set[0]
}

func (a *leopardWork) Get(n, size int) [][]byte {
	stride := min(size, maxShardBytes)
	need := (n-1)*stride + size
	a.mu.Lock()
	defer a.mu.Unlock()
	var set [][]byte
	var backing []byte
	for i := len(a.free) - 1; i >= 0; i-- {
		w := a.free[i]
		if cap(w) >= n && cap(w[0]) >= need {
			a.free[i] = a.free[len(a.free)-1]
			a.free = a.free[:len(a.free)-1]
			set, backing = w[:n], w[0][:cap(w[0])]
			break
		}
	}
	if set == nil {
		backing = reedsolomon.AllocAligned(1, need)[0]
		backing = backing[:cap(backing)]
		set = make([][]byte, n)
	}
	for i := range set {
		set[i] = backing[i*stride : i*stride+size]
	}
	a.out[&set[0]] = backing
	return set
}

func (a *leopardWork) Put(set [][]byte) {
	if len(set) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	backing, ok := a.out[&set[0]]
	if !ok {
		return
	}
	delete(a.out, &set[0])
	set[0] = backing // keeps the backing array for the next Get
	if len(a.free) < runtime.GOMAXPROCS(0) {
		a.free = append(a.free, set)
		return
	}
	// Full: keep the larger sets, which serve every request (row encodes
	// ask for smaller ones than column batches in GF(2^16)).
	smallest := 0
	for i, w := range a.free {
		if cap(w[0]) < cap(a.free[smallest][0]) {
			smallest = i
		}
	}
	if cap(a.free[smallest][0]) < cap(backing) {
		a.free[smallest] = set
	}
}

// parallel runs n items over min(GOMAXPROCS, n) goroutines. Each goroutine
// calls newWorker once to get its own state and then do for the items it
// takes (in increasing order, from a shared counter). It returns the error of
// the lowest failing item, so the result does not depend on scheduling; after
// a failure, items above it are skipped.
func parallel(n int, newWorker func() func(item int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		do := newWorker()
		for i := 0; i < n; i++ {
			if err := do(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next     atomic.Int64
		failedAt atomic.Int64 // lowest failing item, n if none
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	failedAt.Store(int64(n))
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			do := newWorker()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || i > failedAt.Load() {
					return
				}
				if err := do(int(i)); err != nil {
					mu.Lock()
					if i < failedAt.Load() {
						failedAt.Store(i)
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// colBatch is the number of adjacent columns extended by one codec call,
// and maxShardBytes the largest shard this package passes to the codec.
const (
	colBatch      = 8
	maxShardBytes = colBatch * share.ShareSize
)

// extend copies the k*k shares of ods into Q0 and fills Q1, Q2 and Q3 from
// it, in place: the shards handed to the codec are sub-slices of the square's
// buffer. A nil ods extends the Q0 already written in place (ODSBuffer).
//
// First Q1: each row of ods is copied into Q0 and encoded into the same row
// of Q1 (k calls, in parallel with the copies). Then
// Q2 and Q3 together: each column of the top half is encoded into the same
// column of the bottom half. The Leopard code works on each byte (GF(2^8))
// or each 64-byte block (GF(2^16)) of a shard independently, so colBatch
// adjacent columns are encoded in one call whose shard j is the run of
// colBatch cells of row j (contiguous in the row-major buffer): 2k/colBatch
// calls instead of 2k, over contiguous memory. rsmt2d encodes Q2 from Q0
// columns and Q3 from Q2 rows; the result is the same (spec section 6,
// checked against rsmt2d in the tests). For k = 1 the code repeats the
// share, so all four cells are equal.
func (e *ExtendedDataSquare) extend(ods [][]byte) error {
	k, w := e.k, e.width
	enc, err := codecFor(k)
	if err != nil {
		return err
	}
	if err := parallel(k, func() func(int) error {
		shards := make([][]byte, w)
		return func(r int) error {
			if ods != nil {
				for c, s := range ods[r*k : (r+1)*k] {
					copy(e.cell(r, c), s)
				}
			}
			return e.extendRow(enc, shards, r)
		}
	}); err != nil {
		return err
	}
	return e.extendCols(enc)
}

// encode fills the parity half of shards from the data half.
func encode(enc reedsolomon.Encoder, shards [][]byte) error {
	if err := enc.Encode(shards); err != nil {
		return fmt.Errorf("eds: encode: %w", err)
	}
	return nil
}

// extendRow encodes original row r, whose Q0 cells are filled in, into the
// same row of Q1. shards is scratch of Width() entries.
func (e *ExtendedDataSquare) extendRow(enc reedsolomon.Encoder, shards [][]byte, r int) error {
	e.rowShards(shards, r)
	return encode(enc, shards)
}

// extendCols fills Q2 and Q3 from the top half of the square (Q0 and Q1
// filled in), colBatch columns per codec call.
func (e *ExtendedDataSquare) extendCols(enc reedsolomon.Encoder) error {
	w := e.width
	batch := min(colBatch, w)
	return parallel(w/batch, func() func(int) error {
		shards := make([][]byte, w)
		return func(g int) error {
			from, to := g*batch*share.ShareSize, (g+1)*batch*share.ShareSize
			for j := range shards {
				row := e.data[j*w*share.ShareSize:]
				shards[j] = row[from:to:to]
			}
			return encode(enc, shards)
		}
	})
}

// rowShards points shards at the cells of row r.
func (e *ExtendedDataSquare) rowShards(shards [][]byte, r int) {
	row := e.data[r*e.width*share.ShareSize : (r+1)*e.width*share.ShareSize]
	for c := range shards {
		shards[c] = row[c*share.ShareSize : (c+1)*share.ShareSize : (c+1)*share.ShareSize]
	}
}

// colShards points shards at the cells of column c.
func (e *ExtendedDataSquare) colShards(shards [][]byte, c int) {
	for r := range shards {
		shards[r] = e.cell(r, c)
	}
}
