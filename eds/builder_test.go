package eds_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/share"
)

// buildRows builds the square of ods row by row, through ReadRow from one
// stream when stream is set and through AddRow otherwise.
func buildRows(t *testing.T, ods [][]byte, stream bool) (*eds.ExtendedDataSquare, error) {
	t.Helper()
	k := isqrt(len(ods))
	b := newBuilder(t, k)
	var err error
	r := bytes.NewReader(bytes.Join(ods, nil))
	for row := range k {
		if stream {
			err = b.ReadRow(r)
		} else {
			err = b.AddRow(ods[row*k : (row+1)*k])
		}
		if err != nil {
			t.Fatalf("row %d: %v", row, err)
		}
	}
	if b.Rows() != k {
		t.Fatalf("Rows() = %d, want %d", b.Rows(), k)
	}
	return b.Finish()
}

func newBuilder(t *testing.T, k int) *eds.SquareBuilder {
	t.Helper()
	b, err := eds.NewSquareBuilder(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSquareBuilderMatchesExtend: the square and the DAH built row by row
// are byte-identical to Extend and NewDAH's, for random squares of every
// width up to 256, with and without tail padding, and match rsmt2d.
func TestSquareBuilderMatchesExtend(t *testing.T) {
	for _, k := range []int{1, 2, 4, 8, 16, 32, 64, 128, 256} {
		for _, tail := range []int{0, k*k/3 + 1} {
			for _, stream := range []bool{false, true} {
				t.Run(fmt.Sprintf("k=%d/tail=%d/stream=%v", k, tail, stream), func(t *testing.T) {
					if k >= 256 && testing.Short() {
						t.Skip("a 256-wide square; runs without -short")
					}
					ods := edstest.RandomODS(uint64(2000+k+tail), k, tail)
					want, wantDAH := edstest.Extend(t, ods)
					got, err := buildRows(t, ods, stream)
					if err != nil {
						t.Fatal(err)
					}
					if got.Width() != want.Width() || got.K() != k {
						t.Fatalf("width %d, k %d", got.Width(), got.K())
					}
					for r := range want.Width() {
						for c := range want.Width() {
							if !bytes.Equal(got.Share(r, c), want.Share(r, c)) {
								t.Fatalf("share (%d, %d) differs", r, c)
							}
						}
					}
					if !bytes.Equal(got.AppendODS([]byte{7}), append([]byte{7}, bytes.Join(ods, nil)...)) {
						t.Fatal("AppendODS differs from the original square")
					}
					gotDAH, err := eds.NewDAH(got)
					if err != nil {
						t.Fatal(err)
					}
					if !gotDAH.Equals(wantDAH) || !bytes.Equal(gotDAH.Hash(), wantDAH.Hash()) {
						t.Fatal("DAH differs from Extend + NewDAH")
					}
					if k <= 32 {
						_, _, root := refRoots(t, refExtend(t, ods))
						if !bytes.Equal(gotDAH.Hash(), root) {
							t.Fatal("data root differs from rsmt2d's")
						}
					}
				})
			}
		}
	}
}

// TestSquareBuilderCorruptRow: a share changed in the middle of the stream
// gives another square, whose data root is not the original's; a namespace
// out of order in the middle of the stream, along a row or down a column,
// is refused as Extend refuses it.
func TestSquareBuilderCorruptRow(t *testing.T) {
	const k = 32
	ods := edstest.RandomODS(7, k, 0)
	_, dah := edstest.Extend(t, ods)
	mid := (k/2)*k + k/2

	changed := edstest.CloneCells(ods)
	changed[mid][share.NamespaceSize+3] ^= 0x80
	e, err := buildRows(t, changed, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := eds.NewDAH(e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got.Hash(), dah.Hash()) {
		t.Fatal("a changed share kept the data root")
	}
	_, ref := edstest.Extend(t, changed)
	if !got.Equals(ref) {
		t.Fatal("the changed square's DAH differs from Extend's")
	}

	for name, c := range map[string]struct {
		at   int
		ns   byte
		want string // where Extend reports it
	}{
		// The highest namespace, above the next cell of its row.
		"along the row": {mid, 0xFE, fmt.Sprintf("row %d at column %d", k/2, k/2+1)},
		// The lowest namespace, first in its row but below the cell above.
		"down the column": {(k / 2) * k, 0x00, fmt.Sprintf("column 0 at row %d", k/2)},
	} {
		bad := edstest.CloneCells(ods)
		copy(bad[c.at][:share.NamespaceSize], bytes.Repeat([]byte{c.ns}, share.NamespaceSize))
		if _, err := eds.Extend(bad); !errors.Is(err, eds.ErrUnorderedNamespaces) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: Extend: %v", name, err)
		}
		for _, stream := range []bool{false, true} {
			if _, err := buildRows(t, bad, stream); !errors.Is(err, eds.ErrUnorderedNamespaces) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s, stream=%v: %v, want ErrUnorderedNamespaces at %s", name, stream, err, c.want)
			}
		}
	}
}

// TestSquareBuilderMisuse: bad widths, short rows and streams, extra rows,
// an unfinished square and use after Finish are errors, never panics.
func TestSquareBuilderMisuse(t *testing.T) {
	for _, k := range []int{0, -1, 3, 2 * eds.MaxSquareSize} {
		if _, err := eds.NewSquareBuilder(k); err == nil {
			t.Errorf("NewSquareBuilder(%d) accepted", k)
		}
	}
	const k = 4
	ods := edstest.RandomODS(3, k, 0)

	b := newBuilder(t, k)
	if err := b.AddRow(ods[:k-1]); !errors.Is(err, eds.ErrInvalidSquareSize) {
		t.Errorf("short row: %v", err)
	}
	short := edstest.CloneCells(ods[:k])
	short[2] = short[2][:share.ShareSize-1]
	if err := b.AddRow(short); !errors.Is(err, eds.ErrInvalidShareSize) {
		t.Errorf("short share: %v", err)
	}
	if err := b.AddRow(ods[:k]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(); !errors.Is(err, eds.ErrInvalidSquareSize) {
		t.Errorf("Finish after 1 of %d rows: %v", k, err)
	}
	if err := b.AddRow(ods[k : 2*k]); !errors.Is(err, eds.ErrBuilderDone) {
		t.Errorf("AddRow after Finish: %v", err)
	}
	if _, err := b.Finish(); !errors.Is(err, eds.ErrBuilderDone) {
		t.Errorf("second Finish: %v", err)
	}

	b = newBuilder(t, k)
	flat := bytes.Join(ods, nil)
	r := bytes.NewReader(flat[:len(flat)-share.ShareSize])
	for range k - 1 {
		if err := b.ReadRow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.ReadRow(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated stream: %v", err)
	}
	if err := b.ReadRow(r); !errors.Is(err, eds.ErrBuilderDone) {
		t.Errorf("ReadRow after a failed read: %v", err)
	}
	if _, err := b.Finish(); !errors.Is(err, eds.ErrBuilderDone) {
		t.Errorf("Finish after a failed read: %v", err)
	}

	b = newBuilder(t, k)
	for row := range k {
		if err := b.AddRow(ods[row*k : (row+1)*k]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AddRow(ods[:k]); !errors.Is(err, eds.ErrInvalidSquareSize) {
		t.Errorf("row %d of %d: %v", k+1, k, err)
	}
	if _, err := b.Finish(); err != nil {
		t.Errorf("Finish after a refused extra row: %v", err)
	}
}
