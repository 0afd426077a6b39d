package store_test

import (
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/store"
)

// BenchmarkAppendAndRange appends a header-ex response's worth (64
// headers) per iteration to a real Badger database, then reads it back with
// GetRange; ns/op is per batch of 64.
func BenchmarkAppendAndRange(b *testing.B) {
	const batch = 64
	ctx := context.Background()
	g := headertest.NewGenerator(headertest.Options{Blobs: 4})
	db, err := badger.Open(badger.DefaultOptions(b.TempDir()).WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
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
