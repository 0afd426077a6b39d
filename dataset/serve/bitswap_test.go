package serve_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	bsclient "github.com/ipfs/boxo/bitswap/client"
	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/dataset/serve"
	"github.com/datamesh/mesh-node/dataset/serve/servetest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// TestBitswapServesDataset: a stock boxo bitswap client on another host
// fetches every block of a dataset from the server, byte for byte.
func TestBitswapServesDataset(t *testing.T) {
	ctx := p2ptest.Context(t)
	ds := newDataset(t, 3*mib+1, 1)
	server := p2ptest.Host(t)
	servetest.Bitswap(t, server, ds.store)

	clientHost := p2ptest.Host(t)
	clientStore := newStore()
	net := bsnet.NewFromIpfsHost(clientHost)
	client := bsclient.New(ctx, net, nil, clientStore)
	net.Start(client)
	t.Cleanup(func() {
		if err := client.Close(); err != nil {
			t.Error(err)
		}
		net.Stop()
	})
	p2ptest.Connect(t, ctx, clientHost, server)

	keys := make([]cid.Cid, len(ds.blocks))
	for i, b := range ds.blocks {
		keys[i] = b.Cid()
	}
	ch, err := client.GetBlocks(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	got := map[cid.Cid][]byte{}
	for b := range ch {
		got[b.Cid()] = b.RawData()
	}
	if len(got) != len(ds.blocks) {
		t.Fatalf("client got %d of %d blocks (%v)", len(got), len(ds.blocks), ctx.Err())
	}
	for _, b := range ds.blocks {
		if !bytes.Equal(got[b.Cid()], b.RawData()) {
			t.Fatalf("block %s: got %d bytes, want %d", b.Cid(), len(got[b.Cid()]), len(b.RawData()))
		}
	}
	if len(ds.blocks) < 5 {
		t.Fatalf("dataset of %d blocks, want a root and 4 leaves", len(ds.blocks))
	}
}

// TestBitswapLifecycle: Start registers the standard, unprefixed
// protocol IDs; Stop removes them and is idempotent; a stopped server does
// not start again.
func TestBitswapLifecycle(t *testing.T) {
	ds := newDataset(t, 10, 2)
	h := p2ptest.Host(t)
	b, err := serve.NewBitswap(h, ds.store, serve.DefaultBitswapSettings())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := []protocol.ID{"/ipfs/bitswap/1.2.0", "/ipfs/bitswap/1.1.0", "/ipfs/bitswap/1.0.0", "/ipfs/bitswap"}
	if got := serve.BitswapProtocols(); !slices.Equal(got, want) {
		t.Fatalf("protocols %v, want %v", got, want)
	}
	if registered(h, want[0]) {
		t.Fatal("handler registered before Start")
	}
	for range 2 {
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range want {
		if !registered(h, p) {
			t.Fatalf("%s not registered after Start", p)
		}
	}
	for range 2 {
		if err := b.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range want {
		if registered(h, p) {
			t.Fatalf("%s still registered after Stop", p)
		}
	}
	if err := b.Start(ctx); err == nil {
		t.Fatal("a stopped server started again")
	}
}

func registered(h host.Host, p protocol.ID) bool {
	return slices.Contains(h.Mux().Protocols(), p)
}

func TestBitswapSettingsRejected(t *testing.T) {
	ds := newDataset(t, 10, 3)
	h := p2ptest.Host(t)
	for name, mutate := range map[string]func(*serve.BitswapSettings){
		"block size":  func(s *serve.BitswapSettings) { s.MaxBlockSize = 0 },
		"wantlist":    func(s *serve.BitswapSettings) { s.MaxWantlistEntriesPerPeer = 0 },
		"outstanding": func(s *serve.BitswapSettings) { s.MaxOutstandingBytesPerPeer = -1 },
		"send":        func(s *serve.BitswapSettings) { s.SendWorkers = 0 },
		"blockstore":  func(s *serve.BitswapSettings) { s.BlockstoreWorkers = 0 },
	} {
		s := serve.DefaultBitswapSettings()
		mutate(&s)
		if _, err := serve.NewBitswap(h, ds.store, s); err == nil {
			t.Errorf("%s: accepted %+v", name, s)
		}
	}
	if _, err := serve.NewBitswap(nil, ds.store, serve.DefaultBitswapSettings()); err == nil {
		t.Error("accepted a nil host")
	}
	if _, err := serve.NewBitswap(h, nil, serve.DefaultBitswapSettings()); err == nil {
		t.Error("accepted a nil blockstore")
	}
}
