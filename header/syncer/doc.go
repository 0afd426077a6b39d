// Package syncer keeps a node's header store following the chain: from a
// trusted header, it fetches verified ranges of headers from the network
// (an Exchange, implemented by header/exchange) up to the highest verified
// head it knows, then follows new headers from header-sub gossip.
//
// # Start-up
//
// Init gives an empty store its first header, the trust root, fetched by
// the hash (or height) the operator trusts, or else the head the
// exchange's trusted peers agree on; a non-empty store keeps its head.
// New builds the Syncer (no I/O); Start refuses a store whose head is older
// than the trusting period (ErrTrustExpired, whose message says how to
// re-initialise) and starts the one goroutine, the sync loop:
//
//	head, err := syncer.Init(ctx, store, ex, syncer.Trust{Hash: trusted}, opts)
//	s, err := syncer.New(store, ex, opts)
//	err = s.Start(ctx)
//	g, err := gossip.New(ps, network, s.Incoming, gossip.WithPeerBlocker(node))
//	err = g.Start(ctx)
//	...
//	select { case <-s.Done(): return s.Err() ... } // a failed syncer stops the node
//
// # The loop
//
// The loop asks the exchange for the network head verifiable from the
// store's head (the target), fetches ranges of up to BatchSize headers,
// each verified adjacently from the one before, appends them, and logs its
// progress. Once at the target it waits: Incoming raises the target or
// appends the next header directly, and when gossip has been quiet for
// HeadPollInterval the loop asks the exchange again. Transient errors are
// logged and retried with a doubling backoff. Two are fatal, because the
// node cannot go on without an operator: header.ErrExpiredTrust (the
// store's head aged past the trusting period while the node was behind:
// ErrTrustExpired) and ErrFork (the synced chain does not contain a head
// that was verified against it). Then Done is closed and Err says why.
//
// The decisions (which range next, where an incoming header stands, what a
// verification error means for its sender) are made by small synchronous
// functions with no I/O; the loop and Incoming only run them.
//
// # Gossip
//
// Incoming is header-sub's gossip.Verifier: it answers, for each gossiped
// header, accept (forward), gossip.ErrIgnore (drop) or an error (drop and
// penalise the sender); see its doc for the table.
package syncer
