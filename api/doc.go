// Package api is mesh-node's JSON-RPC 2.0 API over HTTP and WebSocket
// (port 26658): the blob, header, share, das, state, p2p, node and fraud
// modules with celestia-node's method names, parameter order, JSON shapes and
// error strings, so clients written for celestia-node work unchanged, and
// mesh-node's kzg module (kzg.Commit: the EIP-4844 commitments of data);
// and the blobstream module: celestia-node's tuple roots and proofs, and
// mesh-node's attestations and SharesProofs, read from a core node through
// the Attestations interface and checked (signatures, thresholds, tuple
// roots against the node's headers) before they are served
// (blobstream_attest.go).
// Calls carry a JWT (HS256) whose permissions (read, write, admin) each
// method checks. The modules are thin: they call the domain packages
// through interfaces this package declares, which nodebuilder fills.
//
// # Server
//
// NewServer takes the modules (BlobModule, HeaderModule, ShareModule,
// StateModule, DASModule, P2PModule, NodeModule, FraudModule, KZGModule,
// DatasetModule, BlobstreamModule)
// and registers them with
// go-jsonrpc under their namespaces; Start serves HTTP POST and WebSocket
// upgrades on "/" and Stop ends both. Each module declares in one table,
// beside its methods, the permission each method needs (and which methods
// are heavy); NewServer refuses a module whose table does not name exactly
// its exported methods.
//
// Authentication: a request carries "Authorization: Bearer <token>" (or,
// for browsers' WebSockets, a "token" query parameter). A missing or
// invalid token is refused with HTTP 401 before any method runs. (Where
// celestia-node lets a call without a token through with no permission,
// we refuse it outright.) With ServerOptions.SkipAuth every call gets
// every permission. Each method then checks the permission of its table
// entry with the caller's context (so direct Go calls are checked too) and
// fails with go-jsonrpc's message "missing permission to invoke 'Submit'
// (need 'write')".
//
// Limits: an HTTP body and a WebSocket message are bounded by
// MaxRequestBytes (HTTP 413 with a JSON-RPC error; the WebSocket is
// closed). A JSON-RPC batch (an array of calls over HTTP) is served in
// order by go-jsonrpc, up to MaxBatch calls. A panic in a method becomes
// a JSON-RPC error (go-jsonrpc recovers it).
//
// Subscriptions (blob.Subscribe, blob.SubscribeFrom, header.Subscribe,
// fraud.Subscribe) return a channel
// that go-jsonrpc streams over a WebSocket; over HTTP they fail with
// "not supported in this mode".
//
// Halting: the share, blob, das and state modules take the node's
// halting rule (ModuleOptions.Halt, a Halt: *fraud.Halt), and so does
// blobstream.GetSharesProof. Once the node
// holds a valid bad-encoding proof of block h, they refuse share and blob
// reads of heights h and above, blob.Submit, das.WaitCatchUp and the state
// methods but AccountAddress, with the Halt's error naming the proof,
// before fetching anything; header, p2p, node, fraud, kzg and
// das.SamplingStats keep answering. FraudModule serves the proofs
// themselves (fraud.Get, fraud.Subscribe) in celestia-node's JSON
// (FraudProof).
//
// Tokens: LoadOrCreateSecret keeps the node's key; NewToken and
// VerifyToken make and check tokens, whose payload is celestia-node's
// {"Allow": [...]} plus "exp" for a token with a lifetime.
//
// Package api/client is the Go client of this API.
package api
