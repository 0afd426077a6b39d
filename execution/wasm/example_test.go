package wasm_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/datamesh/mesh-node/execution/wasm"
)

// Deploy the example counter and call its increment method twice.
func Example() {
	ctx := context.Background()
	vm, err := wasm.New(ctx, wasm.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer vm.Close(ctx)
	code, err := os.ReadFile("testdata/counter.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	counter, err := vm.Deploy(ctx, code)
	if err != nil {
		fmt.Println(err)
		return
	}
	store := &wasm.MemStorage{}
	for range 2 {
		r, err := vm.Call(ctx, wasm.Call{Code: counter.Code, Method: "increment", Storage: store, GasLimit: 100_000})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("count", binary.LittleEndian.Uint64(r.Output), "gas", r.GasUsed)
	}
	// Output:
	// count 1 gas 2925
	// count 2 gas 2935
}
