package rollup_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/datamesh/mesh-node/rollup"
)

// A sequencer signs and encodes a block; a follower decodes the blob and
// checks the signature against the genesis sequencer key.
func ExampleDecodeBlock() {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	txs := [][]byte{[]byte(`{"type":"set","key":"foo","value":"bar"}`)}
	blk := &rollup.Block{
		Header: rollup.Header{ChainID: "kv-demo", Height: 1, Time: time.Unix(1800000000, 0).UTC(),
			ParentHash: make([]byte, rollup.HashSize), DataHash: rollup.DataHash(txs), StateRoot: bytes.Repeat([]byte{1}, 32)},
		Txs: txs,
	}
	if err := blk.Header.Sign(key); err != nil {
		panic(err)
	}
	blob, err := blk.Encode()
	if err != nil {
		panic(err)
	}

	got, err := rollup.DecodeBlock(blob)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Header.Height, string(got.Txs[0]), got.Header.VerifySignature(key.Public().(ed25519.PublicKey)))
	_, err = rollup.DecodeBlock([]byte("someone else's blob"))
	fmt.Println(err)
	// Output:
	// 1 {"type":"set","key":"foo","value":"bar"} <nil>
	// rollup: not a rollup block
}
