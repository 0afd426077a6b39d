package nodebuilder

import (
	"github.com/datamesh/mesh-node/p2p"
)

// p2pConfig is the p2p package's configuration for c and mode: what the
// mode asks of the host, which p2p takes as explicit settings.
//
// Bridge and full nodes serve whole squares: they are DHT servers (they
// answer queries and hold advertisements), exchange gossipsub peers and
// advertise themselves under p2p.RendezvousFull. Full and light nodes look
// that rendezvous up to find peers to fetch from. A light node only asks:
// it is a DHT client without peer exchange. Each mode has the limits of
// p2pLimits, p2p.conn_low and p2p.conn_high overriding its watermarks.
// An unknown mode gets no limits, which p2p refuses.
func (c Config) p2pConfig(mode Mode) p2p.Config {
	limits, _ := p2pLimits(mode)
	if c.P2P.ConnLow > 0 {
		limits.ConnLow = c.P2P.ConnLow
	}
	if c.P2P.ConnHigh > 0 {
		limits.ConnHigh = c.P2P.ConnHigh
	}
	pc := p2p.Config{
		Network:        c.ChainID,
		UserAgent:      "mesh-node/" + string(mode),
		DHTServer:      mode != Light,
		PeerExchange:   mode != Light,
		Limits:         limits,
		ListenAddrs:    c.P2P.ListenAddresses,
		AnnounceAddrs:  c.P2P.AnnounceAddresses,
		BootstrapPeers: c.P2P.BootstrapPeers,
		BlockedPeers:   c.P2P.BlockedPeers,
	}
	if mode == Bridge || mode == Full {
		pc.Advertise = p2p.RendezvousFull
	}
	if mode == Full || mode == Light {
		pc.Discover = p2p.RendezvousFull
	}
	return pc
}

// p2pLimits returns mode's connection and resource limits; ok is false for
// an unknown mode. Every mode keeps new connections for
// p2p.DefaultConnGrace.
//
//   - light: 25/50 connections, 128 MiB and 256 FDs, 5 discovered peers. At
//     128 MiB rcmgr uses its base limits unscaled: 128 system connections
//     (64 inbound), 128 MiB of stream buffers. A light node talks to a
//     handful of full nodes and a bridge; it must not grow on a laptop.
//   - full: 100/200 connections, 1 GiB and 2048 FDs, 10 discovered peers:
//     256 system connections (128 inbound). A full node serves light nodes
//     and fetches from peers.
//   - bridge: 400/800 connections, 8 GiB and 8192 FDs: 1152 system
//     connections (576 inbound). A bridge is the first source of every
//     square for the whole network; its memory cap is an accounting
//     ceiling, not an allocation. It looks for no peers.
func p2pLimits(mode Mode) (l p2p.Limits, ok bool) {
	switch mode {
	case Light:
		return p2p.Limits{ConnLow: 25, ConnHigh: 50, ConnGrace: p2p.DefaultConnGrace, Memory: 128 << 20, FDs: 256, DiscoveryPeers: 5}, true
	case Full:
		return p2p.Limits{ConnLow: 100, ConnHigh: 200, ConnGrace: p2p.DefaultConnGrace, Memory: 1 << 30, FDs: 2048, DiscoveryPeers: 10}, true
	case Bridge:
		return p2p.Limits{ConnLow: 400, ConnHigh: 800, ConnGrace: p2p.DefaultConnGrace, Memory: 8 << 30, FDs: 8192}, true
	}
	return p2p.Limits{}, false
}
