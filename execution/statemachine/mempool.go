package statemachine

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

// SubmitTx checks tx with the Machine's CheckTx against the latest state
// and adds a copy of it to the mempool, from which GetTxs hands it to the
// sequencer until a block executes it. A transaction already in the
// mempool is accepted again without a second copy. Errors are CheckTx's
// or wrap ErrMempoolFull.
func (c *Chain) SubmitTx(ctx context.Context, tx []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := c.snapshot(func(st *State) error {
		_, err := c.m.CheckTx(st, tx)
		return err
	})
	if err != nil {
		return err
	}
	p := c.pool
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
// removing them: they leave when a block executes them. Every one passed
// CheckTx when submitted (FilterTxs checks them again). The returned
// slices are copies, the caller's to keep.
func (c *Chain) GetTxs(ctx context.Context) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := c.pool
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
// transaction CheckTx rejects against the latest state, or larger than
// the byte limit on its own, or with a gas limit above the gas limit on
// its own, is FilterRemove; the first valid one that would take the
// total past the byte limit or the gas limit is FilterPostpone, and so is
// every valid one after it, so that the batch keeps its order; the others
// are FilterOK. The byte limit is maxBytes (when positive) or the
// machine's MaxBlockBytes, whichever is lower; the gas limit likewise
// maxGas and the machine's MaxGas (no gas limit when both are 0).
// Force-included transactions get the same checks as the mempool's, so
// hasForceIncludedTransaction changes nothing.
func (c *Chain) FilterTxs(ctx context.Context, txs [][]byte, maxBytes, maxGas uint64, hasForceIncludedTransaction bool) ([]coreexec.FilterStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := min(uint64(c.limits.MaxBlockBytes), positiveOr(maxBytes, uint64(c.limits.MaxBlockBytes)))
	gasLimit := c.limits.MaxGas
	if maxGas > 0 && (gasLimit == 0 || maxGas < gasLimit) {
		gasLimit = maxGas
	}
	out := make([]coreexec.FilterStatus, len(txs))
	err := c.snapshot(func(st *State) error {
		var total, gas uint64
		full := false
		for i, tx := range txs {
			n := uint64(len(tx))
			g, err := c.m.CheckTx(st, tx)
			if err != nil || n > limit || (gasLimit > 0 && g > gasLimit) {
				out[i] = coreexec.FilterRemove
				continue
			}
			if full || total+n > limit || (gasLimit > 0 && gas+g > gasLimit) {
				full = true
				out[i] = coreexec.FilterPostpone
				continue
			}
			total += n
			gas += g
			out[i] = coreexec.FilterOK
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: filter txs: %w", c.name, err)
	}
	return out, nil
}

func positiveOr(v, def uint64) uint64 {
	if v > 0 {
		return v
	}
	return def
}
