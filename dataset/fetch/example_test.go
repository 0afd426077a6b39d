package fetch_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/datamesh/mesh-node/dataset/fetch"
)

// A 3 MiB file posted as three parts (heights 100 to 102) and a manifest
// (height 103) is found at the manifest's height and verified; then the
// node hands out altered bytes for the second part, and Verify names that
// part alone. With an api/client.Client in place of the in-memory node,
// the same calls read a real node (a light node verifies each blob it
// returns against the headers it verified).
func Example() {
	ctx := context.Background()
	node := newMemNode(false)

	// Publish, as `mesh-node dataset put` does on a chain: parts at
	// heights 100 to 102, the manifest at 103.
	root, err := node.publishFile(3<<20, 2<<20, 100)
	if err != nil {
		panic(err)
	}

	// Verify.
	f, err := fetch.New(node, fetch.Options{})
	if err != nil {
		panic(err)
	}
	loc, err := f.LocateAt(ctx, root, 103, nil)
	if err != nil {
		panic(err)
	}
	rep, err := f.Verify(ctx, loc)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d parts, %d blocks: verified: %v\n", len(loc.Manifest.Parts), loc.Manifest.Blocks, rep.Err() == nil)

	node.tamper = func(height uint64, data []byte) ([]byte, error) {
		if height == 101 {
			data[len(data)-1] ^= 1
		}
		return data, nil
	}
	rep, err = f.Verify(ctx, loc)
	if err != nil {
		panic(err)
	}
	for _, bad := range rep.Bad {
		fmt.Printf("bad: part %d at height %d, other bytes: %v\n", bad.Index, bad.Height, strings.Contains(bad.Err.Error(), "the manifest lists"))
	}
	// Output:
	// 3 parts, 4 blocks: verified: true
	// bad: part 1 at height 101, other bytes: true
}
