package kv

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"

	coreexec "github.com/evstack/ev-node/core/execution"
)

// mempool holds submitted transactions in arrival order, each once.
type mempool struct {
	maxTxs, maxBytes int

	mu    sync.Mutex
	txs   [][]byte
	seen  map[[sha256.Size]byte]bool
	bytes int
}

func newMempool(maxTxs, maxBytes int) *mempool {
	return &mempool{maxTxs: maxTxs, maxBytes: maxBytes, seen: map[[sha256.Size]byte]bool{}}
}

// SubmitTx checks tx with DecodeTx and adds a copy of it to the mempool,
// from which GetTxs hands it to the sequencer until a block executes it.
// A transaction already in the mempool is accepted again without a
// second copy. Errors wrap ErrInvalidTx or ErrMempoolFull.
func (e *Executor) SubmitTx(ctx context.Context, tx []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := DecodeTx(tx); err != nil {
		return err
	}
	p := e.pool
	id := sha256.Sum256(tx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[id] {
		return nil
	}
	if len(p.txs) >= p.maxTxs || p.bytes+len(tx) > p.maxBytes {
		return fmt.Errorf("%w: %d transactions, %d bytes", ErrMempoolFull, len(p.txs), p.bytes)
	}
	p.seen[id] = true
	p.txs = append(p.txs, slices.Clone(tx))
	p.bytes += len(tx)
	return nil
}

// GetTxs returns the mempool's transactions in arrival order, without
// removing them: they leave when a block executes them. Every one was
// valid when submitted, and a key-value transaction stays valid. The
// returned slices are copies, the caller's to keep.
func (e *Executor) GetTxs(ctx context.Context) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := e.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.txs))
	for i, tx := range p.txs {
		out[i] = slices.Clone(tx)
	}
	return out, nil
}

// remove drops txs from the mempool, those it holds.
func (p *mempool) remove(txs [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.txs) == 0 {
		return
	}
	gone := map[[sha256.Size]byte]bool{}
	for _, tx := range txs {
		if id := sha256.Sum256(tx); p.seen[id] {
			gone[id] = true
			delete(p.seen, id)
		}
	}
	if len(gone) == 0 {
		return
	}
	p.txs = slices.DeleteFunc(p.txs, func(tx []byte) bool {
		if gone[sha256.Sum256(tx)] {
			p.bytes -= len(tx)
			return true
		}
		return false
	})
}

// FilterTxs marks each of txs as ev-node's contract asks, in order: a
// transaction DecodeTx rejects (empty, malformed, over a limit), or
// larger than maxBytes on its own, is FilterRemove; the first valid one
// that would take the total past maxBytes (when maxBytes > 0) or past
// MaxBlockBytes is FilterPostpone, and so is every valid one after it,
// so that the batch keeps its order; the others are FilterOK. maxGas is
// ignored (the machine has no gas), and force-included transactions get
// the same checks as the mempool's, so hasForceIncludedTransaction
// changes nothing.
func (e *Executor) FilterTxs(ctx context.Context, txs [][]byte, maxBytes, maxGas uint64, hasForceIncludedTransaction bool) ([]coreexec.FilterStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := uint64(MaxBlockBytes)
	if maxBytes > 0 && maxBytes < limit {
		limit = maxBytes
	}
	out := make([]coreexec.FilterStatus, len(txs))
	var total uint64
	full := false
	for i, tx := range txs {
		n := uint64(len(tx))
		if _, err := DecodeTx(tx); err != nil || n > limit {
			out[i] = coreexec.FilterRemove
			continue
		}
		if full || total+n > limit {
			full = true
			out[i] = coreexec.FilterPostpone
			continue
		}
		total += n
		out[i] = coreexec.FilterOK
	}
	return out, nil
}
