package statemachine

import (
	"bytes"
	"sync"

	"github.com/datamesh/mesh-node/merkle"
)

// tree is the state's Merkle tree kept in memory (merkle.Tree, updated in
// place from each block's writes), labelled with the height of the head it
// is the state of.
type tree struct {
	height uint64
	*merkle.Tree
}

// newTree returns the tree of the entries with keys (sorted) and leaf
// hashes, both in order, at height. It keeps neither slice.
func newTree(height uint64, keys, hashes [][]byte) *tree {
	return &tree{height: height, Tree: merkle.NewTree(keys, hashes)}
}

// apply changes the tree to the state after changes (key to its new leaf
// hash, nil for a deletion) and sets height.
func (t *tree) apply(height uint64, changes map[string][]byte) {
	t.height = height
	t.Apply(changes)
}

// treeCache holds the tree of the latest committed head, if known. A
// block updates it in place from its writes (ExecuteTxs holds mu from the
// update to the block's commit, so a query never sees the tree of a head
// its snapshot does not have); a query answers from it when it is the
// tree of the head the query's snapshot reads, and otherwise builds one
// from the snapshot.
type treeCache struct {
	mu sync.RWMutex // guards t and the tree it points to
	t  *tree
	// build lets one query at a time build a missing tree, so that queries
	// after a restart do not each scan the state.
	build sync.Mutex
}

// answer answers key from the cached tree if it is the tree of h (ok),
// reading values from st, a snapshot at h.
func (c *treeCache) answer(h Head, st *State, key []byte) (a *Answer, ok bool, err error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.t == nil || c.t.height != h.Height || !bytes.Equal(c.t.Root(), h.StateRoot) {
		return nil, false, nil
	}
	a, err = st.answer(c.t, h, key)
	return a, true, err
}

// install makes t, a tree nobody else holds, the cached one unless the
// cache has a later head's.
func (c *treeCache) install(t *tree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t == nil || c.t.height < t.height {
		c.t = t
	}
}
