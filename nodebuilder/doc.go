// Package nodebuilder assembles a bridge, full or light node from its home
// directory and configuration, in plain Go: an ordered list of named
// services, started in order (an error names the service; each start is
// bounded by a timeout) and stopped in reverse. The mode is decided here
// only; the domain packages receive behaviour through their options and
// interfaces.
//
// A node's home holds config.toml (Config), lock (held while a node runs:
// ErrHomeLocked), data/ (its Badger database: headers, sampling results,
// and on bridge and full nodes squares and the blob commitment index) and
// keys/ (the libp2p identity p2p-key, the API's jwt-secret and the
// transaction key state.key_name). New refuses a home whose parts do not
// fit together before it writes anything: a damaged p2p-key, a missing one
// while data/ holds a store (ErrIdentityMissing; Options.NewIdentity
// accepts a new peer ID) and a store of another chain than chain_id
// (ErrChainMismatch; the store records its chain on its first open).
//
// Each service is built from the dependencies it is handed, after them
// (the DASer before the syncer that feeds it heads); the start order is
// the list below. The mode's p2p settings (DHT role, rendezvous, limits)
// are computed here and handed to p2p, which has no notion of a mode.
//
// Every mode: metrics (when metrics.address is set) → p2p host →
// header-ex server → ... → the API services (state client when core.rpc is
// set, blob index on bridge and full) → the JSON-RPC server, last, so it
// answers once the node runs.
//
// Bridge: header-sub → eds-sub → shrex server → core follower, which
// stores each block's header and square, publishes and announces them and
// indexes their blobs → pruner.
//
// Light and full: header-ex client → header store initialised from the
// trusted hash or height, or the head the bootstrap peers agree on →
// syncer → header-sub, whose messages the syncer verifies before they are
// forwarded → eds-sub → square announcements → sampling (light) or
// fetching, storing, serving and indexing every square (full, with the
// shrex server and the pruner).
package nodebuilder
