package eds_test

import (
	"bytes"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/nmt"
)

// TestAxisProverMatchesSample checks that every cell's sample from an
// AxisProver is the one Sample builds, byte for byte, on both axes.
func TestAxisProverMatchesSample(t *testing.T) {
	for _, k := range []int{1, 2, 4, 8, 16} {
		e, dah := edstest.RandomEDS(t, uint64(k), k, k/2)
		w := e.Width()
		for _, axis := range axes {
			roots := dah.RowRoots
			if axis == eds.Col {
				roots = dah.ColumnRoots
			}
			for idx := 0; idx < w; idx++ {
				p, err := e.AxisProver(axis, idx)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(p.Root(), roots[idx]) {
					t.Fatalf("k=%d %s %d: root differs from the header's", k, axis, idx)
				}
				for pos := 0; pos < w; pos++ {
					r, c := idx, pos
					if axis == eds.Col {
						r, c = pos, idx
					}
					want, err := e.Sample(r, c, axis)
					if err != nil {
						t.Fatal(err)
					}
					got, err := p.Sample(e, r, c)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("k=%d (%d, %d) %s: prover's sample %+v, Sample's %+v", k, r, c, axis, got.Proof, want.Proof)
					}
					gb, _ := got.MarshalBinary()
					wb, _ := want.MarshalBinary()
					if !bytes.Equal(gb, wb) {
						t.Fatalf("k=%d (%d, %d) %s: encodings differ", k, r, c, axis)
					}
				}
			}
		}
	}
}

func TestAxisProverErrors(t *testing.T) {
	e, _ := edstest.RandomEDS(t, 3, 4, 2)
	if _, err := e.AxisProver(eds.Row, 8); !errors.Is(err, eds.ErrOutOfRange) {
		t.Fatalf("row 8 of 8: %v", err)
	}
	if _, err := e.AxisProver(eds.Row, -1); !errors.Is(err, eds.ErrOutOfRange) {
		t.Fatalf("row -1: %v", err)
	}
	if _, err := e.AxisProver(eds.Axis(7), 0); !errors.Is(err, eds.ErrOutOfRange) {
		t.Fatalf("axis 7: %v", err)
	}
	p, err := e.AxisProver(eds.Row, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a, i := p.Axis(); a != eds.Row || i != 2 {
		t.Fatalf("Axis() = %s %d", a, i)
	}
	for _, c := range [][2]int{{3, 0}, {2, 8}, {2, -1}, {-1, 0}} {
		if _, err := p.Sample(e, c[0], c[1]); !errors.Is(err, eds.ErrOutOfRange) {
			t.Fatalf("cell %v: %v", c, err)
		}
	}
	other, _ := edstest.RandomEDS(t, 3, 2, 1)
	if _, err := p.Sample(other, 2, 0); !errors.Is(err, eds.ErrOutOfRange) {
		t.Fatalf("square of another width: %v", err)
	}
	for _, pos := range []int{-1, 8} {
		if _, err := p.Prove(pos); !errors.Is(err, eds.ErrOutOfRange) {
			t.Fatalf("leaf %d: %v", pos, err)
		}
	}
	if got, want := eds.AxisProverSize(256), 511*nmt.NodeSize; got != want {
		t.Fatalf("AxisProverSize(256) = %d, want %d", got, want)
	}
}

// TestAxisProverConcurrent proves from one prover on several goroutines
// (run with -race).
func TestAxisProverConcurrent(t *testing.T) {
	e, dah := edstest.RandomEDS(t, 5, 8, 4)
	p, err := e.AxisProver(eds.Col, 3)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*e.Width())
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for r := 0; r < e.Width(); r++ {
				s, err := p.Sample(e, r, 3)
				if err == nil {
					err = s.Verify(dah, r, 3)
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
}
