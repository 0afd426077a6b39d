package nmt_test

import (
	"bytes"
	"fmt"

	"github.com/datamesh/mesh-node/nmt"
)

func Example() {
	namespace := func(b byte) []byte {
		ns := make([]byte, nmt.NamespaceSize)
		ns[nmt.NamespaceSize-1] = b
		return ns
	}

	// The prover pushes leaves (namespace || data) in namespace order.
	tree := nmt.New()
	for _, l := range []struct {
		ns   byte
		data string
	}{{1, "alpha"}, {2, "beta"}, {2, "gamma"}, {4, "delta"}} {
		if err := tree.Push(append(namespace(l.ns), l.data...)); err != nil {
			panic(err)
		}
	}
	root, _ := tree.Root()

	// It proves all leaves of namespace 2 and sends the proof on the wire.
	proof, err := tree.ProveNamespace(namespace(2))
	if err != nil {
		panic(err)
	}
	wire, _ := proof.MarshalBinary()

	// The verifier holds only the root.
	received, err := nmt.UnmarshalProof(wire)
	if err != nil {
		panic(err)
	}
	leaves := [][]byte{
		append(namespace(2), "beta"...),
		append(namespace(2), "gamma"...),
	}
	fmt.Println("namespace 2:", received.Start, received.End, received.VerifyNamespace(namespace(2), leaves, root))

	// Leaving a leaf out fails the completeness check.
	err = received.VerifyNamespace(namespace(2), leaves[:1], root)
	fmt.Println("one leaf short rejected:", err != nil)

	// Namespace 3 is absent: the proof shows the leaf that follows it.
	absent, _ := tree.ProveNamespace(namespace(3))
	fmt.Println("namespace 3 absent:", absent.IsOfAbsence(), absent.VerifyNamespace(namespace(3), nil, root))

	// A sample: one leaf, verified with the namespace supplied by the verifier.
	sample, _ := tree.ProveRange(3, 4)
	fmt.Println("sample:", sample.VerifyInclusion(namespace(4), [][]byte{[]byte("delta")}, root))
	fmt.Println("root range:", bytes.Equal(nmt.MinNamespace(root), namespace(1)), bytes.Equal(nmt.MaxNamespaceOf(root), namespace(4)))

	// Output:
	// namespace 2: 1 3 <nil>
	// one leaf short rejected: true
	// namespace 3 absent: true <nil>
	// sample: <nil>
	// root range: true true
}
