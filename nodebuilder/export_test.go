package nodebuilder

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/das"
	dsstore "github.com/datamesh/mesh-node/dataset/store"
	edsstore "github.com/datamesh/mesh-node/eds/store"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/p2p"
	"github.com/datamesh/mesh-node/shrex/getter"
)

// What the black-box tests read of an assembled node: its services, nil
// where its mode has none.

func (n *Node) DB() *badger.DB                     { return n.db }
func (n *Node) P2P() *p2p.Node                     { return n.p2p }
func (n *Node) Headers() header.Store              { return n.headers }
func (n *Node) Store() *core.Store                 { return n.coreStore }
func (n *Node) Squares() *edsstore.Store           { return n.squares }
func (n *Node) Getter() *getter.Getter             { return n.getter }
func (n *Node) DASer() *das.DASer                  { return n.daser }
func (n *Node) BlobIndex() *blob.Index             { return n.blobIndex }
func (n *Node) DatasetIndex() *dsstore.Index       { return n.datasetIndex }
func (n *Node) DatasetBlocks() *dsstore.Blockstore { return n.datasetBlocks }
func (n *Node) ShareService() *api.Shares          { return n.shareService }
func (n *Node) API() *api.Server                   { return n.apiServer }
func (n *Node) Halt() *fraud.Halt                  { return &n.halt }

// Fraud is the node's fraud service once it has started (it is made
// then), nil before.
func (n *Node) Fraud() *fraud.Service { return n.fraud }

// P2PConfig is the p2p configuration nodebuilder gives a node of mode on
// chainID with the default configuration.
func P2PConfig(mode Mode, chainID string) p2p.Config {
	c := DefaultConfig(mode)
	c.ChainID = chainID
	return c.p2pConfig(mode)
}
