package exchange_test

import (
	"context"
	"fmt"
	"log"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
)

// A node with headers serves them; another syncs a verified range from it,
// starting from a header it trusts.
func Example() {
	ctx := context.Background()
	g := headertest.NewGenerator(headertest.Options{ChainID: "mesh-1"})
	store := headertest.NewMemStore()
	for range 100 {
		h, err := g.Next()
		if err != nil {
			log.Fatal(err)
		}
		if err := store.Append(ctx, h); err != nil {
			log.Fatal(err)
		}
	}

	bridge, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		log.Fatal(err)
	}
	defer bridge.Close()
	srv, err := exchange.NewServer(bridge, "mesh-1", store)
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer srv.Stop(ctx)

	light, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		log.Fatal(err)
	}
	defer light.Close()
	if err := light.Connect(ctx, peer.AddrInfo{ID: bridge.ID(), Addrs: bridge.Addrs()}); err != nil {
		log.Fatal(err)
	}
	client, err := exchange.NewClient(light, "mesh-1", exchange.WithTrustedPeers(bridge.ID()))
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer client.Stop(ctx)

	trusted, err := store.GetByHeight(ctx, 1) // in practice: from the node's config
	if err != nil {
		log.Fatal(err)
	}
	head, err := client.Head(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	headers, err := client.GetVerifiedRange(ctx, trusted, head.Height())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("head %d; verified heights %d..%d\n", head.Height(), headers[0].Height(), headers[len(headers)-1].Height())
	// Output: head 100; verified heights 2..100
}
