package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// BenchmarkReadODS reads an original square back, cache off, from a
// Badger value (Put) and from its own file (StartWrite).
func BenchmarkReadODS(b *testing.B) {
	ctx := context.Background()
	for _, k := range []int{32, 128} {
		e, _ := edstest.RandomEDS(b, uint64(k), k, k/2)
		for _, form := range []string{"value", "file"} {
			b.Run(fmt.Sprintf("k=%d/%s", k, form), func(b *testing.B) {
				db := badgertest.Open(b)
				s := New(db, Options{CacheSize: -1})
				err := db.Update(func(txn *badger.Txn) error {
					if form == "value" {
						return s.Put(txn, 1, e)
					}
					w, err := s.StartWrite(1, e.ODSRows())
					if err != nil {
						return err
					}
					return w.Commit(txn)
				})
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(k * k * share.ShareSize))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.ODS(ctx, 1); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
