package getter_test

import (
	"context"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/getter"
	"github.com/datamesh/mesh-node/shrex/peers"
)

// A full node has announced a square (as eds-sub would tell the manager);
// a getter on another host samples it and fetches the whole square.
func Example() {
	ctx := context.Background()
	square, err := eds.Extend(edstest.RandomODS(1, 4, 2))
	if err != nil {
		panic(err)
	}
	dah, err := eds.NewDAH(square)
	if err != nil {
		panic(err)
	}
	h := &header.ExtendedHeader{RawHeader: cmttypes.Header{Height: 1}, DAH: dah}

	fullHost, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		panic(err)
	}
	defer fullHost.Close()
	server, err := shrex.NewServer(fullHost, "example", &memStore{squares: map[uint64]*eds.ExtendedDataSquare{1: square}})
	if err != nil {
		panic(err)
	}
	if err := server.Start(ctx); err != nil {
		panic(err)
	}
	defer server.Stop(ctx)

	host, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		panic(err)
	}
	defer host.Close()
	if err := host.Connect(ctx, peer.AddrInfo{ID: fullHost.ID(), Addrs: fullHost.Addrs()}); err != nil {
		panic(err)
	}
	client, err := shrex.NewClient(host, "example")
	if err != nil {
		panic(err)
	}
	manager, err := peers.New(peers.Options{})
	if err != nil {
		panic(err)
	}
	manager.Announced(h.Height(), h.DataRoot(), fullHost.ID())
	g, err := getter.New(client, manager, getter.Options{})
	if err != nil {
		panic(err)
	}

	smp, err := g.GetSample(ctx, h, 5, 2)
	if err != nil {
		panic(err)
	}
	whole, err := g.GetEDS(ctx, h)
	if err != nil {
		panic(err)
	}
	fmt.Println(smp.Verify(dah, 5, 2) == nil, whole.Width())
	// Output: true 8
}
