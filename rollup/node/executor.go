package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	coreexec "github.com/evstack/ev-node/core/execution"

	"github.com/datamesh/mesh-node/execution/evm"
	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/execution/statemachine"
	"github.com/datamesh/mesh-node/execution/wasm"
	rollrpc "github.com/datamesh/mesh-node/rollup/rpc"
)

// Executor is a node's executor with what its JSON-RPC needs of it.
type Executor struct {
	// Exec executes the chain's blocks.
	Exec coreexec.Executor
	// Submit adds a transaction to Exec's mempool; its error is the
	// client's.
	Submit func(ctx context.Context, tx []byte) error
	// Query answers rollup_query; nil serves no queries.
	Query rollrpc.QueryFunc
	// Results, if not nil, gives a block's per-transaction results for
	// rollup_getBlock (kv, wasm).
	Results func(ctx context.Context, height uint64) (json.RawMessage, error)
	// EVM, when set, is served over the Ethereum JSON-RPC beside the
	// rollup_* methods.
	EVM *evm.Executor
	// Close releases what Open acquired; Run calls it after the node has
	// stopped. It may be nil.
	Close func()
}

// OpenFunc opens a node's executor over the node's database, for the
// home's genesis. The executor owns the keys it writes; the rollup store
// and the JSON-RPC index use the prefixes "rollup/" and "rollup-rpc/", so
// an executor must keep out of them.
type OpenFunc func(ctx context.Context, db *badger.DB, doc *GenesisDoc) (*Executor, error)

// OpenBuiltin opens the built-in executor of doc.VM: execution/kv,
// execution/wasm (with default limits) or execution/evm (doc.EVM).
func OpenBuiltin(ctx context.Context, db *badger.DB, doc *GenesisDoc) (*Executor, error) {
	switch doc.VM {
	case "kv":
		x, err := kv.New(db, kv.Config{})
		if err != nil {
			return nil, fmt.Errorf("rollup node: %w", err)
		}
		query := func(ctx context.Context, q []byte) (json.RawMessage, uint64, []byte, error) {
			kq, err := kv.DecodeQuery(q)
			if err != nil {
				return nil, 0, nil, fmt.Errorf("%w: %w", rollrpc.ErrInvalidParams, err)
			}
			a, err := x.Query(ctx, kq)
			if err != nil {
				return nil, 0, nil, err
			}
			b, err := json.Marshal(a)
			return b, a.Height, a.StateRoot, err
		}
		return &Executor{Exec: x, Submit: x.SubmitTx, Query: query, Results: chainResults(x.Chain)}, nil
	case "wasm":
		vm, err := wasm.New(ctx, wasm.Config{})
		if err != nil {
			return nil, fmt.Errorf("rollup node: %w", err)
		}
		x, err := wasm.NewExecutor(db, vm, statemachine.Config{})
		if err != nil {
			_ = vm.Close(ctx)
			return nil, fmt.Errorf("rollup node: %w", err)
		}
		query := func(ctx context.Context, q []byte) (json.RawMessage, uint64, []byte, error) {
			var sq struct {
				Type     string        `json:"type"`
				Contract rollrpc.Bytes `json:"contract"`
				Key      rollrpc.Bytes `json:"key"`
			}
			if err := json.Unmarshal(q, &sq); err != nil || sq.Type != "storage" || len(sq.Contract) != wasm.AddressSize {
				return nil, 0, nil, fmt.Errorf(`%w: want {"type":"storage","contract":HEX of %d bytes,"key":HEX}`, rollrpc.ErrInvalidParams, wasm.AddressSize)
			}
			a, err := x.ProveStorage(ctx, wasm.Address(sq.Contract), sq.Key)
			if err != nil {
				return nil, 0, nil, err
			}
			b, err := json.Marshal(a)
			return b, a.Height, a.StateRoot, err
		}
		return &Executor{Exec: x, Submit: x.SubmitTx, Query: query, Results: chainResults(x.Chain),
			Close: func() { _ = vm.Close(context.Background()) }}, nil
	case "evm":
		if doc.EVM == nil {
			return nil, errors.New("rollup node: vm evm without an evm genesis")
		}
		x, err := evm.New(db, *doc.EVM, evm.Config{})
		if err != nil {
			return nil, fmt.Errorf("rollup node: %w", err)
		}
		return &Executor{Exec: x, Submit: x.SubmitTx, EVM: x}, nil
	default:
		return nil, fmt.Errorf("rollup node: no built-in executor for vm %q", doc.VM)
	}
}

// chainResults serves a statemachine chain's per-transaction results.
func chainResults(c *statemachine.Chain) func(context.Context, uint64) (json.RawMessage, error) {
	return func(ctx context.Context, height uint64) (json.RawMessage, error) {
		res, _, err := c.Results(ctx, height)
		if err != nil {
			return nil, err
		}
		if res == nil {
			res = []statemachine.TxResult{}
		}
		return json.Marshal(res)
	}
}
