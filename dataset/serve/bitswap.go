package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"

	bsnet "github.com/ipfs/boxo/bitswap/network/bsnet"
	bsserver "github.com/ipfs/boxo/bitswap/server"
	"github.com/ipfs/boxo/blockstore"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/datamesh/mesh-node/dataset"
)

// BitswapProtocols returns the protocol IDs the bitswap server answers,
// newest first: /ipfs/bitswap/1.2.0, 1.1.0, 1.0.0 and the unversioned
// /ipfs/bitswap. They are the standard IDs, not prefixed with a network
// ID, so that stock IPFS peers find them. The slice is the caller's.
func BitswapProtocols() []protocol.ID {
	return []protocol.ID{bsnet.ProtocolBitswap, bsnet.ProtocolBitswapOneOne, bsnet.ProtocolBitswapOneZero, bsnet.ProtocolBitswapNoVers}
}

// BitswapSettings are the limits of the bitswap server. The defaults
// (DefaultBitswapSettings) are boxo's, except the block size.
type BitswapSettings struct {
	// MaxBlockSize is the largest block served, in bytes (>= 1); a larger
	// block is answered as not held. Default dataset.MaxBlockSize (2 MiB,
	// the largest block a stock IPFS peer accepts).
	MaxBlockSize int
	// MaxWantlistEntriesPerPeer is how many wants of one peer are queued
	// (>= 1); past it the newest are dropped. Default 1,024.
	MaxWantlistEntriesPerPeer int
	// MaxOutstandingBytesPerPeer is about how many bytes of blocks are
	// queued for one peer at a time (>= 1). Default 1 MiB.
	MaxOutstandingBytesPerPeer int
	// SendWorkers is how many goroutines send messages to peers (>= 1).
	// Default 8.
	SendWorkers int
	// BlockstoreWorkers is how many goroutines read the blockstore for
	// wants (>= 1). Default 128.
	BlockstoreWorkers int
}

// DefaultBitswapSettings returns the default settings.
func DefaultBitswapSettings() BitswapSettings {
	return BitswapSettings{
		MaxBlockSize:               dataset.MaxBlockSize,
		MaxWantlistEntriesPerPeer:  1024,
		MaxOutstandingBytesPerPeer: 1 << 20,
		SendWorkers:                8,
		BlockstoreWorkers:          128,
	}
}

// Validate reports a setting out of range.
func (s BitswapSettings) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max block size", s.MaxBlockSize},
		{"max wantlist entries per peer", s.MaxWantlistEntriesPerPeer},
		{"max outstanding bytes per peer", s.MaxOutstandingBytesPerPeer},
		{"send workers", s.SendWorkers},
		{"blockstore workers", s.BlockstoreWorkers},
	} {
		if f.v < 1 {
			return fmt.Errorf("serve: bitswap %s %d, want >= 1", f.name, f.v)
		}
	}
	return nil
}

// Bitswap is a bitswap server on a libp2p host: it answers other peers'
// wants from a blockstore and never asks for blocks itself (no client, no
// provider search). Wants for blocks the blockstore does not hold are
// answered DONT_HAVE to peers that speak 1.2.0.
type Bitswap struct {
	host     host.Host
	store    readOnly
	settings BitswapSettings

	mu      sync.Mutex
	started bool
	stopped bool
	network interface{ Stop() }
	server  *bsserver.Server
}

// NewBitswap returns a bitswap server for h reading bs (Has, Get and
// GetSize only). It does no I/O: Start registers the stream handlers.
func NewBitswap(h host.Host, bs blockstore.Blockstore, s BitswapSettings) (*Bitswap, error) {
	if h == nil {
		return nil, errors.New("serve: bitswap: nil host")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	store, err := newReadOnly(bs, s.MaxBlockSize)
	if err != nil {
		return nil, err
	}
	return &Bitswap{host: h, store: store, settings: s}, nil
}

// Start registers the bitswap stream handlers on the host and starts the
// server's workers. It is idempotent; a stopped server cannot be started
// again. Peers already connected are taken into account.
func (b *Bitswap) Start(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return errors.New("serve: bitswap: server stopped")
	}
	if b.started {
		return nil
	}
	s := b.settings
	net := bsnet.NewFromIpfsHost(b.host, bsnet.SupportedProtocols(BitswapProtocols()))
	// The workers live until Stop: they must not end with Start's context.
	server := bsserver.New(context.Background(), net, b.store,
		bsserver.TaskWorkerCount(s.SendWorkers),
		bsserver.EngineBlockstoreWorkerCount(s.BlockstoreWorkers),
		bsserver.MaxOutstandingBytesPerPeer(s.MaxOutstandingBytesPerPeer),
		bsserver.MaxQueuedWantlistEntriesPerPeer(uint(s.MaxWantlistEntriesPerPeer)),
	)
	net.Start(server)
	b.network, b.server, b.started = net, server, true
	return nil
}

// Stop removes the stream handlers and returns once the server's workers
// have exited. It is idempotent.
func (b *Bitswap) Stop(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil
	}
	b.stopped = true
	if !b.started {
		return nil
	}
	for _, p := range BitswapProtocols() {
		b.host.RemoveStreamHandler(p)
	}
	b.network.Stop()
	b.server.Close()
	return nil
}
