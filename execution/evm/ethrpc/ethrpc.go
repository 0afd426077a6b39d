// Package ethrpc serves the Ethereum JSON-RPC subset that wallets and
// go-ethereum's ethclient use over an evm.Executor: JSON-RPC 2.0 over
// HTTP POST, batches allowed, with go-ethereum's rpc server doing the
// protocol (request and batch size limits, error objects).
//
// Methods: eth_chainId, eth_blockNumber, eth_getBalance,
// eth_getTransactionCount ("pending" counts the mempool),
// eth_sendRawTransaction (into the executor's mempool, checked as
// evm.Executor.SubmitTx checks it), eth_call, eth_estimateGas,
// eth_gasPrice, eth_maxPriorityFeePerGas (which bind's transactors ask
// for), eth_getTransactionReceipt, eth_getTransactionByHash,
// eth_getBlockByNumber, eth_getBlockByHash, eth_getCode, eth_getLogs,
// eth_getProof (EIP-1186: an account and storage slots with their
// Merkle-Patricia proofs against the block's state root, at most
// evm.MaxProofKeys keys, go-ethereum's answer member for member) and
// net_version. Block parameters take a number, "latest", "pending"
// (the same as latest: blocks are built by the sequencer, not here),
// "safe" and "finalized" (the last height SetFinal recorded), "earliest"
// (the genesis block) or a block hash.
//
// Server.RegisterName adds another namespace's methods beside these: an
// EVM rollup node (mesh-node rollup run --vm evm) serves rollup/rpc's
// rollup_* methods this way.
package ethrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/datamesh/mesh-node/execution/evm"
)

// Limits of the server.
const (
	// MaxRequestSize is the most bytes of one HTTP request body.
	MaxRequestSize = 5 << 20
	// MaxBatchItems is the most calls in one batch.
	MaxBatchItems = 100
	// MaxBatchResponseSize is the most bytes of a batch's answers.
	MaxBatchResponseSize = 25 << 20
)

// Server is an http.Handler answering the methods of the package doc.
type Server struct {
	rpc *rpc.Server
}

// New returns a Server over x. It does no I/O; Close it when done.
func New(x *evm.Executor) (*Server, error) {
	if x == nil {
		return nil, errors.New("ethrpc: nil executor")
	}
	s := rpc.NewServer()
	s.SetHTTPBodyLimit(MaxRequestSize)
	s.SetBatchLimits(MaxBatchItems, MaxBatchResponseSize)
	if err := s.RegisterName("eth", &ethAPI{x: x}); err != nil {
		return nil, fmt.Errorf("ethrpc: %w", err)
	}
	if err := s.RegisterName("net", &netAPI{x: x}); err != nil {
		return nil, fmt.Errorf("ethrpc: %w", err)
	}
	return &Server{rpc: s}, nil
}

// RegisterName serves the exported methods of receiver in namespace
// name beside eth_* and net_* (go-ethereum's rpc.Server.RegisterName:
// method Foo is name_foo): an EVM rollup node adds its rollup_* methods
// this way. Call it before serving.
func (s *Server) RegisterName(name string, receiver any) error {
	if name == "eth" || name == "net" {
		return fmt.Errorf("ethrpc: namespace %q is taken", name)
	}
	if err := s.rpc.RegisterName(name, receiver); err != nil {
		return fmt.Errorf("ethrpc: %w", err)
	}
	return nil
}

// ServeHTTP answers a JSON-RPC request or batch sent by POST; other
// methods get 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "ethrpc: JSON-RPC over POST only", http.StatusMethodNotAllowed)
		return
	}
	s.rpc.ServeHTTP(w, r)
}

// Close stops the server: calls in flight are cancelled.
func (s *Server) Close() { s.rpc.Stop() }

type netAPI struct{ x *evm.Executor }

// Version is net_version: the chain ID in decimal.
func (n *netAPI) Version() string {
	return strconv.FormatUint(n.x.Genesis().ChainID, 10)
}

type ethAPI struct{ x *evm.Executor }

func (a *ethAPI) ChainId() *hexutil.Big { //nolint:revive // the method is eth_chainId
	return (*hexutil.Big)(new(big.Int).SetUint64(a.x.Genesis().ChainID))
}

func (a *ethAPI) BlockNumber(ctx context.Context) (hexutil.Uint64, error) {
	h, err := a.x.Head(ctx)
	return hexutil.Uint64(h.Height), err
}

// height resolves a block parameter; nil is latest.
func (a *ethAPI) height(ctx context.Context, b *rpc.BlockNumberOrHash) (uint64, error) {
	h, err := a.x.Head(ctx)
	if err != nil {
		return 0, err
	}
	if b == nil {
		return h.Height, nil
	}
	if hash, ok := b.Hash(); ok {
		blk, err := a.x.BlockByHash(ctx, hash)
		if err != nil {
			return 0, err
		}
		return blk.Header.Number.Uint64(), nil
	}
	n, _ := b.Number()
	switch n {
	case rpc.LatestBlockNumber, rpc.PendingBlockNumber:
		return h.Height, nil
	case rpc.SafeBlockNumber, rpc.FinalizedBlockNumber:
		return max(h.Final, h.Genesis), nil
	case rpc.EarliestBlockNumber:
		return h.Genesis, nil
	}
	if n < 0 || uint64(n) > h.Height {
		return 0, fmt.Errorf("%w: block %d, the head is %d", evm.ErrNotFound, n, h.Height)
	}
	return uint64(n), nil
}

func (a *ethAPI) GetBalance(ctx context.Context, addr common.Address, b rpc.BlockNumberOrHash) (*hexutil.Big, error) {
	n, err := a.height(ctx, &b)
	if err != nil {
		return nil, err
	}
	sdb, _, err := a.x.StateAt(ctx, n)
	if err != nil {
		return nil, err
	}
	return (*hexutil.Big)(sdb.GetBalance(addr).ToBig()), nil
}

func (a *ethAPI) GetTransactionCount(ctx context.Context, addr common.Address, b rpc.BlockNumberOrHash) (hexutil.Uint64, error) {
	if n, ok := b.Number(); ok && n == rpc.PendingBlockNumber {
		nonce, err := a.x.PendingNonce(ctx, addr)
		return hexutil.Uint64(nonce), err
	}
	n, err := a.height(ctx, &b)
	if err != nil {
		return 0, err
	}
	sdb, _, err := a.x.StateAt(ctx, n)
	if err != nil {
		return 0, err
	}
	return hexutil.Uint64(sdb.GetNonce(addr)), nil
}

func (a *ethAPI) GetCode(ctx context.Context, addr common.Address, b rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	n, err := a.height(ctx, &b)
	if err != nil {
		return nil, err
	}
	sdb, _, err := a.x.StateAt(ctx, n)
	if err != nil {
		return nil, err
	}
	return sdb.GetCode(addr), nil
}

func (a *ethAPI) SendRawTransaction(ctx context.Context, raw hexutil.Bytes) (common.Hash, error) {
	tx, _, err := a.x.DecodeTx(raw)
	if err != nil {
		return common.Hash{}, err
	}
	if err := a.x.SubmitTx(ctx, raw); err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), nil
}

// callArgs is a call object of eth_call and eth_estimateGas.
type callArgs struct {
	From                 *common.Address `json:"from"`
	To                   *common.Address `json:"to"`
	Gas                  *hexutil.Uint64 `json:"gas"`
	GasPrice             *hexutil.Big    `json:"gasPrice"`
	MaxFeePerGas         *hexutil.Big    `json:"maxFeePerGas"`
	MaxPriorityFeePerGas *hexutil.Big    `json:"maxPriorityFeePerGas"`
	Value                *hexutil.Big    `json:"value"`
	Data                 *hexutil.Bytes  `json:"data"`
	Input                *hexutil.Bytes  `json:"input"`
}

func (c callArgs) msg() (ethereum.CallMsg, error) {
	var m ethereum.CallMsg
	if c.From != nil {
		m.From = *c.From
	}
	m.To = c.To
	if c.Gas != nil {
		m.Gas = uint64(*c.Gas)
	}
	m.GasPrice, m.GasFeeCap, m.GasTipCap, m.Value = c.GasPrice.ToInt(), c.MaxFeePerGas.ToInt(), c.MaxPriorityFeePerGas.ToInt(), c.Value.ToInt()
	switch {
	case c.Data != nil && c.Input != nil && string(*c.Data) != string(*c.Input):
		return m, errors.New("ethrpc: both data and input, and they differ")
	case c.Input != nil:
		m.Data = *c.Input
	case c.Data != nil:
		m.Data = *c.Data
	}
	return m, nil
}

// revertError is a reverted call as JSON-RPC error 3 with the revert data.
type revertError struct {
	err *evm.RevertError
}

func (e revertError) Error() string          { return e.err.Error() }
func (e revertError) ErrorCode() int         { return 3 }
func (e revertError) ErrorData() interface{} { return hexutil.Encode(e.err.Data) }

func (a *ethAPI) Call(ctx context.Context, args callArgs, b *rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	n, err := a.height(ctx, b)
	if err != nil {
		return nil, err
	}
	m, err := args.msg()
	if err != nil {
		return nil, err
	}
	res, err := a.x.Call(ctx, m, n)
	if err != nil {
		return nil, err
	}
	if len(res.Revert()) > 0 {
		return nil, revertError{&evm.RevertError{Data: res.Revert()}}
	}
	if res.Failed() {
		return nil, fmt.Errorf("ethrpc: call: %w", res.Err)
	}
	return res.Return(), nil
}

func (a *ethAPI) EstimateGas(ctx context.Context, args callArgs, b *rpc.BlockNumberOrHash) (hexutil.Uint64, error) {
	n, err := a.height(ctx, b)
	if err != nil {
		return 0, err
	}
	m, err := args.msg()
	if err != nil {
		return 0, err
	}
	gas, err := a.x.EstimateGas(ctx, m, n)
	var rev *evm.RevertError
	if errors.As(err, &rev) {
		return 0, revertError{rev}
	}
	return hexutil.Uint64(gas), err
}

// GasPrice is the base fee: tips buy nothing from a single sequencer
// that orders transactions by arrival, so the suggested tip is zero.
func (a *ethAPI) GasPrice() *hexutil.Big {
	return (*hexutil.Big)(new(big.Int).Set(a.x.Genesis().BaseFee.ToInt()))
}

// MaxPriorityFeePerGas is the suggested tip: zero (see GasPrice).
func (a *ethAPI) MaxPriorityFeePerGas() *hexutil.Big {
	return (*hexutil.Big)(new(big.Int))
}

func (a *ethAPI) GetBlockByNumber(ctx context.Context, n rpc.BlockNumber, full bool) (map[string]json.RawMessage, error) {
	h, err := a.height(ctx, &rpc.BlockNumberOrHash{BlockNumber: &n})
	if errors.Is(err, evm.ErrNotFound) {
		return nil, nil // null: no such block
	}
	if err != nil {
		return nil, err
	}
	blk, err := a.x.BlockByNumber(ctx, h)
	if errors.Is(err, evm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return blockJSON(blk, full)
}

func (a *ethAPI) GetBlockByHash(ctx context.Context, hash common.Hash, full bool) (map[string]json.RawMessage, error) {
	blk, err := a.x.BlockByHash(ctx, hash)
	if errors.Is(err, evm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return blockJSON(blk, full)
}

func (a *ethAPI) GetTransactionByHash(ctx context.Context, hash common.Hash) (map[string]json.RawMessage, error) {
	blk, i, err := a.x.TxByHash(ctx, hash)
	if errors.Is(err, evm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return txJSON(blk, i)
}

func (a *ethAPI) GetTransactionReceipt(ctx context.Context, hash common.Hash) (map[string]json.RawMessage, error) {
	blk, i, err := a.x.TxByHash(ctx, hash)
	if errors.Is(err, evm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := objectJSON(blk.Receipts[i])
	if err != nil {
		return nil, err
	}
	tx := blk.Txs[i]
	if err := setJSON(m, "from", blk.From[i]); err != nil {
		return nil, err
	}
	if err := setJSON(m, "to", tx.To()); err != nil {
		return nil, err
	}
	if tx.To() != nil {
		m["contractAddress"] = json.RawMessage("null")
	}
	return m, nil
}

func (a *ethAPI) GetLogs(ctx context.Context, crit filterCriteria) ([]*types.Log, error) {
	return a.x.Logs(ctx, ethereum.FilterQuery(crit))
}

func objectJSON(v any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(b, &m)
}

func setJSON(m map[string]json.RawMessage, k string, v any) error {
	b, err := json.Marshal(v)
	m[k] = b
	return err
}

func txJSON(blk *evm.Block, i int) (map[string]json.RawMessage, error) {
	m, err := objectJSON(blk.Txs[i])
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]any{
		"blockHash":        blk.Header.Hash(),
		"blockNumber":      (*hexutil.Big)(blk.Header.Number),
		"transactionIndex": hexutil.Uint64(i),
		"from":             blk.From[i],
		"gasPrice":         (*hexutil.Big)(blk.Receipts[i].EffectiveGasPrice),
	} {
		if err := setJSON(m, k, v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func blockJSON(blk *evm.Block, full bool) (map[string]json.RawMessage, error) {
	m, err := objectJSON(blk.Header)
	if err != nil {
		return nil, err
	}
	var txs []any
	for i, tx := range blk.Txs {
		if !full {
			txs = append(txs, tx.Hash())
			continue
		}
		t, err := txJSON(blk, i)
		if err != nil {
			return nil, err
		}
		txs = append(txs, t)
	}
	if txs == nil {
		txs = []any{}
	}
	size := types.NewBlockWithHeader(blk.Header).WithBody(types.Body{Transactions: blk.Txs}).Size()
	for k, v := range map[string]any{
		"transactions":    txs,
		"uncles":          []common.Hash{},
		"withdrawals":     []*types.Withdrawal{},
		"size":            hexutil.Uint64(size),
		"totalDifficulty": (*hexutil.Big)(new(big.Int)),
	} {
		if err := setJSON(m, k, v); err != nil {
			return nil, err
		}
	}
	return m, nil
}
