package nodebuilder

import (
	"testing"

	"github.com/datamesh/mesh-node/p2p"
)

func TestModeLimits(t *testing.T) {
	var prevMem int64
	var prevConns int
	for _, m := range []Mode{Light, Full, Bridge} {
		l, ok := p2pLimits(m)
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
	if _, ok := p2pLimits(Mode("x")); ok {
		t.Fatal("invalid mode has limits")
	}
}

// Each mode's p2p settings: bridge and full nodes serve squares (DHT
// servers advertising RendezvousFull), full and light nodes look for them,
// a light node only asks; p2p.conn_low and conn_high override the mode's
// watermarks.
func TestP2PConfigPerMode(t *testing.T) {
	for _, tc := range []struct {
		mode                    Mode
		server, exchange        bool
		advertise, discover     string
		low, high, discoverPeer int
	}{
		{Bridge, true, true, p2p.RendezvousFull, "", 400, 800, 0},
		{Full, true, true, p2p.RendezvousFull, p2p.RendezvousFull, 100, 200, 10},
		{Light, false, false, "", p2p.RendezvousFull, 25, 50, 5},
	} {
		c := DefaultConfig(tc.mode)
		c.ChainID = "devnet"
		pc := c.p2pConfig(tc.mode)
		if err := pc.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		if pc.UserAgent != "mesh-node/"+string(tc.mode) || pc.DHTServer != tc.server || pc.PeerExchange != tc.exchange ||
			pc.Advertise != tc.advertise || pc.Discover != tc.discover {
			t.Errorf("%s: %+v", tc.mode, pc)
		}
		if l := pc.Limits; l.ConnLow != tc.low || l.ConnHigh != tc.high || l.DiscoveryPeers != tc.discoverPeer {
			t.Errorf("%s: limits %+v", tc.mode, l)
		}
		c.P2P.ConnLow, c.P2P.ConnHigh = 7, 9
		if l := c.p2pConfig(tc.mode).Limits; l.ConnLow != 7 || l.ConnHigh != 9 {
			t.Errorf("%s: overridden limits %+v", tc.mode, l)
		}
	}
}
