package fraud_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// A node started after the proof was published learns it through Sync:
// from a bootstrap peer, and from a peer it merely is connected to. It is
// halted when Sync returns. Restarted on the same database, with no peer,
// it is halted by Start.
func TestSyncAtStartAndRestart(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx)

	for name, bootstrap := range map[string]bool{"bootstrap peer": true, "connected peer": false} {
		t.Run(name, func(t *testing.T) {
			o := testOptions()
			if bootstrap {
				o.SyncPeers = []peer.ID{a.id()}
			}
			d := f.newNode(t, ctx, 20, &o)
			if bootstrap {
				// Known addresses, not connected: Sync dials it.
				d.p2p.Host.Peerstore().AddAddrs(a.id(), a.p2p.Host.Addrs(), time.Hour)
			} else {
				p2ptest.Connect(t, ctx, d.p2p.Host, a.p2p.Host)
			}
			if err := d.svc.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if d.halt.Proof() == nil {
				t.Fatalf("not halted when Sync returned (stats %+v)", d.svc.Stats())
			}
			d.waitHalted(t, ctx, f)

			d.restart(t, ctx, testOptions()) // on the same database, alone
			d.waitHalted(t, ctx, f)          // already, by Start
			if err := d.svc.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := d.svc.Get(ctx)
			if err != nil || len(got) != 1 || got[0].Height != f.bad {
				t.Fatalf("after restart: %v, %v", got, err)
			}
		})
	}
}

// A proof synced for a height the store has not reached is held like a
// gossiped one, and validated once the store gets there.
func TestSyncHoldsProofAhead(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx)
	o := testOptions()
	o.SyncPeers = []peer.ID{a.id()}
	d := f.newNode(t, ctx, int(f.bad)-1, &o)
	p2ptest.Connect(t, ctx, d.p2p.Host, a.p2p.Host)
	if err := d.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if st := d.svc.Stats(); st.Holding != 1 || d.halt.Proof() != nil {
		t.Fatalf("after Sync: %+v, halted %v; want the proof held", st, d.halt.Proof() != nil)
	}
	if err := d.headers.Append(ctx, f.chain[f.bad-1]); err != nil {
		t.Fatal(err)
	}
	d.waitHalted(t, ctx, f)
}

// A proof synced from a peer the node asked is held however far above the
// head it is (a gossiped one only up to MaxAhead), so a node that starts
// far behind checks it when its store reaches the block.
func TestSyncHoldsProofFarAhead(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx)
	o := testOptions()
	o.SyncPeers = []peer.ID{a.id()}
	o.MaxAhead = 2
	d := f.newNode(t, ctx, 1, &o) // head 1, the proof 11 above
	p2ptest.Connect(t, ctx, d.p2p.Host, a.p2p.Host)
	if err := d.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if st := d.svc.Stats(); st.Holding != 1 || d.halt.Proof() != nil {
		t.Fatalf("after Sync: %+v, halted %v; want the proof held", st, d.halt.Proof() != nil)
	}
	if err := d.headers.Append(ctx, f.chain[1:f.bad]...); err != nil {
		t.Fatal(err)
	}
	d.waitHalted(t, ctx, f)
}

// serveRaw makes h answer fraud sync with resp, written as is.
func serveRaw(n *p2ptest.Node, resp []byte) {
	n.Host.SetStreamHandler(fraud.ProtocolID(chainID), func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReader(s)
		l, err := protowireReadLen(r)
		if err != nil || l > 1024 {
			_ = s.Reset()
			return
		}
		if _, err := r.Discard(int(l)); err != nil {
			_ = s.Reset()
			return
		}
		_, _ = s.Write(resp)
	})
}

func protowireReadLen(r *bufio.Reader) (uint64, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		b = append(b, c)
		if c < 0x80 {
			break
		}
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	return v, nil
}

func frameOf(msg []byte) []byte {
	return append(protowire.AppendVarint(nil, uint64(len(msg))), msg...)
}

// A peer that answers fraud sync with an invalid proof, a broken response
// or a frame over the limit is blocked; one that answers a proof of
// another type, or nothing, is not.
func TestSyncBlocksLyingServers(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	response := func(ofType string, values ...[]byte) []byte {
		b, err := fraud.SyncResponse{Proofs: []fraud.ProofsOfType{{Type: ofType, Values: values}}}.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return frameOf(b)
	}
	for _, tc := range []struct {
		name    string
		resp    []byte
		blocked bool
	}{
		{"honest row as a proof", response(eds.BadEncodingProofType, f.honestRow(t, 5, 0)), true},
		{"wrong header", response(eds.BadEncodingProofType, f.wrongHeader(t)), true},
		{"garbage proof", response(eds.BadEncodingProofType, []byte{0xff, 0x01}), true},
		{"broken response", frameOf([]byte{0x0a, 0x05, 0x01}), true},
		{"frame too large", protowire.AppendVarint(nil, fraud.DefaultMaxMessageSize+1), true},
		{"another type", response("other", []byte{0xff}), false},
		{"nothing", frameOf(nil), false},
		{"truncated", response(eds.BadEncodingProofType, f.data)[:100], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			liar := p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...)
			serveRaw(liar, tc.resp)
			o := testOptions()
			o.SyncPeers = []peer.ID{liar.Host.ID()}
			d := f.newNode(t, ctx, 20, &o)
			p2ptest.Connect(t, ctx, d.p2p.Host, liar.Host)
			if err := d.svc.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			err := d.blocker.reason(liar.Host.ID())
			if tc.blocked != (err != nil) {
				t.Fatalf("blocked: %v, want blocked %v", err, tc.blocked)
			}
			if err != nil && !errors.Is(err, fraud.ErrInvalidProof) && !errors.Is(err, fraud.ErrInvalidMessage) {
				t.Fatalf("blocked for %v", err)
			}
			if d.halt.Proof() != nil {
				t.Fatal("halted")
			}
		})
	}
}

// A node that dropped a valid proof because of its sender (here, a peer it
// had already blocked sends the very bytes an honest peer holds) learns it
// by the background sync that follows: gossipsub drops the honest copy as
// seen, so only asking the peer directly brings it. b does not ask its mesh
// peers (Deps.Mesh), which would bring it from a as soon as a joins b's
// mesh.
func TestResyncAfterRefusedCopy(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.holder(t, ctx)
	// a holds the proof from its store, and gossip has nothing of it to
	// offer.
	a.restart(t, ctx, testOptions())
	o := testOptions()
	o.ResyncInterval = 1 // at the next poll
	b := startNodeMesh(t, ctx, f.chain, o, nil, false)
	r := newRawPublisher(t, ctx)
	connect(t, ctx, r.node, b.p2p)
	p2ptest.WaitAnnounced(t, ctx, a.p2p.Host, fraud.ProtocolID(chainID))
	connect(t, ctx, a.p2p, b.p2p)

	r.publish(t, ctx, []byte("garbage"))
	b.blocker.wait(t, ctx, r.node.Host.ID())
	r.publish(t, ctx, f.data) // refused unread: r is blocked
	waitFor(t, ctx, "b to judge both", func() bool { return b.svc.Stats().Received >= 2 })
	if b.halt.Proof() != nil && b.svc.Stats().Resyncs == 0 {
		t.Fatal("b took a proof from a peer it had blocked")
	}
	b.waitHalted(t, ctx, f)
	if st := b.svc.Stats(); st.Resyncs == 0 {
		t.Fatalf("halted without a resync: %+v", st)
	}
	if b.blocker.reason(a.id()) != nil {
		t.Fatal("b blocked the honest peer")
	}
}

// The server answers each type once, leaves out types it does not know,
// and answers nothing before it holds a proof.
func TestSyncServerAnswers(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	a := f.newNode(t, ctx, 20, nil)
	client := p2ptest.NewNode(t, ctx)
	p2ptest.Connect(t, ctx, client.Host, a.p2p.Host)
	ask := func(types ...string) fraud.SyncResponse {
		t.Helper()
		body, err := fraud.SyncRequest{ProofTypes: types}.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		s, err := client.Host.NewStream(ctx, a.id(), fraud.ProtocolID(chainID))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Write(frameOf(body)); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(s)
		n, err := protowireReadLen(r)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		resp, err := fraud.UnmarshalSyncResponse(buf, fraud.DefaultMaxMessageSize)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := ask(eds.BadEncodingProofType); len(resp.Proofs) != 0 {
		t.Fatalf("answered %d proof types before holding a proof", len(resp.Proofs))
	}
	if err := a.svc.Publish(ctx, f.proof); err != nil {
		t.Fatal(err)
	}
	resp := ask("unknown", eds.BadEncodingProofType, eds.BadEncodingProofType)
	if len(resp.Proofs) != 1 || resp.Proofs[0].Type != eds.BadEncodingProofType || len(resp.Proofs[0].Values) != 1 {
		t.Fatalf("answered %+v, want one proof of one type", resp)
	}
	p, err := eds.UnmarshalBadEncodingProof(resp.Proofs[0].Values[0])
	if err != nil || p.Height != f.bad {
		t.Fatalf("served %v, %v", p, err)
	}
}

// Start skips stored entries that do not decode or that their key does
// not name, and reads no more than MaxStoredProofs entries.
func TestStartSkipsDamagedEntries(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	d := f.holder(t, ctx)
	key := func(height uint64, axis byte, index uint16) []byte {
		k := binary.BigEndian.AppendUint64([]byte("fraud/befp/"), height)
		return binary.BigEndian.AppendUint16(append(k, axis), index)
	}
	err := d.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(key(3, 0, 0), []byte("not a proof")); err != nil {
			return err
		}
		return txn.Set(key(4, 1, 1), f.data) // the proof of 12, under another key
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		max    int
		halted bool
	}{{3, true}, {2, false}} {
		o := testOptions()
		o.MaxStoredProofs = tc.max
		d.restart(t, ctx, o)
		got, err := d.svc.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if halted := d.halt.Proof() != nil; halted != tc.halted || len(got) != map[bool]int{true: 1}[tc.halted] {
			t.Fatalf("reading %d entries: halted %v, %d proofs; want halted %v", tc.max, halted, len(got), tc.halted)
		}
		if tc.halted {
			d.waitHalted(t, ctx, f)
		}
	}
}
