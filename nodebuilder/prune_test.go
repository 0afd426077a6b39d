package nodebuilder_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
	coretest.WaitUntil(ctx, t, "squares below the head to be pruned", func() bool {
		for h := uint64(1); h < n; h++ {
			if has, err := full.Squares().Has(ctx, h); err != nil || has {
				return false
			}
		}
		return true
	})
	if has, err := full.Squares().Has(ctx, n); err != nil || !has {
		t.Fatalf("the head's square was pruned too: %v %v", has, err)
	}
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
