package statemachine

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/merkle"
)

// ErrInvalidAnswer is wrapped by every error of Verify.
var ErrInvalidAnswer = errors.New("statemachine: invalid answer")

// Answer is the answer for Key: its Value when Found, with the entry's
// proof against StateRoot; otherwise a proof of absence, the entries right
// before and after Key in key order (Left, Right), adjacent in the tree,
// either missing when Key would be first or last (both when the state is
// empty).
//
// Height and StateRoot say which state answered; Verify checks the answer
// against a state root the caller trusts and that root alone: Height is
// not covered by the proof.
type Answer struct {
	Height    uint64        `json:"height"`
	StateRoot []byte        `json:"state_root"`
	Key       []byte        `json:"key"`
	Found     bool          `json:"found"`
	Value     []byte        `json:"value,omitempty"`
	Proof     *merkle.Proof `json:"proof,omitempty"`
	Left      *Neighbour    `json:"left,omitempty"`
	Right     *Neighbour    `json:"right,omitempty"`
}

// Neighbour is an entry next to an absent key, with its proof.
type Neighbour struct {
	Key   []byte       `json:"key"`
	Value []byte       `json:"value"`
	Proof merkle.Proof `json:"proof"`
}

// Prove answers key from the latest executed state, with a proof against
// its state root: the value and its proof when the key is set, the
// neighbours that prove it absent otherwise. The answer is read from one
// snapshot of the database, so it matches its StateRoot even while a
// block is being executed. It answers from the tree the Chain keeps for
// its head, in O(log n) hashes; only when that tree is missing (the first
// query after a restart, before any block) or of another head than the
// snapshot's does it build one, a pass over the state's leaf hashes.
// Errors wrap ErrNotInitialised before InitChain.
func (c *Chain) Prove(ctx context.Context, key []byte) (*Answer, error) {
	if len(key) == 0 || len(key) > MaxKeySize {
		return nil, fmt.Errorf("%s: prove: key of %d bytes, want 1 to %d", c.name, len(key), MaxKeySize)
	}
	var a *Answer
	err := c.View(ctx, func(h Head, st *State) error {
		var err error
		a, err = c.answer(h, st, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: prove %q: %w", c.name, key, err)
	}
	return a, nil
}

// answer answers key from st, a snapshot at h: from the cached tree when
// it is h's, otherwise from a tree built from st (and cached when no
// later head's is).
func (c *Chain) answer(h Head, st *State, key []byte) (*Answer, error) {
	if a, ok, err := c.tree.answer(h, st, key); ok {
		return a, err
	}
	c.tree.build.Lock()
	defer c.tree.build.Unlock()
	if a, ok, err := c.tree.answer(h, st, key); ok {
		return a, err
	}
	t, err := st.tree(h.Height)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(t.Root(), h.StateRoot) {
		return nil, fmt.Errorf("stored entries have root %X, the head %X: the database is damaged", t.Root(), h.StateRoot)
	}
	a, err := st.answer(t, h, key)
	if err != nil {
		return nil, err
	}
	c.tree.install(t)
	return a, nil
}

// answer answers key from t, the tree of the state s reads at h.
func (s *State) answer(t *tree, h Head, key []byte) (*Answer, error) {
	a := &Answer{Height: h.Height, StateRoot: bytes.Clone(h.StateRoot), Key: bytes.Clone(key)}
	prove := func(i int) ([]byte, []byte, merkle.Proof, error) {
		k := []byte(t.Key(i))
		v, ok, err := s.Get(k)
		if err == nil && !ok {
			err = fmt.Errorf("entry %q has a leaf hash and no value", k)
		}
		if err != nil {
			return nil, nil, merkle.Proof{}, err
		}
		return k, v, *t.Proof(i), nil
	}
	n := t.Len()
	i := t.Search(key)
	if i < n && t.Key(i) == string(key) {
		_, v, p, err := prove(i)
		if err != nil {
			return nil, err
		}
		a.Found, a.Value, a.Proof = true, v, &p
		return a, nil
	}
	if i > 0 {
		k, v, p, err := prove(i - 1)
		if err != nil {
			return nil, err
		}
		a.Left = &Neighbour{Key: k, Value: v, Proof: p}
	}
	if i < n {
		k, v, p, err := prove(i)
		if err != nil {
			return nil, err
		}
		a.Right = &Neighbour{Key: k, Value: v, Proof: p}
	}
	return a, nil
}

// Verify checks that a answers for key under root: a.StateRoot is root
// and a.Key is key; a found value has a proof of the entry (key, a.Value)
// against root; an absent key has neighbours that prove it absent (a left
// neighbour with a smaller key, a right one with a larger key, adjacent in
// the tree; no left neighbour only when the right one is first, no right
// one only when the left one is last, neither only when root is
// EmptyRoot). A nil error means the answer is true of the state with that
// root. Errors wrap ErrInvalidAnswer; it never panics.
func Verify(root, key []byte, a *Answer) error {
	switch {
	case a == nil:
		return fmt.Errorf("%w: no answer", ErrInvalidAnswer)
	case !bytes.Equal(a.StateRoot, root):
		return fmt.Errorf("%w: state root %X, want %X", ErrInvalidAnswer, a.StateRoot, root)
	case !bytes.Equal(a.Key, key):
		return fmt.Errorf("%w: answers key %q, asked %q", ErrInvalidAnswer, a.Key, key)
	case len(key) == 0 || len(key) > MaxKeySize:
		return fmt.Errorf("%w: key of %d bytes", ErrInvalidAnswer, len(key))
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
	if a.Proof != nil || len(a.Value) != 0 {
		return fmt.Errorf("%w: an absent key with a value or proof", ErrInvalidAnswer)
	}
	l, r := a.Left, a.Right
	for _, n := range []*Neighbour{l, r} {
		if n == nil {
			continue
		}
		if len(n.Key) > MaxKeySize {
			return fmt.Errorf("%w: neighbour key of %d bytes", ErrInvalidAnswer, len(n.Key))
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
	if l != nil && bytes.Compare(l.Key, key) >= 0 {
		return fmt.Errorf("%w: left neighbour %q is not before %q", ErrInvalidAnswer, l.Key, key)
	}
	if r != nil && bytes.Compare(r.Key, key) <= 0 {
		return fmt.Errorf("%w: right neighbour %q is not after %q", ErrInvalidAnswer, r.Key, key)
	}
	return nil
}
