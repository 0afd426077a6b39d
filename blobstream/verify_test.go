package blobstream_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	cmtmerkle "github.com/cometbft/cometbft/crypto/merkle"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/nmt"
)

// TestBinaryProofAgreesWithCometBFT checks BinaryMerkleProof.Verify
// against CometBFT's crypto/merkle and our merkle.Proof on every tree of 1
// to 33 items and every item: the real proofs verify in all three, and the
// three agree on every proof with another key or number of leaves and on
// another item. (Some of those verify in all three: a key and a number of
// leaves that give the same path, as key 2 of 3 and key 1 of 2.)
func TestBinaryProofAgreesWithCometBFT(t *testing.T) {
	for n := 1; n <= 33; n++ {
		items := make([][]byte, n)
		for i := range items {
			items[i] = []byte(fmt.Sprintf("item %d of %d", i, n))
		}
		root, proofs := cmtmerkle.ProofsFromByteSlices(items)
		for i, cp := range proofs {
			bp, err := blobstream.BinaryProofFromMerkle(merkle.Proof{Total: cp.Total, Index: cp.Index, LeafHash: cp.LeafHash, Aunts: cp.Aunts})
			if err != nil {
				t.Fatal(err)
			}
			if err := bp.Verify([32]byte(root), items[i]); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
			if err := bp.Verify([32]byte(root), append(items[i], 0)); !errors.Is(err, blobstream.ErrInvalidMerkleProof) {
				t.Fatalf("n=%d i=%d: another item: %v", n, i, err)
			}
			for key := range int64(n + 2) {
				for total := range int64(n + 3) {
					q := bp
					q.Key, q.NumLeaves = uint64(key), uint64(total)
					ours := q.Verify([32]byte(root), items[i]) == nil
					c := cmtmerkle.Proof{Total: total, Index: key, LeafHash: cp.LeafHash, Aunts: cp.Aunts}
					cmt := c.Verify(root, items[i]) == nil
					m := merkle.Proof{Total: total, Index: key, LeafHash: cp.LeafHash, Aunts: cp.Aunts}
					mine := m.Verify(root, items[i]) == nil
					if ours != cmt || ours != mine {
						t.Fatalf("n=%d i=%d, key %d numLeaves %d: BinaryMerkleProof %v, CometBFT %v, merkle.Proof %v",
							n, i, key, total, ours, cmt, mine)
					}
				}
			}
		}
	}
}

// TestMultiproofAgreesWithNMT checks NamespaceMerkleMultiproof.Verify
// against our nmt package on real rows: for every range of one namespace
// in every row of a square (the original half and the parity half, where
// the ignore-max rule applies), the converted nmt proof verifies, and
// another share, namespace, range or root fails in both.
func TestMultiproofAgreesWithNMT(t *testing.T) {
	const k = 8
	sq, dah := edstest.RandomEDS(t, 7, k, 5)
	checked := 0
	for r := range 2 * k {
		cells := sq.Row(r)
		tree := nmt.New()
		for c, cell := range cells {
			ns := cell[:nmt.NamespaceSize]
			if c >= k || r >= k {
				ns = nmt.MaxNamespace()
			}
			if err := tree.Push(append(append([]byte{}, ns...), cell...)); err != nil {
				t.Fatal(err)
			}
		}
		rootBytes, err := tree.Root()
		if err != nil || !bytes.Equal(rootBytes, dah.RowRoots[r]) {
			t.Fatalf("row %d: tree root %x, %v; header %x", r, rootBytes, err, dah.RowRoots[r])
		}
		root, err := blobstream.NamespaceNodeFromBytes(rootBytes)
		if err != nil {
			t.Fatal(err)
		}
		nsOf := func(c int) []byte {
			if c >= k || r >= k {
				return nmt.MaxNamespace()
			}
			return cells[c][:nmt.NamespaceSize]
		}
		for s := range 2 * k {
			for e := s + 1; e <= 2*k && bytes.Equal(nsOf(e-1), nsOf(s)); e++ {
				np, err := tree.ProveRange(s, e)
				if err != nil {
					t.Fatal(err)
				}
				ns := [29]byte(nsOf(s))
				if err := np.VerifyInclusion(ns[:], cells[s:e], rootBytes); err != nil {
					t.Fatalf("row %d [%d, %d): nmt rejects its own proof: %v", r, s, e, err)
				}
				mp, err := blobstream.MultiproofFromNMT(np)
				if err != nil {
					t.Fatal(err)
				}
				bns := blobstream.NamespaceFrom(ns)
				if err := mp.Verify(root, bns, cells[s:e]); err != nil {
					t.Fatalf("row %d [%d, %d): %v", r, s, e, err)
				}
				checked++
				other := append([][]byte{}, cells[s:e]...)
				other[0] = append([]byte{}, other[0]...)
				other[0][nmt.NamespaceSize+3] ^= 1
				wrongNS := bns
				wrongNS.ID[27] ^= 1
				wrongRoot := root
				wrongRoot.Digest[0] ^= 1
				bad := map[string]error{
					"another share":     mp.Verify(root, bns, other),
					"another namespace": mp.Verify(root, wrongNS, cells[s:e]),
					"another root":      mp.Verify(wrongRoot, bns, cells[s:e]),
				}
				// A range moved by one proves other leaves, unless they
				// are the same (runs of tail padding).
				if e < 2*k && !slices.EqualFunc(cells[s+1:e+1], cells[s:e], bytes.Equal) {
					shifted := mp
					shifted.BeginKey, shifted.EndKey = shifted.BeginKey+1, shifted.EndKey+1
					bad["shifted range"] = shifted.Verify(root, bns, cells[s:e])
				}
				for name, err := range bad {
					if !errors.Is(err, blobstream.ErrInvalidMerkleProof) {
						t.Fatalf("row %d [%d, %d) %s: %v", r, s, e, name, err)
					}
				}
				if np.VerifyInclusion(ns[:], other, rootBytes) == nil {
					t.Fatalf("row %d [%d, %d): nmt accepts another share", r, s, e)
				}
			}
		}
	}
	if checked < 4*k*k {
		t.Fatalf("only %d ranges checked", checked)
	}
}

func TestMultiproofRefusesEmptyRange(t *testing.T) {
	var root blobstream.NamespaceNode
	if err := (blobstream.NamespaceMerkleMultiproof{}).Verify(root, blobstream.Namespace{}, nil); !errors.Is(err, blobstream.ErrInvalidMerkleProof) {
		t.Fatalf("empty range: %v", err)
	}
	if _, err := blobstream.MultiproofFromNMT(nmt.Proof{}); !errors.Is(err, blobstream.ErrBuild) {
		t.Fatalf("empty nmt proof: %v", err)
	}
}
