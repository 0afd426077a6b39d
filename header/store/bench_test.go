package store_test

import (
	"context"
	"testing"

	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// BenchmarkAppendAndRange appends a header-ex response's worth (64
// headers) per iteration to a real Badger database, then reads it back with
// GetRange; ns/op is per batch of 64.
func BenchmarkAppendAndRange(b *testing.B) {
	const batch = 64
	ctx := context.Background()
	g := headertest.NewGenerator(headertest.Options{Blobs: 4})
	db := badgertest.Open(b)
	s := store.New(db)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		chain := g.Chain(b, batch)
		b.StartTimer()
		if err := s.Append(ctx, chain...); err != nil {
			b.Fatal(err)
		}
		from := chain[0].Height()
		got, err := s.GetRange(ctx, from, from+batch)
		if err != nil || len(got) != batch {
			b.Fatal(err)
		}
	}
}
