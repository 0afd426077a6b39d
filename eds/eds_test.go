package eds_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/nmt"
)

func TestExtendMatchesRSMT2D(t *testing.T) {
	for _, k := range []int{1, 2, 4, 8, 16, 32, 64, 128, 256} {
		for _, tail := range []int{0, k*k/3 + 1} {
			t.Run(fmt.Sprintf("k=%d/tail=%d", k, tail), func(t *testing.T) {
				if k >= 256 && testing.Short() {
					t.Skip("slow in the oracle; runs without -short")
				}
				ods := edstest.RandomODS(uint64(1000+k+tail), k, tail)
				dah := checkAgainstRSMT2D(t, ods)
				if dah.SquareSize() != k {
					t.Fatalf("SquareSize %d", dah.SquareSize())
				}
			})
		}
	}
}

// checkAgainstRSMT2D extends ods with eds and with rsmt2d and fails unless
// every share, every row and column root and the data root are equal. It
// returns our DAH.
func checkAgainstRSMT2D(t *testing.T, ods [][]byte) *eds.DataAvailabilityHeader {
	t.Helper()
	k := isqrt(len(ods))
	got, err := eds.Extend(ods)
	if err != nil {
		t.Fatal(err)
	}
	ref := refExtend(t, ods)
	if got.Width() != 2*k || got.K() != k || int(ref.Width()) != 2*k {
		t.Fatalf("width %d, k %d, ref width %d", got.Width(), got.K(), ref.Width())
	}
	for r := 0; r < 2*k; r++ {
		for c := 0; c < 2*k; c++ {
			if !bytes.Equal(got.Share(r, c), ref.GetCell(uint(r), uint(c))) {
				t.Fatalf("share (%d, %d) differs from rsmt2d", r, c)
			}
		}
	}
	wantRows, wantCols, wantHash := refRoots(t, ref)
	rows, err := got.RowRoots()
	if err != nil {
		t.Fatal(err)
	}
	cols, err := got.ColRoots()
	if err != nil {
		t.Fatal(err)
	}
	for i := range wantRows {
		if !bytes.Equal(rows[i], wantRows[i]) {
			t.Fatalf("row root %d differs", i)
		}
		if !bytes.Equal(cols[i], wantCols[i]) {
			t.Fatalf("column root %d differs", i)
		}
	}
	dah, err := eds.NewDAH(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dah.Hash(), wantHash) {
		t.Fatalf("data root %x, rsmt2d %x", dah.Hash(), wantHash)
	}
	return dah
}

func TestExtendKOneRepeatsShare(t *testing.T) {
	s := edstest.RandomODS(7, 1, 0)
	e, err := eds.Extend(s)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 2; r++ {
		for c := 0; c < 2; c++ {
			if !bytes.Equal(e.Share(r, c), s[0]) {
				t.Fatalf("cell (%d, %d) is not the data share", r, c)
			}
		}
	}
}

func TestExtendErrors(t *testing.T) {
	ods := func(k int) [][]byte { return edstest.RandomODS(3, k, 0) }
	withNs := func(last ...byte) [][]byte {
		s := ods(2)
		for i, v := range last {
			copy(s[i][:nsSize], make([]byte, nsSize))
			s[i][nsSize-1] = v
		}
		return s
	}
	unsortedRow := withNs(2, 1, 3, 4)
	// Rows sorted, column 1 not: [1 5; 2 3].
	unsortedCol := withNs(1, 5, 2, 3)
	short := ods(2)
	short[3] = short[3][:100]
	withNil := ods(2)
	withNil[2] = nil

	tests := []struct {
		name string
		ods  [][]byte
		want error
		msg  string
	}{
		{"empty", nil, eds.ErrEmptySquare, "empty"},
		{"not a square", ods(2)[:3], eds.ErrInvalidSquareSize, "3 shares"},
		{"not a power of two", make([][]byte, 36), eds.ErrInvalidSquareSize, "36 shares"},
		{"too large", make([][]byte, 1024*1024), eds.ErrSquareTooLarge, "1024"},
		{"short share", short, eds.ErrInvalidShareSize, "share 3 has 100 bytes"},
		{"nil share", withNil, eds.ErrInvalidShareSize, "share 2 has 0 bytes"},
		{"unsorted row", unsortedRow, eds.ErrUnorderedNamespaces, "row 0 at column 1"},
		{"unsorted column", unsortedCol, eds.ErrUnorderedNamespaces, "column 1 at row 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := eds.Extend(tt.ods)
			if !errors.Is(err, tt.want) || e != nil {
				t.Fatalf("got (%v, %v), want %v", e, err, tt.want)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.msg)) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	const k = 4
	ods := edstest.RandomODS(11, k, 3)
	e, err := eds.Extend(ods)
	if err != nil {
		t.Fatal(err)
	}
	// Extend copies its input.
	ods[0][100] ^= 0xFF
	if bytes.Equal(e.Share(0, 0), ods[0]) {
		t.Fatal("Extend retained the input share")
	}
	ods[0][100] ^= 0xFF

	for i := 0; i < 2*k; i++ {
		row, col := e.Row(i), e.Col(i)
		if len(row) != 2*k || len(col) != 2*k {
			t.Fatalf("axis %d: %d and %d shares", i, len(row), len(col))
		}
		for j := 0; j < 2*k; j++ {
			if !bytes.Equal(row[j], e.Share(i, j)) || !bytes.Equal(col[j], e.Share(j, i)) {
				t.Fatalf("axis %d share %d", i, j)
			}
			if cap(row[j]) != shareSize || cap(col[j]) != shareSize {
				t.Fatal("share capacity exceeds the share")
			}
		}
	}

	view, flat := e.ODS(), e.FlattenedODS()
	if len(view) != k*k || len(flat) != k*k {
		t.Fatalf("ODS has %d and %d shares", len(view), len(flat))
	}
	for i := range ods {
		if !bytes.Equal(view[i], ods[i]) || !bytes.Equal(flat[i], ods[i]) {
			t.Fatalf("ODS share %d", i)
		}
	}
	// ODS aliases the square, FlattenedODS does not.
	if &view[5][0] != &e.Share(1, 1)[0] {
		t.Fatal("ODS does not alias the square")
	}
	flat[5][0] ^= 0xFF
	if flat[5][0] == e.Share(1, 1)[0] {
		t.Fatal("FlattenedODS aliases the square")
	}
	again, err := eds.Extend(e.FlattenedODS())
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 2*k; r++ {
		for c := 0; c < 2*k; c++ {
			if !bytes.Equal(again.Share(r, c), e.Share(r, c)) {
				t.Fatal("re-extending FlattenedODS gives another square")
			}
		}
	}

	// Roots are copies.
	rows, err := e.RowRoots()
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(rows[0])
	rows[0][0] ^= 0xFF
	rows2, _ := e.RowRoots()
	if !bytes.Equal(rows2[0], want) {
		t.Fatal("RowRoots returned the cache")
	}
	for i, r := range rows2 {
		if len(r) != nmt.NodeSize {
			t.Fatalf("root %d has %d bytes", i, len(r))
		}
	}
}

func TestIndexPanics(t *testing.T) {
	e, err := eds.Extend(edstest.RandomODS(1, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(){
		"share row": func() { e.Share(4, 0) },
		"share col": func() { e.Share(0, -1) },
		"row":       func() { e.Row(4) },
		"col":       func() { e.Col(-1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

// TestConcurrentRoots checks, under -race, that the lazily computed roots
// may be read from several goroutines.
func TestConcurrentRoots(t *testing.T) {
	e, err := eds.Extend(edstest.RandomODS(5, 8, 10))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	for i := 0; i < 4; i++ {
		go func() {
			d, err := eds.NewDAH(e)
			if err != nil {
				t.Error(err)
			}
			done <- d.Hash()
		}()
	}
	first := <-done
	for i := 1; i < 4; i++ {
		if h := <-done; !bytes.Equal(h, first) {
			t.Fatal("hashes differ")
		}
	}
}
