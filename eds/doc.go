// Package eds owns the extended data square (EDS) of a block, the header
// that commits to it, and the proofs that tie shares to that header,
// byte-compatible with Celestia (docs/formats.md sections 5 to 9):
//
//   - Extend turns a k×k original data square (ODS) of 512-byte shares into
//     the 2k×2k ExtendedDataSquare, with the Leopard Reed–Solomon code of
//     klauspost/reedsolomon (GF(2^8) for k ≤ 128, GF(2^16) above);
//   - ExtendedDataSquare.RowRoots and ColRoots are the namespaced Merkle
//     roots of its rows and columns, with parity cells under the parity
//     namespace;
//   - SquareBuilder builds the same square from its original rows given in
//     order (ReadRow from a stream, or AddRow), extending each row and
//     computing its root while the next rows arrive, then the columns and
//     the remaining roots at Finish; a full node uses it to overlap a
//     square's transfer with its verification;
//   - NewDAH builds the DataAvailabilityHeader from those roots; its Hash
//     is the block's data root, and MarshalBinary / UnmarshalDAH are its
//     protobuf wire encoding;
//   - Repair rebuilds a square from any sufficient subset of its shares,
//     checking every row and column against the header, and reports a
//     square that contradicts its header as *ErrByzantineData, the evidence
//     for a bad-encoding fraud proof, with the shares' proofs;
//   - samples (spec section 8): ExtendedDataSquare.Sample proves one cell
//     against its row or column root, Sample.Verify checks it against a
//     header; this is what light nodes ask for;
//   - namespace data: RowsWithNamespace names the rows that may hold a
//     namespace, ExtendedDataSquare.NamespaceData (or RowNamespaceData for
//     one row) returns its shares with inclusion proofs, or absence proofs,
//     and NamespaceData.Verify checks that nothing is left out;
//   - bad-encoding proofs (spec section 9): NewBadEncodingProof turns
//     Repair's evidence into a BadEncodingProof, whose Validate tells
//     whether a header commits to a badly encoded square;
//   - the shwap IDs (EdsID, RowID, SampleID, RowNamespaceDataID) that name
//     what a peer asks for.
//
// Sample, RowNamespaceData and BadEncodingProof have the protobuf encodings
// of celestia-node (MarshalBinary, and Unmarshal* functions that treat their
// input as untrusted and bound its size); the IDs have their fixed binary
// layout. The Verify and Validate methods never panic on malformed input and
// return errors wrapping an exported sentinel.
//
// A typical producer (a bridge node, the square builder in the core
// application) calls Extend then NewDAH and commits dah.Hash(); it serves
// Sample and NamespaceData from the square. A consumer verifies what it
// receives against the header it trusts, or fetches enough shares and calls
// Repair; on *ErrByzantineData it builds a BadEncodingProof for others to
// Validate.
//
// Extension and root computation run on GOMAXPROCS goroutines, which they
// start and wait for within the call (SquareBuilder's row work runs between
// its calls and ends by itself if the builder is abandoned). An ExtendedDataSquare is immutable once
// built and safe for concurrent use; shares its accessors (Share, Row, Col,
// ODS) return alias its single buffer and must not be modified, while
// samples and namespace data are copies owned by the caller. Each Sample or
// RowNamespaceData call builds the tree of one row or column (2k leaf
// hashes); nothing is cached between calls.
//
// The package keeps one process-wide cache: one Reed–Solomon encoder per
// square width, built on first use (as rsmt2d does).
package eds
