package kv

import (
	"fmt"

	"github.com/datamesh/mesh-node/execution/statemachine"
)

// Verify checks that a answers a query for key under root, as
// statemachine.Verify does, and that the key, the value and the
// neighbours are within the machine's size limits. A nil error means the
// answer is true of the state with that root. Errors wrap
// ErrInvalidAnswer; it never panics.
func Verify(root []byte, key string, a *Answer) error {
	if a == nil {
		return fmt.Errorf("%w: no answer", ErrInvalidAnswer)
	}
	if len(key) > MaxKeySize || len(a.Value) > MaxValueSize {
		return fmt.Errorf("%w: key or value over the size limits", ErrInvalidAnswer)
	}
	for _, n := range []*Neighbour{a.Left, a.Right} {
		if n != nil && (len(n.Key) > MaxKeySize || len(n.Value) > MaxValueSize) {
			return fmt.Errorf("%w: neighbour over the size limits", ErrInvalidAnswer)
		}
	}
	sa := &statemachine.Answer{Height: a.Height, StateRoot: a.StateRoot, Key: []byte(a.Key), Found: a.Found,
		Value: []byte(a.Value), Proof: a.Proof, Left: fromNeighbour(a.Left), Right: fromNeighbour(a.Right)}
	return statemachine.Verify(root, []byte(key), sa)
}
