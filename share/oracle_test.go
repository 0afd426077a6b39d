package share_test

// Test-only helpers around the reference libraries (go-square v3, rsmt2d,
// nmt), which serve as oracles and must never be imported by production
// code.

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	gsmerkle "github.com/celestiaorg/go-square/merkle"
	"github.com/celestiaorg/go-square/v3/inclusion"
	gsshare "github.com/celestiaorg/go-square/v3/share"
	gstx "github.com/celestiaorg/go-square/v3/tx"
	refnmt "github.com/celestiaorg/nmt"
	"github.com/celestiaorg/rsmt2d"
	"github.com/datamesh/mesh-node/share"
)

// erasuredNMT is the reference EDS row/column tree (celestia-app
// pkg/wrapper): a share in Q0 is pushed as ns || share, any other as
// 0xFF×29 || share.
type erasuredNMT struct {
	tree      *refnmt.NamespacedMerkleTree
	k         uint
	axisIndex uint
	pushed    uint
}

func newErasuredNMT(k, axisIndex uint) rsmt2d.Tree {
	return &erasuredNMT{
		tree:      refnmt.New(sha256.New(), refnmt.NamespaceIDSize(share.NamespaceSize), refnmt.IgnoreMaxNamespace(true)),
		k:         k,
		axisIndex: axisIndex,
	}
}

func (w *erasuredNMT) Push(data []byte) error {
	leaf := make([]byte, 0, share.NamespaceSize+len(data))
	if w.axisIndex < w.k && w.pushed < w.k {
		leaf = append(leaf, data[:share.NamespaceSize]...)
	} else {
		leaf = append(leaf, bytes.Repeat([]byte{0xFF}, share.NamespaceSize)...)
	}
	leaf = append(leaf, data...)
	w.pushed++
	return w.tree.Push(leaf)
}

func (w *erasuredNMT) Root() ([]byte, error) { return w.tree.Root() }

// refDataRoot extends an ODS with the reference rsmt2d and returns the
// DAH hash: the RFC 6962 root of row roots ‖ column roots.
func refDataRoot(t testing.TB, shares [][]byte) []byte {
	t.Helper()
	k := uint(share.BlobMinSquareSize(len(shares)))
	cp := make([][]byte, len(shares))
	for i, s := range shares {
		cp[i] = bytes.Clone(s)
	}
	eds, err := rsmt2d.ComputeExtendedDataSquare(cp, rsmt2d.NewLeoRSCodec(), func(_ rsmt2d.Axis, index uint) rsmt2d.Tree {
		return newErasuredNMT(k, index)
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := eds.RowRoots()
	if err != nil {
		t.Fatal(err)
	}
	cols, err := eds.ColRoots()
	if err != nil {
		t.Fatal(err)
	}
	return gsmerkle.HashFromByteSlices(append(rows, cols...))
}

// refBlob converts a blob to go-square's type.
func refBlob(t testing.TB, b *share.Blob) *gsshare.Blob {
	t.Helper()
	ns := b.Namespace()
	rns, err := gsshare.NewNamespaceFromBytes(ns[:])
	if err != nil {
		t.Fatal(err)
	}
	rb, err := gsshare.NewBlob(rns, b.Data(), b.ShareVersion(), b.Signer())
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func refShareBytes(shares []gsshare.Share) [][]byte { return gsshare.ToBytes(shares) }

func shareBytes(shares []share.Share) [][]byte {
	out := make([][]byte, len(shares))
	for i, s := range shares {
		out[i] = s
	}
	return out
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// randNamespace returns one of a few (or a fresh) non-reserved version 0
// namespaces, so that namespaces repeat.
func randNamespace(rng *rand.Rand) share.Namespace {
	id := make([]byte, share.NamespaceVersionZeroIDSize)
	if rng.IntN(2) == 0 {
		id[0] = byte(1 + rng.IntN(4)) // a small pool of repeated namespaces
	} else {
		copy(id, randBytes(rng, len(id)))
		id[0] |= 1
	}
	ns, err := share.NewV0Namespace(id)
	if err != nil {
		panic(err)
	}
	return ns
}

// randBlob returns a random blob of up to maxSize bytes, share version 0 or
// 1.
func randBlob(rng *rand.Rand, maxSize int) *share.Blob {
	size := 1 + rng.IntN(maxSize)
	var b *share.Blob
	var err error
	if rng.IntN(2) == 0 {
		b, err = share.NewBlob(randNamespace(rng), randBytes(rng, size), share.ShareVersionZero, nil)
	} else {
		b, err = share.NewBlob(randNamespace(rng), randBytes(rng, size), share.ShareVersionOne, randBytes(rng, share.SignerSize))
	}
	if err != nil {
		panic(err)
	}
	return b
}

// refBlobTx encodes a BlobTx with go-square.
func refBlobTx(t testing.TB, tx []byte, blobs []*share.Blob) []byte {
	t.Helper()
	rbs := make([]*gsshare.Blob, len(blobs))
	for i, b := range blobs {
		rbs[i] = refBlob(t, b)
	}
	out, err := gstx.MarshalBlobTx(tx, rbs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func refSubTreeWidth(n int) int {
	return inclusion.SubTreeWidth(n, 64)
}

func refBlobMinSquareSize(n int) int { return inclusion.BlobMinSquareSize(n) }

func refMMR(n, w int) ([]uint64, error) {
	return inclusion.MerkleMountainRangeSizes(uint64(n), uint64(w))
}

func refNextShareIndex(cursor, n int) int {
	i, err := inclusion.NextShareIndex(cursor, n, 64)
	if err != nil {
		panic(err)
	}
	return i
}
