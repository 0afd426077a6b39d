package kzg

// SetupContext is the package's go-eth-kzg context (its trusted setup), for
// benchmarks that call go-eth-kzg directly on the same setup.
var SetupContext = setup
