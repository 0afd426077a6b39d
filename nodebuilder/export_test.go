package nodebuilder

import (
	"github.com/datamesh/mesh-node/p2p"
)

// P2PConfig is the p2p configuration nodebuilder gives a node of mode on
// chainID with the default configuration.
func P2PConfig(mode Mode, chainID string) p2p.Config {
	c := DefaultConfig(mode)
	c.ChainID = chainID
	return c.p2pConfig(mode)
}
