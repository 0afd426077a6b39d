package gossip_test

import (
	"fmt"

	"github.com/datamesh/mesh-node/header/gossip"
)

func ExampleTopicID() {
	fmt.Println(gossip.TopicID("mocha"))
	// Output: /datamesh/mocha/header-sub/v0.1.0
}
