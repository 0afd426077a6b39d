package eds_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
)

// TestAxisHelpers checks ExtendAxis and AxisRoot against the full square:
// every row and column, parity ones included, extends from its first half to
// itself and has the header's root.
func TestAxisHelpers(t *testing.T) {
	for _, k := range []int{1, 2, 4, 16} {
		e, dah := edstest.RandomEDS(t, 7, k, k/2)
		for i := range e.Width() {
			for _, axis := range []eds.Axis{eds.Row, eds.Col} {
				cells, want := e.Row(i), dah.RowRoots[i]
				if axis == eds.Col {
					cells, want = e.Col(i), dah.ColumnRoots[i]
				}
				full, err := eds.ExtendAxis(cells[:k])
				if err != nil {
					t.Fatalf("k=%d %s %d: %v", k, axis, i, err)
				}
				for j := range full {
					if !bytes.Equal(full[j], cells[j]) {
						t.Fatalf("k=%d %s %d: cell %d differs after extension", k, axis, i, j)
					}
				}
				root, err := eds.AxisRoot(full, i)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(root, want) {
					t.Fatalf("k=%d %s %d: root differs from the header's", k, axis, i)
				}
			}
		}
	}
}

func TestAxisHelpersErrors(t *testing.T) {
	s := make([]byte, shareSize)
	for _, tc := range []struct {
		half [][]byte
		want error
	}{
		{nil, eds.ErrInvalidSquareSize},
		{[][]byte{s, s, s}, eds.ErrInvalidSquareSize},
		{[][]byte{s, s[:10]}, eds.ErrInvalidShareSize},
		{make([][]byte, 2*eds.MaxSquareSize), eds.ErrSquareTooLarge},
	} {
		if _, err := eds.ExtendAxis(tc.half); !errors.Is(err, tc.want) {
			t.Errorf("ExtendAxis(%d shares): %v, want %v", len(tc.half), err, tc.want)
		}
	}
	hi, lo := bytes.Clone(s), bytes.Clone(s)
	hi[nsSize-1] = 9
	for _, tc := range []struct {
		cells [][]byte
		idx   int
		want  error
	}{
		{[][]byte{s}, 0, eds.ErrInvalidSquareSize},
		{[][]byte{s, s, s, s}, 4, eds.ErrOutOfRange},
		{[][]byte{s, s, s, s}, -1, eds.ErrOutOfRange},
		{[][]byte{s, s[:1]}, 0, eds.ErrInvalidShareSize},
		{[][]byte{hi, lo, s, s}, 0, eds.ErrUnorderedNamespaces},
	} {
		if _, err := eds.AxisRoot(tc.cells, tc.idx); !errors.Is(err, tc.want) {
			t.Errorf("AxisRoot(%d cells, %d): %v, want %v", len(tc.cells), tc.idx, err, tc.want)
		}
	}
	// The same unordered cells as a parity axis are fine: parity leaves all
	// have the parity namespace.
	if _, err := eds.AxisRoot([][]byte{hi, lo, s, s}, 2); err != nil {
		t.Errorf("parity axis: %v", err)
	}
}
