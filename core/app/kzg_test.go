package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/secp256k1"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// randomData returns n bytes drawn from a generator seeded with seed.
func randomData(n int, seed uint64) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newBlob(t testing.TB, ns byte, data []byte) *share.Blob {
	t.Helper()
	b, err := share.NewBlob(txtest.Namespace(t, ns), data, share.ShareVersionZero, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kzgTxs are two PayForBlobs with KZG commitments computed with the kzg
// package: alice's of blobs of 1 and 130,045 bytes (one and two chunks),
// bob's of one blob of 130,044 bytes (one full chunk), each at nonce 0.
type kzgTxs struct {
	alice, bob       []byte
	aliceMsg, bobMsg *tx.MsgPayForBlobs
	aliceBlobs       []*share.Blob
	bobBlob          *share.Blob
}

func newKZGTxs(e *testEnv) kzgTxs {
	e.t.Helper()
	var k kzgTxs
	k.aliceBlobs = []*share.Blob{newBlob(e.t, 1, randomData(1, 1)), newBlob(e.t, 2, randomData(tx.KZGChunkSize+1, 2))}
	k.alice, k.aliceMsg = txtest.KZGBlobTx(e.t, testChainID, e.alice, 0, e.params.MinGasPrice, e.params, k.aliceBlobs...)
	k.bobBlob = newBlob(e.t, 3, randomData(tx.KZGChunkSize, 3))
	k.bob, k.bobMsg = txtest.KZGBlobTx(e.t, testChainID, e.bob, 0, e.params.MinGasPrice, e.params, k.bobBlob)
	return k
}

// aliceWith signs alice's PayForBlobs again with its KZG commitments
// changed by mutate.
func (k kzgTxs) aliceWith(e *testEnv, mutate func(kz []tx.BlobKZG)) []byte {
	e.t.Helper()
	msg := *k.aliceMsg
	msg.KZG = make([]tx.BlobKZG, len(k.aliceMsg.KZG))
	for i, b := range k.aliceMsg.KZG {
		msg.KZG[i] = tx.BlobKZG{Commitments: slices.Clone(b.Commitments), Proofs: slices.Clone(b.Proofs)}
	}
	mutate(msg.KZG)
	return txtest.SignBlobTx(e.t, testChainID, e.alice, 0, e.params.MinGasPrice, e.params, &msg, k.aliceBlobs...)
}

// badKZG are alice's PayForBlobs with wrong KZG commitments or proofs:
// each must be refused by CheckTx and ProcessProposal. Blob 1 of alice's
// has two chunks; blob 0 one.
func (k kzgTxs) badKZG(e *testEnv) map[string][]byte {
	return map[string][]byte{
		"flipped proof byte":      k.aliceWith(e, func(kz []tx.BlobKZG) { kz[1].Proofs[1][20] ^= 1 }),
		"flipped commitment byte": k.aliceWith(e, func(kz []tx.BlobKZG) { kz[0].Commitments[0][47] ^= 0x10 }),
		"missing commitment": k.aliceWith(e, func(kz []tx.BlobKZG) {
			kz[1].Commitments, kz[1].Proofs = kz[1].Commitments[:1], kz[1].Proofs[:1]
		}),
		"one commitment too many": k.aliceWith(e, func(kz []tx.BlobKZG) {
			kz[1].Commitments, kz[1].Proofs = append(kz[1].Commitments, kz[0].Commitments[0]), append(kz[1].Proofs, kz[0].Proofs[0])
		}),
		// A commitment and its valid proof, but for the bytes of another
		// chunk: blob 0's in place of blob 1's second.
		"commitment to other bytes": k.aliceWith(e, func(kz []tx.BlobKZG) {
			kz[1].Commitments[1], kz[1].Proofs[1] = kz[0].Commitments[0], kz[0].Proofs[0]
		}),
		// Blob 1's two chunks' commitments and proofs in each other's place.
		"chunks swapped": k.aliceWith(e, func(kz []tx.BlobKZG) {
			c, p := kz[1].Commitments, kz[1].Proofs
			c[0], c[1], p[0], p[1] = c[1], c[0], p[1], p[0]
		}),
		// Right commitments, the proofs of the other chunk.
		"proof of another chunk": k.aliceWith(e, func(kz []tx.BlobKZG) {
			kz[1].Proofs[0], kz[1].Proofs[1] = kz[1].Proofs[1], kz[1].Proofs[0]
		}),
	}
}

// withDataRoot returns body followed by its data root transaction.
func withDataRoot(e *testEnv, body ...[]byte) [][]byte {
	e.t.Helper()
	drt, err := DataRootTx(body, e.params.MaxSquareSize)
	if err != nil {
		e.t.Fatal(err)
	}
	return append(slices.Clip(body), drt)
}

func TestKZGProcessTxs(t *testing.T) {
	e := newTestEnv(t, nil)
	k := newKZGTxs(e)
	send := e.send(e.alice, 0, e.carolA, 5)

	// Real proofs over blobs of 1, 130,044 and 130,045 bytes are accepted,
	// in one proposal and each alone.
	good := withDataRoot(e, send, k.bob, txtest.PFBTx(t, testChainID, e.bob, 1, txtest.Namespace(t, 4), 1, e.params, blobData(10, 4)))
	for name, p := range map[string][][]byte{
		"both": withDataRoot(e, k.alice, k.bob), "alice": withDataRoot(e, k.alice), "bob": withDataRoot(e, k.bob), "bob and plain": good,
	} {
		if err := ProcessTxs(e.app.state, p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	for name, bad := range k.badKZG(e) {
		// Bob's valid KZG transaction first: the batch over both fails, and
		// the error names alice's, the second.
		err := ProcessTxs(e.app.state, withDataRoot(e, k.bob, bad))
		if !errors.Is(err, ErrInvalidProposal) || !errors.Is(err, tx.ErrInvalidKZG) || !strings.Contains(err.Error(), "tx 1:") {
			t.Errorf("%s: ProcessTxs: %v; want ErrInvalidProposal and ErrInvalidKZG for tx 1", name, err)
		}
		if e.process(withDataRoot(e, bad)) != abci.ResponseProcessProposal_REJECT {
			t.Errorf("%s: ProcessProposal accepted it", name)
		}
	}
}

func TestKZGCheckTx(t *testing.T) {
	e := newTestEnv(t, nil)
	k := newKZGTxs(e)
	for name, bad := range k.badKZG(e) {
		if r := e.checkTx(bad); r.Code != tx.CodeInvalidKZG || !strings.Contains(r.Log, "invalid KZG") {
			t.Errorf("%s: code %d %q; want %d", name, r.Code, r.Log, tx.CodeInvalidKZG)
		}
	}
	// The rejections left the mempool's view as it was: alice's nonce 0 is
	// still free, and her valid transaction takes it.
	if r := e.checkTx(k.alice); r.Code != tx.CodeOK {
		t.Fatalf("valid KZG tx: code %d %s", r.Code, r.Log)
	}
	if r := e.checkTx(k.alice); r.Code != tx.CodeIncorrectSequence {
		t.Fatalf("replayed KZG tx: code %d %s", r.Code, r.Log)
	}

	// The state checks come first: a bad proof from an account that cannot
	// pay, or at a wrong nonce, is refused for that, before any pairing.
	carol := secp256k1.GenPrivKeySecp256k1([]byte("carol"))
	blob := newBlob(t, 5, randomData(100, 5))
	msg := txtest.PFBMsg(t, carol, blob)
	msg.KZG = []tx.BlobKZG{k.bobMsg.KZG[0]} // bob's proof, for other bytes
	if r := e.checkTx(txtest.SignBlobTx(t, testChainID, carol, 0, 1, e.params, msg, blob)); r.Code != tx.CodeInsufficientFunds {
		t.Fatalf("unfunded bad KZG tx: code %d %s", r.Code, r.Log)
	}
	msg.Signer = e.bobA
	if r := e.checkTx(txtest.SignBlobTx(t, testChainID, e.bob, 7, 1, e.params, msg, blob)); r.Code != tx.CodeIncorrectSequence {
		t.Fatalf("bad KZG tx at a wrong nonce: code %d %s", r.Code, r.Log)
	}

	// A recheck (after a Commit, of a transaction accepted as new) does not
	// verify again: the proofs depend only on the transaction's bytes.
	bad := k.badKZG(e)["commitment to other bytes"]
	e.app.check = NewDelta(e.app.state)
	res, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: bad, Type: abci.CheckTxType_Recheck})
	if err != nil || res.Code != tx.CodeOK {
		t.Fatalf("recheck: %v code %d %s", err, res.Code, res.Log)
	}
}

// A chain whose params leave gas_per_kzg_chunk at 0 refuses KZG
// commitments, valid ones included.
func TestKZGNotAccepted(t *testing.T) {
	e := newTestEnv(t, func(g *Genesis) { g.Params.GasPerKZGChunk = 0 })
	k := newKZGTxs(e)
	if r := e.checkTx(k.alice); r.Code != tx.CodeInvalidKZG || !strings.Contains(r.Log, "accepts no KZG") {
		t.Fatalf("CheckTx: code %d %s", r.Code, r.Log)
	}
	err := ProcessTxs(e.app.state, withDataRoot(e, k.alice))
	if !errors.Is(err, tx.ErrInvalidKZG) || !strings.Contains(err.Error(), "tx 0:") {
		t.Fatalf("ProcessTxs: %v", err)
	}
	// Without KZG the same blobs are fine.
	plain, _ := txtest.BlobTx(t, testChainID, e.alice, 0, 1, e.params, k.aliceBlobs...)
	if r := e.checkTx(plain); r.Code != tx.CodeOK {
		t.Fatalf("plain PFB: code %d %s", r.Code, r.Log)
	}
}

// PrepareTxs drops a transaction whose proofs fail (and the later ones of
// its signer, now with a nonce gap) and proposes the rest, which
// ProcessTxs accepts; a block of KZG transactions executes and charges
// GasPerKZGChunk per chunk.
func TestKZGPrepareAndFinalize(t *testing.T) {
	e := newTestEnv(t, nil)
	k := newKZGTxs(e)
	bad := k.badKZG(e)["flipped proof byte"]
	next := e.send(e.alice, 1, e.carolA, 5)
	proposal := e.prepare(bad, next, k.bob)
	if len(proposal) != 2 || !slices.Equal(proposal[0], k.bob) || !header.IsDataRootTx(proposal[1]) {
		t.Fatalf("proposal of %d txs, want bob's and the data root tx", len(proposal))
	}
	if err := ProcessTxs(e.app.state, proposal); err != nil {
		t.Fatal(err)
	}

	res := e.block(k.alice, k.bob)
	if len(res.TxResults) != 3 {
		t.Fatalf("%d results", len(res.TxResults))
	}
	p := e.params
	wantGas := []uint64{
		p.FixedGas + p.GasPerBlobByte*(1+tx.KZGChunkSize+1) + 3*p.GasPerKZGChunk,
		p.FixedGas + p.GasPerBlobByte*tx.KZGChunkSize + p.GasPerKZGChunk,
	}
	for i, want := range wantGas {
		if r := res.TxResults[i]; r.Code != tx.CodeOK || r.GasUsed != int64(want) {
			t.Fatalf("tx %d: code %d gas %d %s; want gas %d", i, r.Code, r.GasUsed, r.Log, want)
		}
	}
	if a := e.account(e.aliceA); a.Nonce != 1 || a.Balance != 1e12-wantGas[0]*p.MinGasPrice {
		t.Fatalf("alice %+v", a)
	}
}

// CheckTx verifies without the application's lock; run it beside the
// consensus calls under -race.
func TestKZGCheckTxConcurrent(t *testing.T) {
	e := newTestEnv(t, nil)
	k := newKZGTxs(e)
	// bob's PayForBlobs with the commitment and proof of alice's first
	// blob.
	msg := *k.bobMsg
	msg.KZG = []tx.BlobKZG{k.aliceMsg.KZG[0]}
	bad := txtest.SignBlobTx(t, testChainID, e.bob, 0, e.params.MinGasPrice, e.params, &msg, k.bobBlob)
	proposal := e.prepare(k.bob)
	var wg sync.WaitGroup
	codes := make([]uint32, 2)
	for i, raw := range [][]byte{k.alice, bad} {
		wg.Go(func() {
			res, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw})
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = res.Code
		})
	}
	status := e.process(proposal)
	wg.Wait()
	if codes[0] != tx.CodeOK || codes[1] != tx.CodeInvalidKZG || status != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("CheckTx codes %v, proposal %v", codes, status)
	}
}
