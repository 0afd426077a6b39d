package validator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/validator"
)

// With RetainBlocks the node's block store keeps only the last blocks:
// the earliest height it serves moves up with the head, older blocks are
// gone from its RPC, and the kept ones are whole.
func TestRetainBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	if _, err := validator.Init(home, validator.InitOptions{ChainID: "retain-lib", Moniker: "r", BlockTime: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := validator.Start(loopbackConfig(t, home, ""), validator.Options{RetainBlocks: -1}); err == nil ||
		!strings.Contains(err.Error(), "RetainBlocks -1 is negative") {
		t.Fatalf("Start keeping -1 blocks: %v", err)
	}
	const keep = 4
	n, err := validator.Start(loopbackConfig(t, home, ""), validator.Options{RetainBlocks: keep})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	c := client(t, n)
	coretest.WaitHeight(ctx, t, c, 12)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest, earliest := st.SyncInfo.LatestBlockHeight, st.SyncInfo.EarliestBlockHeight
	// The block store's base is the retain height of the last commit,
	// latest−keep+1; one less if the status was read between a block's
	// save and its commit, one more if a commit came between the status's
	// reads of the two.
	if earliest < latest-keep || earliest > latest-keep+2 {
		t.Fatalf("earliest block %d with latest %d: want %d to %d", earliest, latest, latest-keep, latest-keep+2)
	}
	one := int64(1)
	if b, err := c.Block(ctx, &one); err == nil {
		t.Fatalf("block 1 still served (height %d) after pruning", b.Block.Height)
	}
	// A kept block (a block takes 200 ms: it stays kept for 600 ms more).
	b, err := c.Block(ctx, &latest)
	if err != nil {
		t.Fatalf("the latest block %d: %v", latest, err)
	}
	if b.Block.Height != latest {
		t.Fatalf("asked for block %d, got %d", latest, b.Block.Height)
	}
}
