package wasm

import "embed"

// Examples holds the example contracts of testdata, each compiled module
// beside its WAT source: testdata/counter.wasm and .wat, testdata/token.wasm
// and .wat (testdata/README.md says how they were built). `mesh-node rollup
// new --vm wasm` writes the token into the modules it scaffolds.
//
//go:embed testdata/counter.wasm testdata/counter.wat testdata/token.wasm testdata/token.wat
var Examples embed.FS
