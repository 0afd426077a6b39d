module github.com/datamesh/mesh-node

go 1.26

require (
	github.com/celestiaorg/go-square/merkle v0.0.0-20240117232118-fd78256df076
	github.com/celestiaorg/go-square/v3 v3.0.2
	github.com/celestiaorg/nmt v0.24.3
	github.com/celestiaorg/rsmt2d v0.15.2
	github.com/klauspost/reedsolomon v1.14.2
	google.golang.org/protobuf v1.36.9
)

require (
	github.com/celestiaorg/merkletree v0.0.0-20210714075610-a84dc3ddbbe4 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/klauspost/cpuid/v2 v2.3.0 // indirect
	golang.org/x/exp v0.0.0-20250911091902-df9299821621 // indirect
	golang.org/x/sync v0.17.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
