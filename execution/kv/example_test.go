package kv_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/dgraph-io/badger/v4"
)

// The product's example: set foo to bar in a block, then get foo with a
// proof that a light client checks against the block's state root.
func Example() {
	dir, err := os.MkdirTemp("", "kv-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		panic(err)
	}
	defer db.Close()

	ctx := context.Background()
	e, err := kv.New(db, kv.Config{})
	if err != nil {
		panic(err)
	}
	genesisRoot, err := e.InitChain(ctx, time.Unix(0, 0), 1, "demo")
	if err != nil {
		panic(err)
	}
	if err := e.SubmitTx(ctx, []byte(`{"type":"set","key":"foo","value":"bar"}`)); err != nil {
		panic(err)
	}
	txs, _ := e.GetTxs(ctx)
	res, err := e.ExecuteTxs(ctx, txs, 1, time.Unix(1, 0), genesisRoot)
	if err != nil {
		panic(err)
	}

	q, _ := kv.DecodeQuery([]byte(`{"type":"get","key":"foo"}`))
	a, err := e.Query(ctx, q)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Value, kv.Verify(res.UpdatedStateRoot, "foo", a))

	a.Value = "baz"
	fmt.Println(kv.Verify(res.UpdatedStateRoot, "foo", a) != nil)
	// Output:
	// bar <nil>
	// true
}
