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
func codecFor(k int) (reedsolomon.Encoder, error) {
	if enc, ok := codecs.Load(k); ok {
		return enc.(reedsolomon.Encoder), nil
	}
	enc, err := reedsolomon.New(k, k, reedsolomon.WithLeopardGF(true))
	if err != nil {
		return nil, fmt.Errorf("eds: codec for k=%d: %w", k, err)
	}
	actual, _ := codecs.LoadOrStore(k, enc)
	return actual.(reedsolomon.Encoder), nil
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

// extend fills Q1, Q2 and Q3 from Q0: Q1 rows and Q2 columns are encoded from
// Q0 rows and columns, then Q3 rows from Q2 rows (rsmt2d's order; the result
// equals Q3 encoded from Q1 columns). Shards are sub-slices of the square's
// buffer, so the codec reads and writes the square in place. For k = 1 the
// code repeats the share, so all four cells are equal.
func (e *ExtendedDataSquare) extend() error {
	k := e.k
	enc, err := codecFor(k)
	if err != nil {
		return err
	}
	newEncoder := func() func(int) error {
		shards := make([][]byte, e.width)
		return func(item int) error {
			// Items 0..k-1: row item (Q0 -> Q1); k..2k-1: column item-k
			// (Q0 -> Q2); 2k..3k-1: row item-k (Q2 -> Q3).
			switch {
			case item < k:
				e.rowShards(shards, item)
			case item < 2*k:
				e.colShards(shards, item-k)
			default:
				e.rowShards(shards, item-k)
			}
			if err := enc.Encode(shards); err != nil {
				return fmt.Errorf("eds: encode: %w", err)
			}
			return nil
		}
	}
	if err := parallel(2*k, newEncoder); err != nil {
		return err
	}
	return parallel(k, func() func(int) error {
		do := newEncoder()
		return func(item int) error { return do(2*k + item) }
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
