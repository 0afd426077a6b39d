package shrex

import (
	"bytes"
	"sync"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
)

// checkProved checks that c's sample of (row, col) of e is eds.Sample's.
func checkProved(t testing.TB, c *provers, e *eds.ExtendedDataSquare, height uint64, row, col int) {
	t.Helper()
	got, err := c.sample(e, height, row, col)
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Sample(row, col, eds.Row)
	if err != nil {
		t.Fatal(err)
	}
	gb, _ := got.MarshalBinary()
	wb, _ := want.MarshalBinary()
	if !bytes.Equal(gb, wb) {
		t.Fatalf("height %d (%d, %d): cached sample differs from eds.Sample's", height, row, col)
	}
}

// TestProversBoundedBySquares fills the cache over its square limit.
func TestProversBoundedBySquares(t *testing.T) {
	c := newProvers(2, 1<<30)
	row := eds.AxisProverSize(8)
	for h := uint64(1); h <= 5; h++ {
		e, _ := edstest.RandomEDS(t, h, 4, 2)
		checkProved(t, c, e, h, 1, 2)
		checkProved(t, c, e, h, 1, 5) // same row: no new prover
		checkProved(t, c, e, h, 3, 0)
	}
	sq, b, ev := c.stats()
	if sq != 2 || b != 2*2*row || ev != 3 {
		t.Fatalf("squares %d, bytes %d, evicted %d; want 2, %d, 3", sq, b, 2*2*row, ev)
	}
}

// TestProversBoundedByBytes fills the cache over its byte limit: the
// least recently used square goes first, and a row that cannot fit even
// alone is proved without being kept.
func TestProversBoundedByBytes(t *testing.T) {
	row := eds.AxisProverSize(8)
	c := newProvers(16, 3*row)
	e1, _ := edstest.RandomEDS(t, 1, 4, 2)
	e2, _ := edstest.RandomEDS(t, 2, 4, 2)
	for r := 0; r < 3; r++ {
		checkProved(t, c, e1, 1, r, r)
	}
	if sq, b, ev := c.stats(); sq != 1 || b != 3*row || ev != 0 {
		t.Fatalf("after 3 rows: squares %d, bytes %d, evicted %d", sq, b, ev)
	}
	checkProved(t, c, e1, 1, 3, 3) // over the limit, only its own square
	if sq, b, ev := c.stats(); sq != 1 || b != 3*row || ev != 0 {
		t.Fatalf("after a 4th row: squares %d, bytes %d, evicted %d", sq, b, ev)
	}
	checkProved(t, c, e2, 2, 0, 0) // evicts e1's square
	if sq, b, ev := c.stats(); sq != 1 || b != row || ev != 1 {
		t.Fatalf("after another square: squares %d, bytes %d, evicted %d", sq, b, ev)
	}
	tiny := newProvers(16, row-1)
	checkProved(t, tiny, e1, 1, 0, 0)
	if sq, b, _ := tiny.stats(); b != 0 || sq != 1 {
		t.Fatalf("row over the whole limit: squares %d, bytes %d", sq, b)
	}
	off := newProvers(0, 1<<30)
	checkProved(t, off, e1, 1, 2, 2)
	if sq, b, _ := off.stats(); sq != 0 || b != 0 {
		t.Fatal("a disabled cache kept something")
	}
}

// TestProversNewSquareAtHeight: a height stored again with another square
// (pruned and re-stored, or read anew) is never served the old proofs.
func TestProversNewSquareAtHeight(t *testing.T) {
	c := newProvers(4, 1<<30)
	old, _ := edstest.RandomEDS(t, 1, 4, 2)
	checkProved(t, c, old, 7, 2, 3)
	fresh, dah := edstest.RandomEDS(t, 2, 4, 2)
	smp, err := c.sample(fresh, 7, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := smp.Verify(dah, 2, 3); err != nil {
		t.Fatalf("sample of the new square at the same height: %v", err)
	}
	if sq, b, ev := c.stats(); sq != 1 || b != eds.AxisProverSize(8) || ev != 1 {
		t.Fatalf("squares %d, bytes %d, evicted %d; want the old square dropped", sq, b, ev)
	}
}

// TestProversConcurrent proves from many goroutines over more squares and
// rows than the cache holds (run with -race).
func TestProversConcurrent(t *testing.T) {
	c := newProvers(2, 6*eds.AxisProverSize(8))
	type sq struct {
		e   *eds.ExtendedDataSquare
		dah *eds.DataAvailabilityHeader
	}
	var squares []sq
	for h := uint64(1); h <= 3; h++ {
		e, dah := edstest.RandomEDS(t, h, 4, 2)
		squares = append(squares, sq{e, dah})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*64)
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 64; i++ {
				s := squares[(g+i)%3]
				r, col := (g*7+i)%8, (i*3)%8
				smp, err := c.sample(s.e, uint64((g+i)%3+1), r, col)
				if err == nil {
					err = smp.Verify(s.dah, r, col)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if sq, b, _ := c.stats(); sq > 2 || b > 6*eds.AxisProverSize(8) {
		t.Fatalf("over the bounds: %d squares, %d bytes", sq, b)
	}
}
