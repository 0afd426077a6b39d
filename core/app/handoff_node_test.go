package app_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/header"
)

// dataRootAt returns the data root block height of c's chain commits to.
func dataRootAt(ctx context.Context, t *testing.T, v *coretest.Validator, height int64) []byte {
	t.Helper()
	b, err := v.Client().Block(ctx, &height)
	if err != nil {
		t.Fatal(err)
	}
	drt, err := header.UnmarshalDataRootTx(b.Block.Txs[len(b.Block.Txs)-1])
	if err != nil {
		t.Fatal(err)
	}
	return drt.DataRoot
}

func TestNodeKeepsFewSquares(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, _ := coretest.Key(t, "alice")
	g := coretest.Genesis(t, "mesh-handoff-app-test", "alice")
	v := coretest.NewValidator(t)
	coretest.WriteGenesis(t, g, v)
	v.Options.SquareHandOff = true
	var a *app.App
	v.Start(func(inner *app.App) abci.Application { a = inner; return inner })
	c := v.Client()
	coretest.WaitHeight(ctx, t, c, 1)

	// Nobody takes the squares while the chain runs: the application keeps
	// at most MaxKeptSquares, read all along from another goroutine.
	var most atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if n := int64(a.KeptSquares()); n > most.Load() {
				most.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	var blobHeights []int64
	for i := range 4 {
		raw := coretest.PFBTx(t, g.ChainID, alice, uint64(i), g.Params, blobs(txtest.Namespace(t, byte(9+i)), blobData(20_000*(i+1), byte(i))))
		blobHeights = append(blobHeights, coretest.Broadcast(ctx, t, c, raw))
	}
	first := coretest.Height(ctx, t, c)
	coretest.WaitHeight(ctx, t, c, first+10)
	close(stop)
	wg.Wait()
	if m := most.Load(); m < 1 || m > app.MaxKeptSquares {
		t.Fatalf("the application kept up to %d squares, want 1 to %d", m, app.MaxKeptSquares)
	}

	// The squares of the blobs, ten heights below the last committed one,
	// are gone; that of the last committed one (polled: the chain moves
	// on) is there, once.
	for _, h := range blobHeights {
		if _, _, ok := a.TakeSquare(dataRootAt(ctx, t, v, h)); ok {
			t.Fatalf("the square of height %d is still kept at height %d", h, coretest.Height(ctx, t, c))
		}
	}
	coretest.WaitUntil(ctx, t, "the last committed height's square", func() bool {
		root := dataRootAt(ctx, t, v, coretest.Height(ctx, t, c))
		ext, dah, ok := a.TakeSquare(root)
		if !ok {
			return false
		}
		if string(dah.Hash()) != string(root) || ext.K() != dah.SquareSize() {
			t.Fatalf("handed over a square of data root %X for %X", dah.Hash(), root)
		}
		if _, _, again := a.TakeSquare(root); again {
			t.Fatal("a square was handed over twice")
		}
		return true
	})
}
