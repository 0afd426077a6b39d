package peers_test

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/shrex/peers"
)

func ExampleManager() {
	m, err := peers.New(peers.Options{
		FullNodes: func() []peer.ID { return []peer.ID{"full-1"} },
	})
	if err != nil {
		panic(err)
	}
	root := []byte("a 32-byte data root.............")
	m.Announced(100, root, "bridge") // from eds-sub

	fmt.Println(names(m.Peers(100, root, 5))) // the announcer first, then the fallback

	m.Result(100, root, "bridge", peers.RateLimited) // cooling down
	fmt.Println(names(m.Peers(100, root, 5)))

	m.Result(100, root, "full-1", peers.NotFound) // not for this square
	fmt.Println(names(m.Peers(100, root, 5)))
	// Output:
	// [bridge full-1]
	// [full-1]
	// []
}

// names returns the peer IDs as raw strings: peer.ID's String method
// prints base58, unreadable for these made-up IDs.
func names(ps []peer.ID) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, string(p))
	}
	return out
}
