package nodebuilder_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/share"
)

// A full node prunes the squares that leave the availability window, and
// their blob commitment index entries, and keeps its head's square. Its
// pruner's clock runs 8 days ahead, so every header but the head is old.
// (Before this test, a full node's assembly also scheduled the bridge's
// pruner over a nil core store: the first prune past 7 days would have
// crashed it.)
func TestFullNodePrunesSquaresAndIndex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chainID = "prune-test"
	const n = 12
	chain, squares := chainWithSquares(t, chainID, 31, n)
	b := startSquareBridge(ctx, t, chainID, memChain(ctx, t, chain), &squareMap{squares: squares})

	var prune = make(chan struct{}) // closed once the squares are stored
	conf := nodeConfig(nodebuilder.Full, chainID, b.addr(t))
	conf.Header.TrustedHeight = 1
	full := startNodeWith(ctx, t, t.TempDir(), "full", nodebuilder.Full, conf, nodebuilder.Options{
		Pruner: prunerAhead(prune),
	})
	waitAvailable(ctx, t, full, "full", n)

	// A blob of height 1, found through the index before pruning.
	blobs, err := share.ParseBlobs(mustNamespaceShares(t, squares[1]))
	if err != nil || len(blobs) == 0 {
		t.Fatalf("height 1 holds no blob to look up: %v", err)
	}
	com, err := blobs[0].Blob.Commitment()
	if err != nil {
		t.Fatal(err)
	}
	coretest.WaitUntil(ctx, t, "the index to hold height 1's blob", func() bool {
		h, _, _, err := full.BlobIndex().Lookup(ctx, com)
		return err == nil && h == 1
	})

	close(prune)
	waitPrunedBelowHead(ctx, t, full, n)
	// The pruned squares' files go too, so the disk space comes back.
	coretest.WaitUntil(ctx, t, "the pruned squares' files to be removed", func() bool {
		for h := uint64(1); h < n; h++ {
			if files, err := filepath.Glob(filepath.Join(full.Squares().FileDir(), fmt.Sprintf("%016x-*.ods", h))); err != nil || len(files) > 0 {
				return false
			}
		}
		files, err := filepath.Glob(filepath.Join(full.Squares().FileDir(), fmt.Sprintf("%016x-*.ods", n)))
		return err == nil && len(files) == 1
	})
	coretest.WaitUntil(ctx, t, "height 1's index entry to be pruned", func() bool {
		_, _, _, err := full.BlobIndex().Lookup(ctx, com)
		return errors.Is(err, blob.ErrBlobNotFound)
	})
	// Headers stay.
	if _, err := full.Headers().GetByHeight(ctx, 1); err != nil {
		t.Fatalf("header 1 after pruning: %v", err)
	}
}

// waitPrunedBelowHead waits until the node holds no square below head,
// and checks it holds the head's.
func waitPrunedBelowHead(ctx context.Context, t *testing.T, n *nodebuilder.Node, head uint64) {
	t.Helper()
	coretest.WaitUntil(ctx, t, "squares below the head to be pruned", func() bool {
		for h := uint64(1); h < head; h++ {
			if has, err := n.Squares().Has(ctx, h); err != nil || has {
				return false
			}
		}
		return true
	})
	if has, err := n.Squares().Has(ctx, head); err != nil || !has {
		t.Fatalf("the head's square was pruned too: %v %v", has, err)
	}
}

// prunerAhead makes a pruner run every 50 ms with a clock 8 days ahead
// once ahead is closed, so that every header but the head is old.
func prunerAhead(ahead <-chan struct{}) func(*das.PrunerOptions) {
	return func(o *das.PrunerOptions) {
		o.Interval = 50 * time.Millisecond
		o.Now = func() time.Time {
			select {
			case <-ahead:
				return time.Now().Add(8 * 24 * time.Hour)
			default:
				return time.Now()
			}
		}
	}
}

// mustNamespaceShares returns the shares of the first blob namespace of a
// square's original data, for share.ParseBlobs.
func mustNamespaceShares(t *testing.T, e interface{ FlattenedODS() [][]byte }) [][]byte {
	t.Helper()
	var out [][]byte
	var ns share.Namespace
	for _, s := range e.FlattenedODS() {
		got, err := share.NamespaceFromBytes(s[:share.NamespaceSize])
		if err != nil || got.ValidateForBlob() != nil {
			if len(out) > 0 {
				break
			}
			continue
		}
		if len(out) > 0 && got != ns {
			break
		}
		ns = got
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatal(fmt.Errorf("no blob namespace in the square"))
	}
	return out
}

// store.availability_window sets the full node's window: with 30 minutes,
// the squares of a chain whose headers are an hour old are pruned (the
// head's kept) by the node's own clock.
func TestFullNodeAvailabilityWindow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chainID = "window-test"
	const n = 6
	chain, squares := chainWithSquares(t, chainID, 33, n)
	b := startSquareBridge(ctx, t, chainID, memChain(ctx, t, chain), &squareMap{squares: squares})

	conf := nodeConfig(nodebuilder.Full, chainID, b.addr(t))
	conf.Header.TrustedHeight = 1
	conf.Store.AvailabilityWindow = nodebuilder.Duration(30 * time.Minute)
	full := startNodeWith(ctx, t, t.TempDir(), "full", nodebuilder.Full, conf, nodebuilder.Options{
		Pruner: func(o *das.PrunerOptions) { o.Interval = 50 * time.Millisecond },
	})
	waitAvailable(ctx, t, full, "full", n)
	waitPrunedBelowHead(ctx, t, full, n)
}

// The availability window of bridge and full nodes must be positive; a
// light node, which keeps no squares, has none to check.
func TestConfigAvailabilityWindow(t *testing.T) {
	for _, mode := range []nodebuilder.Mode{nodebuilder.Bridge, nodebuilder.Full, nodebuilder.Light} {
		c := nodebuilder.DefaultConfig(mode)
		c.ChainID = "window-test"
		if mode != nodebuilder.Bridge {
			c.P2P.BootstrapPeers = []string{"/ip4/127.0.0.1/tcp/2121/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"}
		}
		if err := c.Validate(mode); err != nil {
			t.Fatalf("%s defaults: %v", mode, err)
		}
		if mode != nodebuilder.Light && time.Duration(c.Store.AvailabilityWindow) != das.DefaultAvailabilityWindow {
			t.Errorf("%s: default window %s, want %s", mode, time.Duration(c.Store.AvailabilityWindow), das.DefaultAvailabilityWindow)
		}
		c.Store.AvailabilityWindow = 0
		err := c.Validate(mode)
		if mode == nodebuilder.Light {
			if err != nil {
				t.Errorf("light node with no window: %v", err)
			}
			continue
		}
		if !errors.Is(err, nodebuilder.ErrConfig) || !strings.Contains(err.Error(), "store.availability_window") {
			t.Errorf("%s with no window: %v, want an ErrConfig naming the key", mode, err)
		}
	}
}
