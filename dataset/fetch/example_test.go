package fetch_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/dataset"
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

	// Publish: what `mesh-node dataset put` does on a chain.
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	file := make([]byte, 3<<20)
	for i := range file {
		file[i] = byte(i % 253)
	}
	root, err := dataset.ImportReader(ctx, bs, bytes.NewReader(file))
	if err != nil {
		panic(err)
	}
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		panic(err)
	}
	var refs []dataset.PartRef
	sum, err := dataset.Pack(ctx, bs, root, 2<<20, func(p dataset.Part) error {
		h := uint64(100 + p.Index)
		com, err := node.tryPost(h, ns, p.Data)
		refs = append(refs, dataset.PartRef{Height: h, Commitment: com})
		return err
	})
	if err != nil {
		panic(err)
	}
	manifest, _, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		panic(err)
	}
	if _, err := node.tryPost(103, ns, manifest); err != nil {
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
