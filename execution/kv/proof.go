package kv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/merkle"
)

// ErrInvalidAnswer is wrapped by every error of Verify.
var ErrInvalidAnswer = errors.New("kv: invalid answer")

// Leaf returns the Merkle leaf of an entry of the state: the key's length
// as 2 bytes big-endian, the key, then the value. The state root is
// merkle.HashFromByteSlices over the leaves of every entry, sorted by key
// (bytewise). Keys are at most MaxKeySize bytes, so the prefix holds
// their length.
//
// The encoding is injective, so two different entries never have the
// same leaf: the length prefix says where the key ends, and the value is
// everything after it. Without the prefix the entries ("ab", "c") and
// ("a", "bc") would both be "abc". RFC 6962's 0x00 and 0x01 prefixes keep
// a leaf from being read as an inner node, and a proof's Total and Index
// pin the entry's place, so a proof for one entry proves no other.
func Leaf(key, value string) []byte {
	b := make([]byte, 2, 2+len(key)+len(value))
	binary.BigEndian.PutUint16(b, uint16(len(key))) // len(key) <= MaxKeySize
	b = append(b, key...)
	return append(b, value...)
}

// EmptyRoot is the state root of a state with no entries, SHA256("").
func EmptyRoot() []byte { return merkle.HashFromByteSlices(nil) }

// Answer is the answer to a query for Key: its Value when Found, with the
// entry's proof against StateRoot; otherwise a proof of absence, the
// entries right before and after Key in key order (Left, Right), adjacent
// in the tree, either missing when Key would be first or last (both when
// the state is empty).
//
// Height and StateRoot say which state answered; Verify checks the
// answer against a state root the caller trusts (from a rollup header it
// verified) and that root alone: Height is not covered by the proof.
type Answer struct {
	Height    uint64        `json:"height"`
	StateRoot []byte        `json:"state_root"`
	Key       string        `json:"key"`
	Found     bool          `json:"found"`
	Value     string        `json:"value,omitempty"`
	Proof     *merkle.Proof `json:"proof,omitempty"`
	Left      *Neighbour    `json:"left,omitempty"`
	Right     *Neighbour    `json:"right,omitempty"`
}

// Neighbour is an entry next to an absent key, with its proof.
type Neighbour struct {
	Key   string       `json:"key"`
	Value string       `json:"value"`
	Proof merkle.Proof `json:"proof"`
}

// Verify checks that a answers a query for key under root: a.StateRoot is
// root and a.Key is key; a found value has a proof of the entry (key,
// a.Value) against root; an absent key has neighbours that prove it
// absent (a left neighbour with a smaller key, a right one with a larger
// key, adjacent in the tree; no left neighbour only when the right one
// is first, no right one only when the left one is last, neither only
// when root is EmptyRoot). A nil error means the answer is true of the
// state with that root. Errors wrap ErrInvalidAnswer; it never panics.
func Verify(root []byte, key string, a *Answer) error {
	switch {
	case a == nil:
		return fmt.Errorf("%w: no answer", ErrInvalidAnswer)
	case !bytes.Equal(a.StateRoot, root):
		return fmt.Errorf("%w: state root %X, want %X", ErrInvalidAnswer, a.StateRoot, root)
	case a.Key != key:
		return fmt.Errorf("%w: answers key %q, asked %q", ErrInvalidAnswer, a.Key, key)
	case len(key) > MaxKeySize || len(a.Value) > MaxValueSize:
		return fmt.Errorf("%w: key or value over the size limits", ErrInvalidAnswer)
	}
	if a.Found {
		if a.Proof == nil || a.Left != nil || a.Right != nil {
			return fmt.Errorf("%w: a found key needs its proof and no neighbours", ErrInvalidAnswer)
		}
		if err := a.Proof.Verify(root, Leaf(key, a.Value)); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidAnswer, err)
		}
		return nil
	}
	if a.Proof != nil || a.Value != "" {
		return fmt.Errorf("%w: an absent key with a value or proof", ErrInvalidAnswer)
	}
	l, r := a.Left, a.Right
	for _, n := range []*Neighbour{l, r} {
		if n == nil {
			continue
		}
		if len(n.Key) > MaxKeySize || len(n.Value) > MaxValueSize {
			return fmt.Errorf("%w: neighbour over the size limits", ErrInvalidAnswer)
		}
		if err := n.Proof.Verify(root, Leaf(n.Key, n.Value)); err != nil {
			return fmt.Errorf("%w: neighbour %q: %w", ErrInvalidAnswer, n.Key, err)
		}
	}
	switch {
	case l == nil && r == nil:
		if !bytes.Equal(root, EmptyRoot()) {
			return fmt.Errorf("%w: no neighbours, but the state is not empty", ErrInvalidAnswer)
		}
	case l == nil:
		if r.Proof.Index != 0 {
			return fmt.Errorf("%w: no left neighbour, but the right one is entry %d", ErrInvalidAnswer, r.Proof.Index)
		}
	case r == nil:
		if l.Proof.Index != l.Proof.Total-1 {
			return fmt.Errorf("%w: no right neighbour, but the left one is entry %d of %d", ErrInvalidAnswer, l.Proof.Index, l.Proof.Total)
		}
	default:
		if l.Proof.Total != r.Proof.Total || l.Proof.Index+1 != r.Proof.Index {
			return fmt.Errorf("%w: neighbours are entries %d and %d, not adjacent", ErrInvalidAnswer, l.Proof.Index, r.Proof.Index)
		}
	}
	if l != nil && l.Key >= key {
		return fmt.Errorf("%w: left neighbour %q is not before %q", ErrInvalidAnswer, l.Key, key)
	}
	if r != nil && r.Key <= key {
		return fmt.Errorf("%w: right neighbour %q is not after %q", ErrInvalidAnswer, r.Key, key)
	}
	return nil
}
