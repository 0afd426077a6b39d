// Package nodebuilder assembles a bridge, full or light node from its home
// directory and configuration, in plain Go: an ordered list of named
// services, started in order (an error names the service) and stopped in
// reverse. The mode is decided here only; the domain packages (p2p,
// header/exchange, header/gossip, header/syncer, core) receive behaviour
// through their options and interfaces.
//
// A node's home holds config.toml (Config), data/ (its Badger database:
// headers, and squares for bridge and full nodes) and keys/p2p-key (its
// libp2p identity).
//
// Bridge: Badger → p2p host → header-ex server → header-sub → core
// follower, which stores each block's header and square and publishes the
// header.
//
// Light and full: Badger → p2p host → header-ex server and client →
// header store initialised from the trusted hash or height, or the head
// the bootstrap peers agree on → syncer → header-sub, whose messages the
// syncer verifies before they are forwarded.
package nodebuilder
