// Package core is the client side of a DataMesh core node: it turns the
// blocks a CometBFT node running the DataMesh application (core/app) commits
// into verified extended headers and their data squares.
//
// BuildHeader is the pure step: block, commit and validator set in, a
// validated header.ExtendedHeader and the block's extended data square out.
package core
