package p2p_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/p2p"
)

const testPeerID = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

func TestConfigValidate(t *testing.T) {
	good := on("devnet-1", fullRole)
	good.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	good.AnnounceAddrs = []string{"/ip4/1.2.3.4/tcp/2121"}
	good.BootstrapPeers = []string{"/ip4/127.0.0.1/tcp/2121/p2p/" + testPeerID}
	good.BlockedPeers = []string{testPeerID}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mutate := range map[string]func(*p2p.Config){
		"empty network":          func(c *p2p.Config) { c.Network = "" },
		"network with slash":     func(c *p2p.Config) { c.Network = "a/b" },
		"network with space":     func(c *p2p.Config) { c.Network = "a b" },
		"network too long":       func(c *p2p.Config) { c.Network = strings.Repeat("n", 65) },
		"no limits":              func(c *p2p.Config) { c.Limits = p2p.Limits{} },
		"no memory limit":        func(c *p2p.Config) { c.Limits.Memory = 0 },
		"discover without peers": func(c *p2p.Config) { c.Limits.DiscoveryPeers = 0 },
		"bad listen addr":        func(c *p2p.Config) { c.ListenAddrs = []string{"127.0.0.1:2121"} },
		"empty listen list":      func(c *p2p.Config) { c.ListenAddrs = []string{} },
		"bad announce addr":      func(c *p2p.Config) { c.AnnounceAddrs = []string{"/ip4/1.2.3.4/tcp"} },
		"announce with p2p":      func(c *p2p.Config) { c.AnnounceAddrs = good.BootstrapPeers },
		"bootstrap without /p2p": func(c *p2p.Config) { c.BootstrapPeers = []string{"/ip4/127.0.0.1/tcp/2121"} },
		"bootstrap bad multiaddr": func(c *p2p.Config) {
			c.BootstrapPeers = []string{"/ip4/127.0.0.1/tcpp/2121/p2p/" + testPeerID}
		},
		"bad blocked peer": func(c *p2p.Config) { c.BlockedPeers = []string{"not-a-peer-id"} },
		"low above high":   func(c *p2p.Config) { c.Limits.ConnLow, c.Limits.ConnHigh = 10, 5 },
		"negative limit":   func(c *p2p.Config) { c.Limits.ConnHigh = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			err := c.Validate()
			if !errors.Is(err, p2p.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			if !strings.HasPrefix(err.Error(), "p2p: ") {
				t.Fatalf("error %q lacks the p2p: prefix", err)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	if got := p2p.ProtocolID("mocha", "shrex/v0.1.0/sample"); got != "/datamesh/mocha/shrex/v0.1.0/sample" {
		t.Fatalf("ProtocolID = %q", got)
	}
	if got := p2p.TopicID("mocha", "header-sub/v0.1.0"); got != "/datamesh/mocha/header-sub/v0.1.0" {
		t.Fatalf("TopicID = %q", got)
	}
	for _, a := range p2p.DefaultListenAddrs() {
		c := on("n", lightRole)
		c.ListenAddrs = []string{a}
		if err := c.Validate(); err != nil {
			t.Fatalf("default listen addr %s: %v", a, err)
		}
	}
}
