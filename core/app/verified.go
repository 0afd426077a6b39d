package app

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// What the application remembers between ABCI calls so that a block's
// blobs are checked, and its square built, extended and hashed, once per
// node rather than once per call. None of it changes an outcome: a
// transaction or proposal the caches do not hold is checked in full.

// txHash is the SHA-256 of a transaction's bytes, CometBFT's tx hash.
type txHash [sha256.Size]byte

func hashTx(raw []byte) txHash { return sha256.Sum256(raw) }

// verifiedTxCacheSize bounds a verifiedTxs: about 100 bytes an entry,
// above CometBFT's default mempool size (5,000 transactions).
const verifiedTxCacheSize = 1 << 14

// verifiedTxs remembers, by hash, the BlobTxs whose blobs passed checkBlobs
// and whose KZG proofs (if any) verified, both functions of the
// transaction's bytes and the genesis params only. It holds at most max
// hashes and forgets the least recently used first. The nil *verifiedTxs
// holds nothing. Its methods are safe for concurrent use.
type verifiedTxs struct {
	mu    sync.Mutex
	max   int
	order *list.List // of txHash, most recently used first
	index map[txHash]*list.Element
}

func newVerifiedTxs(max int) *verifiedTxs {
	return &verifiedTxs{max: max, order: list.New(), index: make(map[txHash]*list.Element)}
}

// has reports whether h was added and not forgotten since.
func (c *verifiedTxs) has(h txHash) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index[h]
	if ok {
		c.order.MoveToFront(e)
	}
	return ok
}

// add remembers h, forgetting the least recently used hash if c is full.
func (c *verifiedTxs) add(h txHash) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[h]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.index[h] = c.order.PushFront(h)
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.index, oldest.Value.(txHash))
	}
}

// len is the number of hashes c holds.
func (c *verifiedTxs) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// checkedProposal is a proposal this application built (PrepareProposal)
// or accepted (ProcessProposal) against base at height, with its
// transactions decoded: decoded[i] is txs[i]'s, blobsChecked and stripped
// of its blobs for a BlobTx, zero for the attestation and data root
// transactions.
type checkedProposal struct {
	base    *State
	height  int64
	txs     [][]byte // a copy of the list, aliasing the transactions
	digest  txHash   // proposalDigest of txs, for a built proposal
	decoded []decodedTx
}

// proposalDigest is the SHA-256 of the number of txs and the SHA-256 of
// each, taken from decoded where it holds it (decoded may be nil).
func proposalDigest(txs [][]byte, decoded []decodedTx) txHash {
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(txs))))
	for i, raw := range txs {
		var sum txHash
		if i < len(decoded) && decoded[i].hashed {
			sum = decoded[i].hash
		} else {
			sum = hashTx(raw)
		}
		h.Write(sum[:])
	}
	var out txHash
	h.Sum(out[:0])
	return out
}

// builtBy reports whether txs, proposed against base at height, are the
// proposal p holds, built by this application: the cheap comparisons
// first, then the digest of txs, so that a list changed in place after
// PrepareProposal returned it is not taken for it.
func (p *checkedProposal) builtBy(base *State, height int64, txs [][]byte) bool {
	if p == nil || p.base != base || p.height != height || len(p.txs) != len(txs) || len(txs) == 0 ||
		!bytes.Equal(p.txs[len(txs)-1], txs[len(txs)-1]) {
		return false
	}
	return proposalDigest(txs, nil) == p.digest
}

// holds reports whether txs, to be executed against base at height, are
// the transactions of p, compared byte for byte (CometBFT passes
// FinalizeBlock the transactions of the block it passed ProcessProposal,
// so the comparison usually finds the same slices).
func (p *checkedProposal) holds(base *State, height int64, txs [][]byte) bool {
	if p == nil || p.base != base || p.height != height || len(p.txs) != len(txs) {
		return false
	}
	for i := range txs {
		if !bytes.Equal(p.txs[i], txs[i]) {
			return false
		}
	}
	return true
}
