// Package p2p runs a DataMesh node's libp2p host and the networking every
// protocol package builds on.
//
// It owns:
//   - the node's identity: an Ed25519 key kept at <home>/keys/p2p-key
//     (LoadOrCreateIdentity, LoadIdentity), checked whole when loaded;
//   - the host: TCP and QUIC (v1) transports on DefaultPort, announce
//     addresses, the connection manager and resource manager with the
//     limits it is given (Config.Limits);
//   - the trusted peers (Config.BootstrapPeers): dialled at Start, protected
//     from trimming, redialled when lost;
//   - the Kademlia DHT under "/datamesh/<network>" (server or client:
//     Config.DHTServer), so nodes of different networks never share a DHT;
//   - gossipsub (flood publish, unsigned messages with content IDs), and
//     OnGraft, which tells a service the peers added to its topic's mesh;
//   - rendezvous discovery: a node advertises itself in the DHT under
//     Config.Advertise, and looks up Config.Discover and keeps a number of such
//     peers connected;
//   - the block list: BlockPeer disconnects a peer and a connection gater
//     refuses it in both directions until UnblockPeer;
//   - what an operator asks of the host (the API's p2p module):
//     Reachability, bandwidth counters (BandwidthTotals and per peer or
//     protocol), the resource manager's usage (ResourceState), gossipsub's
//     topics and their peers, and Ping.
//
// Every protocol ID and topic a DataMesh node uses is prefixed with its
// network ID: build them with ProtocolID and TopicID.
//
// It does not own any protocol: header-ex and header-sub (package header),
// shrex, bitswap register their handlers and join their topics on the host
// and pubsub this package hands them.
//
// # Use by nodebuilder
//
// This package has no notion of a node's mode (bridge, full, light).
// nodebuilder loads the key, builds a Config from the node's configuration
// and mode (the DHT role, what to advertise and look up, the limits) and
// calls New, which validates everything and builds the host without
// touching the network. It then starts the node's services in order, p2p
// first. A light node, say:
//
//	key, err := p2p.LoadOrCreateIdentity(filepath.Join(home, "keys", "p2p-key"))
//	node, err := p2p.New(key, p2p.Config{
//		Network:        chainID,
//		UserAgent:      "mesh-node/light",
//		Discover:       p2p.RendezvousFull, // a DHT client that advertises nothing
//		Limits:         p2p.Limits{ConnLow: 25, ConnHigh: 50, Memory: 128 << 20, FDs: 256, DiscoveryPeers: 5},
//		BootstrapPeers: peers,
//	}, logger)
//	err = node.Start(ctx)    // listen, dial trusted peers, DHT, gossipsub, discovery
//	// services use node.Host(), node.PubSub(), node.DHT() from here on
//	defer node.Stop(ctx)     // after the services that use it have stopped
//
// The CLI prints node.FullAddrs() so other nodes can use them as bootstrap
// peers.
package p2p
