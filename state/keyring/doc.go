// Package keyring is mesh-node's devnet keyring: secp256k1 account keys in
// a directory, one unencrypted JSON file per key
// ({"name", "address", "pub_key", "priv_key"}, keys in hex), mode 0600 in a
// 0700 directory. Add writes each file whole through a temporary file (a
// crash or a failed write leaves no partial key) and never over an
// existing one. The state package's Client signs with its keys; the
// mesh-node keys commands manage it.
package keyring
