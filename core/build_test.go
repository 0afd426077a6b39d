package core_test

import (
	"errors"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/share"
)

// signedBlock is a block as a core node serves it: the block, its commit and
// the validator set that signed it.
type signedBlock struct {
	block  *cmttypes.Block
	commit *cmttypes.Commit
	vals   *cmttypes.ValidatorSet
}

// genBlocks returns n genuinely signed consecutive blocks. rewrite, if not
// nil, rewrites each block's transactions (the data root transaction last)
// before it is signed.
func genBlocks(t *testing.T, n int, rewrite func(height int64, txs cmttypes.Txs) cmttypes.Txs) []signedBlock {
	t.Helper()
	return genBlocksAt(t, n, time.Time{}, rewrite)
}

// genBlocksAt is genBlocks with the first block at start (zero: an hour
// ago); the same start gives the same blocks.
func genBlocksAt(t *testing.T, n int, start time.Time, rewrite func(height int64, txs cmttypes.Txs) cmttypes.Txs) []signedBlock {
	t.Helper()
	var last cmttypes.Txs
	g := headertest.NewGenerator(headertest.Options{Validators: 3, Blobs: 3, Seed: 7, StartTime: start,
		Byzantine: func(h int64, txs cmttypes.Txs) cmttypes.Txs {
			if rewrite != nil {
				txs = rewrite(h, txs)
			}
			last = txs
			return txs
		}})
	out := make([]signedBlock, n)
	for i := range out {
		eh := g.Must(t)
		out[i] = signedBlock{
			block:  &cmttypes.Block{Header: eh.RawHeader, Data: cmttypes.Data{Txs: last}},
			commit: eh.Commit,
			vals:   eh.ValidatorSet,
		}
	}
	return out
}

func TestBuildHeaderValidBlocks(t *testing.T) {
	blocks := genBlocks(t, 3, nil)
	var prev *header.ExtendedHeader
	for _, b := range blocks {
		h, ext, err := core.BuildHeader(b.block, b.commit, b.vals, share.DefaultMaxSquareSize)
		if err != nil {
			t.Fatalf("height %d: %v", b.block.Height, err)
		}
		if err := h.Validate(); err != nil {
			t.Fatal(err)
		}
		if ext.K() != h.DAH.SquareSize() {
			t.Fatalf("square width %d, DAH says %d", ext.K(), h.DAH.SquareSize())
		}
		// The square holds the block's blobs.
		ps, err := share.ParseSquare(ext.ODS())
		if err != nil {
			t.Fatal(err)
		}
		if len(ps.Blobs) != 3 {
			t.Fatalf("height %d: %d blobs in the square, want 3", h.Height(), len(ps.Blobs))
		}
		if prev != nil {
			if err := header.VerifyAdjacent(prev, h, header.VerifyOptions{}); err != nil {
				t.Fatalf("height %d does not verify against the one before: %v", h.Height(), err)
			}
		}
		prev = h
	}
}

func TestBuildHeaderMalformed(t *testing.T) {
	good := genBlocks(t, 2, nil)
	swapLastTwo := func(_ int64, txs cmttypes.Txs) cmttypes.Txs {
		n := len(txs)
		txs[n-1], txs[n-2] = txs[n-2], txs[n-1]
		return txs
	}
	dropLast := func(_ int64, txs cmttypes.Txs) cmttypes.Txs { return txs[:len(txs)-1] }
	wrongRoot := func(_ int64, txs cmttypes.Txs) cmttypes.Txs {
		drt, err := header.UnmarshalDataRootTx(txs[len(txs)-1])
		if err != nil {
			t.Fatal(err)
		}
		drt.DataRoot[0] ^= 1
		txs[len(txs)-1], _ = drt.Marshal()
		return txs
	}
	bigSquare := func(_ int64, txs cmttypes.Txs) cmttypes.Txs {
		drt, _ := header.UnmarshalDataRootTx(txs[len(txs)-1])
		drt.SquareSize = 256
		txs[len(txs)-1], _ = drt.Marshal()
		return txs
	}
	// The ordinary transaction moved after the blob transactions.
	misordered := func(_ int64, txs cmttypes.Txs) cmttypes.Txs {
		out := append(cmttypes.Txs{}, txs[1:len(txs)-1]...)
		return append(out, txs[0], txs[len(txs)-1])
	}
	tamperedTxs := func() signedBlock {
		b := genBlocks(t, 1, nil)[0]
		txs := append(cmttypes.Txs{}, b.block.Txs...)
		txs[0] = append([]byte("x"), txs[0]...)
		b.block = &cmttypes.Block{Header: b.block.Header, Data: cmttypes.Data{Txs: txs}}
		return b
	}()

	tests := []struct {
		name string
		b    signedBlock
		max  int
		want error
	}{
		{"no data root tx", genBlocks(t, 1, dropLast)[0], 128, core.ErrMalformedBlock},
		{"data root tx not last", genBlocks(t, 1, swapLastTwo)[0], 128, core.ErrMalformedBlock},
		{"wrong data root", genBlocks(t, 1, wrongRoot)[0], 128, core.ErrMalformedBlock},
		{"square over the maximum", genBlocks(t, 1, bigSquare)[0], 128, core.ErrMalformedBlock},
		{"square over a small maximum", good[0], 1, core.ErrMalformedBlock},
		{"ordinary tx after blob txs", genBlocks(t, 1, misordered)[0], 128, share.ErrTxOrder},
		{"txs not under DataHash", tamperedTxs, 128, core.ErrMalformedBlock},
		{"commit of another block", signedBlock{good[0].block, good[1].commit, good[0].vals}, 128, header.ErrInvalidHeader},
		{"validator set of another block", signedBlock{good[0].block, good[0].commit, headertest.NewGenerator(headertest.Options{Seed: 99}).Must(t).ValidatorSet}, 128, core.ErrMalformedBlock},
		{"no commit", signedBlock{good[0].block, nil, good[0].vals}, 128, core.ErrMalformedBlock},
		{"nil block", signedBlock{nil, good[0].commit, good[0].vals}, 128, core.ErrMalformedBlock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := core.BuildHeader(tt.b.block, tt.b.commit, tt.b.vals, tt.max)
			if !errors.Is(err, tt.want) || !errors.Is(err, core.ErrMalformedBlock) {
				t.Fatalf("got %v, want %v (and ErrMalformedBlock)", err, tt.want)
			}
		})
	}
	if _, _, err := core.BuildHeader(good[0].block, good[0].commit, good[0].vals, 3); err == nil {
		t.Fatal("a max square size of 3 was accepted")
	}
}
