package store_test

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/share"
)

// Store a square in a caller's transaction, then read it back: the original
// square as stored, and the extended square recomputed from it.
func Example() {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	s := store.New(db, store.Options{})

	sq := share.EmptySquare()
	e, err := eds.Extend(sq.Shares)
	if err != nil {
		panic(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		// Other writes (a header) may share the transaction.
		return s.Put(txn, 7, e)
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	ods, err := s.ODS(ctx, 7)
	if err != nil {
		panic(err)
	}
	ext, err := s.EDS(ctx, 7)
	if err != nil {
		panic(err)
	}
	_, err = s.ODS(ctx, 8)
	fmt.Println(len(ods), "original share(s); extended width", ext.Width())
	fmt.Println(err)
	// Output:
	// 1 original share(s); extended width 2
	// eds/store: square not found: height 8
}
