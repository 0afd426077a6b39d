package eds_test

// Test oracles: celestiaorg/rsmt2d v0.15.2 with celestiaorg/nmt v0.24.3 wrapped
// as celestia-app's ErasuredNamespacedMerkleTree, and go-square's RFC 6962
// merkle root for the data root. Test-only; production code does not import
// them.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	gsmerkle "github.com/celestiaorg/go-square/merkle"
	refnmt "github.com/celestiaorg/nmt"
	"github.com/celestiaorg/rsmt2d"
	"github.com/datamesh/mesh-node/share"
)

const (
	shareSize = share.ShareSize
	nsSize    = share.NamespaceSize
)

var parityNs = bytes.Repeat([]byte{0xFF}, nsSize)

// oracleTree is the ErasuredNamespacedMerkleTree of spec section 5: each
// pushed share is prefixed with its namespace in Q0 and the parity namespace
// elsewhere.
type oracleTree struct {
	k, axisIndex, shareIndex uint
	tree                     *refnmt.NamespacedMerkleTree
}

func oracleTreeFn(k uint) rsmt2d.TreeConstructorFn {
	return func(_ rsmt2d.Axis, axisIndex uint) rsmt2d.Tree {
		return &oracleTree{
			k:         k,
			axisIndex: axisIndex,
			tree:      refnmt.New(sha256.New(), refnmt.NamespaceIDSize(nsSize), refnmt.IgnoreMaxNamespace(true)),
		}
	}
}

func (t *oracleTree) Push(data []byte) error {
	if len(data) < nsSize {
		return fmt.Errorf("oracle: short share")
	}
	leaf := make([]byte, 0, nsSize+len(data))
	if t.axisIndex < t.k && t.shareIndex < t.k {
		leaf = append(leaf, data[:nsSize]...)
	} else {
		leaf = append(leaf, parityNs...)
	}
	leaf = append(leaf, data...)
	if err := t.tree.Push(leaf); err != nil {
		return err
	}
	t.shareIndex++
	return nil
}

func (t *oracleTree) Root() ([]byte, error) { return t.tree.Root() }

// refCodec is shared by the oracle calls so its encoder cache is reused.
var refCodec = rsmt2d.NewLeoRSCodec()

// refExtend extends ods with rsmt2d.
func refExtend(tb testing.TB, ods [][]byte) *rsmt2d.ExtendedDataSquare {
	tb.Helper()
	k := isqrt(len(ods))
	ref, err := rsmt2d.ComputeExtendedDataSquare(ods, refCodec, oracleTreeFn(uint(k)))
	if err != nil {
		tb.Fatal(err)
	}
	return ref
}

// refRoots returns rsmt2d's row roots, column roots and data root.
func refRoots(tb testing.TB, ref *rsmt2d.ExtendedDataSquare) (rows, cols [][]byte, dataRoot []byte) {
	tb.Helper()
	rows, err := ref.RowRoots()
	if err != nil {
		tb.Fatal(err)
	}
	cols, err = ref.ColRoots()
	if err != nil {
		tb.Fatal(err)
	}
	return rows, cols, gsmerkle.HashFromByteSlices(slices.Concat(rows, cols))
}

// refImport loads a (possibly incomplete) flattened EDS into rsmt2d.
func refImport(tb testing.TB, flat [][]byte) *rsmt2d.ExtendedDataSquare {
	tb.Helper()
	w := isqrt(len(flat))
	ref, err := rsmt2d.ImportExtendedDataSquare(cloneShares(flat), refCodec, oracleTreeFn(uint(w/2)))
	if err != nil {
		tb.Fatal(err)
	}
	return ref
}

func isqrt(n int) int {
	k := 0
	for (k+1)*(k+1) <= n {
		k++
	}
	return k
}

func cloneShares(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	for i, s := range in {
		if s != nil {
			out[i] = bytes.Clone(s)
		}
	}
	return out
}

func tailPadding() []byte {
	s := make([]byte, shareSize)
	copy(s, share.TailPaddingNamespace[:])
	s[nsSize] = 0x01
	return s
}
