package shrex

import (
	"sync"
	"weak"

	"github.com/datamesh/mesh-node/eds"
)

// Sample-cache defaults (WithSampleCache).
const (
	// DefaultSampleCacheSquares is how many squares the server keeps row
	// provers of: a light node catching up samples a few headers at a
	// time (4 workers), and many light nodes sample the same recent
	// heads.
	DefaultSampleCacheSquares = 16
	// DefaultSampleCacheBytes bounds the memory of the row provers kept,
	// eds.AxisProverSize(2k) bytes each: 64 MiB holds 1,459 rows of a
	// k = 128 square (of its 256), 5.7 fully sampled k = 128 squares.
	DefaultSampleCacheBytes = 64 << 20
)

// provers is the server's bounded cache of row provers (eds.AxisProver),
// by square: serving many samples of one square builds each row's tree at
// most once while the square is cached, where eds.Sample builds it for
// every sample.
//
// A square is known by its height and its identity (a weak pointer): the
// Store hands out immutable squares, and a height that is pruned and
// stored again, or that the store reads anew, is a new square object, so
// the cache can never serve another square's proofs. The cache does not
// keep squares alive. It holds at most maxSquares squares and maxBytes of
// provers, evicting the least recently used squares; a row that would not
// fit even then is proved without being kept. Safe for concurrent use.
type provers struct {
	maxSquares, maxBytes int

	mu      sync.Mutex
	squares []*squareProvers // least recently used first
	bytes   int              // provers' size over all squares
	evicted int              // squares evicted, for tests
}

type squareProvers struct {
	height uint64
	sq     weak.Pointer[eds.ExtendedDataSquare]
	rows   map[int]*rowProver
	bytes  int
}

// rowProver is built once, by the first request that needs it; the others
// wait for it.
type rowProver struct {
	once sync.Once
	p    *eds.AxisProver
	err  error
}

func newProvers(maxSquares, maxBytes int) *provers {
	return &provers{maxSquares: maxSquares, maxBytes: maxBytes}
}

// sample returns the sample at (row, col) of e, the square of height, with
// its proof against the row's root: e.Sample(row, col, eds.Row), from a
// cached row prover when there is one.
func (c *provers) sample(e *eds.ExtendedDataSquare, height uint64, row, col int) (*eds.Sample, error) {
	if c == nil || c.maxSquares == 0 {
		return e.Sample(row, col, eds.Row)
	}
	if row < 0 || row >= e.Width() {
		return e.Sample(row, col, eds.Row) // its error
	}
	rp := c.row(e, height, row)
	rp.once.Do(func() { rp.p, rp.err = e.AxisProver(eds.Row, row) })
	if rp.err != nil {
		return nil, rp.err
	}
	return rp.p.Sample(e, row, col)
}

// row returns the entry of row of e, new if it was not cached; an entry
// that does not fit is not kept.
func (c *provers) row(e *eds.ExtendedDataSquare, height uint64, row int) *rowProver {
	size := eds.AxisProverSize(e.Width())
	c.mu.Lock()
	defer c.mu.Unlock()
	sp := c.square(e, height)
	if rp, ok := sp.rows[row]; ok {
		return rp
	}
	for c.bytes+size > c.maxBytes && len(c.squares) > 1 && c.squares[0] != sp {
		c.evict(0)
	}
	rp := &rowProver{}
	if c.bytes+size > c.maxBytes {
		return rp
	}
	sp.rows[row] = rp
	sp.bytes += size
	c.bytes += size
	return rp
}

// square returns e's entry, most recently used from now on. Called with
// c.mu held.
func (c *provers) square(e *eds.ExtendedDataSquare, height uint64) *squareProvers {
	wp := weak.Make(e)
	for i, sp := range c.squares {
		if sp.height != height {
			continue
		}
		if sp.sq != wp {
			// Another square for the height: the store read it anew,
			// or the height was pruned and stored again.
			c.evict(i)
			break
		}
		copy(c.squares[i:], c.squares[i+1:])
		c.squares[len(c.squares)-1] = sp
		return sp
	}
	if len(c.squares) >= c.maxSquares {
		c.evict(0)
	}
	sp := &squareProvers{height: height, sq: wp, rows: map[int]*rowProver{}}
	c.squares = append(c.squares, sp)
	return sp
}

// evict drops square i. Called with c.mu held.
func (c *provers) evict(i int) {
	c.bytes -= c.squares[i].bytes
	c.squares = append(c.squares[:i], c.squares[i+1:]...)
	c.evicted++
}

// stats returns the squares and bytes held and the squares evicted so far.
func (c *provers) stats() (squares, bytes, evicted int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.squares), c.bytes, c.evicted
}
