package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

func TestRetainHeight(t *testing.T) {
	for _, c := range []struct{ height, n, want int64 }{
		{10, 0, 0}, // keep every block
		{3, 4, 0},  // fewer blocks than kept
		{4, 4, 0},  // exactly as many
		{5, 4, 2},  // keep 2..5
		{100, 1, 100},
	} {
		if got := retainHeight(c.height, c.n); got != c.want {
			t.Errorf("retainHeight(%d, %d) = %d, want %d", c.height, c.n, got, c.want)
		}
	}
	if err := WithRetainBlocks(-1)(&App{}); err == nil {
		t.Fatal("a negative number of blocks to keep was accepted")
	}
}

// Commit returns the retain height of WithRetainBlocks.
func TestCommitRetainHeight(t *testing.T) {
	e := newTestEnv(t, nil)
	if err := WithRetainBlocks(2)(e.app); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.block()
	}
	proposal := e.prepare()
	if _, err := e.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: proposal, Height: e.nextH}); err != nil {
		t.Fatal(err)
	}
	res, err := e.app.Commit(context.Background(), &abci.RequestCommit{})
	if err != nil {
		t.Fatal(err)
	}
	if want := e.nextH - 1; res.RetainHeight != want {
		t.Fatalf("Commit at height %d: retain height %d, want %d", e.nextH, res.RetainHeight, want)
	}
}
