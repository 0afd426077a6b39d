package state_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
	"github.com/datamesh/mesh-node/state/keyring"
)

// A rollup publishes two blobs in one PayForBlobs with the default key and
// learns the height of the block that includes them.
func ExampleClient_SubmitPayForBlob() {
	ctx := context.Background()
	c, err := state.New(state.Options{
		RPC:        "http://127.0.0.1:26657",
		Keyring:    keyring.New(filepath.Join("home", "keys")),
		DefaultKey: "dev",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Stop(ctx) }()

	var blobs []*share.Blob
	for _, id := range []string{"rollup-a", "rollup-b"} {
		ns, err := share.NewV0Namespace([]byte(id))
		if err != nil {
			fmt.Println(err)
			return
		}
		b, err := share.NewBlob(ns, []byte("block data of "+id), share.ShareVersionZero, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		blobs = append(blobs, b)
	}
	res, err := c.SubmitPayForBlob(ctx, blobs, &state.TxConfig{MaxGasPrice: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("included at height", res.Height, "in", res.TxHash)
}
