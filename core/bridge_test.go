package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

func bridgeOptions(t *testing.T, rpc, chainID string, s *core.Store, col *collector) core.Options {
	return core.Options{RPC: rpc, ChainID: chainID, Store: s, Logger: testLogger(t), OnHeader: col.onHeader,
		PollInterval: 200 * time.Millisecond, RequestTimeout: 5 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		// An in-process node that stops keeps serving the connections it has
		// open: only a stall shows the follower it was replaced.
		StallTimeout: 2 * time.Second}
}

// submitBlobs sends two PayForBlobs, from two accounts, with blobs in three
// namespaces, waits for them to be committed and returns the blobs by
// height.
func submitBlobs(ctx context.Context, t *testing.T, v *coretest.Validator, g *app.Genesis, keys ...string) map[int64][]coretest.Blob {
	t.Helper()
	c := v.Client()
	ns := []share.Namespace{mustNamespace(t, 1), mustNamespace(t, 2), mustNamespace(t, 3)}
	batches := [][]coretest.Blob{
		{{Namespace: ns[0], Data: bytes.Repeat([]byte{1}, 3000)}, {Namespace: ns[1], Data: []byte("a small blob")}},
		{{Namespace: ns[2], Data: bytes.Repeat([]byte{3}, 5000)}, {Namespace: ns[0], Data: bytes.Repeat([]byte{4}, 100)}},
	}
	raws := make([][]byte, len(batches))
	for i, b := range batches {
		k, _ := coretest.Key(t, keys[i])
		raws[i] = coretest.PFBTx(t, g.ChainID, k, 0, g.Params, b)
	}
	out := map[int64][]coretest.Blob{}
	for i, raw := range raws {
		h := coretest.Broadcast(ctx, t, c, raw)
		out[h] = append(out[h], batches[i]...)
	}
	return out
}

func TestBridgeFollowsNodeAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	g := coretest.Genesis(t, "mesh-bridge-test", "alice", "bob")
	v := coretest.NewValidator(t)
	coretest.WriteGenesis(t, g, v)
	v.Start(nil)

	// A core node of another chain, and no core node at all, are refused.
	spare := badgertest.Open(t)
	wrong, err := core.New(bridgeOptions(t, v.RPCAddr, "other-chain", core.NewStore(spare, 0), newCollector()))
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Start(ctx); !errors.Is(err, core.ErrChainIDMismatch) {
		t.Fatalf("another chain: %v", err)
	}
	unreachable := fmt.Sprintf("http://127.0.0.1:%d", coretest.FreePort(t))
	none, err := core.New(bridgeOptions(t, unreachable, g.ChainID, core.NewStore(spare, 0), newCollector()))
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	err = none.Start(sctx)
	scancel()
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("no core node: %v", err)
	}

	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	s := core.NewStore(db, 0)
	col := newCollector()
	f := startFollower(ctx, t, bridgeOptions(t, v.RPCAddr, g.ChainID, s, col))
	submitted := submitBlobs(ctx, t, v, g, "alice", "bob")
	checkSubmitted := func(s *core.Store) {
		t.Helper()
		n := 0
		for h, blobs := range submitted {
			col.waitHeight(ctx, t, uint64(h))
			for _, b := range blobs {
				checkBlob(ctx, t, s, uint64(h), b.Namespace, b.Commitment, b.Data)
				n++
			}
		}
		if n != 4 {
			t.Fatalf("checked %d blobs, want 4", n)
		}
	}
	checkSubmitted(s)

	// The core node restarts under the running follower.
	v.Stop()
	v.Start(nil)
	c := v.Client()
	target := coretest.Height(ctx, t, c) + 2
	coretest.WaitUntil(ctx, t, "the core node to go on", func() bool { return coretest.Height(ctx, t, c) >= target })
	col.waitHeight(ctx, t, uint64(target))

	// The follower restarts on the same database, with the core node
	// stopped and started again meanwhile.
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	v.Stop()
	v.Start(nil)
	c = v.Client()
	db = badgertest.OpenAt(t, dir)
	defer db.Close()
	s = core.NewStore(db, 0)
	f = startFollower(ctx, t, bridgeOptions(t, v.RPCAddr, g.ChainID, s, col))
	target = coretest.Height(ctx, t, c) + 2
	col.waitHeight(ctx, t, uint64(target))
	if err := f.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	col.checkContiguous(t, 1, s.Height())
	checkChain(ctx, t, s, uint64(target))
	checkSubmitted(s)
	t.Logf("followed %d heights across two core and one bridge restart", s.Height())
}

// Four validators, one of which proposes wrong data roots, and a bridge
// beside another: the chain goes on without the wrong proposals, and the
// bridge stores every height with the blobs readable and proven.
func TestBridgeFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	g := coretest.Genesis(t, "mesh-bridge-4", "alice", "bob")
	vals, corrupt := coretest.StartCorruptNetwork(t, g, 4)
	db := badgertest.Open(t)
	s := core.NewStore(db, 0)
	col := newCollector()
	opts := bridgeOptions(t, vals[1].RPCAddr, g.ChainID, s, col)
	// No polling within the test: new blocks arrive through the websocket.
	opts.PollInterval, opts.StallTimeout = time.Hour, time.Hour
	f := startFollower(ctx, t, opts)
	defer func() {
		if err := f.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	submitted := submitBlobs(ctx, t, vals[1], g, "alice", "bob")
	coretest.WaitUntil(ctx, t, "wrong proposals", func() bool { return corrupt.Load() >= 2 })
	target := coretest.Height(ctx, t, vals[1].Client())
	col.waitHeight(ctx, t, uint64(target))
	n := 0
	for h, blobs := range submitted {
		for _, b := range blobs {
			checkBlob(ctx, t, s, uint64(h), b.Namespace, b.Commitment, b.Data)
			n++
		}
	}
	if n != 4 {
		t.Fatalf("checked %d blobs, want 4", n)
	}
	checkChain(ctx, t, s, uint64(target))
	t.Logf("%d wrong proposals rejected; the bridge stored %d heights", corrupt.Load(), s.Height())
}
