package core_test

import (
	"bytes"
	"context"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/share"
)

// Build a block's extended header and square, store them, and read a blob
// back with a proof against the stored header.
func Example() {
	ctx := context.Background()
	// A signed block as a core node serves it, here from headertest.
	var txs cmttypes.Txs
	g := headertest.NewGenerator(headertest.Options{Blobs: 1, Seed: 1,
		Byzantine: func(_ int64, t cmttypes.Txs) cmttypes.Txs { txs = t; return t }})
	eh, err := g.Next()
	if err != nil {
		panic(err)
	}
	block := &cmttypes.Block{Header: eh.RawHeader, Data: cmttypes.Data{Txs: txs}}

	h, ext, err := core.BuildHeader(block, eh.Commit, eh.ValidatorSet, share.DefaultMaxSquareSize)
	if err != nil {
		panic(err)
	}
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	s := core.NewStore(db, 0)
	if err := s.Put(ctx, h, ext); err != nil {
		panic(err)
	}

	ps, err := share.ParseSquare(ext.ODS())
	if err != nil {
		panic(err)
	}
	want := ps.Blobs[0].Blob
	commitment, err := want.Commitment()
	if err != nil {
		panic(err)
	}
	got, err := s.GetBlob(ctx, 1, want.Namespace(), commitment)
	if err != nil {
		panic(err)
	}
	fmt.Println("stored height", s.Height())
	fmt.Println("same data:", bytes.Equal(got.Blob.Data(), want.Data()))
	fmt.Println("proof verifies:", got.Proof.Verify(got.Header.DAH, want.Namespace()) == nil)
	// Output:
	// stored height 1
	// same data: true
	// proof verifies: true
}
