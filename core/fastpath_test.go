package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/meshrpc"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// A follower of a real core node fetches every height from the binary
// block route, and is woken by its websocket subscription (its poll
// interval is longer than the test); behind a proxy that hides the routes,
// like an older core node, it fetches the same heights as JSON.
func TestFollowerFastPathAndFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	g := coretest.Genesis(t, "mesh-fastpath-test", "alice", "bob")
	v := coretest.StartChain(ctx, t, g)
	for _, hide := range []bool{false, true} {
		p := coretest.NewRPCProxy(t, v.RPCAddr, hide)
		rpc := p.URL
		s := core.NewStore(badgertest.Open(t), 0)
		col := newCollector()
		opts := bridgeOptions(t, rpc, g.ChainID, s, col)
		opts.PollInterval, opts.StallTimeout = 10*time.Minute, 10*time.Minute
		f := startFollower(ctx, t, opts)
		var submitted map[int64][]coretest.Blob
		if !hide {
			submitted = submitBlobs(ctx, t, v, g, "alice", "bob")
		}
		target := coretest.Height(ctx, t, v.Client()) + 2
		col.waitHeight(ctx, t, uint64(target))
		if err := f.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		col.checkContiguous(t, 1, s.Height())
		checkChain(ctx, t, s, uint64(target))
		for h, blobs := range submitted {
			for _, b := range blobs {
				checkBlob(ctx, t, s, uint64(h), b.Namespace, b.Commitment, b.Data)
			}
		}
		mesh, json, ws := p.Count(meshrpc.BlockPath), p.Count("json:block"), p.Count("/websocket")
		t.Logf("hide mesh routes %v: %d heights, %d binary and %d JSON block fetches, %d websockets", hide, s.Height(), mesh, json, ws)
		if ws == 0 {
			t.Fatal("the follower did not subscribe over the websocket")
		}
		if !hide && (json != 0 || mesh < int(target)) {
			t.Fatalf("fast path: %d binary and %d JSON block fetches for %d heights", mesh, json, target)
		}
		// One connection: the follower asks for the route once.
		if hide && (mesh != 0 || p.Count("hidden:"+meshrpc.BlockPath) != 1 || json < int(target)) {
			t.Fatalf("fallback: %d binary, %d refused and %d JSON block fetches for %d heights", mesh, p.Count("hidden:"+meshrpc.BlockPath), json, target)
		}
	}
}
