// Package eds owns the extended data square (EDS) of a block and the header
// that commits to it, byte-compatible with Celestia (spec/formats.md sections
// 5 to 7):
//
//   - Extend turns a k×k original data square (ODS) of 512-byte shares into
//     the 2k×2k ExtendedDataSquare, with the Leopard Reed–Solomon code of
//     klauspost/reedsolomon (GF(2^8) for k ≤ 128, GF(2^16) above);
//   - ExtendedDataSquare.RowRoots and ColRoots are the namespaced Merkle
//     roots of its rows and columns, with parity cells under the parity
//     namespace;
//   - NewDAH builds the DataAvailabilityHeader from those roots; its Hash
//     is the block's data root, and MarshalBinary / UnmarshalDAH are its
//     protobuf wire encoding;
//   - Repair rebuilds a square from any sufficient subset of its shares,
//     checking every row and column against the header, and reports a
//     square that contradicts its header as *ErrByzantineData, the evidence
//     for a bad-encoding fraud proof.
//
// A typical producer (a bridge node, the square builder in the core
// application) calls Extend then NewDAH and commits dah.Hash(); a consumer
// that fetched shares from peers calls Repair with the header it verified.
//
// Extension and root computation run on GOMAXPROCS goroutines, which they
// start and wait for within the call. An ExtendedDataSquare is immutable once
// built and safe for concurrent use; shares it returns alias its single
// buffer and must not be modified.
//
// The package keeps one process-wide cache: one Reed–Solomon encoder per
// square width, built on first use (as rsmt2d does).
package eds
