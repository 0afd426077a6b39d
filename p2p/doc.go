// Package p2p runs a node's libp2p host: its persistent identity, listen and
// announce addresses, connection and resource limits, bootstrap peers, the
// Kademlia DHT, gossipsub, rendezvous discovery and peer blocking. Every
// protocol ID and topic a DataMesh node uses is prefixed with its network
// ID (see ProtocolID and TopicID).
package p2p

import (
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-kad-dht"
	_ "github.com/libp2p/go-libp2p-pubsub"
)
