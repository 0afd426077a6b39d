// Package blob is the blob service behind the JSON-RPC blob.* methods:
// submitting blobs (through a Submitter, the state client), reading them back
// from a height and namespace, proving their inclusion, and following a
// namespace as new headers arrive. Its types have the JSON shapes of
// celestia-node's blob package, so clients written for celestia-node decode
// them unchanged.
package blob
