package eds_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/celestiaorg/rsmt2d"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/nmt"
)

// square returns an extended square, its header and its shares (copies).
func square(tb testing.TB, seed uint64, k int) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader, [][]byte) {
	tb.Helper()
	e, d := edstest.RandomEDS(tb, seed, k, k/2)
	w := e.Width()
	flat := make([][]byte, 0, w*w)
	for r := 0; r < w; r++ {
		for c := 0; c < w; c++ {
			flat = append(flat, bytes.Clone(e.Share(r, c)))
		}
	}
	return e, d, flat
}

// keep returns the shares for which keepCell is true, nil elsewhere.
func keep(flat [][]byte, keepCell func(r, c int) bool) [][]byte {
	w := isqrt(len(flat))
	out := make([][]byte, len(flat))
	for i, s := range flat {
		if keepCell(i/w, i%w) {
			out[i] = s
		}
	}
	return out
}

func quadrant(r, c, k int) int {
	q := 0
	if c >= k {
		q++
	}
	if r >= k {
		q += 2
	}
	return q
}

// checkRepaired repairs partial and checks the result against want.
func checkRepaired(t *testing.T, dah *eds.DataAvailabilityHeader, partial [][]byte, want [][]byte) {
	t.Helper()
	before := cloneShares(partial)
	got, err := eds.Repair(dah, partial)
	if err != nil {
		t.Fatal(err)
	}
	w := got.Width()
	if w*w != len(want) {
		t.Fatalf("width %d", w)
	}
	for i, s := range want {
		if !bytes.Equal(got.Share(i/w, i%w), s) {
			t.Fatalf("share (%d, %d) differs", i/w, i%w)
		}
	}
	for i := range partial {
		if (partial[i] == nil) != (before[i] == nil) || !bytes.Equal(partial[i], before[i]) {
			t.Fatalf("Repair modified input share %d", i)
		}
	}
	again, err := eds.NewDAH(got)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equals(dah) || !bytes.Equal(again.Hash(), dah.Hash()) {
		t.Fatal("repaired square has another header")
	}
}

func TestRepairRandomHalfLoss(t *testing.T) {
	for _, k := range []int{1, 2, 4, 8, 16, 32, 64, 128} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("k=%d/seed=%d", k, seed), func(t *testing.T) {
				if k >= 128 && (testing.Short() || seed > 1) {
					t.Skip("large square: once, without -short")
				}
				_, dah, flat := square(t, seed, k)
				// Drop exactly half of the cells, chosen by a fixed seed.
				rng := rand.New(rand.NewPCG(seed, 42))
				perm := rng.Perm(len(flat))
				partial := cloneShares(flat)
				for _, i := range perm[:len(flat)/2] {
					partial[i] = nil
				}
				checkRepaired(t, dah, partial, flat)
			})
		}
	}
}

func TestRepairPatterns(t *testing.T) {
	const k = 16
	_, dah, flat := square(t, 9, k)
	for q := 0; q < 4; q++ {
		t.Run(fmt.Sprintf("without Q%d", q), func(t *testing.T) {
			checkRepaired(t, dah, keep(flat, func(r, c int) bool { return quadrant(r, c, k) != q }), flat)
		})
	}
	for q := 0; q < 4; q++ {
		t.Run(fmt.Sprintf("Q%d alone", q), func(t *testing.T) {
			checkRepaired(t, dah, keep(flat, func(r, c int) bool { return quadrant(r, c, k) == q }), flat)
		})
	}
	t.Run("Q1 and half of Q2", func(t *testing.T) {
		checkRepaired(t, dah, keep(flat, func(r, c int) bool {
			q := quadrant(r, c, k)
			return q == 1 || q == 2 && (r+c)%2 == 0
		}), flat)
	})
	t.Run("complete", func(t *testing.T) {
		checkRepaired(t, dah, flat, flat)
	})
}

func TestRepairUnrepairable(t *testing.T) {
	for _, k := range []int{1, 4, 16} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			_, dah, flat := square(t, 4, k)
			// A missing (k+1)×(k+1) block leaves every axis through it
			// k-1 shares.
			partial := keep(flat, func(r, c int) bool { return r > k || c > k })
			_, err := eds.Repair(dah, partial)
			if !errors.Is(err, eds.ErrUnrepairable) {
				t.Fatalf("got %v, want ErrUnrepairable", err)
			}
			refErr := refImport(t, partial).Repair(dah.RowRoots, dah.ColumnRoots)
			if !errors.Is(refErr, rsmt2d.ErrUnrepairableDataSquare) {
				t.Fatalf("rsmt2d: %v", refErr)
			}
			if _, err := eds.Repair(dah, make([][]byte, len(flat))); !errors.Is(err, eds.ErrUnrepairable) {
				t.Fatalf("empty square: %v", err)
			}
		})
	}
}

// corrupted returns the shares of a square with one share's payload changed,
// and the header rsmt2d computes over that square.
func corrupted(t testing.TB, k, r, c int) (*eds.DataAvailabilityHeader, [][]byte) {
	t.Helper()
	_, _, flat := square(t, 77, k)
	w := 2 * k
	flat[r*w+c][300] ^= 0x5A
	rows, cols, _ := refRoots(t, refImport(t, flat))
	return &eds.DataAvailabilityHeader{RowRoots: rows, ColumnRoots: cols}, flat
}

func TestRepairByzantine(t *testing.T) {
	const k = 8
	const w = 2 * k
	tests := []struct {
		name     string
		r, c     int                  // the corrupted cell
		keepCell func(r, c int) bool  // shares given to Repair
		axis     eds.Axis             // expected error
		index    int                  //
		known    int                  // non-nil shares in the error
		proven   int                  // non-nil proofs in the error
		refAxes  map[rsmt2d.Axis]uint // rsmt2d's answer (several: it races)
	}{
		{
			// Spec section 6's pattern: Q1 plus a checkerboard half of Q2,
			// one Q1 share corrupted. Row 1 is decoded from the corrupted
			// Q1 row first and fails its root, here and in rsmt2d. (The
			// spec's "col 9 (16/16 shares)" is what rsmt2d's racing
			// pre-repair check reports for the complete square, see
			// "complete square".)
			name: "spec Q1 share", r: 1, c: 9,
			keepCell: func(r, c int) bool {
				q := quadrant(r, c, k)
				return q == 1 || q == 2 && (r+c)%2 == 0
			},
			axis: eds.Row, index: 1, known: 8, proven: 7,
			refAxes: map[rsmt2d.Axis]uint{rsmt2d.Row: 1},
		},
		{
			// Column 9 is complete from the start, row 1 is not.
			name: "complete column", r: 1, c: 9,
			keepCell: func(r, c int) bool { return r != 1 || c == 9 || c < 4 },
			axis:     eds.Col, index: 9, known: w, proven: k,
			refAxes: map[rsmt2d.Axis]uint{rsmt2d.Col: 9},
		},
		{
			// Row 1 and column 9 are both complete: we report the first
			// in the order row 0, column 0, row 1, …; rsmt2d either.
			name: "complete square", r: 1, c: 9,
			keepCell: func(r, c int) bool { return true },
			axis:     eds.Row, index: 1, known: w, proven: k,
			refAxes: map[rsmt2d.Axis]uint{rsmt2d.Row: 1, rsmt2d.Col: 9},
		},
		{
			// Row 0 holds the bad share and misses one; decoding it
			// gives a root that differs.
			name: "decoded row", r: 0, c: 0,
			keepCell: func(r, c int) bool { return !(r == 0 && c == 1) && !(r == 1 && c == 0) },
			axis:     eds.Row, index: 0, known: w - 1, proven: k,
			refAxes: map[rsmt2d.Axis]uint{rsmt2d.Row: 0},
		},
		{
			// Decoding row 2 completes column 5, which holds the bad
			// share: its root matches but its encoding does not.
			name: "completed column", r: 6, c: 5,
			keepCell: func(r, c int) bool { return !(r == 2 && c == 5) && !(r == 6 && c == 11) },
			axis:     eds.Col, index: 5, known: w - 1, proven: k,
			refAxes: map[rsmt2d.Axis]uint{rsmt2d.Col: 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dah, flat := corrupted(t, k, tt.r, tt.c)
			partial := keep(flat, tt.keepCell)
			_, err := eds.Repair(dah, partial)
			var byz *eds.ErrByzantineData
			if !errors.As(err, &byz) {
				t.Fatalf("got %v, want ErrByzantineData", err)
			}
			if byz.Axis != tt.axis || byz.Index != tt.index {
				t.Fatalf("got %s %d, want %s %d", byz.Axis, byz.Index, tt.axis, tt.index)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%s %d", tt.axis, tt.index)) {
				t.Fatalf("error %q does not name the axis", err)
			}
			if len(byz.Shares) != w || len(byz.Proofs) != w {
				t.Fatalf("%d shares, %d proofs", len(byz.Shares), len(byz.Proofs))
			}
			checkEvidenceProofs(t, dah, byz, tt.proven)
			known := 0
			for j, s := range byz.Shares {
				if s == nil {
					continue
				}
				known++
				i := tt.index*w + j
				if tt.axis == eds.Col {
					i = j*w + tt.index
				}
				if !bytes.Equal(s, flat[i]) {
					t.Fatalf("share %d is not the committed share", j)
				}
			}
			if known != tt.known {
				t.Fatalf("%d known shares, want %d", known, tt.known)
			}

			refErr := refImport(t, partial).Repair(dah.RowRoots, dah.ColumnRoots)
			var refByz *rsmt2d.ErrByzantineData
			if !errors.As(refErr, &refByz) {
				t.Fatalf("rsmt2d: %v", refErr)
			}
			if idx, ok := tt.refAxes[refByz.Axis]; !ok || idx != refByz.Index {
				t.Fatalf("rsmt2d reports %s %d", refByz.Axis, refByz.Index)
			}
			// Every share we report, rsmt2d reports too. rsmt2d also
			// reports the shares it decoded for a row or column whose
			// decoding failed its root (its codec decodes into the slice
			// it returns); we report only shares given or checked.
			if len(tt.refAxes) == 1 {
				for j, s := range byz.Shares {
					if s != nil && !bytes.Equal(refByz.Shares[j], s) {
						t.Fatalf("share %d: rsmt2d reports %x", j, refByz.Shares[j])
					}
				}
			}
		})
	}
}

// A row whose namespaces decrease is byzantine, even when it is a codeword
// and the header commits to it with a root computed without the order check.
func TestRepairUnorderedIsByzantine(t *testing.T) {
	const k, w = 2, 4
	_, dah, _ := square(t, 3, k)
	lo, hi := make([]byte, shareSize), make([]byte, shareSize)
	lo[nsSize-1], hi[nsSize-1] = 1, 2
	parity, err := refCodec.Encode([][]byte{hi, lo})
	if err != nil {
		t.Fatal(err)
	}
	row := [][]byte{hi, lo, parity[0], parity[1]}
	st := nmt.NewRootStack(nmt.NewHasher(), w)
	for j, s := range row {
		ns := parityNs
		if j < k {
			ns = s[:nsSize]
		}
		st.PushLeaf(ns, s)
	}
	dah.RowRoots[0] = st.Root(nil)
	shares := make([][]byte, w*w)
	copy(shares, row)
	_, err = eds.Repair(dah, shares)
	var byz *eds.ErrByzantineData
	if !errors.As(err, &byz) || byz.Axis != eds.Row || byz.Index != 0 || len(byz.Shares) != w {
		t.Fatalf("got %v, want byzantine row 0", err)
	}
}

func TestRepairInputErrors(t *testing.T) {
	_, dah, flat := square(t, 5, 2)
	badShare := cloneShares(flat)
	badShare[7] = []byte{}
	three := &eds.DataAvailabilityHeader{RowRoots: dah.RowRoots[:3], ColumnRoots: dah.ColumnRoots[:3]}
	six := &eds.DataAvailabilityHeader{
		RowRoots:    append(cloneShares(dah.RowRoots), dah.RowRoots[:2]...),
		ColumnRoots: append(cloneShares(dah.ColumnRoots), dah.ColumnRoots[:2]...),
	}
	tests := []struct {
		name   string
		dah    *eds.DataAvailabilityHeader
		shares [][]byte
		want   error
		msg    string
	}{
		{"nil header", nil, flat, eds.ErrInvalidDAH, "nil header"},
		{"invalid header", &eds.DataAvailabilityHeader{}, flat, eds.ErrInvalidDAH, "0 row roots"},
		{"odd width", three, make([][]byte, 9), eds.ErrInvalidSquareSize, "3 roots"},
		{"k not a power of two", six, make([][]byte, 36), eds.ErrInvalidSquareSize, "6 roots"},
		{"too few shares", dah, flat[:15], eds.ErrInvalidSquareSize, "15 shares"},
		{"too many shares", dah, append(cloneShares(flat), flat[0]), eds.ErrInvalidSquareSize, "17 shares"},
		{"empty share", dah, badShare, eds.ErrInvalidShareSize, "share 7 has 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := eds.Repair(tt.dah, tt.shares)
			if e != nil || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got (%v, %v), want %v mentioning %q", e, err, tt.want, tt.msg)
			}
		})
	}
}

func TestAxisString(t *testing.T) {
	if eds.Row.String() != "row" || eds.Col.String() != "col" || eds.Axis(7).String() != "Axis(7)" {
		t.Fatal(eds.Row, eds.Col, eds.Axis(7))
	}
}
