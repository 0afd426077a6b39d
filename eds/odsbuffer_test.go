package eds_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/share"
)

// An original square written into an ODSBuffer extends to the square, and
// the roots, that Extend gives for the same shares.
func TestODSBufferMatchesExtend(t *testing.T) {
	for _, k := range []int{1, 2, 8, 64, 256} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			ods := edstest.RandomODS(uint64(k), k, k/2)
			want, err := eds.Extend(ods)
			if err != nil {
				t.Fatal(err)
			}
			b, err := eds.NewODSBuffer(k)
			if err != nil {
				t.Fatal(err)
			}
			cells := b.Shares()
			if len(cells) != k*k {
				t.Fatalf("%d cells, want %d", len(cells), k*k)
			}
			for i, s := range ods {
				copy(cells[i], s)
			}
			got, err := b.Extend()
			if err != nil {
				t.Fatal(err)
			}
			for r := range want.Width() {
				if !bytes.Equal(bytes.Join(got.Row(r), nil), bytes.Join(want.Row(r), nil)) {
					t.Fatalf("row %d differs", r)
				}
			}
			gotDAH, err := eds.NewDAH(got)
			if err != nil {
				t.Fatal(err)
			}
			wantDAH, err := eds.NewDAH(want)
			if err != nil {
				t.Fatal(err)
			}
			if !gotDAH.Equals(wantDAH) {
				t.Fatal("DAH differs")
			}
			if _, err := b.Extend(); !errors.Is(err, eds.ErrBuilderDone) {
				t.Fatalf("second Extend: %v, want ErrBuilderDone", err)
			}
		})
	}
}

func TestODSBufferErrors(t *testing.T) {
	for _, k := range []int{0, -2, 3, 1024} {
		if _, err := eds.NewODSBuffer(k); !errors.Is(err, eds.ErrInvalidSquareSize) && !errors.Is(err, eds.ErrSquareTooLarge) {
			t.Fatalf("k=%d: %v", k, err)
		}
	}
	b, err := eds.NewODSBuffer(2)
	if err != nil {
		t.Fatal(err)
	}
	// Namespaces [2 1; 3 4]: columns sorted, row 0 not.
	for i, last := range []byte{2, 1, 3, 4} {
		cell := b.Shares()[i]
		copy(cell, edstest.RandomODS(3, 1, 0)[0])
		clear(cell[:share.NamespaceSize])
		cell[share.NamespaceSize-1] = last
	}
	if e, err := b.Extend(); !errors.Is(err, eds.ErrUnorderedNamespaces) || e != nil {
		t.Fatalf("got (%v, %v), want ErrUnorderedNamespaces", e, err)
	}
}

// Rows and ODSRows are the original square's rows, aliasing the square:
// joined, they are ODS's shares, before Extend and after.
func TestODSRows(t *testing.T) {
	for _, k := range []int{1, 4, 32} {
		ods := edstest.RandomODS(uint64(k)+7, k, k/2)
		b, err := eds.NewODSBuffer(k)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range ods {
			copy(b.Shares()[i], s)
		}
		want := bytes.Join(ods, nil)
		rows := b.Rows()
		if len(rows) != k || !bytes.Equal(bytes.Join(rows, nil), want) {
			t.Fatalf("k=%d: Rows before Extend are not the original square", k)
		}
		e, err := b.Extend()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.Join(rows, nil), want) || !bytes.Equal(bytes.Join(e.ODSRows(), nil), want) {
			t.Fatalf("k=%d: the rows changed with Extend, or ODSRows differs", k)
		}
		if r := e.ODSRows()[0]; cap(r) != len(r) || &r[0] != &e.Share(0, 0)[0] {
			t.Fatalf("k=%d: ODSRows does not alias the square, or reaches past its row", k)
		}
	}
}
