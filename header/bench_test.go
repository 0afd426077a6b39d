package header_test

import (
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// BenchmarkVerify measures what a syncing node spends per header: decoding
// it and verifying it against its predecessor (Validate included), over
// validator-set sizes.
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{4, 32, 100} {
		b.Run(fmt.Sprintf("validators=%d", n), func(b *testing.B) {
			chain := headertest.NewGenerator(headertest.Options{Validators: n, Blobs: 4}).Chain(b, 2)
			wire, err := chain[1].MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			opts := header.VerifyOptions{Now: now(chain)}
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				h, err := header.UnmarshalExtendedHeader(wire)
				if err != nil {
					b.Fatal(err)
				}
				if err := header.Verify(chain[0], h, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
