package nodebuilder_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/syncer"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// memChain returns a MemStore holding hs.
func memChain(ctx context.Context, t testing.TB, hs []*header.ExtendedHeader) *headertest.MemStore {
	t.Helper()
	s := headertest.NewMemStore()
	if err := s.Append(ctx, hs...); err != nil {
		t.Fatal(err)
	}
	return s
}

// lyingStore serves its honest store's ranges through lie: a test peer
// that answers header-ex with forged or misplaced headers.
type lyingStore struct {
	header.Store
	lie func(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error)
}

func (s lyingStore) GetRange(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error) {
	return s.lie(ctx, from, to)
}

// TestLightBlocksLyingPeers: a light node whose bootstrap peers include
// one that forges signatures, one that serves another chain (same chain ID,
// other validators) and one that answers with the wrong heights syncs the
// honest chain and blocks all three.
func TestLightBlocksLyingPeers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chainID = "lying-test"
	chain := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 1}).Chain(t, 1200)
	other := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 2}).Chain(t, 1200)
	honest := memChain(ctx, t, chain)

	forger := lyingStore{Store: honest, lie: func(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error) {
		hs, err := honest.GetRange(ctx, from, to)
		if err != nil {
			return nil, err
		}
		hs = append([]*header.ExtendedHeader(nil), hs...)
		i := len(hs) / 2
		hs[i] = headertest.Clone(t, hs[i])
		hs[i].Commit.Signatures[0].Signature[0] ^= 1
		return hs, nil
	}}
	shifter := lyingStore{Store: honest, lie: func(ctx context.Context, from, to uint64) ([]*header.ExtendedHeader, error) {
		return honest.GetRange(ctx, from+1, to+1)
	}}
	liars := map[string]*testBridge{
		"forger":      startTestBridge(ctx, t, chainID, forger),
		"other chain": startTestBridge(ctx, t, chainID, memChain(ctx, t, other)),
		"shifter":     startTestBridge(ctx, t, chainID, shifter),
	}
	good := startTestBridge(ctx, t, chainID, honest)

	conf := nodeConfig(nodebuilder.Light, chainID, good.addr(t))
	for _, b := range liars {
		conf.P2P.BootstrapPeers = append(conf.P2P.BootstrapPeers, b.addr(t))
	}
	conf.Header.TrustedHash = strings.ToUpper(hexOf(chain[0].Hash()))
	light := startNode(ctx, t, "light", nodebuilder.Light, conf)
	waitHeight(ctx, t, light, "light", uint64(len(chain)))
	head, err := light.Headers().Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(head.Hash(), chain[len(chain)-1].Hash()) {
		t.Fatalf("light synced to %X, not the honest chain's head", head.Hash())
	}
	for name, b := range liars {
		if !light.P2P().IsBlocked(b.id()) {
			t.Errorf("%s (%s) not blocked; blocked: %v", name, b.id(), light.P2P().BlockedPeers())
		}
	}
	if light.P2P().IsBlocked(good.id()) {
		t.Error("the honest peer was blocked")
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestLightFollowsValidatorRotation: the validator set changes at heights
// 10, 20 and 30, the last time entirely. A light node trusting height 1
// learns the network head at 25 by non-adjacent verification (half of its
// trusted set signed it), syncs to it adjacently through two changes, then
// follows gossip adjacently through the third.
func TestLightFollowsValidatorRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "rotation-test"
	changes := map[int64]headertest.ValidatorChange{
		10: {Keep: 2, Add: 2}, // half of height 1's set still signs
		20: {Keep: 3, Add: 1},
		30: {Keep: 0, Add: 4}, // a whole new set
	}
	chain := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 5, Changes: changes}).Chain(t, 45)
	if shared(chain[0], chain[24]) != 2 || shared(chain[0], chain[44]) != 0 {
		t.Fatalf("the test chain shares %d validators of height 1 at 25 (want 2) and %d at 45 (want 0)",
			shared(chain[0], chain[24]), shared(chain[0], chain[44]))
	}
	b := startTestBridge(ctx, t, chainID, memChain(ctx, t, chain[:25]))
	conf := nodeConfig(nodebuilder.Light, chainID, b.addr(t))
	conf.Header.TrustedHeight = 1
	light := startNode(ctx, t, "light", nodebuilder.Light, conf)
	waitHeight(ctx, t, light, "light", 25)

	coretestWaitGossipPeers(ctx, t, b, light)
	b.publish(ctx, t, chain[25:]...)
	waitHeight(ctx, t, light, "light", 45)
	head, err := light.Headers().Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(head.Hash(), chain[44].Hash()) {
		t.Fatalf("light head %X, want %X", head.Hash(), chain[44].Hash())
	}
}

// shared counts the validators two headers' sets have in common.
func shared(a, b *header.ExtendedHeader) int {
	n := 0
	for _, v := range a.ValidatorSet.Validators {
		if _, w := b.ValidatorSet.GetByAddress(v.Address); w != nil {
			n++
		}
	}
	return n
}

// coretestWaitGossipPeers waits until the bridge sees the node on
// header-sub, so published headers reach it.
func coretestWaitGossipPeers(ctx context.Context, t *testing.T, b *testBridge, n *nodebuilder.Node) {
	t.Helper()
	id := n.P2P().Host().ID()
	coretest.WaitUntil(ctx, t, "the light node to join header-sub", func() bool {
		for _, p := range b.gossip.ListPeers() {
			if p == id {
				return true
			}
		}
		return false
	})
}

// TestLightStopsOnExpiredTrust: a light node whose stored head is older
// than its trusting period refuses to start, with an error saying how to
// re-initialise; it does not sync on silently.
func TestLightStopsOnExpiredTrust(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "expiry-test"
	// The chain's blocks are an hour old (headertest's default start).
	chain := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 7}).Chain(t, 20)
	b := startTestBridge(ctx, t, chainID, memChain(ctx, t, chain))
	home := t.TempDir()
	conf := nodeConfig(nodebuilder.Light, chainID, b.addr(t))
	n, err := nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{Logger: testLogger(t, "light")})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitHeight(ctx, t, n, "light", 20)
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	conf.Header.TrustingPeriod = nodebuilder.Duration(30 * time.Minute)
	n, err = nodebuilder.New(nodebuilder.Light, home, conf, nodebuilder.Options{Logger: testLogger(t, "light")})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Start(ctx)
	if !errors.Is(err, syncer.ErrTrustExpired) {
		t.Fatalf("start with an expired head: %v", err)
	}
	for _, want := range []string{"height 20", "re-initialise", "--trusted-hash", home} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("stop after a failed start: %v", err)
	}
}

// TestFullNodeSyncsHeaders: a full node syncs and serves headers like a
// light one (its squares come with share exchange), and a light node can
// sync from it alone.
func TestFullNodeSyncsHeaders(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "full-test"
	chain := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 8}).Chain(t, 300)
	b := startTestBridge(ctx, t, chainID, memChain(ctx, t, chain))
	fconf := nodeConfig(nodebuilder.Full, chainID, b.addr(t))
	fconf.Header.TrustedHash = hexOf(chain[0].Hash())
	full := startNode(ctx, t, "full", nodebuilder.Full, fconf)
	waitHeight(ctx, t, full, "full", 300)

	lconf := nodeConfig(nodebuilder.Light, chainID, addr(t, full))
	lconf.Header.TrustedHeight = 1
	lconf.P2P.BlockedPeers = []string{b.id().String()}
	light := startNode(ctx, t, "light", nodebuilder.Light, lconf)
	waitHeight(ctx, t, light, "light", 300)
}

// TestLightRefusesDisagreeingBootstrapPeers: without a trusted hash, a
// light node whose bootstrap peers serve different chains does not pick
// one: start fails, naming the disagreement.
func TestLightRefusesDisagreeingBootstrapPeers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "disagree-test"
	a := startTestBridge(ctx, t, chainID, memChain(ctx, t, headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 10}).Chain(t, 5)))
	b := startTestBridge(ctx, t, chainID, memChain(ctx, t, headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 11}).Chain(t, 5)))
	conf := nodeConfig(nodebuilder.Light, chainID, a.addr(t), b.addr(t))
	n, err := nodebuilder.New(nodebuilder.Light, t.TempDir(), conf, nodebuilder.Options{Logger: testLogger(t, "light")})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Start(ctx)
	if !errors.Is(err, exchange.ErrPeersDisagree) {
		t.Fatalf("start with disagreeing bootstrap peers: %v", err)
	}
	if !strings.Contains(err.Error(), "start header store") {
		t.Errorf("the error does not name the service: %v", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStartTimeoutNamesTheService: a light node whose only bootstrap peer
// never has a header gives up after the start timeout, naming the service
// that was waiting, instead of hanging.
func TestStartTimeoutNamesTheService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "timeout-test"
	b := startTestBridge(ctx, t, chainID, headertest.NewMemStore())
	conf := nodeConfig(nodebuilder.Light, chainID, b.addr(t))
	n, err := nodebuilder.New(nodebuilder.Light, t.TempDir(), conf, nodebuilder.Options{
		Logger: testLogger(t, "light"), StartTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Start(ctx)
	if !errors.Is(err, nodebuilder.ErrStartTimeout) || !strings.Contains(err.Error(), "start header store") {
		t.Fatalf("start against a peer without headers: %v", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
