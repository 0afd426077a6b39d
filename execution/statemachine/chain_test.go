package statemachine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/execution/statemachine"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/merkle"
)

// setDel is a machine of two transactions: "key=value" sets key, "key"
// deletes it.
type setDel struct{}

func (setDel) Limits() statemachine.Limits { return statemachine.Limits{MaxBlockBytes: 1 << 20} }

func (setDel) CheckTx(*statemachine.State, []byte) (uint64, error) { return 0, nil }

func (setDel) Apply(_ context.Context, st *statemachine.State, _ statemachine.Block, tx []byte) (statemachine.TxResult, error) {
	if k, v, ok := strings.Cut(string(tx), "="); ok {
		return statemachine.TxResult{}, st.Set([]byte(k), []byte(v))
	}
	return statemachine.TxResult{}, st.Delete(tx)
}

var genesisTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newChain(t *testing.T, db *badger.DB) *statemachine.Chain {
	t.Helper()
	c, err := statemachine.New(db, "sm", setDel{}, statemachine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.InitChain(context.Background(), genesisTime, 1, "test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// scratchRoot is the state root of state computed from scratch.
func scratchRoot(state map[string]string) []byte {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range state {
			if !yield(k) {
				return
			}
		}
	})
	hashes := make([][]byte, len(keys))
	for i, k := range keys {
		hashes[i] = merkle.LeafHash(statemachine.Leaf([]byte(k), []byte(state[k])))
	}
	return merkle.RootFromLeafHashes(hashes)
}

// randomBlock returns a block of sets, updates and deletes and applies it
// to state.
func randomBlock(rng *rand.Rand, state map[string]string, h uint64) [][]byte {
	var txs [][]byte
	for range rng.IntN(40) {
		k := fmt.Sprintf("k%03d", rng.IntN(300))
		if rng.IntN(3) == 0 {
			delete(state, k)
			txs = append(txs, []byte(k))
			continue
		}
		v := fmt.Sprintf("v%d", h)
		state[k] = v
		txs = append(txs, []byte(k+"="+v))
	}
	return txs
}

// TestRootsAndProofsAcrossBlocksAndRestarts executes random blocks while
// queries run concurrently (run it with -race), checks each block's root
// against the root computed from scratch and each answer against the
// root recorded for its height, and restarts the chain (a new Chain on
// the same database, whose tree is built again) along the way.
func TestRootsAndProofsAcrossBlocksAndRestarts(t *testing.T) {
	ctx := context.Background()
	db := badgertest.Open(t)
	c := newChain(t, db)
	rng := rand.New(rand.NewPCG(5, 6))
	state := map[string]string{}
	root := statemachine.EmptyRoot()

	// Queries run against whatever Chain is current until done closes.
	var mu sync.Mutex
	current := c
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	stop := sync.OnceFunc(func() { close(done); wg.Wait() })
	t.Cleanup(stop) // before the database closes, when the test fails
	for q := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				mu.Lock()
				c := current
				mu.Unlock()
				key := fmt.Appendf(nil, "k%03d", (i*7+q)%300)
				a, err := c.Prove(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				if err := statemachine.Verify(a.StateRoot, key, a); err != nil {
					errs <- fmt.Errorf("height %d: %w", a.Height, err)
					return
				}
				if a.Height == 0 {
					continue // the genesis: the empty state
				}
				_, want, err := c.Results(ctx, a.Height)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(a.StateRoot, want) {
					errs <- fmt.Errorf("answer at height %d has root %X, the block %X", a.Height, a.StateRoot, want)
					return
				}
			}
		}()
	}
	for h := uint64(1); h <= 60; h++ {
		if h%20 == 0 {
			next, err := statemachine.New(db, "sm", setDel{}, statemachine.Config{})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			current = next
			mu.Unlock()
			c = next
		}
		txs := randomBlock(rng, state, h)
		res, err := c.ExecuteTxs(ctx, txs, h, genesisTime.Add(time.Duration(h)*time.Second), root)
		if err != nil {
			t.Fatal(err)
		}
		if want := scratchRoot(state); !bytes.Equal(res.UpdatedStateRoot, want) {
			t.Fatalf("block %d: root %X, from scratch %X", h, res.UpdatedStateRoot, want)
		}
		prev := root
		root = res.UpdatedStateRoot
		// The same block again is answered from its record.
		again, err := c.ExecuteTxs(ctx, txs, h, genesisTime.Add(time.Duration(h)*time.Second), prev)
		if err != nil || !bytes.Equal(again.UpdatedStateRoot, root) {
			t.Fatalf("block %d again: %X, %v", h, again.UpdatedStateRoot, err)
		}
	}
	stop()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A restarted chain answers before any block, from a tree it builds.
	c = newChain(t, db)
	for k := range 300 {
		key := fmt.Appendf(nil, "k%03d", k)
		a, err := c.Prove(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := statemachine.Verify(root, key, a); err != nil {
			t.Fatal(err)
		}
		if v, ok := state[string(key)]; a.Found != ok || string(a.Value) != v {
			t.Fatalf("key %s: found %v %q, want %v %q", key, a.Found, a.Value, ok, v)
		}
	}
}

// TestFailedBlockKeepsTree fails a block (its context ends during it) and
// checks that queries and the next block still see the previous state.
func TestFailedBlockKeepsTree(t *testing.T) {
	ctx := context.Background()
	c := newChain(t, badgertest.Open(t))
	res, err := c.ExecuteTxs(ctx, [][]byte{[]byte("a=1"), []byte("b=2")}, 1, genesisTime, statemachine.EmptyRoot())
	if err != nil {
		t.Fatal(err)
	}
	root := res.UpdatedStateRoot
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.ExecuteTxs(cctx, [][]byte{[]byte("c=3")}, 2, genesisTime, root); !errors.Is(err, context.Canceled) {
		t.Fatalf("block with an ended context: %v", err)
	}
	if _, err := c.ExecuteTxs(ctx, [][]byte{[]byte("c=3")}, 2, genesisTime, []byte("other root")); !errors.Is(err, statemachine.ErrPrevStateRoot) {
		t.Fatalf("block on another root: %v", err)
	}
	a, err := c.Prove(ctx, []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Found || a.Height != 1 || statemachine.Verify(root, []byte("c"), a) != nil {
		t.Fatalf("c after failed blocks: %+v", a)
	}
	res, err = c.ExecuteTxs(ctx, [][]byte{[]byte("c=3")}, 2, genesisTime, root)
	if err != nil {
		t.Fatal(err)
	}
	if want := scratchRoot(map[string]string{"a": "1", "b": "2", "c": "3"}); !bytes.Equal(res.UpdatedStateRoot, want) {
		t.Fatalf("root %X, want %X", res.UpdatedStateRoot, want)
	}
}
