// Package share owns DataMesh's data-layer formats below the extended square
// (docs/formats.md sections 1–4), byte-compatible with Celestia's:
//
//   - namespaces (Namespace, the reserved namespaces);
//   - shares (Share, InfoByte): 512-byte cells of the original data square,
//     sparse for blobs, compact for transactions, and padding;
//   - blobs (Blob) and their share commitment (Blob.Commitment), which
//     rollups use to prove inclusion;
//   - the splitters from blobs and transactions to shares (Blob.Shares,
//     SplitCompact, the padding shares) and the helpers of the blob share
//     commitment rules (SubTreeWidth, NextShareIndex, ...);
//   - the wire formats of BlobTx and IndexWrapper (proto/blob/v1/blob.proto);
//   - the square builder (Builder, Build for proposers, Construct for
//     validators) and its inverse, ParseSquare, with the readers of one
//     namespace's run of shares, ParseBlobs and ParseCompact.
//
// Everything here is pure computation without I/O. Erasure coding, roots
// and the data availability header live in package eds.
//
// # Building a square
//
// A proposer calls Build with its prioritised transactions and gets the
// square and the transactions that fit; a validator calls Construct with the
// proposed transactions and gets the same square or an error. Both follow
// go-square v3 (Celestia app versions 6 and 7) exactly, since the data root
// is computed from the square's bytes.
//
// # Why the wire formats are hand-written
//
// BlobTx and IndexWrapper are encoded and decoded with
// google.golang.org/protobuf/encoding/protowire rather than generated code.
// Their encoding is consensus-critical: the IndexWrapper bytes go into the
// square and so into the data root, and whether a transaction is a BlobTx
// decides where it goes. Hand-written code keeps the encoding byte-exact and
// deterministic without depending on a runtime's marshalling choices, and
// decodes untrusted mempool and block bytes with explicit size limits, no
// reflection and no allocation before the input has been checked. The
// decoder accepts exactly what the Go protobuf runtime accepts, so nodes
// classify bytes the same way Celestia nodes do.
package share
