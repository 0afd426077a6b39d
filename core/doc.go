// Package core is the bridge's side of a DataMesh core node: it follows a
// CometBFT node running the DataMesh application (core/app, which this
// package does not import) and turns each committed block into a verified
// extended header and its data square, stored together.
//
// # Building a header
//
// BuildHeader is pure (no I/O, no clock): a block, its commit and the
// validator set that signed it in; the validated header.ExtendedHeader and
// the extended data square out. The block's transactions must hash to its
// DataHash and end with the data root transaction; the others are laid out
// with share.Construct within the chain's max square size, extended
// (eds.Extend) and their DAH (eds.NewDAH) must be the one the data root
// transaction commits to. Any failure wraps ErrMalformedBlock and names the
// height.
//
// BuildHeaderFrom makes the same header from a block and the extended
// square already built for it (by the application that accepted the
// block, in the same process): it checks the transactions' hash, the data
// root transaction and that the square's DAH is the one it commits to,
// without laying out, extending or hashing the square; a square that is
// not the block's is refused with ErrSquareMismatch.
//
// # Following a core node
//
// A Follower (New, Start, Stop) connects to the core node's RPC, refuses a
// node whose chain ID is not Options.ChainID (ErrChainIDMismatch), and for
// every height from its store's head+1 to the node's latest height fetches
// block, commit and validator set, builds the header, verifies it against
// the stored header below it (header.VerifyAdjacent), stores header and
// square (Store.Ingest, which writes the original square to its file while
// the square is extended; Store.Put for a square handed over) and calls
// Options.OnHeader. A websocket subscription to
// new block headers wakes it; it also polls every Options.PollInterval, so a
// lost subscription costs latency, not blocks. Any RPC error, or a node
// whose height has not moved for Options.StallTimeout, drops the connection;
// it reconnects with exponential backoff and resumes from its store's head,
// so neither a restarted core node nor a restarted follower leaves a gap or
// a duplicate. Start fails (and starts nothing) when the node cannot be
// reached or serves another chain; Stop returns once the follower's
// goroutine and the client it owns have stopped. A malformed block is logged
// and retried, never stored: the follower stays at the height below it.
//
// The follower trusts the core node it runs beside: the first header it
// stores is only validated (signatures of its own validator set), and each
// later one is verified as adjacent to the stored one below it, with a
// trusting period of FollowerTrustingPeriod unless Options.Verify sets one.
// Each RPC response is read up to Options.MaxResponseBytes.
//
// A height's block, commit and validator set come in one protobuf answer
// of the core node's binary block route (package meshrpc), which skips
// CometBFT's JSON encoding of the block's transactions on both sides. A
// core node that does not serve the route (a plain 404) is asked once per
// connection; the follower then uses /block, /commit and /validators. A
// height may take three times Options.RequestTimeout to fetch.
//
// # Store layout
//
// Store keeps everything in the node's one Badger database (<home>/data):
//
//	"eh/h/" height -> extended header (header/store)
//	"eh/x/" hash   -> height          (header/store)
//	"eh/head"      -> head height      (header/store)
//	"ods/" height  -> reference to the original square's file (eds/store)
//	"core/squares-pruned-below" -> height (PruneSquares)
//
// The original square itself, k*k shares, is a file of its own under
// <home>/data/squares (eds/store StartWrite), written and synced before
// the transaction that references it commits; in an in-memory database it
// is the "ods/" value itself.
//
// Heights are 8-byte big-endian. Only the original square is stored; the
// parity half is recomputed with eds.Extend when EDS or GetBlob needs it,
// and the most recent extended squares are cached (a bounded LRU). GetBlob
// finds a blob by height, namespace and share commitment and returns it with
// the namespace's data and proofs (eds.NamespaceData), which verify against
// the stored header's DAH.
//
// # Crash consistency
//
// Store.Put and Store.Ingest write the square's reference, the header, its
// hash index and the new head in one Badger transaction (header/store's
// AppendWith), after the square's file is complete and synced; a file whose
// transaction failed is removed, and one a crash left without a reference
// is invisible (reads go through the reference) and removed by the next
// PruneSquares. Badger commits a
// transaction as one write-ahead-log batch and replays only complete
// batches on open, so after a crash, a full disk or any failed write either
// all four keys exist or none does: no header without its square, no square
// without its header. Store.Check verifies that invariant by scanning the
// store; the one exception is pruning: Store.PruneSquares (driven by
// das.Pruner) deletes the squares that left the availability window,
// keeping their headers and always the head's square, and records the
// height it pruned below so that Check accepts those headers.
package core
