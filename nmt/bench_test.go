package nmt_test

import (
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/nmt"
)

// benchLeaves returns n leaves of 512-byte shares over 8 namespaces, the
// last quarter MaxNamespace as in a parity half.
func benchLeaves(n int) [][]byte {
	leaves := make([][]byte, n)
	for i := range leaves {
		namespace := ns(byte(1 + 8*i/n*8))
		if i >= n-n/4 {
			namespace = nmt.MaxNamespace()
		}
		leaves[i] = append(namespace, make([]byte, 512)...)
	}
	return leaves
}

var benchSizes = []int{64, 256, 1024}

func BenchmarkPushRoot(b *testing.B) {
	for _, n := range benchSizes {
		leaves := benchLeaves(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			tree := nmt.New()
			for b.Loop() {
				tree.Reset()
				for _, l := range leaves {
					if err := tree.Push(l); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := tree.Root(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkProveNamespace(b *testing.B) {
	for _, n := range benchSizes {
		leaves := benchLeaves(n)
		tree, _ := build(b, leaves)
		q := leaves[n/2][:nmt.NamespaceSize]
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tree.ProveNamespace(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyNamespace(b *testing.B) {
	for _, n := range benchSizes {
		leaves := benchLeaves(n)
		tree, _ := build(b, leaves)
		root := mustRoot(b, tree)
		q := leaves[n/2][:nmt.NamespaceSize]
		p := proveNs(b, tree, q)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.VerifyNamespace(q, leaves[p.Start:p.End], root); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
