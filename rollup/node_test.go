package rollup_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/execution/kv"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/share"
)

// downDA is a DataMesh that refuses every submit: the fault that keeps
// the sequencer's blocks unposted.
type downDA struct{}

func (downDA) Submit(context.Context, share.Namespace, [][]byte) (uint64, error) {
	return 0, errors.New("DataMesh unreachable")
}

func localGenesis(t *testing.T, key ed25519.PrivateKey) *rollup.Genesis {
	t.Helper()
	ns, err := share.NewV0Namespace([]byte("local"))
	if err != nil {
		t.Fatal(err)
	}
	return &rollup.Genesis{ChainID: "local", Namespace: ns, Sequencer: key.Public().(ed25519.PublicKey),
		DAStartHeight: 1, InitialHeight: 1, Time: time.Unix(1700000000, 0).UTC()}
}

func newSequencer(t *testing.T, g *rollup.Genesis, key ed25519.PrivateKey, exec *kv.Executor, st *rollup.Store) *rollup.Sequencer {
	t.Helper()
	s, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: key, Executor: exec, Store: st, DA: downDA{},
		BlockTime: time.Hour, RetryMin: time.Hour, RetryMax: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func produce(t *testing.T, s *rollup.Sequencer, exec *kv.Executor, tx string) *rollup.Block {
	t.Helper()
	ctx := context.Background()
	if err := exec.SubmitTx(ctx, []byte(tx)); err != nil {
		t.Fatal(err)
	}
	b, err := s.ProduceBlock(ctx)
	if err != nil || b == nil {
		t.Fatalf("produce block: %v, %v", b, err)
	}
	return b
}

// A sequencer that crashed after executing a block but before storing it
// finishes that block on restart, and its unposted blocks keep their
// bytes, so posting them after the restart forks nothing.
func TestSequencerRestartFinishesBlock(t *testing.T) {
	ctx := context.Background()
	key := keyFrom("seq")
	g := localGenesis(t, key)
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	exec, _ := kv.New(db, kv.Config{})
	st, err := rollup.OpenStore(db, g)
	if err != nil {
		t.Fatal(err)
	}
	s := newSequencer(t, g, key, exec, st)
	produce(t, s, exec, `{"type":"set","key":"a","value":"1"}`)
	before, err := st.Unposted()
	if err != nil || len(before) != 1 {
		t.Fatalf("unposted: %v, %v", before, err)
	}
	stop(t, s)

	// The crash: block 2's inputs recorded and executed, not stored.
	b1 := before[0].Block.Header
	p := &rollup.Pending{Height: 2, Time: b1.Time.Add(time.Second), Txs: [][]byte{[]byte(`{"type":"set","key":"b","value":"2"}`)}}
	if err := st.SetPending(p); err != nil {
		t.Fatal(err)
	}
	res, err := exec.ExecuteTxs(ctx, p.Txs, 2, p.Time, b1.StateRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	exec, _ = kv.New(db, kv.Config{})
	st, err = rollup.OpenStore(db, g)
	if err != nil {
		t.Fatal(err)
	}
	s = newSequencer(t, g, key, exec, st)
	defer stop(t, s)
	after, err := st.Unposted()
	if err != nil || len(after) != 2 {
		t.Fatalf("unposted after restart: %d blocks, %v; want 2", len(after), err)
	}
	if !bytes.Equal(after[0].Raw, before[0].Raw) {
		t.Fatal("block 1's bytes changed across the restart")
	}
	h2 := after[1].Block.Header
	if !bytes.Equal(h2.StateRoot, res.UpdatedStateRoot) || !h2.Time.Equal(p.Time) {
		t.Fatalf("block 2 after restart: root %X time %s; the executed block's %X %s", h2.StateRoot, h2.Time, res.UpdatedStateRoot, p.Time)
	}
	if pend, err := st.GetPending(); err != nil || pend != nil {
		t.Fatalf("pending after restart: %v, %v", pend, err)
	}
	if s.Status().Height != 2 || s.Status().Unposted != 2 {
		t.Fatalf("status %+v", s.Status())
	}
	// The next block builds on block 2.
	b3 := produce(t, s, exec, `{"type":"set","key":"c","value":"3"}`)
	hash2, _ := h2.Hash()
	if b3.Header.Height != 3 || !bytes.Equal(b3.Header.ParentHash, hash2) {
		t.Fatalf("block 3: height %d parent %X, want 3 on %X", b3.Header.Height, b3.Header.ParentHash, hash2)
	}
}

// An executor that lost its state (its own database, gone) is brought
// back to the store's head on start by replaying the stored blocks.
func TestResumeReplaysStoredBlocks(t *testing.T) {
	key := keyFrom("seq")
	g := localGenesis(t, key)
	storeDB := badgertest.Open(t)
	st, err := rollup.OpenStore(storeDB, g)
	if err != nil {
		t.Fatal(err)
	}
	execDir := filepath.Join(t.TempDir(), "exec")
	execDB := badgertest.OpenAt(t, execDir)
	exec, _ := kv.New(execDB, kv.Config{})
	s := newSequencer(t, g, key, exec, st)
	produce(t, s, exec, `{"type":"set","key":"a","value":"1"}`)
	last := produce(t, s, exec, `{"type":"set","key":"b","value":"2"}`)
	stop(t, s)
	if err := execDB.Close(); err != nil {
		t.Fatal(err)
	}

	fresh := badgertest.Open(t)
	exec, _ = kv.New(fresh, kv.Config{})
	s = newSequencer(t, g, key, exec, st)
	defer stop(t, s)
	head, err := exec.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if head.Height != 2 || !bytes.Equal(head.StateRoot, last.Header.StateRoot) {
		t.Fatalf("executor after replay at %d root %X, want 2 %X", head.Height, head.StateRoot, last.Header.StateRoot)
	}
}

// A store refuses a database holding another rollup's blocks.
func TestStoreRefusesOtherGenesis(t *testing.T) {
	db := badgertest.Open(t)
	g := localGenesis(t, keyFrom("seq"))
	if _, err := rollup.OpenStore(db, g); err != nil {
		t.Fatal(err)
	}
	other := *g
	other.ChainID = "other"
	if _, err := rollup.OpenStore(db, &other); err == nil {
		t.Fatal("opened a store of another genesis")
	}
}

func TestNewSequencerRejectsWrongKey(t *testing.T) {
	db := badgertest.Open(t)
	g := localGenesis(t, keyFrom("seq"))
	exec, _ := kv.New(db, kv.Config{})
	st, _ := rollup.OpenStore(db, g)
	if _, err := rollup.NewSequencer(rollup.SequencerConfig{Genesis: g, Key: keyFrom("other"), Executor: exec, Store: st, DA: downDA{}}); err == nil {
		t.Fatal("a sequencer with a key that is not the genesis one")
	}
}
