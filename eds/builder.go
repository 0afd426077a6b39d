package eds

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/reedsolomon"

	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// ErrBuilderDone is returned by a SquareBuilder used after Finish or after
// a failed ReadRow or AddRow.
var ErrBuilderDone = errors.New("eds: square builder already finished or failed")

// SquareBuilder builds an ExtendedDataSquare from its original rows given in
// order, for a consumer that receives the original square row by row (a
// full node reading it from a peer): as each row arrives, it is extended
// into Q1 and its root computed in the background, so that this work
// overlaps the arrival of the next rows. Finish extends the columns and
// computes the remaining roots. The square and its roots are byte-identical
// to Extend's and RowRoots'/ColRoots', and the namespace order is checked as
// Extend checks it.
//
// A SquareBuilder is not safe for concurrent use: ReadRow, AddRow and
// Finish are called from one goroutine. The background work runs on at most
// GOMAXPROCS goroutines; a builder may be abandoned without Finish, and its
// background work then ends by itself.
type SquareBuilder struct {
	e       *ExtendedDataSquare
	enc     reedsolomon.Encoder
	next    int     // rows added so far
	roots   []byte  // 2·Width() roots; row r < k filled in by row r's work
	leaves  *[]byte // leaf hashes (getLeaves); row r < k filled in by row r's work
	errs    []error
	wg      sync.WaitGroup
	workers chan *rowWorker // free workers (nil until first used)
	err     error           // sticky: ErrBuilderDone or a failed read
}

// rowWorker is the scratch one background goroutine uses for a row.
type rowWorker struct {
	shards [][]byte
	hasher *treeHasher
}

// NewSquareBuilder returns a builder for the square of original width k, a
// power of two no larger than MaxSquareSize.
func NewSquareBuilder(k int) (*SquareBuilder, error) {
	if k <= 0 || k&(k-1) != 0 {
		return nil, fmt.Errorf("%w: width %d is not a power of two", ErrInvalidSquareSize, k)
	}
	if k > MaxSquareSize {
		return nil, fmt.Errorf("%w: width %d exceeds %d", ErrSquareTooLarge, k, MaxSquareSize)
	}
	enc, err := codecFor(k)
	if err != nil {
		return nil, err
	}
	e := newSquare(k)
	n := min(runtime.GOMAXPROCS(0), k)
	b := &SquareBuilder{
		e:       e,
		enc:     enc,
		roots:   make([]byte, 2*e.width*nmt.NodeSize),
		leaves:  getLeaves(e.width),
		errs:    make([]error, k),
		workers: make(chan *rowWorker, n),
	}
	for range n {
		b.workers <- nil
	}
	return b, nil
}

// Rows returns the number of rows added so far.
func (b *SquareBuilder) Rows() int { return b.next }

// ReadRow reads the next original row, k shares of share.ShareSize bytes
// (k·share.ShareSize bytes), from r directly into the square and starts its
// extension and root in the background. A read error is returned wrapped
// (errors.Is finds io.ErrUnexpectedEOF and the like) and ends the builder:
// later calls return ErrBuilderDone. Reading more than k rows is an error
// wrapping ErrInvalidSquareSize.
func (b *SquareBuilder) ReadRow(r io.Reader) error {
	row, err := b.nextRow()
	if err != nil {
		return err
	}
	if _, err := io.ReadFull(r, row); err != nil {
		b.err = ErrBuilderDone
		return fmt.Errorf("eds: reading row %d: %w", b.next, err)
	}
	b.start()
	return nil
}

// AddRow copies the next original row, k shares of share.ShareSize bytes,
// into the square and starts its extension and root in the background. It
// does not retain shares. A share of another size is an error wrapping
// ErrInvalidShareSize, a row of another length or a row past the k-th one
// wrapping ErrInvalidSquareSize; the row is then not added.
func (b *SquareBuilder) AddRow(shares [][]byte) error {
	row, err := b.nextRow()
	if err != nil {
		return err
	}
	if len(shares) != b.e.k {
		return fmt.Errorf("%w: row %d has %d shares, want %d", ErrInvalidSquareSize, b.next, len(shares), b.e.k)
	}
	for c, s := range shares {
		if len(s) != share.ShareSize {
			return fmt.Errorf("%w: row %d, share %d has %d bytes, want %d", ErrInvalidShareSize, b.next, c, len(s), share.ShareSize)
		}
	}
	for c, s := range shares {
		copy(row[c*share.ShareSize:], s)
	}
	b.start()
	return nil
}

// nextRow returns the Q0 cells of the next row, k·share.ShareSize
// contiguous bytes of the square's buffer.
func (b *SquareBuilder) nextRow() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.next == b.e.k {
		return nil, fmt.Errorf("%w: more than %d rows", ErrInvalidSquareSize, b.e.k)
	}
	off := b.next * b.e.width * share.ShareSize
	return b.e.data[off : off+b.e.k*share.ShareSize], nil
}

// start hands the row just filled in to a background goroutine. The row's
// Q0 cells, and those of the rows above, are written before the goroutine
// starts and not written again; it writes only the row's Q1 cells, its root
// and its error.
func (b *SquareBuilder) start() {
	r := b.next
	b.next++
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		w := <-b.workers
		if w == nil {
			w = &rowWorker{shards: make([][]byte, b.e.width), hasher: newTreeHasher(b.e.width)}
		}
		b.errs[r] = b.doRow(w, r)
		b.workers <- w
	}()
}

// doRow checks the namespace order of original row r (along the row and
// against row r-1), extends it and computes its root.
func (b *SquareBuilder) doRow(w *rowWorker, r int) error {
	e := b.e
	if err := e.checkOriginalRow(r); err != nil {
		return err
	}
	if err := e.extendRow(b.enc, w.shards, r); err != nil {
		return err
	}
	_, err := w.hasher.rowRoot(b.roots[r*nmt.NodeSize:r*nmt.NodeSize], e, r, *b.leaves)
	return err
}

// checkOriginalRow checks that the namespaces of original row r do not
// decrease along the row, nor from row r-1 to row r in any column: over all
// rows, the order Extend checks.
func (e *ExtendedDataSquare) checkOriginalRow(r int) error {
	const ns = share.NamespaceSize
	for c := 0; c < e.k; c++ {
		cell := e.cell(r, c)[:ns]
		if c > 0 && bytes.Compare(cell, e.cell(r, c-1)[:ns]) < 0 {
			return fmt.Errorf("%w: row %d at column %d", ErrUnorderedNamespaces, r, c)
		}
		if r > 0 && bytes.Compare(cell, e.cell(r-1, c)[:ns]) < 0 {
			return fmt.Errorf("%w: column %d at row %d", ErrUnorderedNamespaces, c, r)
		}
	}
	return nil
}

// Finish waits for the rows' background work, extends the columns and
// computes the remaining roots, and returns the square with all its roots
// cached (RowRoots, ColRoots and NewDAH do not hash again). All k rows must
// have been added; otherwise the error wraps ErrInvalidSquareSize. A row
// whose namespaces are out of order is reported as Extend reports it
// (ErrUnorderedNamespaces), the lowest such row first. The builder is done
// afterwards: later calls return ErrBuilderDone.
func (b *SquareBuilder) Finish() (*ExtendedDataSquare, error) {
	if b.err != nil {
		b.wg.Wait()
		return nil, b.err
	}
	b.err = ErrBuilderDone
	b.wg.Wait()
	e := b.e
	if b.next != e.k {
		return nil, fmt.Errorf("%w: %d of %d rows", ErrInvalidSquareSize, b.next, e.k)
	}
	for _, err := range b.errs {
		if err != nil {
			return nil, err
		}
	}
	if err := e.extendCols(b.enc); err != nil {
		return nil, err
	}
	err := e.fillRoots(b.roots, e.k, *b.leaves)
	leafPool.Put(b.leaves) // no row's work is left to write it
	b.leaves = nil
	if err != nil {
		return nil, err
	}
	e.rootsOnce.Do(func() { e.roots = b.roots })
	return e, nil
}
