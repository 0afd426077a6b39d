package header_test

import (
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// A light node trusts one header (its trust root) and verifies later ones
// against it, adjacent or skipping heights.
func ExampleVerify() {
	g := headertest.NewGenerator(headertest.Options{Seed: 1})
	var chain []*header.ExtendedHeader
	for range 10 {
		h, err := g.Next()
		if err != nil {
			panic(err)
		}
		chain = append(chain, h)
	}
	trusted := chain[0]
	opts := header.VerifyOptions{Now: chain[9].Time()}

	fmt.Println("adjacent:", header.Verify(trusted, chain[1], opts))
	fmt.Println("skipping to 10:", header.Verify(trusted, chain[9], opts))

	forged := *chain[1]
	forged.DAH = chain[2].DAH // another block's data
	err := header.Verify(trusted, &forged, opts)
	fmt.Println("forged DAH rejected:", errors.Is(err, header.ErrDAHMismatch))
	// Output:
	// adjacent: <nil>
	// skipping to 10: <nil>
	// forged DAH rejected: true
}
