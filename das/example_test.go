package das_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

// squares is a Getter serving samples of the squares it holds; in a node,
// the share exchange (shrex) is the Getter.
type squares map[uint64]*eds.ExtendedDataSquare

func (s squares) GetSample(_ context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	sq, ok := s[h.Height()]
	if !ok {
		return nil, das.ErrUnavailable
	}
	return sq.Sample(row, col, eds.Row)
}

func Example() {
	ctx := context.Background()
	getter := squares{}
	gen := headertest.NewGenerator(headertest.Options{
		Seed:     1,
		OnSquare: func(h int64, sq *eds.ExtendedDataSquare) { getter[uint64(h)] = sq },
	})
	store := headertest.NewMemStore()
	for range 10 {
		h, err := gen.Next()
		if err != nil {
			panic(err)
		}
		if err := store.Append(ctx, h); err != nil {
			panic(err)
		}
	}

	d, err := das.New(store, getter, das.Options{Rand: rand.NewPCG(1, 2)})
	if err != nil {
		panic(err)
	}
	if err := d.Start(ctx); err != nil {
		panic(err)
	}
	defer func() { _ = d.Stop(ctx) }()
	if err := d.WaitCatchUp(ctx); err != nil {
		panic(err)
	}
	r, err := d.Result(ctx, 10)
	if err != nil {
		panic(err)
	}
	st := d.Stats()
	fmt.Printf("sampled chain head %d of %d, failed %d\n", st.SampledChainHead, st.NetworkHead, len(st.Failed))
	fmt.Printf("height %d available: %v, confidence ≥ 0.99: %v\n", r.Height, r.Available, r.Confidence >= 0.99)
	// Output:
	// sampled chain head 10 of 10, failed 0
	// height 10 available: true, confidence ≥ 0.99: true
}
