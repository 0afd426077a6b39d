// Package meshrpc is the core node's binary fast path beside CometBFT's
// JSON RPC: three HTTP routes under Prefix, served on the same listener as
// CometBFT's RPC (core/validator mounts Handler there), that a bridge and a
// state client use instead of the JSON methods whose encoding dominated
// their CPU under load.
//
//   - GET BlockPath?height=H answers the block of height H, its commit and
//     its validator set in one protobuf message (proto/meshrpc/v1): the
//     block is written from the block store's parts as stored, so the
//     server neither decodes nor re-encodes it. FetchBlock is its client.
//   - POST BroadcastTxPath with the raw transaction as the body answers
//     what CometBFT's broadcast_tx_sync would (BroadcastResult, JSON).
//   - GET TxPath?hash=HEX answers an included transaction's result without
//     its bytes (TxStatus, JSON), or 404 with Error.NotFound set.
//
// Every answer of these routes carries the header VersionHeader, so a
// client tells a core node that does not serve them (a plain 404, no
// header: ErrNotServed) from an answer of the routes, and falls back to
// the JSON RPC.
package meshrpc
