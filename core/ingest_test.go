package core_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

// BuildHeader lays the square out in place and extends it there, and Put
// stores its original square: the square, its DAH and the stored original
// square are byte-identical to those of share.Construct, eds.Extend and
// eds.NewDAH, from the empty 1×1 square to k = 256, for consecutive
// blocks.
func TestBuildHeaderMatchesConstructExtend(t *testing.T) {
	ctx := context.Background()
	for _, k := range []int{1, 32, 64, 256} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			next := fullBlocks(t, k)
			s := core.NewStore(badgertest.Open(t), -1) // reads come from Badger
			for height := uint64(1); height <= 2; height++ {
				blk := next()
				sq, err := share.Construct(blockTxs(blk), share.SquareSizeUpperBound)
				if err != nil {
					t.Fatal(err)
				}
				want, err := eds.Extend(sq.Shares)
				if err != nil {
					t.Fatal(err)
				}
				wantDAH, err := eds.NewDAH(want)
				if err != nil {
					t.Fatal(err)
				}
				h, got, err := core.BuildHeader(blk.block, blk.commit, blk.vals, share.SquareSizeUpperBound)
				if err != nil {
					t.Fatal(err)
				}
				if got.K() != k || want.K() != k {
					t.Fatalf("widths %d and %d, want %d", got.K(), want.K(), k)
				}
				for r := range got.Width() {
					if !bytes.Equal(bytes.Join(got.Row(r), nil), bytes.Join(want.Row(r), nil)) {
						t.Fatalf("height %d: row %d differs from eds.Extend's", height, r)
					}
				}
				if !h.DAH.Equals(wantDAH) || !bytes.Equal(h.DAH.Hash(), wantDAH.Hash()) {
					t.Fatalf("height %d: the header's DAH is not eds.NewDAH's", height)
				}
				if err := s.Put(ctx, h, got); err != nil {
					t.Fatal(err)
				}
				stored, err := s.ODS(ctx, height)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(bytes.Join(stored, nil), bytes.Join(sq.Shares, nil)) {
					t.Fatalf("height %d: the stored original square is not share.Construct's", height)
				}
			}
			if err := s.Check(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
