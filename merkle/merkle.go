// Package merkle is the RFC 6962 binary Merkle tree over byte slices used for
// the data root (the hash of the DataAvailabilityHeader), for blob share
// commitments and for the kv executor's state root (execution/kv), and the
// proofs of single items to its root (Proof: the proofs of row roots to the
// data root in share.GetRange and blob.GetCommitmentProof, and of entries to
// the state root in kv queries), and Tree, the same tree over sorted
// key/leaf-hash entries kept in memory and updated in place from a batch
// of changes (the app hash of core/app and the state root of
// execution/statemachine). It is byte-compatible with CometBFT's
// crypto/merkle HashFromByteSlices, ProofsFromByteSlices and Proof.Verify.
package merkle

import (
	"crypto/sha256"
	"hash"
	"math/bits"
)

// HashFromByteSlices returns the RFC 6962 root of items: a leaf is
// SHA256(0x00 || item), an inner node SHA256(0x01 || left || right), and a
// list of n > 1 items splits at the largest power of two below n. The root
// of no items is SHA256("").
func HashFromByteSlices(items [][]byte) []byte {
	h := sha256.New()
	buf := make([]byte, 0, sha256.Size)
	return hashRange(h, buf, items)
}

func hashRange(h hash.Hash, buf []byte, items [][]byte) []byte {
	switch len(items) {
	case 0:
		h.Reset()
		return h.Sum(buf[:0])
	case 1:
		h.Reset()
		h.Write([]byte{0x00})
		h.Write(items[0])
		return h.Sum(nil)
	}
	k := SplitPoint(len(items))
	left := hashRange(h, buf, items[:k])
	right := hashRange(h, buf, items[k:])
	h.Reset()
	h.Write([]byte{0x01})
	h.Write(left)
	h.Write(right)
	return h.Sum(left[:0])
}

// SplitPoint returns the largest power of two strictly less than n (n > 1).
func SplitPoint(n int) int {
	if n < 2 {
		return 0
	}
	return 1 << (bits.Len(uint(n-1)) - 1)
}
