package state

import (
	"context"
	"encoding/json"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	jsonrpc "github.com/cometbft/cometbft/rpc/jsonrpc/client"
)

// cometRPC calls the five methods of a core node's CometBFT RPC the client
// uses, with the requests CometBFT's rpc/client/http sends, decoding only
// the fields the client reads. That client's result types
// (rpc/core/types) would link CometBFT's p2p and config packages, and
// through config its database (cometbft-db), into every light node.
type cometRPC struct {
	c *jsonrpc.Client
}

// newCometRPC returns a client of the RPC at addr (http://host:port, or
// tcp:// or unix://). It does no I/O.
func newCometRPC(addr string) (*cometRPC, error) {
	c, err := jsonrpc.New(addr)
	if err != nil {
		return nil, err
	}
	return &cometRPC{c: c}, nil
}

// resultStatus is the part of /status the client reads.
type resultStatus struct {
	NodeInfo struct {
		Network string `json:"network"` // the chain ID
	} `json:"node_info"`
}

// resultGenesis is the part of /genesis the client reads.
type resultGenesis struct {
	Genesis *struct {
		AppState json.RawMessage `json:"app_state"`
	} `json:"genesis"`
}

// resultABCIQuery is /abci_query's answer.
type resultABCIQuery struct {
	Response abci.ResponseQuery `json:"response"`
}

// resultBroadcastTx is the part of /broadcast_tx_sync's answer the client
// reads: CheckTx's code and log, and the transaction's hash.
type resultBroadcastTx struct {
	Code uint32            `json:"code"`
	Log  string            `json:"log"`
	Hash cmtbytes.HexBytes `json:"hash"`
}

// resultTx is the part of /tx's answer the client reads.
type resultTx struct {
	Height   int64             `json:"height"`
	TxResult abci.ExecTxResult `json:"tx_result"`
}

// Status calls /status.
func (r *cometRPC) Status(ctx context.Context) (*resultStatus, error) {
	res := new(resultStatus)
	if _, err := r.c.Call(ctx, "status", map[string]any{}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Genesis calls /genesis.
func (r *cometRPC) Genesis(ctx context.Context) (*resultGenesis, error) {
	res := new(resultGenesis)
	if _, err := r.c.Call(ctx, "genesis", map[string]any{}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// ABCIQuery calls /abci_query at the latest height, without a proof.
func (r *cometRPC) ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*resultABCIQuery, error) {
	res := new(resultABCIQuery)
	params := map[string]any{"path": path, "data": data, "height": int64(0), "prove": false}
	if _, err := r.c.Call(ctx, "abci_query", params, res); err != nil {
		return nil, err
	}
	return res, nil
}

// BroadcastTxSync calls /broadcast_tx_sync: it returns once CheckTx has
// answered.
func (r *cometRPC) BroadcastTxSync(ctx context.Context, raw []byte) (*resultBroadcastTx, error) {
	res := new(resultBroadcastTx)
	if _, err := r.c.Call(ctx, "broadcast_tx_sync", map[string]any{"tx": raw}, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Tx calls /tx for the transaction with hash, without a proof; it fails
// while no block includes it.
func (r *cometRPC) Tx(ctx context.Context, hash []byte) (*resultTx, error) {
	res := new(resultTx)
	if _, err := r.c.Call(ctx, "tx", map[string]any{"hash": hash, "prove": false}, res); err != nil {
		return nil, err
	}
	return res, nil
}
