package nodebuilder_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// maxHaltDelay is issue 14's bound on the time from a full node's
// detection of a bad encoding to a light node's halt.
const maxHaltDelay = 5 * time.Second

// startFraudNode starts a node in home whose DASer retries quickly
// (fastDAS) and whose API needs no token.
func startFraudNode(ctx context.Context, t *testing.T, home, name string, mode nodebuilder.Mode, conf nodebuilder.Config) *nodebuilder.Node {
	t.Helper()
	conf.RPC.SkipAuth = true
	return startNodeWith(ctx, t, home, name, mode, conf, nodebuilder.Options{DAS: fastDAS,
		Badger: func(o badger.Options) badger.Options { return o.WithMemTableSize(8 << 20).WithNumMemtables(2) }})
}

// haltClock records when a node's Halt is set.
type haltClock struct {
	name string
	done chan struct{}
	at   time.Time // written before done is closed
}

// watchHalt starts recording when n halts, until ctx ends.
func watchHalt(ctx context.Context, name string, n *nodebuilder.Node) *haltClock {
	c := &haltClock{name: name, done: make(chan struct{})}
	halted := n.Halt().Halted()
	go func() {
		select {
		case <-halted:
			c.at = time.Now()
			close(c.done)
		case <-ctx.Done():
		}
	}()
	return c
}

// wait returns when the node halted; it fails the test if ctx ends first.
func (c *haltClock) wait(ctx context.Context, t *testing.T) time.Time {
	t.Helper()
	select {
	case <-c.done:
		return c.at
	case <-ctx.Done():
		t.Fatalf("%s did not halt: %v", c.name, ctx.Err())
	}
	return time.Time{}
}

// checkHaltProof checks that n halts on the proof of column 1 of the bad
// block of c.
func checkHaltProof(t *testing.T, name string, n *nodebuilder.Node, c *badChain) {
	t.Helper()
	p := n.Halt().Proof()
	switch {
	case p == nil:
		t.Fatalf("%s is not halted", name)
	case p.Height != badHeight || p.Axis != eds.Col || p.Index != 1:
		t.Fatalf("%s halts on the proof of height %d, %v %d; want %d, col 1", name, p.Height, p.Axis, p.Index, badHeight)
	case !bytes.Equal(p.HeaderHash, c.headers[badHeight-1].Hash()):
		t.Fatalf("%s halts on a proof of header %X, want %X", name, p.HeaderHash, c.headers[badHeight-1].Hash())
	}
	if err := p.Validate(c.dah); err != nil {
		t.Fatalf("%s: the proof does not validate against the bad block's header: %v", name, err)
	}
}

// checkNeverAvailable checks that n's DASer reports every height from the
// bad block to head unavailable, naming the bad block.
func checkNeverAvailable(ctx context.Context, t *testing.T, name string, n *nodebuilder.Node, head uint64) {
	t.Helper()
	for h := uint64(badHeight); h <= head; h++ {
		r, err := n.DASer().Result(ctx, h)
		if err != nil || r.Available || r.BadEncoding != badHeight {
			t.Errorf("%s, height %d: %+v, %v; want unavailable, bad encoding at %d", name, h, r, err, badHeight)
		}
	}
	if st := n.DASer().Stats(); st.BadEncoding == nil || st.BadEncoding.Height != badHeight {
		t.Errorf("%s: DAS stats report %+v, want the block %d", name, st.BadEncoding, badHeight)
	}
}

// checkHaltedAPI checks, through n's JSON-RPC API, that a halted node
// refuses share.SharesAvailable at the bad block and above with an error
// naming the proof, lists the proof in fraud.Get and still serves headers.
// below, if not 0, is a height under the bad block that n found available:
// SharesAvailable answers it as before.
func checkHaltedAPI(ctx context.Context, t *testing.T, name string, n *nodebuilder.Node, c *badChain, head, below uint64) {
	t.Helper()
	cl, err := client.New(ctx, "http://"+n.API().Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := fmt.Sprintf("fraud: halted: block %d (header %X) is proven badly encoded (col 1)", badHeight, c.headers[badHeight-1].Hash())
	for _, h := range []uint64{badHeight, head} {
		if err := cl.Share.SharesAvailable(ctx, h); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: share.SharesAvailable(%d): %v; want an error naming the proof: %q", name, h, err, want)
		}
	}
	if below != 0 {
		if err := cl.Share.SharesAvailable(ctx, below); err != nil {
			t.Errorf("%s: share.SharesAvailable(%d), below the bad block: %v", name, below, err)
		}
	}
	proofs, err := cl.Fraud.Get(ctx, eds.BadEncodingProofType)
	if err != nil || len(proofs) != 1 || proofs[0].Proof.Height != badHeight ||
		!bytes.Equal(proofs[0].Proof.HeaderHash, c.headers[badHeight-1].Hash()) || proofs[0].Proof.Validate(c.dah) != nil {
		t.Errorf("%s: fraud.Get: %d proofs, %v; want the proof of block %d", name, len(proofs), err, badHeight)
	}
	h, err := cl.Header.GetByHeight(ctx, head)
	if err != nil || !bytes.Equal(h.Hash(), c.headers[head-1].Hash()) {
		t.Errorf("%s: header.GetByHeight(%d) on a halted node: %v", name, head, err)
	}
}

// headerExGet asks n for its header at height over header-ex, from a host
// of the test's own, as any peer of n would.
func headerExGet(ctx context.Context, t *testing.T, chainID string, n *nodebuilder.Node, height uint64) *header.ExtendedHeader {
	t.Helper()
	h := p2ptest.Host(t)
	nh := n.P2P().Host()
	if err := h.Connect(ctx, peer.AddrInfo{ID: nh.ID(), Addrs: nh.Addrs()}); err != nil {
		t.Fatal(err)
	}
	ex, err := exchange.NewClient(h, chainID, exchange.WithTrustedPeers(nh.ID()))
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, ex)
	got, err := ex.GetByHeight(ctx, height)
	if err != nil {
		t.Fatalf("header-ex GetByHeight(%d): %v", height, err)
	}
	return got
}

// checkPeers fails the test if n is connected to one of the peers not.
func checkPeers(t *testing.T, name string, n *nodebuilder.Node, not ...peer.ID) {
	t.Helper()
	for _, p := range n.P2P().Host().Network().Peers() {
		if slices.Contains(not, p) {
			t.Fatalf("%s is connected to %s", name, p)
		}
	}
}

// waitTopicPeer waits until n counts p among the peers of the fraud topic.
func waitTopicPeer(ctx context.Context, t *testing.T, chainID string, n *nodebuilder.Node, p peer.ID) {
	t.Helper()
	topic := fraud.TopicID(chainID)
	p2ptest.WaitPeer(t, ctx, func() []peer.ID { return n.P2P().PubSub().ListPeers(topic) }, p, 20*time.Millisecond)
}

func peerID(n *nodebuilder.Node) peer.ID { return n.P2P().Host().ID() }

// TestLightNodesHaltOnBadEncoding is issue 14's network test. A test
// bridge serves a chain up to the block before the bad one (see
// TestFullNodeDetectsBadEncoding); a full node and three light nodes
// follow it: light1 connected to the bridge and the full node, light2 to
// the full node only, light3 to light1 only. Once every node has synced
// (and the full node and the first two lights sampled) the heights below,
// the bridge publishes the bad block. The full node detects the bad
// encoding and gossips the proof; each light validates it against its
// own header of the block and halts within maxHaltDelay of the detection
// (light3 through light1, which forwards it). Then the bridge publishes
// the heights above. The halted nodes keep the proof topic, follow and
// serve headers (light2 and light3 sync them through the full node and
// light1 only, and header-ex answers from both), sample nothing more,
// report every height from the bad block on unavailable and refuse
// share.SharesAvailable there with the error naming the proof, and list
// the proof in fraud.Get.
func TestLightNodesHaltOnBadEncoding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chainID, head = "fraud-net-test", 20
	c := newBadChain(t, chainID, head)
	b := startBadBridge(ctx, t, chainID, c, badHeight-2)

	fconf := nodeConfig(nodebuilder.Full, chainID, b.addr(t))
	fconf.Header.TrustedHeight = 1
	full := startFraudNode(ctx, t, t.TempDir(), "full", nodebuilder.Full, fconf)
	l1conf := nodeConfig(nodebuilder.Light, chainID, b.addr(t), addr(t, full))
	l1conf.Header.TrustedHeight = 1
	light1 := startFraudNode(ctx, t, t.TempDir(), "light1", nodebuilder.Light, l1conf)
	l2conf := nodeConfig(nodebuilder.Light, chainID, addr(t, full))
	l2conf.Header.TrustedHeight = 1
	l2conf.P2P.BlockedPeers = []string{b.id().String()}
	light2 := startFraudNode(ctx, t, t.TempDir(), "light2", nodebuilder.Light, l2conf)
	l3conf := nodeConfig(nodebuilder.Light, chainID, addr(t, light1))
	l3conf.Header.TrustedHeight = 1
	l3conf.P2P.BlockedPeers = []string{b.id().String(), peerID(full).String()}
	light3 := startFraudNode(ctx, t, t.TempDir(), "light3", nodebuilder.Light, l3conf)

	nodes := []struct {
		name string
		n    *nodebuilder.Node
	}{{"full", full}, {"light1", light1}, {"light2", light2}, {"light3", light3}}
	for _, x := range nodes {
		waitHeight(ctx, t, x.n, x.name, badHeight-2)
	}
	// The block before the bad one comes by gossip once each node's
	// gossipsub meshes have formed (a heartbeat after it connected), or
	// by the syncers' catch-up later: either way the meshes the proof
	// travels have formed before the bad block is published, as on a
	// network that has run for a while.
	b.publish(ctx, t, c.headers[badHeight-2])
	for _, x := range nodes {
		waitHeight(ctx, t, x.n, x.name, badHeight-1)
	}
	// light3 has no full node to sample from; the others find every
	// height available.
	for _, x := range nodes[:3] {
		waitAvailable(ctx, t, x.n, x.name, badHeight-1)
	}
	// The proof's paths: the full node's topic peers include light1
	// and light2, light1's include light3.
	waitTopicPeer(ctx, t, chainID, full, peerID(light1))
	waitTopicPeer(ctx, t, chainID, full, peerID(light2))
	waitTopicPeer(ctx, t, chainID, light1, peerID(light3))
	sampled := map[string]uint64{}
	for _, x := range nodes {
		if x.n.Halt().Proof() != nil {
			t.Fatalf("%s halted before the bad block was published", x.name)
		}
		sampled[x.name] = x.n.DASer().Stats().Sampled
	}
	clocks := make([]*haltClock, len(nodes))
	for i, x := range nodes {
		clocks[i] = watchHalt(ctx, x.name, x.n)
	}

	b.publish(ctx, t, c.headers[badHeight-1])
	// The full node's DASer hands the proof it found to the fraud
	// service, which sets the Halt before it gossips the proof: the
	// full node's halt is its detection.
	detected := clocks[0].wait(ctx, t)
	if p, st := full.DASer().BadEncoding(), full.Fraud().Stats(); p == nil || st.Valid == 0 || st.Received != 0 {
		t.Fatalf("the full node halted without a proof of its own: DASer %v, fraud stats %+v", p, st)
	}
	for i, x := range nodes[1:] {
		delay := clocks[i+1].wait(ctx, t).Sub(detected)
		t.Logf("%s halted %v after the full node's detection", x.name, delay)
		if delay > maxHaltDelay {
			t.Errorf("%s halted %v after the detection, more than %v", x.name, delay, maxHaltDelay)
		}
	}
	for _, x := range nodes {
		checkHaltProof(t, x.name, x.n, c)
	}
	for _, x := range nodes[1:] {
		if st := x.n.Fraud().Stats(); st.Received == 0 || st.Invalid != 0 {
			t.Errorf("%s: fraud stats %+v; want the proof received from a peer", x.name, st)
		}
	}
	// light3 could only have it from light1.
	checkPeers(t, "light2", light2, b.id())
	checkPeers(t, "light3", light3, b.id(), peerID(full))

	// Halted, the nodes follow the chain, over header-sub and header-ex.
	b.publish(ctx, t, c.headers[badHeight:]...)
	for _, x := range nodes {
		waitHeight(ctx, t, x.n, x.name, head)
		// The DASer has heard of the head (it follows it, halted).
		coretest.WaitUntil(ctx, t, x.name+"'s DASer to follow the head", func() bool { return x.n.DASer().Stats().NetworkHead >= head })
	}
	checkPeers(t, "light2", light2, b.id())
	checkPeers(t, "light3", light3, b.id(), peerID(full))
	for _, x := range []struct {
		name string
		n    *nodebuilder.Node
	}{{"full", full}, {"light1", light1}} {
		if got := headerExGet(ctx, t, chainID, x.n, head); !bytes.Equal(got.Hash(), c.headers[head-1].Hash()) {
			t.Errorf("%s serves header %X at %d over header-ex, want %X", x.name, got.Hash(), head, c.headers[head-1].Hash())
		}
		if !slices.Contains(x.n.P2P().PubSub().GetTopics(), fraud.TopicID(chainID)) {
			t.Errorf("%s left the proof topic", x.name)
		}
	}
	waitTopicPeer(ctx, t, chainID, light1, peerID(light3))

	for _, x := range nodes {
		checkNeverAvailable(ctx, t, x.name, x.n, head)
		// Nothing sampled since the bad block: no result of it or above
		// was ever recorded available.
		if got := x.n.DASer().Stats().Sampled; got != sampled[x.name] {
			t.Errorf("%s sampled %d heights available after the bad block was published", x.name, got-sampled[x.name])
		}
	}
	checkHaltedAPI(ctx, t, "light1", light1, c, head, badHeight-1)
	checkHaltedAPI(ctx, t, "light2", light2, c, head, badHeight-1)
	checkHaltedAPI(ctx, t, "light3", light3, c, head, 0)
}

// TestLightStartsHalted: a light node started after a proof of bad
// encoding was published, from the default trust (the head its bootstrap
// peer, a full node holding the proof, serves), learns the proof by fraud
// sync during Start: the proof's block is below its store's base, so it
// checks the proof against the header its trusted peer gives. Start
// returns halted, and its DASer samples nothing, also when new heads come.
// Restarted with no peer reachable, it is halted from its stored proof.
func TestLightStartsHalted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID, head, first = "fraud-late-test", 24, 20
	c := newBadChain(t, chainID, head)
	b := startBadBridge(ctx, t, chainID, c, first)
	fconf := nodeConfig(nodebuilder.Full, chainID, b.addr(t))
	fconf.Header.TrustedHeight = 1
	full := startFraudNode(ctx, t, t.TempDir(), "full", nodebuilder.Full, fconf)
	watchHalt(ctx, "full", full).wait(ctx, t)
	waitHeight(ctx, t, full, "full", first)

	home := t.TempDir()
	lconf := nodeConfig(nodebuilder.Light, chainID, addr(t, full))
	lconf.P2P.BlockedPeers = []string{b.id().String()}
	late := startFraudNode(ctx, t, home, "late", nodebuilder.Light, lconf)
	checkHaltProof(t, "late", late, c) // as Start returns
	if tail, err := late.Headers().Tail(ctx); err != nil || tail.Height() <= badHeight {
		t.Fatalf("the late node's store starts at %v (%v); want above the bad block", tail, err)
	}
	if st := late.Fraud().Stats(); st.Fetches == 0 || st.Valid != 1 {
		t.Errorf("late node's fraud stats %+v; want the proof checked against a fetched header", st)
	}

	// New heads, which the bridge serves whole: a light node not halted
	// would sample them available.
	b.publish(ctx, t, c.headers[first:]...)
	waitHeight(ctx, t, late, "late", head)
	coretest.WaitUntil(ctx, t, "the late node's DASer to follow the head", func() bool { return late.DASer().Stats().NetworkHead >= head })
	if st := late.DASer().Stats(); st.Sampled != 0 || st.Unavailable != 0 || st.Skipped != 0 || st.Concurrency != 0 {
		t.Errorf("the halted late node's DASer checked heights: %+v", st)
	}
	checkNeverAvailable(ctx, t, "late", late, head)
	checkHaltedAPI(ctx, t, "late", late, c, head, 0)

	// Offline: its only peer gone, the bridge blocked.
	stopCtx, stopCancel := context.WithTimeout(ctx, 30*time.Second)
	defer stopCancel()
	if err := late.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if err := full.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	again := startFraudNode(ctx, t, home, "late again", nodebuilder.Light, lconf)
	checkHaltProof(t, "late again", again, c)
	if peers := again.P2P().Host().Network().Peers(); len(peers) != 0 {
		t.Fatalf("the restarted node is connected to %v", peers)
	}
	if st := again.Fraud().Stats(); st.Received != 0 || st.Valid != 1 {
		t.Errorf("restarted node's fraud stats %+v; want the stored proof only", st)
	}
	checkNeverAvailable(ctx, t, "late again", again, head)
	checkHaltedAPI(ctx, t, "late again", again, c, head, 0)
}
