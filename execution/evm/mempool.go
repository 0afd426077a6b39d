package evm

import (
	"context"
	"fmt"
	"math/big"
	"slices"

	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	coreexec "github.com/evstack/ev-node/core/execution"
)

// mempool holds submitted transactions in arrival order. For each sender
// it holds a run of consecutive nonces starting at the account's nonce in
// the state at root, so a sender's transactions are in nonce order.
type mempool struct {
	maxTxs, maxBytes int

	mu     sync.Mutex
	root   common.Hash // the state the pool is checked against; zero: not yet read
	txs    []poolTx
	seen   map[common.Hash]bool
	bytes  int
	sender map[common.Address]int // transactions held per sender
}

type poolTx struct {
	raw  []byte
	hash common.Hash
	from common.Address
	tx   *types.Transaction
}

func newMempool(maxTxs, maxBytes int) *mempool {
	return &mempool{maxTxs: maxTxs, maxBytes: maxBytes, seen: map[common.Hash]bool{}, sender: map[common.Address]int{}}
}

// poolState returns the state the pool is checked against; p.mu held.
func (e *Executor) poolState(ctx context.Context) (*state.StateDB, error) {
	p := e.pool
	if p.root == (common.Hash{}) {
		h, err := e.Head(ctx)
		if err != nil {
			return nil, err
		}
		p.root = h.StateRoot
	}
	return state.New(p.root, e.statedb)
}

// SubmitTx checks tx as a block would (DecodeTx, then the sender's next
// nonce counting its transactions already in the mempool, its balance
// against what they may all cost, and the fee cap against the base fee)
// and adds a copy to the mempool, from which GetTxs hands it to the
// sequencer until a block executes it. A transaction already in the
// mempool is accepted again without a second copy. Errors wrap
// ErrInvalidTx, ErrNonceTooLow, ErrNonceTooHigh, ErrInsufficientFunds,
// ErrFeeCapTooLow, ErrMempoolFull or ErrNotInitialised.
func (e *Executor) SubmitTx(ctx context.Context, raw []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, from, err := e.decodeTx(raw)
	if err != nil {
		return err
	}
	p := e.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[tx.Hash()] {
		return nil
	}
	sdb, err := e.poolState(ctx)
	if err != nil {
		return fmt.Errorf("evm: submit: %w", err)
	}
	nonce := sdb.GetNonce(from)
	balance := sdb.GetBalance(from).ToBig()
	for _, pt := range p.txs {
		if pt.from == from {
			nonce++
			balance.Sub(balance, cost(pt.tx))
		}
	}
	if err := e.checkState(tx, from, nonce, balance); err != nil {
		return err
	}
	if len(p.txs) >= p.maxTxs || p.bytes+len(raw) > p.maxBytes {
		return fmt.Errorf("%w: %d transactions, %d bytes", ErrMempoolFull, len(p.txs), p.bytes)
	}
	p.seen[tx.Hash()] = true
	p.txs = append(p.txs, poolTx{raw: slices.Clone(raw), hash: tx.Hash(), from: from, tx: tx})
	p.bytes += len(raw)
	p.sender[from]++
	return nil
}

// PendingNonce is the nonce of addr's next transaction: its nonce in
// the state plus its transactions in the mempool (eth_getTransactionCount
// with "pending").
func (e *Executor) PendingNonce(ctx context.Context, addr common.Address) (uint64, error) {
	p := e.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	sdb, err := e.poolState(ctx)
	if err != nil {
		return 0, fmt.Errorf("evm: pending nonce: %w", err)
	}
	return sdb.GetNonce(addr) + uint64(p.sender[addr]), nil
}

// afterBlock moves the pool to the state after rec: the block's
// transactions leave it, and so does every transaction that no longer
// continues its sender's run of nonces (one before it failed, or the
// state moved past it).
func (e *Executor) afterBlock(rec *blockRecord) {
	p := e.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.root = rec.Header.Root
	if len(p.txs) == 0 {
		return
	}
	sdb, err := state.New(p.root, e.statedb)
	next := map[common.Address]uint64{}
	keep := p.txs[:0]
	for _, pt := range p.txs {
		n, ok := next[pt.from]
		if !ok && err == nil {
			n = sdb.GetNonce(pt.from)
		}
		if err == nil && pt.tx.Nonce() == n {
			next[pt.from] = n + 1
			keep = append(keep, pt)
			continue
		}
		delete(p.seen, pt.hash)
		p.bytes -= len(pt.raw)
		p.sender[pt.from]--
		if p.sender[pt.from] == 0 {
			delete(p.sender, pt.from)
		}
	}
	clear(p.txs[len(keep):])
	p.txs = keep
}

// GetTxs returns the mempool's transactions in arrival order (each
// sender's in nonce order), without removing them: they leave when a
// block executes them. The returned slices are copies, the caller's.
func (e *Executor) GetTxs(ctx context.Context) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := e.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.txs))
	for i, pt := range p.txs {
		out[i] = slices.Clone(pt.raw)
	}
	return out, nil
}

// FilterTxs marks each of txs as ev-node's contract asks, in order,
// against the head state: a transaction DecodeTx rejects, larger than
// maxBytes on its own, or that the state refuses (its sender's nonce and
// balance after the earlier transactions OK'd in txs, the fee cap below
// the base fee), is FilterRemove; the first valid one whose bytes would
// take the total past maxBytes (when positive), or whose gas limit would
// take the total past maxGas (when positive) or the block's gas limit, is
// FilterPostpone, and so is every valid one after it; the others are
// FilterOK. Force-included transactions get the same checks, so
// hasForceIncludedTransaction changes nothing.
func (e *Executor) FilterTxs(ctx context.Context, txs [][]byte, maxBytes, maxGas uint64, hasForceIncludedTransaction bool) ([]coreexec.FilterStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := e.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("evm: filter: %w", err)
	}
	sdb, err := state.New(h.StateRoot, e.statedb)
	if err != nil {
		return nil, fmt.Errorf("evm: filter: %w", err)
	}
	gasLimit := e.gen.GasLimit
	if maxGas > 0 && maxGas < gasLimit {
		gasLimit = maxGas
	}
	type account struct {
		nonce   uint64
		balance *big.Int
	}
	accounts := map[common.Address]*account{}
	out := make([]coreexec.FilterStatus, len(txs))
	var bytes, gas uint64
	full := false
	for i, raw := range txs {
		tx, from, err := e.decodeTx(raw)
		if err != nil || (maxBytes > 0 && uint64(len(raw)) > maxBytes) {
			out[i] = coreexec.FilterRemove
			continue
		}
		a := accounts[from]
		if a == nil {
			a = &account{nonce: sdb.GetNonce(from), balance: sdb.GetBalance(from).ToBig()}
			accounts[from] = a
		}
		if err := e.checkState(tx, from, a.nonce, a.balance); err != nil {
			out[i] = coreexec.FilterRemove
			continue
		}
		if full || (maxBytes > 0 && bytes+uint64(len(raw)) > maxBytes) || gas+tx.Gas() > gasLimit {
			full = true
			out[i] = coreexec.FilterPostpone
			continue
		}
		bytes += uint64(len(raw))
		gas += tx.Gas()
		a.nonce++
		a.balance.Sub(a.balance, cost(tx))
		out[i] = coreexec.FilterOK
	}
	return out, nil
}
