package state_test

import (
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/meshrpc"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// A client broadcasts and polls for inclusion through the core node's
// binary routes, and through the JSON methods when a proxy hides the
// routes as an older core node would; both answers are the same.
func TestSubmitFastPathAndFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := ctxFor(t)
	c := startChain(ctx, t, []string{"rollup"}, nil)
	var gas [2]int64
	for i, hide := range []bool{false, true} {
		p := coretest.NewRPCProxy(t, c.v.RPCAddr, hide)
		cl, err := state.New(state.Options{RPC: p.URL, Keyring: c.kr, DefaultKey: "rollup", Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := cl.Stop(ctx); err != nil {
				t.Error(err)
			}
		})
		res, err := cl.SubmitPayForBlob(ctx, []*share.Blob{newBlob(t, "ns-fast", make([]byte, 5000))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.checkIncluded(ctx, t, res)
		gas[i] = res.GasUsed
		mb, mt := p.Count(meshrpc.BroadcastTxPath), p.Count(meshrpc.TxPath)
		jb, jt := p.Count("json:broadcast_tx_sync"), p.Count("json:tx")
		t.Logf("hide %v: binary broadcast %d, tx %d; JSON broadcast %d, tx %d", hide, mb, mt, jb, jt)
		if !hide && (mb != 1 || mt < 1 || jb != 0 || jt != 0) {
			t.Fatalf("fast path: binary broadcast %d, tx %d; JSON broadcast %d, tx %d", mb, mt, jb, jt)
		}
		// The first refused route tells the client: it asks no more.
		if hide && (p.Count("hidden:"+meshrpc.BroadcastTxPath) != 1 || p.Count("hidden:"+meshrpc.TxPath) != 0 || jb != 1 || jt < 1) {
			t.Fatalf("fallback: refused %d, JSON broadcast %d, tx %d", p.Count("hidden:"+meshrpc.BroadcastTxPath), jb, jt)
		}
	}
	if gas[0] != gas[1] {
		t.Fatalf("gas used %d through the binary routes, %d through JSON", gas[0], gas[1])
	}
}
