package validator_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/datamesh/mesh-node/core/validator"
)

// Init makes a home, LoadConfig reads it and Start runs its node until
// Stop.
func Example() {
	home, err := os.MkdirTemp("", "validator-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(home)
	if _, err := validator.Init(home, validator.InitOptions{ChainID: "example-chain", Moniker: "example",
		BlockTime: time.Second, DevBalance: 1000}); err != nil {
		log.Fatal(err)
	}
	conf, err := validator.LoadConfig(home)
	if err != nil {
		log.Fatal(err)
	}
	conf.P2P.ListenAddress = "tcp://127.0.0.1:0"
	conf.RPC.ListenAddress = "tcp://127.0.0.1:0"
	n, err := validator.Start(conf, validator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("running", n.ChainID())
	if err := n.Stop(); err != nil {
		log.Fatal(err)
	}
	// Output: running example-chain
}
