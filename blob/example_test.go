package blob_test

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header/headertest"
)

// A service over a header store and the squares of a chain: read every blob
// of a height back, and prove one.
func Example() {
	ctx := context.Background()
	getter := &testGetter{squares: map[uint64]*eds.ExtendedDataSquare{}}
	gen := headertest.NewGenerator(headertest.Options{Blobs: 3, Seed: 1,
		OnSquare: func(h int64, e *eds.ExtendedDataSquare) { getter.squares[uint64(h)] = e }})
	store := newTestHeaders()
	h, err := gen.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := store.Append(ctx, h); err != nil {
		fmt.Println(err)
		return
	}

	svc, err := blob.NewService(blob.Options{Headers: store, Getter: getter})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The generator's blobs are in random namespaces; read them from the
	// square to know which.
	var nss = namespacesOf(getter.squares[1])
	blobs, err := svc.GetAll(ctx, 1, nss)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("blobs at height 1:", len(blobs))

	b := blobs[0]
	proof, err := svc.GetProof(ctx, 1, b.Namespace, b.Commitment)
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, err := svc.Included(ctx, 1, b.Namespace, proof, b.Commitment)
	fmt.Println("included:", ok, err)
	// Output:
	// blobs at height 1: 3
	// included: true <nil>
}
