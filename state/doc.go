// Package state signs transactions with a keyring key and submits them to a
// core node's CometBFT RPC: transfers and PayForBlobs, with the signer's
// nonce tracked across concurrent submissions, and balance queries. It is
// the state.* JSON-RPC module and blob.Submit's submitter; its types have
// the JSON shapes of celestia-node's state package.
//
// A Client (New, then Start) selects the signing key per transaction
// (TxConfig.KeyName, else TxConfig.SignerAddress, else Options.DefaultKey),
// signs with the chain ID and params it queries once, broadcasts with
// BroadcastTxSync and polls the node until a block includes the
// transaction. Per key, signing and broadcasting are serialized and the
// next nonce is kept locally, so that concurrent submissions pipeline: each
// waits for its own inclusion without holding the key. A nonce the chain
// rejects (a transaction signed elsewhere, one dropped from the mempool) is
// corrected from the application's log or the /account query, and the
// transaction re-signed once.
//
// The keys live in the subpackage keyring, a directory of unencrypted
// secp256k1 keys for devnets.
package state
