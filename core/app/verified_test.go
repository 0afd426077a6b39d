package app

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header"
)

func TestVerifiedTxsForgetsLeastRecentlyUsed(t *testing.T) {
	c := newVerifiedTxs(3)
	h := func(i byte) txHash { return hashTx([]byte{i}) }
	for i := range byte(3) {
		c.add(h(i))
	}
	if !c.has(h(0)) { // 0 is now the most recently used
		t.Fatal("0 forgotten")
	}
	c.add(h(3)) // forgets 1
	c.add(h(3))
	if c.len() != 3 || c.has(h(1)) || !c.has(h(0)) || !c.has(h(2)) || !c.has(h(3)) {
		t.Fatalf("after adding a fourth: %d held, 0 %v 1 %v 2 %v 3 %v", c.len(), c.has(h(0)), c.has(h(1)), c.has(h(2)), c.has(h(3)))
	}
	var none *verifiedTxs
	none.add(h(0))
	if none.has(h(0)) {
		t.Fatal("the nil cache holds a hash")
	}
}

// flipBlobByte changes, in place, a byte in the middle of data in raw.
func flipBlobByte(t *testing.T, raw, data []byte) {
	t.Helper()
	i := bytes.Index(raw, data)
	if i < 0 {
		t.Fatal("blob data not in the transaction")
	}
	raw[i+len(data)/2] ^= 1
}

// mempool is alice's send and PayForBlobs and bob's PayForBlobs, each call
// a fresh copy of the bytes.
func (e *testEnv) mempool() [][]byte {
	return [][]byte{e.send(e.alice, 0, e.bobA, 1),
		e.pfb(e.alice, 1, 1, blobData(700, 1)), e.pfb(e.bob, 0, 2, randomData(3000, 2))}
}

// The proposer's ProcessProposal of its own proposal takes the short path,
// any other proposal the full one, and both decide as ProcessTxs (no
// cache) and as a validator that never prepared the proposal.
func TestProcessProposalReuseDecidesAsFullPath(t *testing.T) {
	withRoot := func(p [][]byte, mutate func(*header.DataRootTx)) [][]byte {
		last := len(p) - 1
		drt, err := header.UnmarshalDataRootTx(p[last])
		if err != nil {
			t.Fatal(err)
		}
		mutate(&drt)
		out := slices.Clone(p)
		if out[last], err = drt.Marshal(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name string
		// change returns the proposal to process, given the prepared one;
		// it may change the prepared one's bytes in place.
		change func(e *testEnv, p [][]byte) [][]byte
		height int64 // added to the prepared proposal's
		own    bool  // the reuse path applies
		accept bool
	}{
		{name: "own proposal", change: func(_ *testEnv, p [][]byte) [][]byte { return p }, own: true, accept: true},
		{name: "own proposal, a copy", change: func(_ *testEnv, p [][]byte) [][]byte {
			out := make([][]byte, len(p))
			for i := range p {
				out[i] = bytes.Clone(p[i])
			}
			return out
		}, own: true, accept: true},
		{name: "two txs swapped", change: func(_ *testEnv, p [][]byte) [][]byte {
			out := slices.Clone(p)
			out[1], out[2] = out[2], out[1]
			return out
		}},
		{name: "tx dropped", change: func(_ *testEnv, p [][]byte) [][]byte {
			return append(slices.Clone(p[:1]), p[2:]...)
		}},
		{name: "tx dropped, data root fixed", change: func(e *testEnv, p [][]byte) [][]byte {
			return withDataRoot(e, p[0], p[1])
		}, accept: true},
		{name: "tx of another signer", change: func(e *testEnv, p [][]byte) [][]byte {
			return withDataRoot(e, p[0], p[1], e.pfb(e.bob, 0, 3, randomData(3000, 3)))
		}, accept: true},
		{name: "wrong data root", change: func(_ *testEnv, p [][]byte) [][]byte {
			return withRoot(p, func(d *header.DataRootTx) { d.DataRoot[5] ^= 1 })
		}},
		{name: "wrong square size", change: func(_ *testEnv, p [][]byte) [][]byte {
			return withRoot(p, func(d *header.DataRootTx) { d.SquareSize *= 2 })
		}},
		{name: "blob byte changed in place", change: func(_ *testEnv, p [][]byte) [][]byte {
			flipBlobByte(t, p[2], randomData(3000, 2)) // bob's blob
			return p
		}},
		{name: "other height", change: func(_ *testEnv, p [][]byte) [][]byte { return p }, height: 1, accept: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, v := newTestEnv(t, nil), newTestEnv(t, nil)
			mempool := e.mempool()
			for _, a := range []*App{e.app, v.app} {
				for _, raw := range mempool {
					if res, err := a.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw}); err != nil || res.Code != tx.CodeOK {
						t.Fatalf("CheckTx: %v %+v", err, res)
					}
				}
			}
			prepared := e.prepare(mempool...)
			if len(prepared) != 4 {
				t.Fatalf("prepared %d txs", len(prepared))
			}
			p := c.change(e, prepared)
			height := e.nextH + c.height
			if own := e.app.prepared.builtBy(e.app.state, height, p); own != c.own {
				t.Fatalf("reuse path %v, want %v", own, c.own)
			}
			full := ProcessTxs(e.app.state, p)
			status := func(a *App) abci.ResponseProcessProposal_ProposalStatus {
				res, err := a.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Txs: p, Height: height})
				if err != nil {
					t.Fatal(err)
				}
				return res.Status
			}
			want := abci.ResponseProcessProposal_REJECT
			if c.accept {
				want = abci.ResponseProcessProposal_ACCEPT
			}
			if got, validator := status(e.app), status(v.app); got != want || validator != want || (full == nil) != c.accept {
				t.Fatalf("proposer %v, validator %v, ProcessTxs %v; want %v", got, validator, full, want)
			}
			if !c.accept {
				return
			}
			// FinalizeBlock executes the accepted block as without the
			// caches.
			fin, err := e.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: p, Height: height})
			if err != nil {
				t.Fatal(err)
			}
			d := NewDelta(e.app.state)
			for i, raw := range p[:len(p)-1] {
				_, err := Execute(d, raw)
				if got := fin.TxResults[i].Code; got != tx.Code(err) {
					t.Errorf("tx %d: FinalizeBlock code %d, Execute %v", i, got, err)
				}
			}
		})
	}
}

// A proposal prepared before a Commit is not the proposer's own after it.
func TestProcessProposalReuseDroppedAtCommit(t *testing.T) {
	e := newTestEnv(t, nil)
	mempool := e.mempool()
	stale := e.prepare(mempool...)
	e.block(mempool...)
	if e.app.prepared != nil || e.app.accepted != nil {
		t.Fatal("proposals kept after Commit")
	}
	if got := e.process(stale); got != abci.ResponseProcessProposal_REJECT {
		t.Fatalf("a proposal of executed transactions: %v", got)
	}
}

// The cache holds the BlobTxs CheckTx verified, and only those; its
// verdicts are those of a check without it.
func TestCheckTxVerifiedCache(t *testing.T) {
	e := newTestEnv(t, nil)
	good := e.pfb(e.alice, 0, 1, randomData(2000, 1))
	changed := bytes.Clone(good)
	flipBlobByte(t, changed, randomData(2000, 1)) // the commitment no longer matches
	wrongNonce := e.pfb(e.bob, 5, 2, randomData(2000, 2))
	for _, c := range []struct {
		name   string
		raw    []byte
		code   uint32
		cached bool
	}{
		{"changed blob byte", changed, tx.CodeCommitmentMismatch, false},
		{"wrong nonce", wrongNonce, tx.CodeIncorrectSequence, false},
		{"good", good, tx.CodeOK, true},
		{"changed blob byte after good", changed, tx.CodeCommitmentMismatch, false},
		{"send", e.send(e.bob, 0, e.aliceA, 1), tx.CodeOK, false},
	} {
		_, noCache := Execute(NewDelta(e.app.state), c.raw)
		res := e.checkTx(c.raw)
		if res.Code != c.code || tx.Code(noCache) != c.code || e.app.verified.has(hashTx(c.raw)) != c.cached {
			t.Errorf("%s: code %d (%s), without the cache %v, cached %v; want code %d, cached %v",
				c.name, res.Code, res.Log, noCache, e.app.verified.has(hashTx(c.raw)), c.code, c.cached)
		}
	}
}

// PrepareProposal, ProcessProposal and FinalizeBlock trust the cache:
// shown with a hash put there by hand, of a transaction whose commitment
// is wrong. Without it each refuses the transaction. A recheck trusts the
// CheckTx (New) that let the transaction into the mempool, cache or not,
// and caches nothing.
func TestVerifiedCacheSkipsCommitments(t *testing.T) {
	e := newTestEnv(t, nil)
	bad := e.pfb(e.alice, 0, 1, randomData(2000, 1))
	flipBlobByte(t, bad, randomData(2000, 1))
	check := func(typ abci.CheckTxType) uint32 {
		res, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: bad, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return res.Code
	}
	if code := check(abci.CheckTxType_New); code != tx.CodeCommitmentMismatch || e.app.verified.has(hashTx(bad)) {
		t.Fatalf("CheckTx without the cache: code %d", code)
	}
	if code := check(abci.CheckTxType_Recheck); code != tx.CodeOK || e.app.verified.has(hashTx(bad)) {
		t.Fatalf("recheck without the cache: code %d, cached %v", code, e.app.verified.has(hashTx(bad)))
	}
	e.app.check = NewDelta(e.app.state) // the recheck took alice's nonce 0
	if p := e.prepare(bad); len(p) != 1 {
		t.Fatalf("prepared %d txs", len(p))
	}
	proposal := withDataRoot(e, bad)
	if e.process(proposal) != abci.ResponseProcessProposal_REJECT {
		t.Fatal("ProcessProposal accepted a wrong commitment")
	}

	e.app.verified.add(hashTx(bad))
	if code := check(abci.CheckTxType_New); code != tx.CodeOK {
		t.Fatalf("CheckTx with the hash cached: code %d", code)
	}
	if p := e.prepare(bad); len(p) != 2 {
		t.Fatalf("prepared %d txs with the hash cached", len(p))
	}
	e.app.prepared = nil
	if e.process(proposal) != abci.ResponseProcessProposal_ACCEPT {
		t.Fatal("ProcessProposal checked the commitment again")
	}
}

// CheckTx (new and rechecks) runs beside PrepareProposal, ProcessProposal,
// FinalizeBlock and Commit; run under -race.
func TestVerifiedCacheConcurrent(t *testing.T) {
	e := newTestEnv(t, nil)
	const n = 12
	txs := make([][]byte, n)
	for i := range txs {
		txs[i] = e.pfb(e.alice, uint64(i), byte(i+1), randomData(1000+100*i, uint64(i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	wg.Go(func() {
		for _, raw := range txs {
			res, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
			if err != nil || (res.Code != tx.CodeOK && res.Code != tx.CodeIncorrectSequence) {
				errs <- fmt.Errorf("CheckTx: %v %+v", err, res)
			}
		}
	})
	wg.Go(func() {
		for _, raw := range txs {
			if _, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_Recheck}); err != nil {
				errs <- err
			}
		}
	})
	// Blocks of the first half of the transactions, then all of them.
	e.block(txs[:n/2]...)
	e.block(txs[:n/2]...)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.block(txs...)
	if acc := e.account(e.aliceA); acc.Nonce != n {
		t.Fatalf("alice's nonce %d after the blocks, want %d", acc.Nonce, n)
	}
}

// A PayForBlobs with KZG commitments is cached only once its proofs
// verified: a recheck (which does not verify them) does not cache it.
func TestCheckTxVerifiedCacheKZG(t *testing.T) {
	e := newTestEnv(t, nil)
	k := newKZGTxs(e)
	flipped := k.badKZG(e)["flipped proof byte"]
	check := func(raw []byte, typ abci.CheckTxType) uint32 {
		res, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return res.Code
	}
	if code := check(flipped, abci.CheckTxType_New); code != tx.CodeInvalidKZG || e.app.verified.has(hashTx(flipped)) {
		t.Fatalf("flipped proof: code %d, cached %v", code, e.app.verified.has(hashTx(flipped)))
	}
	if code := check(k.alice, abci.CheckTxType_Recheck); code != tx.CodeOK || e.app.verified.has(hashTx(k.alice)) {
		t.Fatalf("recheck: code %d, cached %v", code, e.app.verified.has(hashTx(k.alice)))
	}
	if code := check(k.bob, abci.CheckTxType_New); code != tx.CodeOK || !e.app.verified.has(hashTx(k.bob)) {
		t.Fatalf("bob's: code %d, cached %v", code, e.app.verified.has(hashTx(k.bob)))
	}
	// A proposal of the flipped proof, built by hand, is refused by the
	// proposer's ProcessProposal too.
	e.prepare(k.bob, flipped)
	if got := e.process(withDataRoot(e, k.bob, flipped)); got != abci.ResponseProcessProposal_REJECT {
		t.Fatalf("proposal with a flipped proof: %v", got)
	}
	if p := e.prepare(k.bob, flipped); len(p) != 2 || !bytes.Equal(p[0], k.bob) || e.process(p) != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("prepared %d txs, or refused them", len(p))
	}
}
