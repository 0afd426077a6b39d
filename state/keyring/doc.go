// Package keyring is mesh-node's devnet keyring: secp256k1 account keys in
// a directory, one unencrypted JSON file per key
// ({"name", "address", "pub_key", "priv_key"}, keys in hex), mode 0600 in a
// 0700 directory. The state package's Client signs with its keys; the
// mesh-node keys commands manage it.
package keyring
