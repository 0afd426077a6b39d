package dataset_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"

	"github.com/datamesh/mesh-node/dataset"
)

// A 3 MiB file becomes a DAG of a root and three 1 MiB leaves (its root
// is the CID `ipfs add` prints with the unixfs-v1-2025 profile); at the
// devnet's max_blob_size (2 MiB) each part holds one leaf (two would not
// fit), the first the root too. Once the parts are posted, the manifest
// records where.
func Example() {
	ctx := context.Background()
	bs := blockstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
	file := make([]byte, 3<<20)
	for i := range file {
		file[i] = byte(i % 251)
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
		fmt.Printf("part %d: %d blocks, %d bytes\n", p.Index, p.Blocks, len(p.Data))
		// Here the part would be posted as a blob in ns; its height and
		// commitment come back from the chain.
		refs = append(refs, dataset.PartRef{Height: uint64(100 + p.Index), Commitment: make([]byte, dataset.CommitmentSize)})
		return nil
	})
	if err != nil {
		panic(err)
	}
	manifest, id, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		panic(err)
	}
	fmt.Println("root:", root)
	fmt.Println("namespace:", ns)
	fmt.Printf("%d blocks, %d bytes of data, export %d bytes\n", sum.Blocks, sum.Size, sum.CARSize)
	fmt.Printf("manifest %s: %d bytes\n", id, len(manifest))
	// Output:
	// part 0: 2 blocks, 1048871 bytes
	// part 1: 1 blocks, 1048674 bytes
	// part 2: 1 blocks, 1048674 bytes
	// root: bafybeihzpjrbcpjpzcx4yxh3hasnjidsikmwmsrli7hhamhny5iueulu5a
	// namespace: 000000000000000000000000000000000000004c1a92aa5e463c6cada0
	// 4 blocks, 3145887 bytes of data, export 3146101 bytes
	// manifest bafyreibkerh77tgejjts35l7oqbhtidxpmkcrstrig5o3xwc3g7rw5ikzy: 343 bytes
}
