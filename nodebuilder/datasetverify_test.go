package nodebuilder_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/dataset"
	"github.com/datamesh/mesh-node/dataset/fetch"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// TestLightVerifiesDatasetAgainstLyingPeer is issue 16's light-node
// verify: a dataset's parts, each at a height of its own, and its manifest
// are paid for on a real chain. A light node whose only share peer serves
// the chain's real headers, and honest squares except at the last part's
// height, where one share of the part is changed (and the square
// re-extended, so that it is consistent in itself but not with the
// header's data root), verifies the dataset through dataset/fetch over its
// JSON-RPC API: the report names that part alone, by index and height,
// the light node refused the shares (it blocks the peer, for invalid
// namespace data) rather than returning altered bytes, and every other
// part verifies. A light node with an honest peer besides the liar
// verifies the dataset whole.
func TestLightVerifiesDatasetAgainstLyingPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT chain, a bridge, a lying peer and two light nodes")
	}
	const chainID = "dataset-verify-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v, bridge := chainAndBridge(ctx, t, chainID)

	root, parts, sum, _ := testDataset(t, 7, 10, 4000)
	if len(parts) < 3 {
		t.Fatalf("%d parts: want at least 3", len(parts))
	}
	ns, err := dataset.DefaultNamespace(root)
	if err != nil {
		t.Fatal(err)
	}
	post := blobPoster(ctx, t, chainID, v)
	refs := make([]dataset.PartRef, len(parts))
	for i, p := range parts {
		h, coms := post(ns, p.Data)
		if i > 0 && h <= refs[i-1].Height {
			t.Fatalf("part %d landed at height %d, part %d at %d: want a height each", i, h, i-1, refs[i-1].Height)
		}
		refs[i] = dataset.PartRef{Height: h, Commitment: coms[0]}
	}
	manifest, mc, err := dataset.ManifestFor(root, sum.Size, sum.Blocks, refs)
	if err != nil {
		t.Fatal(err)
	}
	manifestHeight, _ := post(ns, manifest)
	coretest.WaitUntil(ctx, t, "the bridge to store the manifest's square", func() bool {
		_, err := bridge.Store().EDS(ctx, manifestHeight)
		return err == nil
	})

	bad := len(parts) - 1
	badHeight := refs[bad].Height
	liar := startSquareBridge(ctx, t, chainID, bridge.Headers(), &tamperedAt{
		honest: bridge.Store().EDS, height: badHeight, lie: alteredShareSquare(ctx, t, bridge, badHeight, ns)})

	// Sampling is off (a nanosecond's window) so that the only share
	// requests are the verify's, in its order: the manifest, then the
	// parts, the altered one last.
	noSampling := nodebuilder.Options{DAS: func(o *das.Options) { o.SamplingWindow = time.Nanosecond }}
	bridgeID, _ := bridge.Info()
	lconf := nodeConfig(nodebuilder.Light, chainID, liar.addr(t))
	lconf.Header.TrustedHeight = 1
	lconf.RPC.SkipAuth = true
	lconf.P2P.BlockedPeers = []string{bridgeID}
	light := startNodeWith(ctx, t, t.TempDir(), "light", nodebuilder.Light, lconf, noSampling)
	waitHeight(ctx, t, light, "light", manifestHeight)

	rep := verifyThrough(ctx, t, light, root, manifestHeight)
	if len(rep.Bad) != 1 || rep.Bad[0].Index != bad || rep.Bad[0].Height != badHeight || !bytes.Equal(rep.Bad[0].Commitment, refs[bad].Commitment) {
		t.Fatalf("with a lying peer: %v; want part %d (height %d) bad, and no other", rep.Err(), bad, badHeight)
	}
	if rep.CID != mc || rep.Whole != nil {
		t.Fatalf("report of manifest %s, whole-dataset error %v", rep.CID, rep.Whole)
	}
	// The light node refused the altered shares: it answered blob.Get
	// with an error (not the altered bytes, which would fail the
	// commitment check instead), having found the namespace data invalid
	// against the header's roots, and blocked the peer that served it.
	msg := rep.Bad[0].Error()
	t.Logf("the altered part: %s", msg)
	if !strings.Contains(msg, "blob.Get") || strings.Contains(msg, "the manifest lists") || !strings.Contains(msg, "invalid namespace data") {
		t.Fatalf("the altered part: %s", msg)
	}
	if !light.P2P().IsBlocked(liar.id()) {
		t.Fatalf("the lying peer is not blocked; blocked: %v", light.P2P().BlockedPeers())
	}

	// With an honest peer beside the liar, the dataset verifies whole.
	l2conf := nodeConfig(nodebuilder.Light, chainID, liar.addr(t), addr(t, bridge))
	l2conf.Header.TrustedHeight = 1
	l2conf.RPC.SkipAuth = true
	light2 := startNodeWith(ctx, t, t.TempDir(), "light2", nodebuilder.Light, l2conf, noSampling)
	waitHeight(ctx, t, light2, "light2", manifestHeight)
	if rep := verifyThrough(ctx, t, light2, root, manifestHeight); rep.Err() != nil {
		t.Fatalf("with an honest peer: %v", rep.Err())
	}
}

// verifyThrough verifies the dataset of root, whose manifest is at
// height, with dataset/fetch over n's JSON-RPC API.
func verifyThrough(ctx context.Context, t *testing.T, n *nodebuilder.Node, root cid.Cid, height uint64) *fetch.Report {
	t.Helper()
	cl, err := client.New(ctx, "http://"+n.API().Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	f, err := fetch.New(cl, fetch.Options{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := f.LocateAt(ctx, root, height, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.Verify(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Manifest.Parts) == 0 {
		t.Fatal("a manifest of no parts")
	}
	return rep
}

// tamperedAt is a shrex store that serves lie at height and the honest
// squares elsewhere.
type tamperedAt struct {
	honest func(context.Context, uint64) (*eds.ExtendedDataSquare, error)
	height uint64
	lie    *eds.ExtendedDataSquare
}

func (s *tamperedAt) EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	if height == s.height {
		return s.lie, nil
	}
	return s.honest(ctx, height)
}

// alteredShareSquare returns the bridge's square at height with the last
// byte of the first share of ns flipped, re-extended.
func alteredShareSquare(ctx context.Context, t *testing.T, bridge *nodebuilder.Node, height uint64, ns share.Namespace) *eds.ExtendedDataSquare {
	t.Helper()
	ods, err := bridge.Store().ODS(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ods {
		if bytes.Equal(s[:share.NamespaceSize], ns[:]) {
			ods[i] = bytes.Clone(s)
			ods[i][len(s)-1] ^= 1
			e, err := eds.Extend(ods)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
	}
	t.Fatalf("no share of namespace %s at height %d", ns, height)
	return nil
}
