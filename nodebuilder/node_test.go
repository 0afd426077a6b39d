package nodebuilder_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// pacedApp delays each block by a duration the test sets: none while the
// chain grows to thousands of blocks, a real block time while the test
// measures how closely light nodes follow.
type pacedApp struct {
	*app.App
	delay atomic.Int64 // nanoseconds
}

func (p *pacedApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	if d := time.Duration(p.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return p.App.FinalizeBlock(ctx, req)
}

// fastChain starts a one-validator chain whose blocks follow each other as
// fast as consensus allows, until pace slows them.
func fastChain(ctx context.Context, t *testing.T, chainID string) (*coretest.Validator, *pacedApp) {
	t.Helper()
	v := coretest.NewValidator(t)
	c := v.Config.Consensus
	c.TimeoutPropose = 200 * time.Millisecond
	c.TimeoutPrevote = 10 * time.Millisecond
	c.TimeoutPrecommit = 10 * time.Millisecond
	c.TimeoutCommit = time.Millisecond
	coretest.WriteGenesis(t, coretest.Genesis(t, chainID, "alice"), v)
	var paced *pacedApp
	v.Start(func(a *app.App) abci.Application {
		paced = &pacedApp{App: a}
		return paced
	})
	coretest.WaitHeight(ctx, t, v.Client(), 1)
	return v, paced
}

func testLogger(t *testing.T, name string) *slog.Logger {
	if os.Getenv("MESH_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
}

// nodeConfig is a configuration for a node of mode on chainID listening on
// a loopback port of its own.
func nodeConfig(mode nodebuilder.Mode, chainID string, bootstrap ...string) nodebuilder.Config {
	c := nodebuilder.DefaultConfig(mode)
	c.RPC.Port = 0 // each test node's API on a port of its own
	if c.Dataset.GatewayAddress != "" {
		c.Dataset.GatewayAddress = "127.0.0.1:0" // and its gateway
	}
	c.ChainID = chainID
	c.P2P.ListenAddresses = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	c.P2P.BootstrapPeers = bootstrap
	return c
}

// startNode assembles and starts a node in a temporary home; it is stopped
// at the end of the test.
func startNode(ctx context.Context, t *testing.T, name string, mode nodebuilder.Mode, conf nodebuilder.Config) *nodebuilder.Node {
	t.Helper()
	return startNodeAt(ctx, t, t.TempDir(), name, mode, conf)
}

func startNodeAt(ctx context.Context, t *testing.T, home, name string, mode nodebuilder.Mode, conf nodebuilder.Config) *nodebuilder.Node {
	t.Helper()
	return startNodeWith(ctx, t, home, name, mode, conf, nodebuilder.Options{
		Badger: func(o badger.Options) badger.Options { return o.WithMemTableSize(8 << 20).WithNumMemtables(2) },
	})
}

// startNodeWith assembles a node in home with opts (its Logger the
// test's) and starts it; it is stopped at the end of the test.
func startNodeWith(ctx context.Context, t *testing.T, home, name string, mode nodebuilder.Mode, conf nodebuilder.Config, opts nodebuilder.Options) *nodebuilder.Node {
	t.Helper()
	n := newNode(t, home, name, mode, conf, opts)
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// newNode assembles a node in home with opts (its Logger the test's),
// stopped at the end of the test, started or not.
func newNode(t *testing.T, home, name string, mode nodebuilder.Mode, conf nodebuilder.Config, opts nodebuilder.Options) *nodebuilder.Node {
	t.Helper()
	opts.Logger = testLogger(t, name)
	n, err := nodebuilder.New(mode, home, conf, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Stop(stopCtx); err != nil {
			t.Errorf("stop %s: %v", name, err)
		}
	})
	return n
}

// addr is n's first address, with its peer ID, for other nodes' bootstrap
// lists.
func addr(t *testing.T, n *nodebuilder.Node) string {
	t.Helper()
	_, addrs := n.Info()
	if len(addrs) == 0 {
		t.Fatal("node has no address")
	}
	return addrs[0]
}

func waitHeight(ctx context.Context, t *testing.T, n *nodebuilder.Node, name string, h uint64) {
	t.Helper()
	coretest.WaitUntil(ctx, t, fmt.Sprintf("%s to reach height %d (at %d)", name, h, n.Headers().Height()), func() bool {
		return n.Headers().Height() >= h
	})
}

// TestLightNodesFollowBridge is issue 4's network test: one core, one
// bridge and three light nodes over loopback. Two lights bootstrap from the
// bridge and follow the head within two block times; the third starts
// after 2,000 headers, connected only to a light (it blocks the bridge),
// and still reaches the head through it.
func TestLightNodesFollowBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain of 2,000 blocks")
	}
	const chainID = "light-test"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	v, paced := fastChain(ctx, t, chainID)

	bconf := nodeConfig(nodebuilder.Bridge, chainID)
	bconf.Core.RPC = v.RPCAddr
	bridge := startNode(ctx, t, "bridge", nodebuilder.Bridge, bconf)
	waitHeight(ctx, t, bridge, "bridge", 1)
	bridgeID, _ := bridge.Info()

	// light1 keeps the chain from height 1, so light3 can sync it all from
	// light1; light2 starts from the head the bridge reports.
	conf1 := nodeConfig(nodebuilder.Light, chainID, addr(t, bridge))
	conf1.Header.TrustedHeight = 1
	light1 := startNode(ctx, t, "light1", nodebuilder.Light, conf1)
	light2 := startNode(ctx, t, "light2", nodebuilder.Light, nodeConfig(nodebuilder.Light, chainID, addr(t, bridge)))

	// The chain grows to 2,000 blocks as fast as it can; the lights keep up.
	waitHeight(ctx, t, bridge, "bridge", 2000)
	for _, l := range []struct {
		n    *nodebuilder.Node
		name string
	}{{light1, "light1"}, {light2, "light2"}} {
		waitHeight(ctx, t, l.n, l.name, 2000)
	}

	// A third light, started now from height 1, connected only to light1:
	// it syncs the whole chain from another light.
	conf3 := nodeConfig(nodebuilder.Light, chainID, addr(t, light1))
	conf3.P2P.BlockedPeers = []string{bridgeID}
	conf3.Header.TrustedHeight = 1
	start3 := time.Now()
	light3 := startNode(ctx, t, "light3", nodebuilder.Light, conf3)
	target := bridge.Headers().Height()
	waitHeight(ctx, t, light3, "light3", target)
	took := time.Since(start3)
	t.Logf("light3 synced %d headers through light1 in %v (%.0f headers/s)", target, took, float64(target)/took.Seconds())
	for _, p := range light3.P2P().Host().Network().Peers() {
		if p.String() == bridgeID {
			t.Fatal("light3 is connected to the bridge")
		}
	}

	// With a real block time, every light has each new header within two
	// block times of the bridge storing it.
	const blockTime = 250 * time.Millisecond
	paced.delay.Store(int64(blockTime))
	lights := []*nodebuilder.Node{light1, light2, light3}
	h := bridge.Headers().Height()
	for range 8 {
		h++
		waitHeight(ctx, t, bridge, "bridge", h)
		stored := time.Now()
		deadline, cancel := context.WithTimeout(ctx, 2*blockTime)
		for i, l := range lights {
			waitHeight(deadline, t, l, fmt.Sprint("light", i+1), h)
		}
		cancel()
		t.Logf("height %d: every light had it %v after the bridge was seen with it", h, time.Since(stored))
	}
}
