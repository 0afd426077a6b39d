package p2p_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/datamesh/mesh-node/p2p"
)

func ExampleProtocolID() {
	fmt.Println(p2p.ProtocolID("mocha-4", "shrex/v0.1.0/sample"))
	fmt.Println(p2p.TopicID("mocha-4", "header-sub/v0.1.0"))
	// Output:
	// /datamesh/mocha-4/shrex/v0.1.0/sample
	// /datamesh/mocha-4/header-sub/v0.1.0
}

// A light node as nodebuilder starts it: identity from the home directory,
// the settings of its mode (a DHT client that looks for nodes serving whole
// squares, small limits), one trusted bridge, then Start and, at shutdown,
// Stop.
func ExampleNew() {
	home, err := os.MkdirTemp("", "mesh-node-light")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(home)
	key, err := p2p.LoadOrCreateIdentity(filepath.Join(home, "keys", "p2p-key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	node, err := p2p.New(key, p2p.Config{
		Network:     "devnet",
		UserAgent:   "mesh-node/light",
		Discover:    p2p.RendezvousFull,
		Limits:      p2p.Limits{ConnLow: 25, ConnHigh: 50, Memory: 128 << 20, FDs: 256, DiscoveryPeers: 5},
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		// BootstrapPeers: []string{"/dns4/bridge-0/tcp/2121/p2p/12D3KooW..."},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := node.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer node.Stop(ctx)
	fmt.Println(node.Limits().ConnHigh, len(node.FullAddrs()) > 0, node.PubSub() != nil)
	// Output: 50 true true
}
