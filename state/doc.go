// Package state signs transactions with a keyring key and submits them to a
// core node's CometBFT RPC: transfers and PayForBlobs, with the signer's
// nonce tracked across concurrent submissions, and balance queries. It is
// the state.* JSON-RPC module and blob.Submit's submitter; its types have
// the JSON shapes of celestia-node's state package.
package state
