package core_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

// countingSquares hands over the squares of src and records the data roots
// it was asked for and those it had.
type countingSquares struct {
	src core.Squares

	mu           sync.Mutex
	asked, given [][]byte
}

func (c *countingSquares) TakeSquare(root []byte) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader, bool) {
	ext, dah, ok := c.src.TakeSquare(root)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, bytes.Clone(root))
	if ok {
		c.given = append(c.given, bytes.Clone(root))
	}
	return ext, dah, ok
}

func (c *countingSquares) gave(root []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.given, func(r []byte) bool { return bytes.Equal(r, root) })
}

// wrongSquares hands over, for every data root src holds, a square that is
// not that root's: in turn one of another data root with its own DAH, and
// one of another data root with the DAH of the root asked for.
type wrongSquares struct {
	src      core.Squares
	other    *eds.ExtendedDataSquare
	otherDAH *eds.DataAvailabilityHeader

	mu    sync.Mutex
	given int
}

func (w *wrongSquares) TakeSquare(root []byte) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader, bool) {
	_, dah, ok := w.src.TakeSquare(root)
	if !ok {
		return nil, nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.given++
	if w.given%2 == 1 {
		return w.other, w.otherDAH, true
	}
	return w.other, dah, true
}

// handOffChain starts two validators, the first keeping its squares
// (validator.Options.SquareHandOff), each the other's peer so that each
// proposes in turn.
// It skips a short test and returns the test's context, of three minutes.
func handOffChain(t *testing.T) (context.Context, *coretest.Validator, func(nonce uint64, size int) int64) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	g := coretest.Genesis(t, "mesh-handoff-test", "alice")
	vals := coretest.NewValidators(t, 2)
	coretest.WriteGenesis(t, g, vals...)
	vals[0].Options.SquareHandOff = true
	for _, v := range vals {
		// A block of a 64 square takes a while under the race detector:
		// the bridge keeps up with a block a second.
		v.Config.Consensus.TimeoutCommit = time.Second
		// Each proposes in turn in round 0, however slow the machine: no
		// round passes to the other for want of a proposal.
		v.Config.Consensus.TimeoutPropose = 10 * time.Second
		v.Start(nil)
	}
	coretest.WaitHeight(ctx, t, vals[0].Client(), 1)
	key, _ := coretest.Key(t, "alice")
	submit := func(nonce uint64, size int) int64 {
		blob := coretest.Blob{Namespace: mustNamespace(t, byte(1+nonce)), Data: bytes.Repeat([]byte{byte(nonce)}, size)}
		return coretest.Broadcast(ctx, t, vals[0].Client(), coretest.PFBTx(t, g.ChainID, key, nonce, g.Params, []coretest.Blob{blob}))
	}
	return ctx, vals[0], submit
}

// stored returns the header at height in s, encoded, its data root and
// the square.
func stored(ctx context.Context, t *testing.T, s *core.Store, height uint64) ([]byte, []byte, *eds.ExtendedDataSquare) {
	t.Helper()
	h, err := s.GetByHeight(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	ext, err := s.EDS(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	return raw, h.DataRoot(), ext
}

// checkSameStores checks that a and b hold byte-identical headers and
// squares at every height from 1 to head, and returns the data roots.
func checkSameStores(ctx context.Context, t *testing.T, a, b *core.Store, head uint64) map[uint64][]byte {
	t.Helper()
	roots := map[uint64][]byte{}
	for h := uint64(1); h <= head; h++ {
		ha, root, ea := stored(ctx, t, a, h)
		hb, _, eb := stored(ctx, t, b, h)
		if !bytes.Equal(ha, hb) {
			t.Fatalf("height %d: the headers differ", h)
		}
		if ea.Width() != eb.Width() {
			t.Fatalf("height %d: squares of width %d and %d", h, ea.Width(), eb.Width())
		}
		for r := range ea.Width() {
			if !slices.EqualFunc(ea.Row(r), eb.Row(r), bytes.Equal) {
				t.Fatalf("height %d: row %d of the squares differs", h, r)
			}
		}
		roots[h] = root
	}
	return roots
}

// followBoth starts a follower of v's RPC with squares, and one without,
// each with a store of its own.
func followBoth(ctx context.Context, t *testing.T, v *coretest.Validator, squares core.Squares) (with, without *core.Store, colWith, colWithout *collector) {
	t.Helper()
	with, without = core.NewStore(badgertest.Open(t), 0), core.NewStore(badgertest.Open(t), 0)
	colWith, colWithout = newCollector(), newCollector()
	o := bridgeOptions(t, v.RPCAddr, v.Node().ChainID(), with, colWith)
	o.Squares = squares
	startFollower(ctx, t, o)
	startFollower(ctx, t, bridgeOptions(t, v.RPCAddr, v.Node().ChainID(), without, colWithout))
	return with, without, colWith, colWithout
}

func TestFollowerTakesTheValidatorsSquares(t *testing.T) {
	ctx, v, submit := handOffChain(t)
	src := &countingSquares{src: v.Node()}
	with, without, colWith, colWithout := followBoth(ctx, t, v, src)

	// Blobs laying out in squares of 8 to 64 (a 64 square holds about
	// 1.9 MB, a 32 one 480 kB).
	sizes := []int{2_000, 20_000, 100_000, 300_000, 600_000}
	blobHeights := make([]int64, len(sizes))
	for i, size := range sizes {
		blobHeights[i] = submit(uint64(i), size)
	}
	head := uint64(blobHeights[len(blobHeights)-1]) + 1
	colWith.waitHeight(ctx, t, head)
	colWithout.waitHeight(ctx, t, head)
	roots := checkSameStores(ctx, t, with, without, head)

	ext, err := with.EDS(ctx, uint64(blobHeights[len(blobHeights)-1]))
	if err != nil {
		t.Fatal(err)
	}
	if ext.K() != 64 {
		t.Fatalf("the last blob's square is %d wide, want 64", ext.K())
	}
	// A validator keeps the squares of the last two committed heights:
	// the follower, idle when each blob is committed, takes every one.
	for i, h := range blobHeights {
		if !src.gave(roots[uint64(h)]) {
			t.Errorf("blob %d (height %d): the square was built again, not handed over", i, h)
		}
	}
	// Every height in between too, half of them proposed by the other
	// validator: the square kept is the one ProcessProposal built.
	pk, err := v.PV.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	others := 0
	for h := uint64(blobHeights[0]); h < head; h++ {
		if !src.gave(roots[h]) {
			t.Errorf("height %d: the square was built again, not handed over", h)
		}
		eh, err := with.GetByHeight(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(eh.RawHeader.ProposerAddress, pk.Address()) {
			others++
		}
	}
	if others == 0 {
		t.Errorf("no height from %d to %d was proposed by the other validator", blobHeights[0], head-1)
	}
	if _, _, ok := v.Node().TakeSquare(roots[uint64(blobHeights[0])]); ok {
		t.Error("a square handed over was handed over again")
	}
}

func TestFollowerBuildsWhenHandedAWrongSquare(t *testing.T) {
	ctx, v, submit := handOffChain(t)
	other, otherDAH := edstest.RandomEDS(t, 7, 8, 3)
	src := &wrongSquares{src: v.Node(), other: other, otherDAH: otherDAH}
	with, without, colWith, colWithout := followBoth(ctx, t, v, src)

	var last int64
	for i, size := range []int{5_000, 50_000, 200_000} {
		last = submit(uint64(i), size)
	}
	head := uint64(last) + 1
	colWith.waitHeight(ctx, t, head)
	colWithout.waitHeight(ctx, t, head)
	checkSameStores(ctx, t, with, without, head)
	src.mu.Lock()
	given := src.given
	src.mu.Unlock()
	if given < 2 {
		t.Fatalf("the wrong squares were handed over %d times, want both kinds at least once", given)
	}
}

func TestBuildHeaderFrom(t *testing.T) {
	blocks := genBlocks(t, 2, nil)
	type built struct {
		ext *eds.ExtendedDataSquare
		dah *eds.DataAvailabilityHeader
		hdr []byte
	}
	squares := make([]built, len(blocks))
	for i, b := range blocks {
		h, ext, err := core.BuildHeader(b.block, b.commit, b.vals, 128)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		squares[i] = built{ext, h.DAH, raw}
	}
	for i, b := range blocks {
		// A square of its own, as the application's would be.
		ext, dah := edstest.Extend(t, squares[i].ext.ODS())
		h, got, err := core.BuildHeaderFrom(b.block, b.commit, b.vals, 128, ext, dah)
		if err != nil {
			t.Fatalf("height %d: %v", b.block.Height, err)
		}
		if got != ext {
			t.Fatalf("height %d: the square returned is not the one given", b.block.Height)
		}
		raw, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, squares[i].hdr) {
			t.Fatalf("height %d: the header differs from BuildHeader's", b.block.Height)
		}
	}

	b := blocks[0]
	tamperedTxs := append(cmttypes.Txs{}, b.block.Txs...)
	tamperedTxs[0] = append([]byte("x"), tamperedTxs[0]...)
	tampered := &cmttypes.Block{Header: b.block.Header, Data: cmttypes.Data{Txs: tamperedTxs}}
	mine, other := squares[0], squares[1]
	tests := []struct {
		name  string
		block *cmttypes.Block
		ext   *eds.ExtendedDataSquare
		dah   *eds.DataAvailabilityHeader
		want  error
	}{
		{"another block's square", b.block, other.ext, other.dah, core.ErrSquareMismatch},
		{"the block's DAH with another square", b.block, other.ext, mine.dah, core.ErrSquareMismatch},
		{"the block's square with another DAH", b.block, mine.ext, other.dah, core.ErrSquareMismatch},
		{"no square", b.block, nil, nil, core.ErrSquareMismatch},
		{"txs not under DataHash", tampered, mine.ext, mine.dah, core.ErrMalformedBlock},
		{"no data root tx", &cmttypes.Block{Header: b.block.Header, Data: cmttypes.Data{Txs: b.block.Txs[:len(b.block.Txs)-1]}}, mine.ext, mine.dah, core.ErrMalformedBlock},
		{"nil block", nil, mine.ext, mine.dah, core.ErrMalformedBlock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := core.BuildHeaderFrom(tt.block, b.commit, b.vals, 128, tt.ext, tt.dah)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if errors.Is(tt.want, core.ErrSquareMismatch) && errors.Is(err, core.ErrMalformedBlock) {
				t.Fatalf("a wrong square is taken for a malformed block: %v", err)
			}
		})
	}
}
