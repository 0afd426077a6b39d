package validator

import (
	"bytes"

	rpccore "github.com/cometbft/cometbft/rpc/core"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"
)

// restoreTxRoutes replaces CometBFT's "tx" and "tx_search" routes with
// ones that answer as CometBFT's do over an index holding the
// transactions: the index (slimTxIndex) no longer has them, so they are
// read from the block store, at the height and index the index gives, the
// way CometBFT reads a block for prove=true. Without it /tx would answer
// an empty "tx", and /tx_search every result with the hash of no bytes
// (it hashes the transaction it finds in the index).
//
// An entry indexed before the transactions were left out still has its
// transaction and is answered from the index. When the block store has
// no longer the block (pruned), the answer is CometBFT's without the
// transaction: "tx" empty, and /tx_search's "hash" empty too.
func restoreTxRoutes(routes map[string]*rpcserver.RPCFunc, env *rpccore.Environment) {
	routes["tx"] = rpcserver.NewRPCFunc(func(ctx *rpctypes.Context, hash []byte, prove bool) (*ctypes.ResultTx, error) {
		r, err := env.Tx(ctx, hash, false)
		if err != nil {
			return nil, err
		}
		blocks := blockCache{store: env.BlockStore}
		fillTx(r, &blocks, prove)
		return r, nil
	}, "hash,prove", rpcserver.Cacheable())
	routes["tx_search"] = rpcserver.NewRPCFunc(func(ctx *rpctypes.Context, query string, prove bool, page, perPage *int, orderBy string) (*ctypes.ResultTxSearch, error) {
		res, err := env.TxSearch(ctx, query, false, page, perPage, orderBy)
		if err != nil {
			return nil, err
		}
		fillTxs(res.Txs, env.BlockStore, prove)
		return res, nil
	}, "query,prove,page,per_page,order_by")
}

// fillTxs does fillTx for /tx_search's results, whose hashes TxSearch
// computed from the transactions in the index: a result whose transaction
// was left out gets its hash from the block's, or none.
func fillTxs(rs []*ctypes.ResultTx, store sm.BlockStore, prove bool) {
	blocks := blockCache{store: store}
	for _, r := range rs {
		slim := len(r.Tx) == 0
		if slim {
			r.Hash = nil // the hash of no bytes
		}
		if fillTx(r, &blocks, prove) && slim {
			r.Hash = r.Tx.Hash()
		}
	}
}

// fillTx sets r's transaction, when the index left it out, and with prove
// its proof, from the block at r's height; it loads the block only for
// these. It reports whether r has its transaction. A transaction whose
// hash is not r.Hash (when r has one) is not taken.
func fillTx(r *ctypes.ResultTx, blocks *blockCache, prove bool) bool {
	if len(r.Tx) != 0 && !prove {
		return true
	}
	b := blocks.load(r.Height)
	if b == nil || int64(r.Index) >= int64(len(b.Txs)) {
		return len(r.Tx) != 0
	}
	if prove {
		r.Proof = b.Txs.Proof(int(r.Index))
	}
	if len(r.Tx) == 0 {
		tx := b.Txs[r.Index]
		if r.Hash != nil && !bytes.Equal(tx.Hash(), r.Hash) {
			return false
		}
		r.Tx = tx
	}
	return true
}

// blockCache keeps the last block it loaded from store: /tx_search's
// results come in height order, several to a block.
type blockCache struct {
	store  sm.BlockStore
	height int64
	block  *types.Block
}

func (c *blockCache) load(height int64) *types.Block {
	if c.block == nil || c.height != height {
		c.height, c.block = height, c.store.LoadBlock(height)
	}
	return c.block
}
