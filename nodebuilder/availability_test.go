package nodebuilder_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
)

// startAvailNode starts a node whose DASer retries quickly (fastDAS).
func startAvailNode(ctx context.Context, t *testing.T, name string, mode nodebuilder.Mode, conf nodebuilder.Config) *nodebuilder.Node {
	t.Helper()
	return startNodeWith(ctx, t, t.TempDir(), name, mode, conf, nodebuilder.Options{DAS: fastDAS})
}

// fastDAS makes a DASer retry quickly, as a test needs.
func fastDAS(o *das.Options) {
	o.SampleTimeout = 5 * time.Second
	o.FullTimeout = 10 * time.Second
	o.RetryBackoff = 100 * time.Millisecond
	o.MaxRetryBackoff = 500 * time.Millisecond
	o.PollInterval = 200 * time.Millisecond
}

// waitAvailable waits until n's DASer has found every height from 1 to
// head available.
func waitAvailable(ctx context.Context, t *testing.T, n *nodebuilder.Node, name string, head uint64) {
	t.Helper()
	var last string
	coretest.WaitUntil(ctx, t, fmt.Sprintf("%s to find heights 1..%d available", name, head), func() bool {
		for h := uint64(1); h <= head; h++ {
			r, err := n.DASer().Result(ctx, h)
			if err != nil || !r.Available {
				if s := fmt.Sprintf("height %d: %+v %v", h, r, err); s != last {
					last = s
					t.Logf("%s: %s", name, s)
				}
				return false
			}
		}
		return true
	})
}

// TestAvailabilityNetwork is issue 5's network test: one core, one
// bridge, one full node and two light nodes over loopback. Blocks carry
// blobs. Both lights find every header available by sampling; the full
// node holds every square, byte-equal to the bridge's; the second light is
// connected only to the full node, never to the bridge, and still syncs and
// samples every header.
func TestAvailabilityNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain and five nodes")
	}
	const chainID = "avail-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v, paced := fastChain(ctx, t, chainID)
	paced.delay.Store(int64(50 * time.Millisecond))

	bconf := nodeConfig(nodebuilder.Bridge, chainID)
	bconf.Core.RPC = v.RPCAddr
	bridge := startNode(ctx, t, "bridge", nodebuilder.Bridge, bconf)
	waitHeight(ctx, t, bridge, "bridge", 1)
	bridgeID, _ := bridge.Info()

	fconf := nodeConfig(nodebuilder.Full, chainID, addr(t, bridge))
	fconf.Header.TrustedHeight = 1
	full := startAvailNode(ctx, t, "full", nodebuilder.Full, fconf)
	l1conf := nodeConfig(nodebuilder.Light, chainID, addr(t, bridge))
	l1conf.Header.TrustedHeight = 1
	light1 := startAvailNode(ctx, t, "light1", nodebuilder.Light, l1conf)
	l2conf := nodeConfig(nodebuilder.Light, chainID, addr(t, full))
	l2conf.Header.TrustedHeight = 1
	l2conf.P2P.BlockedPeers = []string{bridgeID}
	light2 := startAvailNode(ctx, t, "light2", nodebuilder.Light, l2conf)

	// Blobs of a few sizes, so squares of several widths.
	c := v.Client()
	g := coretest.Genesis(t, chainID, "alice")
	key, _ := coretest.Key(t, "alice")
	for i, size := range []int{100, 20_000, 150_000} {
		ns, err := share.NewV0Namespace([]byte(fmt.Sprintf("ns-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		raw := coretest.PFBTx(t, chainID, key, uint64(i), g.Params, []coretest.Blob{{Namespace: ns, Data: bytes.Repeat([]byte{byte(i + 1)}, size)}})
		coretest.Broadcast(ctx, t, c, raw)
	}
	head := bridge.Headers().Height() + 2
	waitHeight(ctx, t, bridge, "bridge", head)

	for _, l := range []struct {
		n    *nodebuilder.Node
		name string
	}{{full, "full"}, {light1, "light1"}, {light2, "light2"}} {
		waitHeight(ctx, t, l.n, l.name, head)
		waitAvailable(ctx, t, l.n, l.name, head)
	}
	widths := map[int]bool{}
	for h := uint64(1); h <= head; h++ {
		want, err := bridge.Store().ODS(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := full.Squares().ODS(ctx, h)
		if err != nil {
			t.Fatalf("full node, height %d: %v", h, err)
		}
		if len(got) != len(want) {
			t.Fatalf("height %d: full node holds %d shares, the bridge %d", h, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("height %d: share %d differs", h, i)
			}
		}
		r, err := light1.DASer().Result(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		widths[r.SquareSize] = true
	}
	if len(widths) < 2 {
		t.Errorf("every square had the same width: %v", widths)
	}
	for _, p := range light2.P2P().Host().Network().Peers() {
		if p.String() == bridgeID {
			t.Fatal("light2 is connected to the bridge")
		}
	}
	t.Logf("%d heights available on every node; square widths %v", head, widths)
}

// withholdSamples makes b answer shrex sample requests itself, as a
// producer hiding part of its squares would: for the heights in withheld it
// refuses (NOT_FOUND) a fixed 26% of the cells of the extended square,
// more than the quarter a square can lose and still be rebuilt, and serves
// the rest with their proofs. It writes shrex's wire format by hand: a fault
// fake, not a server.
func withholdSamples(t *testing.T, b *testBridge, chainID string, squares map[uint64]*eds.ExtendedDataSquare, withheld map[uint64]bool) {
	t.Helper()
	const (
		ok       = 1 // shrex.StatusOK
		notFound = 2 // shrex.StatusNotFound
	)
	header := func(status byte) []byte { return []byte{2, 0x08, status} } // length, then field 1 varint
	hidden := map[uint64]map[[2]int]bool{}
	for h := range withheld {
		w := squares[h].Width()
		cells := rand.New(rand.NewPCG(h, 7)).Perm(w * w)
		hidden[h] = map[[2]int]bool{}
		for _, c := range cells[:(w*w*26+99)/100] {
			hidden[h][[2]int{c / w, c % w}] = true
		}
	}
	// It hides the cells from the batched samples protocol too, as an
	// older bridge would: the light nodes ask it cell by cell.
	b.p2p.Host().RemoveStreamHandler(shrex.ProtocolID(chainID, shrex.KindSamples))
	b.p2p.Host().SetStreamHandler(shrex.ProtocolID(chainID, shrex.KindSample), func(s network.Stream) {
		defer s.Close()
		req, err := io.ReadAll(io.LimitReader(s, 64))
		if err != nil {
			_ = s.Reset()
			return
		}
		id, err := eds.UnmarshalSampleID(req)
		e := squares[id.Height]
		if err != nil || e == nil || hidden[id.Height][[2]int{id.Row, id.Col}] {
			_, _ = s.Write(header(notFound))
			return
		}
		smp, err := e.Sample(id.Row, id.Col, eds.Row)
		if err != nil {
			_, _ = s.Write(header(notFound))
			return
		}
		body, err := smp.MarshalBinary()
		if err != nil {
			_ = s.Reset()
			return
		}
		out := append(header(ok), binary.AppendUvarint(nil, uint64(len(body)))...)
		_, _ = s.Write(append(out, body...))
	})
}

// TestLightsMarkWithheldHeightsUnavailable: a bridge that publishes every
// header but serves only 74% of the cells of some squares makes every light
// node mark those heights unavailable (within the sample timeout: the
// DASer gives up on a height then), while they find the others available.
func TestLightsMarkWithheldHeightsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chainID = "withhold-test"
	chain, squares := chainWithSquares(t, chainID, 21, 30)
	withheld := map[uint64]bool{7: true, 19: true, 20: true}
	for h := range withheld {
		if squares[h].Width() < 4 {
			t.Fatalf("height %d: square of width %d is too small to withhold a quarter of", h, squares[h].Width())
		}
	}
	b := startTestBridge(ctx, t, chainID, memChain(ctx, t, chain))
	withholdSamples(t, b, chainID, squares, withheld)
	const sampleTimeout = 3 * time.Second
	start := time.Now()
	var lights []*nodebuilder.Node
	for i := range 2 {
		name := fmt.Sprint("light", i+1)
		conf := nodeConfig(nodebuilder.Light, chainID, b.addr(t))
		conf.Header.TrustedHeight = 1
		n, err := nodebuilder.New(nodebuilder.Light, t.TempDir(), conf, nodebuilder.Options{
			Logger: testLogger(t, name),
			DAS: func(o *das.Options) {
				o.SampleTimeout = sampleTimeout
				o.RetryBackoff = time.Hour // keep the first verdict
				o.Rand = rand.NewPCG(uint64(i), 1)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Stop(context.Background()) })
		lights = append(lights, n)
	}
	for i, n := range lights {
		name := fmt.Sprint("light", i+1)
		waitHeight(ctx, t, n, name, 30)
		coretest.WaitUntil(ctx, t, name+"'s DASer to learn of height 30", func() bool { return n.DASer().Stats().NetworkHead >= 30 })
		if err := n.DASer().WaitCatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		for h := uint64(1); h <= 30; h++ {
			r, err := n.DASer().Result(ctx, h)
			if err != nil {
				t.Fatalf("%s, height %d: %v", name, h, err)
			}
			if r.Available == withheld[h] {
				t.Errorf("%s, height %d: available %v, withheld %v", name, h, r.Available, withheld[h])
			}
		}
		if st := n.DASer().Stats(); len(st.Failed) != len(withheld) || st.SampledChainHead < 30 {
			t.Errorf("%s: stats %+v", name, st)
		}
		t.Logf("%s caught up over %d withheld heights in %v (sample timeout %v)", name, len(withheld), time.Since(start), sampleTimeout)
	}
}

// TestLightBlocksLyingSharePeer: a peer serving shares whose proofs do not
// lead to the header's roots (it serves another chain's squares) is
// blocked, and sampling completes from the honest bridge.
func TestLightBlocksLyingSharePeer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID = "lying-shares-test"
	chain, squares := chainWithSquares(t, chainID, 22, 20)
	_, otherSquares := chainWithSquares(t, chainID, 23, 20)
	headers := memChain(ctx, t, chain)
	good := startSquareBridge(ctx, t, chainID, headers, &squareMap{squares: squares})
	liar := startSquareBridge(ctx, t, chainID, headers, &squareMap{squares: otherSquares})
	conf := nodeConfig(nodebuilder.Light, chainID, liar.addr(t), good.addr(t))
	conf.Header.TrustedHash = hexOf(chain[0].Hash())
	n := startAvailNode(ctx, t, "light", nodebuilder.Light, conf)
	waitAvailable(ctx, t, n, "light", 20)
	if !n.P2P().IsBlocked(liar.id()) {
		t.Errorf("the lying peer is not blocked; blocked: %v", n.P2P().BlockedPeers())
	}
	if n.P2P().IsBlocked(good.id()) {
		t.Error("the honest bridge was blocked")
	}
}
