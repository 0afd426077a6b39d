package nmt_test

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"testing"

	refnmt "github.com/celestiaorg/nmt"
	"github.com/celestiaorg/nmt/pb"
	"github.com/datamesh/mesh-node/nmt"
)

// ns returns a namespace of 28 zero bytes and b, or MaxNamespace for 0xFF.
func ns(b byte) []byte {
	if b == 0xFF {
		return nmt.MaxNamespace()
	}
	out := make([]byte, nmt.NamespaceSize)
	out[nmt.NamespaceSize-1] = b
	return out
}

// leaf returns ns || payload.
func leaf(namespace []byte, payload string) []byte {
	return append(bytes.Clone(namespace), payload...)
}

// randomLeaves returns n leaves in namespace order: namespaces drawn with
// repeats from a few random values, the last few sometimes MaxNamespace,
// payloads of random length (possibly empty).
func randomLeaves(rng *rand.Rand, n int) [][]byte {
	pool := make([][]byte, 1+rng.IntN(6))
	for i := range pool {
		pool[i] = make([]byte, nmt.NamespaceSize)
		// Mostly small namespaces, so absent ones between them exist;
		// sometimes a full random one.
		if rng.IntN(4) == 0 {
			for j := range pool[i] {
				pool[i][j] = byte(rng.UintN(255))
			}
		} else {
			pool[i][nmt.NamespaceSize-1] = byte(2 + 4*rng.IntN(60))
		}
	}
	parity := 0
	if rng.IntN(3) == 0 {
		parity = rng.IntN(n + 1)
	}
	leaves := make([][]byte, n)
	for i := range leaves {
		namespace := pool[rng.IntN(len(pool))]
		if i >= n-parity {
			namespace = nmt.MaxNamespace()
		}
		payload := make([]byte, rng.IntN(48))
		for j := range payload {
			payload[j] = byte(rng.Uint32())
		}
		leaves[i] = append(bytes.Clone(namespace), payload...)
	}
	slices.SortStableFunc(leaves, func(a, b []byte) int {
		return bytes.Compare(a[:nmt.NamespaceSize], b[:nmt.NamespaceSize])
	})
	return leaves
}

func newRef() *refnmt.NamespacedMerkleTree {
	return refnmt.New(sha256.New(), refnmt.NamespaceIDSize(nmt.NamespaceSize), refnmt.IgnoreMaxNamespace(true))
}

// build pushes leaves into our tree and the reference.
func build(t testing.TB, leaves [][]byte) (*nmt.Tree, *refnmt.NamespacedMerkleTree) {
	t.Helper()
	ours, ref := nmt.New(), newRef()
	for i, l := range leaves {
		if err := ours.Push(l); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if err := ref.Push(l); err != nil {
			t.Fatalf("reference push %d: %v", i, err)
		}
	}
	return ours, ref
}

func mustRoot(t testing.TB, tree *nmt.Tree) []byte {
	t.Helper()
	root, err := tree.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// toRef converts our proof to the reference's.
func toRef(p nmt.Proof) refnmt.Proof {
	switch {
	case p.IsOfAbsence():
		return refnmt.NewAbsenceProof(p.Start, p.End, p.Nodes, p.LeafHash, p.IsMaxNamespaceIgnored)
	case p.Start == 0 && p.End == 0 && len(p.Nodes) == 0:
		return refnmt.NewEmptyRangeProof(p.IsMaxNamespaceIgnored)
	default:
		return refnmt.NewInclusionProof(p.Start, p.End, p.Nodes, p.IsMaxNamespaceIgnored)
	}
}

// fromRef converts the reference's proof to ours.
func fromRef(p refnmt.Proof) nmt.Proof {
	out := nmt.Proof{
		Start:                 p.Start(),
		End:                   p.End(),
		LeafHash:              p.LeafHash(),
		IsMaxNamespaceIgnored: p.IsMaxNamespaceIDIgnored(),
	}
	if len(p.Nodes()) > 0 {
		out.Nodes = p.Nodes()
	}
	return out
}

// refBytes encodes p with the reference's gogoproto message.
func refBytes(t testing.TB, p nmt.Proof) []byte {
	t.Helper()
	m := pb.Proof{
		Start:                 int64(p.Start),
		End:                   int64(p.End),
		Nodes:                 p.Nodes,
		LeafHash:              p.LeafHash,
		IsMaxNamespaceIgnored: p.IsMaxNamespaceIgnored,
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// equalProofs reports whether two proofs have the same fields, treating nil
// and empty slices alike.
func equalProofs(a, b nmt.Proof) bool {
	return a.Start == b.Start && a.End == b.End &&
		a.IsMaxNamespaceIgnored == b.IsMaxNamespaceIgnored &&
		bytes.Equal(a.LeafHash, b.LeafHash) &&
		slices.EqualFunc(a.Nodes, b.Nodes, bytes.Equal)
}

// payloads strips the namespace from leaves.
func payloads(leaves [][]byte) [][]byte {
	out := make([][]byte, len(leaves))
	for i, l := range leaves {
		out[i] = l[nmt.NamespaceSize:]
	}
	return out
}
