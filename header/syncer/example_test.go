package syncer_test

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/syncer"
)

// A node initialises its store from a trusted height, then syncs to the
// network head. Here the network is a local 30-header chain.
func Example() {
	ctx := context.Background()
	g := headertest.NewGenerator(headertest.Options{Seed: 1})
	chain := headertest.NewMemStore()
	for range 30 {
		h, err := g.Next()
		if err != nil {
			panic(err)
		}
		if err := chain.Append(ctx, h); err != nil {
			panic(err)
		}
	}
	ex := &network{chain: chain, visible: 30}

	store := headertest.NewMemStore()
	base, err := syncer.Init(ctx, store, ex, syncer.Trust{Height: 5}, syncer.Options{})
	if err != nil {
		panic(err)
	}
	s, err := syncer.New(store, ex, syncer.Options{BatchSize: 10})
	if err != nil {
		panic(err)
	}
	if err := s.Start(ctx); err != nil {
		panic(err)
	}
	defer s.Stop(ctx)
	if err := s.SyncWait(ctx); err != nil {
		panic(err)
	}
	st := s.State()
	fmt.Println("base", base.Height(), "height", st.Height, "target", st.Target, "syncing", st.Syncing)
	// Output: base 5 height 30 target 30 syncing false
}
