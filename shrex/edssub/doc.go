// Package edssub is eds-sub: the pubsub topic
// /datamesh/<network>/eds-sub/v0.1.0 (TopicID) on which bridge and full nodes
// announce "I hold the extended data square for (height, data root)", so
// that nodes fetching a square over shrex know whom to ask first.
//
// Every message is exactly MessageSize (40) bytes: the height as a
// big-endian uint64, then the 32-byte data root (Marshal, Unmarshal).
// Anything else, including height 0, is rejected and its sender reported to
// the PeerBlocker. A well-formed notification from another peer then goes to
// the optional Validator (for example: does DataRoot match the header we
// hold at Height?): nil accepts it (it is forwarded and delivered to every
// Subscription), an error wrapping ErrIgnore drops it without penalty, and
// any other error rejects it and reports the sender. Messages published
// through this EdsSub skip the Validator and are not delivered to its
// Subscriptions.
//
//	es, err := edssub.New(node.PubSub(), network,
//		edssub.WithValidator(checkAgainstHeaderStore),
//		edssub.WithPeerBlocker(node), edssub.WithLogger(log))
//	err = es.Start(ctx)
//	sub, err := es.Subscribe()
//	for {
//		n, err := sub.Next(ctx) // n.Height, n.DataRoot, n.From
//		...
//	}
//	err = es.Publish(ctx, height, dataRoot) // once the square is stored
//
// # Gossipsub, not a separate floodsub router
//
// Celestia runs its shrex-sub on a separate floodsub router. This package
// joins the topic on the node's one gossipsub router (p2p.Node.PubSub),
// because a second, floodsub PubSub on the same host cannot coexist with it: go-libp2p-pubsub
// registers a stream handler per protocol ID, gossipsub's protocols include
// /floodsub/1.0.0 (GossipSubDefaultProtocols), and the host keeps only the
// last handler registered for an ID, so whichever router started second
// would silently take every inbound floodsub stream from the other. Two
// routers would also each open a stream to every peer and track every
// peer's subscriptions twice. What floodsub was chosen for is kept: p2p
// runs gossipsub with flood publishing, so a node's own announcement goes to
// every peer subscribed to the topic, not only to its mesh, and gossipsub
// still speaks floodsub to floodsub-only peers.
//
// Two consequences of the node's pubsub settings (see p2p): messages carry
// no author and their ID is the SHA-256 of their content. So
// Notification.From is the peer that delivered the message (its publisher,
// or a peer that validated and forwarded it), not necessarily a holder of
// the square; a consumer such as shrex/peers treats it as a hint and forgets
// a peer that answers "not found". And the same (height, data root)
// published by two nodes is one message: within pubsub's seen-messages
// window (two minutes by default) the second Publish is dropped, silently,
// by every node that saw the first, including the publisher itself if it
// received the first one.
package edssub
