package p2p_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/p2p"
)

const testPeerID = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

func TestConfigValidate(t *testing.T) {
	good := p2p.Config{
		Network:        "devnet-1",
		Mode:           p2p.ModeFull,
		ListenAddrs:    []string{"/ip4/127.0.0.1/tcp/0"},
		AnnounceAddrs:  []string{"/ip4/1.2.3.4/tcp/2121"},
		BootstrapPeers: []string{"/ip4/127.0.0.1/tcp/2121/p2p/" + testPeerID},
		BlockedPeers:   []string{testPeerID},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mutate := range map[string]func(*p2p.Config){
		"empty network":          func(c *p2p.Config) { c.Network = "" },
		"network with slash":     func(c *p2p.Config) { c.Network = "a/b" },
		"network with space":     func(c *p2p.Config) { c.Network = "a b" },
		"network too long":       func(c *p2p.Config) { c.Network = strings.Repeat("n", 65) },
		"empty mode":             func(c *p2p.Config) { c.Mode = "" },
		"bad mode":               func(c *p2p.Config) { c.Mode = "archive" },
		"bad listen addr":        func(c *p2p.Config) { c.ListenAddrs = []string{"127.0.0.1:2121"} },
		"empty listen list":      func(c *p2p.Config) { c.ListenAddrs = []string{} },
		"bad announce addr":      func(c *p2p.Config) { c.AnnounceAddrs = []string{"/ip4/1.2.3.4/tcp"} },
		"announce with p2p":      func(c *p2p.Config) { c.AnnounceAddrs = good.BootstrapPeers },
		"bootstrap without /p2p": func(c *p2p.Config) { c.BootstrapPeers = []string{"/ip4/127.0.0.1/tcp/2121"} },
		"bootstrap bad multiaddr": func(c *p2p.Config) {
			c.BootstrapPeers = []string{"/ip4/127.0.0.1/tcpp/2121/p2p/" + testPeerID}
		},
		"bad blocked peer": func(c *p2p.Config) { c.BlockedPeers = []string{"not-a-peer-id"} },
		"low above high":   func(c *p2p.Config) { c.ConnLow, c.ConnHigh = 10, 5 },
		"negative limit":   func(c *p2p.Config) { c.ConnHigh = -1 },
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
		c := p2p.Config{Network: "n", Mode: p2p.ModeLight, ListenAddrs: []string{a}}
		if err := c.Validate(); err != nil {
			t.Fatalf("default listen addr %s: %v", a, err)
		}
	}
}

func TestModeLimits(t *testing.T) {
	var prevMem int64
	var prevConns int
	for _, m := range []p2p.Mode{p2p.ModeLight, p2p.ModeFull, p2p.ModeBridge} {
		l, ok := m.Limits()
		if !ok {
			t.Fatalf("%s: no limits", m)
		}
		sys := l.ResourceLimits().ToPartialLimitConfig().System
		mem, conns := int64(sys.Memory), int(sys.Conns)
		if mem <= prevMem || conns <= prevConns {
			t.Fatalf("%s: system memory %d, conns %d not above the smaller mode's %d, %d", m, mem, conns, prevMem, prevConns)
		}
		if conns <= l.ConnHigh {
			t.Fatalf("%s: rcmgr allows %d connections, not above ConnHigh %d", m, conns, l.ConnHigh)
		}
		if l.ConnLow >= l.ConnHigh || l.ConnGrace <= 0 {
			t.Fatalf("%s: bad conn limits %+v", m, l)
		}
		prevMem, prevConns = mem, conns
	}
	if _, ok := p2p.Mode("x").Limits(); ok {
		t.Fatal("invalid mode has limits")
	}
}
