package p2p

import (
	"fmt"
	"unicode"

	"github.com/libp2p/go-libp2p/core/protocol"
)

// DefaultPort is the TCP and UDP (QUIC) port a node listens on when
// Config.ListenAddrs is nil.
const DefaultPort = 2121

// MaxNetworkLen bounds the length, in bytes, of a network ID.
const MaxNetworkLen = 64

// RendezvousFull is the discovery namespace of "a node that serves whole
// squares", for Config.Advertise and Config.Discover (nodebuilder chooses
// which nodes advertise it and which look it up).
const RendezvousFull = "full"

// ProtocolID returns the libp2p protocol ID of the protocol name on network:
// "/datamesh/<network>/<name>". ProtocolID("mocha", "shrex/v0.1.0/sample")
// is "/datamesh/mocha/shrex/v0.1.0/sample". It does not validate its
// arguments; Config.Validate checks the network a node runs on.
func ProtocolID(network, name string) protocol.ID {
	return protocol.ID(TopicID(network, name))
}

// TopicID returns the pubsub topic name for name on network, in the same
// form as ProtocolID: "/datamesh/<network>/<name>".
func TopicID(network, name string) string {
	return networkPrefix(network) + "/" + name
}

// networkPrefix is the prefix of every protocol, topic and the DHT of
// network: "/datamesh/<network>".
func networkPrefix(network string) string {
	return "/datamesh/" + network
}

// DefaultListenAddrs returns the addresses a node listens on when
// Config.ListenAddrs is nil: TCP and QUIC (v1) on DefaultPort, on every IPv4
// and IPv6 interface. The caller owns the returned slice.
func DefaultListenAddrs() []string {
	return []string{
		fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", DefaultPort),
		fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", DefaultPort),
		fmt.Sprintf("/ip6/::/tcp/%d", DefaultPort),
		fmt.Sprintf("/ip6/::/udp/%d/quic-v1", DefaultPort),
	}
}

// ValidateNetwork reports whether network can be used as a network ID: it
// must be non-empty, at most MaxNetworkLen bytes, and contain no '/' and no
// whitespace or control characters, since it becomes one element of every
// protocol ID. The error wraps ErrInvalidConfig.
func ValidateNetwork(network string) error {
	switch {
	case network == "":
		return fmt.Errorf("%w: empty network ID", ErrInvalidConfig)
	case len(network) > MaxNetworkLen:
		return fmt.Errorf("%w: network ID is %d bytes, more than %d", ErrInvalidConfig, len(network), MaxNetworkLen)
	}
	for _, r := range network {
		if r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%w: network ID %q contains %q", ErrInvalidConfig, network, r)
		}
	}
	return nil
}
