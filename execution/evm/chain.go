package evm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/dgraph-io/badger/v4"
	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"
)

// Limits of the read methods, which serve clients.
const (
	// MaxCallGas is the most gas Call and EstimateGas give a call: the
	// block gas limit, and never more than this.
	MaxCallGas = 50_000_000
	// MaxLogBlocks is the most blocks one Logs query may span.
	MaxLogBlocks = 10_000
	// MaxLogs is the most logs one Logs query returns.
	MaxLogs = 10_000
)

// ErrLogLimit: a Logs query over more than MaxLogBlocks blocks or
// matching more than MaxLogs logs.
var ErrLogLimit = errors.New("evm: log query over its limit")

// Block is an executed block as Ethereum sees it: the header and the
// transactions that applied, with their senders and receipts (every
// field derived: block hash and number, indexes, gas price, logs'
// positions). The caller owns it.
type Block struct {
	Header   *types.Header
	Txs      []*types.Transaction
	From     []common.Address
	Receipts []*types.Receipt
	// Results are the outcomes of every transaction ExecuteTxs was given,
	// those skipped included; empty for the genesis block.
	Results []TxResult
}

func (rec *blockRecord) block() (*Block, error) {
	b := &Block{Header: rec.Header, From: rec.From, Receipts: rec.Receipts, Results: rec.Results}
	if len(rec.Txs) != len(rec.Receipts) || len(rec.From) != len(rec.Receipts) {
		return nil, errors.New("evm: stored block with mismatched transactions and receipts")
	}
	for _, raw := range rec.Txs {
		tx := new(types.Transaction)
		if err := tx.UnmarshalBinary(raw); err != nil {
			return nil, fmt.Errorf("evm: stored transaction: %w", err)
		}
		b.Txs = append(b.Txs, tx)
	}
	return b, nil
}

// BlockByNumber returns the block at height n (the genesis block at the
// initial height minus one), or an error wrapping ErrNotFound.
func (e *Executor) BlockByNumber(ctx context.Context, n uint64) (*Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rec *blockRecord
	err := e.db.View(func(txn *badger.Txn) error {
		var err error
		rec, err = readBlock(txn, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec.block()
}

// BlockByHash returns the block whose header hashes to h, or an error
// wrapping ErrNotFound.
func (e *Executor) BlockByHash(ctx context.Context, h common.Hash) (*Block, error) {
	n, err := e.lookup(hashKey(prefixHashes, h), 8)
	if err != nil {
		return nil, fmt.Errorf("%w: block %s", err, h)
	}
	return e.BlockByNumber(ctx, binary.BigEndian.Uint64(n))
}

// TxByHash returns the block holding the applied transaction h and the
// transaction's index in it, or an error wrapping ErrNotFound (a
// transaction still in the mempool, skipped by its block or unknown).
func (e *Executor) TxByHash(ctx context.Context, h common.Hash) (*Block, int, error) {
	loc, err := e.lookup(hashKey(prefixTxs, h), 12)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: transaction %s", err, h)
	}
	b, err := e.BlockByNumber(ctx, binary.BigEndian.Uint64(loc))
	if err != nil {
		return nil, 0, err
	}
	i := int(binary.BigEndian.Uint32(loc[8:]))
	if i >= len(b.Txs) {
		return nil, 0, fmt.Errorf("evm: stored index %d of transaction %s past its block's %d", i, h, len(b.Txs))
	}
	return b, i, nil
}

func (e *Executor) lookup(key []byte, size int) ([]byte, error) {
	var v []byte
	err := e.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err == nil && len(v) != size {
		err = fmt.Errorf("evm: stored index of %d bytes", len(v))
	}
	return v, err
}

// StateAt returns the state after the block at height n and its header.
// Every block's state is kept (the trie is never pruned). The StateDB is
// the caller's, to read or to change without effect on the chain.
func (e *Executor) StateAt(ctx context.Context, n uint64) (*state.StateDB, *types.Header, error) {
	b, err := e.BlockByNumber(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	sdb, err := state.New(b.Header.Root, e.statedb)
	if err != nil {
		return nil, nil, fmt.Errorf("evm: state at %d: %w", n, err)
	}
	return sdb, b.Header, nil
}

// Call executes msg on the state after the block at height n, as if in
// the next block, without changing anything, and returns the result
// (check its Err for a revert or out of gas). A zero msg.Gas means the
// block gas limit; gas is capped at that and MaxCallGas. Without a gas
// price or fee cap the call pays nothing and the base fee is not
// enforced. The nonce is not checked. ctx ending stops the EVM.
func (e *Executor) Call(ctx context.Context, msg ethereum.CallMsg, n uint64) (*core.ExecutionResult, error) {
	sdb, parent, err := e.StateAt(ctx, n)
	if err != nil {
		return nil, err
	}
	return e.call(ctx, sdb, parent, msg, e.callGas(msg.Gas))
}

func (e *Executor) callGas(gas uint64) uint64 {
	limit := min(e.gen.GasLimit, uint64(MaxCallGas))
	if gas == 0 || gas > limit {
		return limit
	}
	return gas
}

func toU256(b *big.Int) (*uint256.Int, error) {
	if b == nil {
		return new(uint256.Int), nil
	}
	v, overflow := uint256.FromBig(b)
	if overflow || b.Sign() < 0 {
		return nil, errors.New("evm: call: negative value or over 256 bits")
	}
	return v, nil
}

func (e *Executor) call(ctx context.Context, sdb *state.StateDB, parent *types.Header, msg ethereum.CallMsg, gas uint64) (*core.ExecutionResult, error) {
	hdr := e.baseHeader(parent.Number.Uint64()+1, parent.Time)
	hdr.ParentHash = parent.Hash()
	value, err := toU256(msg.Value)
	if err != nil {
		return nil, err
	}
	price, feeCap, tipCap := msg.GasPrice, msg.GasFeeCap, msg.GasTipCap
	if price != nil && (feeCap != nil || tipCap != nil) {
		return nil, errors.New("evm: call: both gasPrice and maxFeePerGas or maxPriorityFeePerGas")
	}
	if price != nil {
		feeCap, tipCap = price, price
	}
	free := feeCap == nil && tipCap == nil
	if feeCap == nil {
		feeCap = new(big.Int)
	}
	if tipCap == nil {
		tipCap = new(big.Int)
	}
	fc, err := toU256(feeCap)
	if err != nil {
		return nil, err
	}
	tc, err := toU256(tipCap)
	if err != nil {
		return nil, err
	}
	gp := new(uint256.Int)
	if !free {
		// The effective price: the base fee plus the tip, at most the cap.
		bf, _ := uint256.FromBig(hdr.BaseFee)
		gp = new(uint256.Int).Add(bf, tc)
		if gp.Gt(fc) {
			gp = fc
		}
	}
	m := &core.Message{
		From: msg.From, To: msg.To, Nonce: sdb.GetNonce(msg.From), Value: value,
		GasLimit: gas, GasPrice: gp, GasFeeCap: fc, GasTipCap: tc, Data: msg.Data,
	}
	m.SkipNonceCheck().SkipEOACheck()
	evm := vm.NewEVM(e.blockContext(hdr), sdb, e.config, vm.Config{NoBaseFee: free})
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			evm.Cancel()
		case <-done:
		}
	}()
	res, err := core.ApplyMessage(evm, m, nil)
	if err == nil && evm.Cancelled() {
		err = fmt.Errorf("evm: call cancelled: %w", ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("evm: call: %w", err)
	}
	return res, nil
}

// EstimateGas returns the least gas with which msg succeeds on the state
// after the block at height n (a binary search over Call), at most the
// block gas limit and MaxCallGas. A call that fails with the most gas
// returns its result's error (a revert carries its data: see
// core.ExecutionResult.Revert via *RevertError).
func (e *Executor) EstimateGas(ctx context.Context, msg ethereum.CallMsg, n uint64) (uint64, error) {
	sdb, parent, err := e.StateAt(ctx, n)
	if err != nil {
		return 0, err
	}
	hi := e.callGas(msg.Gas)
	try := func(gas uint64) (*core.ExecutionResult, error) {
		return e.call(ctx, sdb.Copy(), parent, msg, gas)
	}
	res, err := try(hi)
	if err != nil {
		return 0, err
	}
	if res.Failed() {
		if len(res.Revert()) > 0 {
			return 0, &RevertError{Data: res.Revert()}
		}
		return 0, fmt.Errorf("evm: estimate gas: fails with %d gas: %w", hi, res.Err)
	}
	lo := res.UsedGas - 1
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		res, err := try(mid)
		if err != nil && !errors.Is(err, core.ErrIntrinsicGas) && !errors.Is(err, core.ErrFloorDataGas) {
			return 0, err
		}
		if err != nil || res.Failed() {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, nil
}

// RevertError is a call or estimate that the contract reverted, with the
// revert data (an ABI-encoded reason, often).
type RevertError struct {
	Data []byte
}

func (e *RevertError) Error() string {
	if reason, err := abi.UnpackRevert(e.Data); err == nil {
		return "execution reverted: " + reason
	}
	return "execution reverted"
}

// Logs returns the logs matching q, in block and log order. A nil
// FromBlock is the genesis block, a nil ToBlock the head; a BlockHash
// selects one block. Queries spanning more than MaxLogBlocks blocks or
// matching more than MaxLogs logs fail with ErrLogLimit.
func (e *Executor) Logs(ctx context.Context, q ethereum.FilterQuery) ([]*types.Log, error) {
	var from, to uint64
	if q.BlockHash != nil {
		b, err := e.BlockByHash(ctx, *q.BlockHash)
		if err != nil {
			return nil, err
		}
		from, to = b.Header.Number.Uint64(), b.Header.Number.Uint64()
	} else {
		h, err := e.Head(ctx)
		if err != nil {
			return nil, err
		}
		to = h.Height
		if q.FromBlock != nil {
			if !q.FromBlock.IsUint64() {
				return nil, errors.New("evm: logs: fromBlock out of range")
			}
			from = q.FromBlock.Uint64()
		}
		if q.ToBlock != nil {
			if !q.ToBlock.IsUint64() {
				return nil, errors.New("evm: logs: toBlock out of range")
			}
			to = min(to, q.ToBlock.Uint64())
		}
	}
	if from > to {
		return []*types.Log{}, nil
	}
	if to-from >= MaxLogBlocks {
		return nil, fmt.Errorf("%w: %d blocks, at most %d", ErrLogLimit, to-from+1, MaxLogBlocks)
	}
	out := []*types.Log{}
	for n := from; n <= to; n++ {
		b, err := e.BlockByNumber(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue // before the genesis block
		}
		if err != nil {
			return nil, err
		}
		if !bloomMatches(b.Header.Bloom, q) {
			continue
		}
		for _, r := range b.Receipts {
			for _, l := range r.Logs {
				if logMatches(l, q) {
					if len(out) == MaxLogs {
						return nil, fmt.Errorf("%w: more than %d logs", ErrLogLimit, MaxLogs)
					}
					out = append(out, l)
				}
			}
		}
	}
	return out, nil
}

func bloomMatches(b types.Bloom, q ethereum.FilterQuery) bool {
	if len(q.Addresses) > 0 {
		hit := false
		for _, a := range q.Addresses {
			if types.BloomLookup(b, a) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	for _, alts := range q.Topics {
		if len(alts) == 0 {
			continue
		}
		hit := false
		for _, t := range alts {
			if types.BloomLookup(b, t) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func logMatches(l *types.Log, q ethereum.FilterQuery) bool {
	if len(q.Addresses) > 0 {
		found := false
		for _, a := range q.Addresses {
			if a == l.Address {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(q.Topics) > len(l.Topics) {
		return false
	}
	for i, alts := range q.Topics {
		if len(alts) == 0 {
			continue
		}
		found := false
		for _, t := range alts {
			if t == l.Topics[i] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
