package precompile_test

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/datamesh/mesh-node/interop/ethereum/precompile"
	"github.com/datamesh/mesh-node/kzg"
)

func ExampleRun() {
	blob, err := kzg.EncodeChunk([]byte("hello, Ethereum"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := kzg.BlobToCommitment(blob)
	if err != nil {
		fmt.Println(err)
		return
	}
	var z [32]byte
	z[31] = 7
	proof, y, err := kzg.ComputeProof(blob, z)
	if err != nil {
		fmt.Println(err)
		return
	}
	vh := kzg.VersionedHash(c)
	input := slices.Concat(vh[:], z[:], y[:], c[:], proof[:])

	out, err := precompile.Run(input)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("field elements per blob:", new(big.Int).SetBytes(out[:32]))
	fmt.Println("modulus:", new(big.Int).SetBytes(out[32:]))

	input[63] ^= 1 // the last byte of z
	_, err = precompile.Run(input)
	fmt.Println("with z changed:", err != nil)
	// Output:
	// field elements per blob: 4096
	// modulus: 52435875175126190479447740508185965837690552500527637822603658699938581184513
	// with z changed: true
}
