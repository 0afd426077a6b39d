package edssub_test

import (
	"bytes"
	"fmt"

	"github.com/datamesh/mesh-node/shrex/edssub"
)

func ExampleMarshal() {
	dataRoot := bytes.Repeat([]byte{0xab}, edssub.DataRootSize)
	msg, err := edssub.Marshal(42, dataRoot)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(msg), msg[:8])

	n, err := edssub.Unmarshal(msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(n.Height, bytes.Equal(n.DataRoot, dataRoot))

	_, err = edssub.Unmarshal(msg[:39])
	fmt.Println(err)
	// Output:
	// 40 [0 0 0 0 0 0 0 42]
	// 42 true
	// edssub: invalid message: 39 bytes, want 40
}
