package eds_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
)

// squareWithTail returns a k=8 square whose last 20 shares are tail
// padding (one namespace over rows 5 to 7) and its header.
func squareWithTail(t *testing.T) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader) {
	t.Helper()
	sq, dah := edstest.RandomEDS(t, 1, 8, 20)
	return sq, dah
}

func rowsOf(sq *eds.ExtendedDataSquare, from, to int) [][][]byte {
	k := sq.K()
	var rows [][][]byte
	for r := from / k; r <= (to-1)/k; r++ {
		rows = append(rows, sq.Row(r))
	}
	return rows
}

func TestProveShares(t *testing.T) {
	sq, dah := squareWithTail(t)
	root := dah.Hash()
	ods := sq.FlattenedODS()
	for _, r := range [][2]int{{44, 64}, {44, 45}, {63, 64}, {47, 57}, {48, 56}, {50, 51}, {0, 1}} {
		p, err := eds.ProveShares(dah, r[0], r[1], rowsOf(sq, r[0], r[1]))
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if !slices.EqualFunc(p.Data, ods[r[0]:r[1]], bytes.Equal) {
			t.Fatalf("%v: wrong shares", r)
		}
		if p.RowProof.StartRow != r[0]/8 || p.RowProof.EndRow != (r[1]-1)/8 {
			t.Fatalf("%v: rows %d..%d", r, p.RowProof.StartRow, p.RowProof.EndRow)
		}
		if err := p.Verify(root); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		// Tampering with any part fails.
		bad := func(name string, f func(q *eds.ShareProof)) {
			t.Helper()
			q := cloneShareProof(p)
			f(&q)
			if err := q.Verify(root); !errors.Is(err, eds.ErrInvalidShareProof) {
				t.Errorf("%v %s: %v, want ErrInvalidShareProof", r, name, err)
			}
		}
		bad("share byte", func(q *eds.ShareProof) { q.Data[0][100] ^= 1 })
		bad("share dropped", func(q *eds.ShareProof) { q.Data = q.Data[1:] })
		bad("share added", func(q *eds.ShareProof) { q.Data = append(q.Data, q.Data[0]) })
		bad("namespace", func(q *eds.ShareProof) { q.Namespace[28] ^= 1 })
		bad("row root", func(q *eds.ShareProof) { q.RowProof.RowRoots[0][40] ^= 1 })
		bad("start row", func(q *eds.ShareProof) { q.RowProof.StartRow++; q.RowProof.EndRow++ })
		bad("merkle aunt", func(q *eds.ShareProof) { q.RowProof.Proofs[0].Aunts[0][0] ^= 1 })
		bad("merkle index", func(q *eds.ShareProof) { q.RowProof.Proofs[0].Index ^= 1 })
		bad("no rows", func(q *eds.ShareProof) { q.RowProof = eds.RowProof{} })
		bad("range widened", func(q *eds.ShareProof) { q.ShareProofs[0].End++ })
		if len(p.ShareProofs[0].Nodes) > 0 {
			bad("nmt node", func(q *eds.ShareProof) { q.ShareProofs[0].Nodes[0][40] ^= 1 })
		}
		if len(p.ShareProofs) > 1 {
			bad("row dropped", func(q *eds.ShareProof) { q.ShareProofs = q.ShareProofs[1:] })
			bad("gap", func(q *eds.ShareProof) {
				q.ShareProofs[1].Start++
				q.Data = slices.Delete(q.Data, 8-r[0]%8, 8-r[0]%8+1)
			})
		}
		if err := p.Verify(dah.Hash()[:31]); !errors.Is(err, eds.ErrInvalidShareProof) {
			t.Errorf("%v: short data root: %v", r, err)
		}
	}
}

func TestProveSharesRejects(t *testing.T) {
	sq, dah := squareWithTail(t)
	for name, c := range map[string]struct {
		from, to int
		want     error
	}{
		"empty":          {5, 5, eds.ErrOutOfRange},
		"reversed":       {6, 5, eds.ErrOutOfRange},
		"negative":       {-1, 5, eds.ErrOutOfRange},
		"past the ODS":   {60, 65, eds.ErrOutOfRange},
		"two namespaces": {40, 50, eds.ErrInvalidShareProof},
	} {
		rows := [][][]byte{sq.Row(0)}
		if c.from >= 0 && c.to > c.from && c.to <= 64 {
			rows = rowsOf(sq, c.from, c.to)
		}
		if _, err := eds.ProveShares(dah, c.from, c.to, rows); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// Rows that are not the header's.
	rows := rowsOf(sq, 44, 64)
	rows[1] = sq.Row(0)
	if _, err := eds.ProveShares(dah, 44, 64, rows); !errors.Is(err, eds.ErrInvalidShareProof) {
		t.Errorf("wrong row: %v", err)
	}
	if _, err := eds.ProveShares(dah, 44, 64, rows[:2]); !errors.Is(err, eds.ErrInvalidShareProof) {
		t.Errorf("too few rows: %v", err)
	}
}

// cloneShareProof deep-copies p so tests can tamper with it.
func cloneShareProof(p *eds.ShareProof) eds.ShareProof {
	q := *p
	q.Data = edstest.CloneCells(p.Data)
	q.ShareProofs = edstest.CloneNMTProofs(p.ShareProofs)
	q.RowProof = edstest.CloneRowProof(p.RowProof)
	return q
}
