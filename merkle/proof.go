package merkle

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
)

// ErrInvalidProof is wrapped by every error of Proof.Verify and of
// decoding a Proof.
var ErrInvalidProof = errors.New("merkle: invalid proof")

// MaxAunts bounds len(Proof.Aunts), as CometBFT's crypto/merkle does. A
// tree of at most 2^63 items, the most an int64 Total counts, is 63 levels
// deep, so no valid proof comes near it.
const MaxAunts = 100

// Proof proves that an item is the Index-th of Total items under a root
// computed by HashFromByteSlices. It is CometBFT's crypto/merkle Proof,
// field for field and in JSON: {"total", "index", "leaf_hash" (base64),
// "aunts" (base64, left out when empty)}, the integers as JSON numbers as
// encoding/json writes them.
type Proof struct {
	// Total is the number of items in the tree.
	Total int64 `json:"total"`
	// Index is the position of the proven item.
	Index int64 `json:"index"`
	// LeafHash is the leaf hash of the item, SHA256(0x00 || item).
	LeafHash []byte `json:"leaf_hash"`
	// Aunts are the siblings on the path from the leaf to the root,
	// bottom up: Aunts[0] is the leaf's sibling, the last one a child of
	// the root.
	Aunts [][]byte `json:"aunts,omitempty"`
}

// ProofsFromByteSlices returns the root of items (HashFromByteSlices) and
// one proof per item, proofs[i] for items[i]. The proofs share no memory
// with items or with each other's slices, but aunts are shared between
// proofs and must not be modified. With no items it returns the empty
// root and no proofs.
func ProofsFromByteSlices(items [][]byte) ([]byte, []*Proof) {
	proofs := make([]*Proof, len(items))
	if len(items) == 0 {
		return HashFromByteSlices(nil), proofs
	}
	for i, it := range items {
		proofs[i] = &Proof{Total: int64(len(items)), Index: int64(i), LeafHash: leafHash(it)}
	}
	return proveRange(proofs), proofs
}

// proveRange returns the root over proofs' leaf hashes and appends to each
// proof the aunts of its path within this subtree, bottom up.
func proveRange(proofs []*Proof) []byte {
	if len(proofs) == 1 {
		return proofs[0].LeafHash
	}
	k := SplitPoint(len(proofs))
	left, right := proveRange(proofs[:k]), proveRange(proofs[k:])
	for _, p := range proofs[:k] {
		p.Aunts = append(p.Aunts, right)
	}
	for _, p := range proofs[k:] {
		p.Aunts = append(p.Aunts, left)
	}
	return innerHash(left, right)
}

// Verify checks that item is the Index-th of Total items under root. A
// nil error means it is; errors wrap ErrInvalidProof. It checks the shape
// first (Total and Index in range, exactly as many aunts of 32 bytes as
// the item's depth in a tree of Total items) and never panics.
func (p Proof) Verify(root, item []byte) error {
	if len(root) == 0 {
		return fmt.Errorf("%w: empty root", ErrInvalidProof)
	}
	got, err := p.ComputeRoot()
	if err != nil {
		return err
	}
	if want := leafHash(item); !bytes.Equal(p.LeafHash, want) {
		return fmt.Errorf("%w: leaf hash %X is not the item's %X", ErrInvalidProof, p.LeafHash, want)
	}
	if !bytes.Equal(got, root) {
		return fmt.Errorf("%w: proof leads to root %X, want %X", ErrInvalidProof, got, root)
	}
	return nil
}

// ComputeRoot returns the root the proof leads to from LeafHash, after
// the shape checks of Verify; errors wrap ErrInvalidProof.
func (p Proof) ComputeRoot() ([]byte, error) {
	if p.Total <= 0 || p.Index < 0 || p.Index >= p.Total {
		return nil, fmt.Errorf("%w: index %d of %d items", ErrInvalidProof, p.Index, p.Total)
	}
	if len(p.Aunts) > MaxAunts {
		return nil, fmt.Errorf("%w: %d aunts, at most %d", ErrInvalidProof, len(p.Aunts), MaxAunts)
	}
	if len(p.LeafHash) != sha256.Size {
		return nil, fmt.Errorf("%w: leaf hash of %d bytes", ErrInvalidProof, len(p.LeafHash))
	}
	// Walk from the root down to the leaf, noting at each level whether
	// the path goes left. A tree of at most 2^63 items has at most 63
	// levels.
	var left [64]bool
	depth := 0
	for idx, total := p.Index, p.Total; total > 1; depth++ {
		k := int64(1) << (bits.Len64(uint64(total-1)) - 1)
		left[depth] = idx < k
		if idx < k {
			total = k
		} else {
			idx, total = idx-k, total-k
		}
	}
	if depth != len(p.Aunts) {
		return nil, fmt.Errorf("%w: %d aunts, item %d of %d needs %d", ErrInvalidProof, len(p.Aunts), p.Index, p.Total, depth)
	}
	h := p.LeafHash
	for i, a := range p.Aunts {
		if len(a) != sha256.Size {
			return nil, fmt.Errorf("%w: aunt %d of %d bytes", ErrInvalidProof, i, len(a))
		}
		if left[depth-1-i] {
			h = innerHash(h, a)
		} else {
			h = innerHash(a, h)
		}
	}
	return bytes.Clone(h), nil
}

// jsonProof decodes total and index written as JSON numbers (encoding/json)
// or as strings (CometBFT's libs/json, which celestia-node's proof results
// use).
type jsonProof struct {
	Total    flexInt64 `json:"total"`
	Index    flexInt64 `json:"index"`
	LeafHash []byte    `json:"leaf_hash"`
	Aunts    [][]byte  `json:"aunts"`
}

// UnmarshalJSON decodes the JSON of MarshalJSON, also accepting total and
// index as decimal strings (CometBFT's libs/json). It does not verify the
// proof; errors wrap ErrInvalidProof.
func (p *Proof) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var j jsonProof
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if len(j.Aunts) > MaxAunts {
		return fmt.Errorf("%w: %d aunts, at most %d", ErrInvalidProof, len(j.Aunts), MaxAunts)
	}
	*p = Proof{Total: int64(j.Total), Index: int64(j.Index), LeafHash: j.LeafHash, Aunts: j.Aunts}
	return nil
}

// flexInt64 is an int64 read from a JSON number or a decimal string.
type flexInt64 int64

func (n *flexInt64) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", b, err)
	}
	*n = flexInt64(v)
	return nil
}

func leafHash(item []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(item)
	return h.Sum(nil)
}

func innerHash(left, right []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0x01})
	h.Write(left)
	h.Write(right)
	return h.Sum(nil)
}

// LeafHash returns the leaf hash of item, SHA256(0x00 || item): what
// Proof.LeafHash holds and what RootFromLeafHashes takes.
func LeafHash(item []byte) []byte { return leafHash(item) }

// RootFromLeafHashes returns the root of the items whose leaf hashes
// (LeafHash) are leaves, in order: HashFromByteSlices(items) for the
// items themselves. It lets a caller that keeps leaf hashes, not items,
// hash only the inner nodes. With no leaves it returns the empty root.
func RootFromLeafHashes(leaves [][]byte) []byte {
	if len(leaves) == 0 {
		return HashFromByteSlices(nil)
	}
	return bytes.Clone(rootOfLeaves(leaves))
}

func rootOfLeaves(leaves [][]byte) []byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := SplitPoint(len(leaves))
	return innerHash(rootOfLeaves(leaves[:k]), rootOfLeaves(leaves[k:]))
}

// ProofFromLeafHashes returns the root of the items whose leaf hashes are
// leaves (RootFromLeafHashes) and the proof of the index-th of them, the
// proof ProofsFromByteSlices gives for it, without building the others.
// It returns an error wrapping ErrInvalidProof when index is out of
// range. The proof shares no memory with leaves.
func ProofFromLeafHashes(leaves [][]byte, index int) ([]byte, *Proof, error) {
	if index < 0 || index >= len(leaves) {
		return nil, nil, fmt.Errorf("%w: index %d of %d items", ErrInvalidProof, index, len(leaves))
	}
	p := &Proof{Total: int64(len(leaves)), Index: int64(index), LeafHash: bytes.Clone(leaves[index])}
	var aunts [][]byte // top down
	lo, hi := 0, len(leaves)
	for hi-lo > 1 {
		k := lo + SplitPoint(hi-lo)
		if index < k {
			aunts = append(aunts, rootOfLeaves(leaves[k:hi]))
			hi = k
		} else {
			aunts = append(aunts, rootOfLeaves(leaves[lo:k]))
			lo = k
		}
	}
	for i := len(aunts) - 1; i >= 0; i-- {
		p.Aunts = append(p.Aunts, bytes.Clone(aunts[i]))
	}
	root, err := p.ComputeRoot()
	if err != nil {
		return nil, nil, err
	}
	return root, p, nil
}
