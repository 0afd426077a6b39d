//go:build attack

package attack_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
)

// devnetNetwork is the devnet's chain ID, which prefixes its protocols.
const devnetNetwork = "mesh-devnet"

// TestShrexHoldingPeer: one libp2p peer keeps the full node's nd and eds
// servers as busy as it is allowed for 15 s: it holds 128 streams (the
// per-peer cap) over nd and eds, most of them idle (reopened each time the
// node resets one), the rest asking for the square and reading nothing. Before, 70 idle nd
// streams made every other peer's nd requests RATE_LIMITED. Now another
// peer's nd and eds requests all succeed meanwhile.
func TestShrexHoldingPeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := startDevnet(t, "")
	full, err := peer.AddrInfoFromString(d.info.Nodes["full"].P2P[0])
	if err != nil {
		t.Fatal(err)
	}

	// A height with data in one namespace, stored by the full node.
	ns, err := share.NewV0Namespace([]byte("attack-nd"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.call(ctx, "light", "blob.Submit", []map[string]any{{"namespace": ns.Bytes(), "data": make([]byte, 100_000), "share_version": 0}}, nil)
	if err != nil || r.Error != nil {
		t.Fatalf("blob.Submit: %v %+v", err, r.Error)
	}
	var height uint64
	if err := json.Unmarshal(r.Result, &height); err != nil {
		t.Fatal(err)
	}
	if r, err := d.call(ctx, "full", "share.SharesAvailable", height); err != nil || r.Error != nil {
		t.Fatalf("full node SharesAvailable(%d): %v %+v", height, err, r.Error)
	}
	r, err = d.call(ctx, "full", "header.GetByHeight", height)
	if err != nil || r.Error != nil {
		t.Fatalf("header.GetByHeight: %v %+v", err, r.Error)
	}
	var h header.ExtendedHeader
	if err := json.Unmarshal(r.Result, &h); err != nil {
		t.Fatal(err)
	}

	attacker := newHost(t, ctx, full)
	honest := newHost(t, ctx, full)
	edsReq, err := eds.EdsID{Height: height}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}

	attackCtx, stopAttack := context.WithTimeout(ctx, 15*time.Second)
	defer stopAttack()
	var opened atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		parallel(128, func(i int) {
			// Three quarters idle (nd, nd, eds: a stream that never sends
			// its request), a quarter asking for the square and reading
			// nothing.
			kind, req := shrex.KindNamespaceData, []byte(nil)
			switch i % 4 {
			case 2:
				kind = shrex.KindEDS
			case 3:
				kind, req = shrex.KindEDS, edsReq
			}
			for attackCtx.Err() == nil {
				s, err := attacker.NewStream(attackCtx, full.ID, shrex.ProtocolID(devnetNetwork, kind))
				if err != nil {
					continue
				}
				opened.Add(1)
				if req != nil {
					if _, err := s.Write(req); err != nil {
						_ = s.Reset()
						continue
					}
					<-attackCtx.Done()
					_ = s.Reset()
					return
				}
				// Hold the idle stream until the node resets it, then open
				// another.
				stop := context.AfterFunc(attackCtx, func() { _ = s.Reset() })
				_, _ = s.Read(make([]byte, 1))
				stop()
				_ = s.Reset()
			}
		})
	}()

	client, err := shrex.NewClient(honest, devnetNetwork)
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed int
	for attackCtx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err1 := client.GetNamespaceData(rctx, full.ID, &h, ns)
		_, err2 := client.GetEDS(rctx, full.ID, &h)
		cancel()
		for _, err := range []error{err1, err2} {
			if err != nil {
				failed++
				t.Errorf("honest peer's request during the attack: %v", err)
			} else {
				ok++
			}
		}
	}
	<-done
	t.Logf("attacker opened %d streams; honest peer: %d requests served, %d failed", opened.Load(), ok, failed)
	if ok == 0 {
		t.Error("the honest peer got nothing served")
	}
}

// newHost returns a libp2p host on loopback connected to p.
func newHost(t *testing.T, ctx context.Context, p *peer.AddrInfo) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrs(multiaddr.StringCast("/ip4/127.0.0.1/tcp/0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	if err := h.Connect(ctx, *p); err != nil {
		t.Fatalf("connect to %s: %v", p.ID, err)
	}
	return h
}
