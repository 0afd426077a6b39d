// Package gossip is header-sub: the gossipsub topic
// /datamesh/<network>/header-sub/v0.1.0 (TopicID) on which nodes announce
// new extended headers, each message a header's wire encoding
// (header.ExtendedHeader.MarshalBinary).
//
// A Gossip joins the topic on Start, registers a topic validator and keeps a
// subscription that it drains: gossipsub only validates and forwards
// messages of topics the node subscribes to. Every message is checked before
// it is forwarded, in this order:
//
//  1. size (at most header.MaxExtendedHeaderSize), decoding,
//     ExtendedHeader.Validate and the chain ID: a failure rejects the message
//     and reports the peer that sent it to the PeerBlocker;
//  2. the Verifier, for messages not published through this Gossip's own
//     Publish: nil accepts (the message is forwarded), an error wrapping
//     ErrIgnore drops it without penalty, any other error rejects it and
//     reports the sender. A Verifier cut short by its context (the validator
//     timeout or shutdown) ignores the message.
//
// The Verifier is the consumer: headers that pass go nowhere else. A node
// wires its syncer's Incoming method as the Verifier, so a header is
// forwarded only once the syncer has verified it against its own chain:
//
//	g, err := gossip.New(ps, network, s.Incoming, gossip.WithPeerBlocker(node), gossip.WithLogger(log))
//	...
//	err = g.Start(ctx) // after the syncer has a head
//
// A bridge publishes each header it stores as its head with Publish; its own
// messages skip the Verifier (the header is already stored) but not the
// checks of step 1, so Publish fails for a header other nodes would reject.
package gossip
