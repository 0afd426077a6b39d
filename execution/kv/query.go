package kv

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/datamesh/mesh-node/merkle"
	"github.com/dgraph-io/badger/v4"
)

// Query answers q from the latest executed state, with a proof against
// its state root (Answer): the value and its proof when the key is set,
// the neighbours that prove it absent otherwise. The answer is read from
// one snapshot of the database, so it matches its StateRoot even while a
// block is being executed. It costs a pass over the state's leaf hashes
// (see the package doc). Errors wrap ErrInvalidTx for a bad query and
// ErrNotInitialised before InitChain.
func (e *Executor) Query(ctx context.Context, q Query) (*Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Type != TypeGet {
		return nil, fmt.Errorf("%w: query type %q, want %q", ErrInvalidTx, q.Type, TypeGet)
	}
	if err := checkKey(q.Key); err != nil {
		return nil, err
	}
	var a *Answer
	err := e.db.View(func(txn *badger.Txn) error {
		var err error
		a, err = answer(txn, q.Key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kv: query %q: %w", q.Key, err)
	}
	return a, nil
}

func answer(txn *badger.Txn, key string) (*Answer, error) {
	h, err := readHead(txn)
	if err != nil {
		return nil, err
	}
	keys, hashes, err := leaves(txn)
	if err != nil {
		return nil, err
	}
	if root := merkle.RootFromLeafHashes(hashes); !bytes.Equal(root, h.Root) {
		return nil, fmt.Errorf("stored entries have root %X, the head %X: the database is damaged", root, h.Root)
	}
	a := &Answer{Height: h.Height, StateRoot: h.Root, Key: key}
	i := sort.SearchStrings(keys, key)
	prove := func(i int) (string, merkle.Proof, error) {
		v, err := value(txn, keys[i])
		if err != nil {
			return "", merkle.Proof{}, err
		}
		_, p, err := merkle.ProofFromLeafHashes(hashes, i)
		if err != nil {
			return "", merkle.Proof{}, err
		}
		return v, *p, nil
	}
	if i < len(keys) && keys[i] == key {
		v, p, err := prove(i)
		if err != nil {
			return nil, err
		}
		a.Found, a.Value, a.Proof = true, v, &p
		return a, nil
	}
	if i > 0 {
		v, p, err := prove(i - 1)
		if err != nil {
			return nil, err
		}
		a.Left = &Neighbour{Key: keys[i-1], Value: v, Proof: p}
	}
	if i < len(keys) {
		v, p, err := prove(i)
		if err != nil {
			return nil, err
		}
		a.Right = &Neighbour{Key: keys[i], Value: v, Proof: p}
	}
	return a, nil
}

func value(txn *badger.Txn, key string) (string, error) {
	item, err := txn.Get(withKey(prefixValue, key))
	if err != nil {
		return "", fmt.Errorf("value of %q: %w", key, err)
	}
	b, err := item.ValueCopy(nil)
	return string(b), err
}
