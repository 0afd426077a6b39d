package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/share"
)

const testChainID = "mesh-test"

type testEnv struct {
	t        *testing.T
	dir      string
	db       *badger.DB
	app      *App
	params   tx.Params
	alice    secp256k1.PrivKey // the authority, funded
	aliceA   tx.Address
	bob      secp256k1.PrivKey // funded
	bobA     tx.Address
	carolA   tx.Address // unfunded
	valKey   ed25519.PrivKey
	nextH    int64
	genesisB []byte
}

// newTestEnv returns an application after InitChain: alice (the authority)
// and bob hold 10^12 each, one validator.
func newTestEnv(t *testing.T, mutate func(*Genesis)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir(), params: tx.DefaultParams(), nextH: 1}
	e.alice, e.aliceA = txtest.Key(t, "alice")
	e.bob, e.bobA = txtest.Key(t, "bob")
	_, e.carolA = txtest.Key(t, "carol")
	e.valKey = ed25519.GenPrivKeyFromSecret([]byte("validator"))
	g := &Genesis{ChainID: testChainID, Authority: e.aliceA, Params: e.params,
		Validators: []GenesisValidator{{PubKey: e.valKey.PubKey().Bytes(), Power: 10}},
		Accounts:   []GenesisAccount{{Address: e.aliceA, Balance: 1e12}, {Address: e.bobA, Balance: 1e12}}}
	if mutate != nil {
		mutate(g)
	}
	e.params = g.Params
	var err error
	if e.genesisB, err = json.Marshal(g); err != nil {
		t.Fatal(err)
	}
	e.open()
	res, err := e.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: e.genesisB, InitialHeight: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Validators) != len(g.Validators) || len(res.AppHash) != 32 {
		t.Fatalf("InitChain returned %d validators, app hash %X", len(res.Validators), res.AppHash)
	}
	return e
}

func (e *testEnv) open() {
	e.db = badgertest.OpenAt(e.t, e.dir)
	e.t.Cleanup(func() { _ = e.db.Close() })
	var err error
	if e.app, err = New(e.db, nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *testEnv) checkTx(tx []byte) *abci.ResponseCheckTx {
	e.t.Helper()
	res, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *testEnv) prepare(txs ...[]byte) [][]byte {
	e.t.Helper()
	res, err := e.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 8 << 20, Height: e.nextH})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Txs
}

func (e *testEnv) process(txs [][]byte) abci.ResponseProcessProposal_ProposalStatus {
	e.t.Helper()
	res, err := e.app.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Txs: txs, Height: e.nextH})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Status
}

// block runs a full height with txs as the mempool and returns the
// FinalizeBlock response.
func (e *testEnv) block(txs ...[]byte) *abci.ResponseFinalizeBlock {
	e.t.Helper()
	proposal := e.prepare(txs...)
	if st := e.process(proposal); st != abci.ResponseProcessProposal_ACCEPT {
		e.t.Fatalf("height %d: own proposal rejected", e.nextH)
	}
	res, err := e.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: proposal, Height: e.nextH})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		e.t.Fatal(err)
	}
	e.nextH++
	return res
}

func (e *testEnv) account(a tx.Address) Account { return e.app.state.Account(a) }

func (e *testEnv) send(key secp256k1.PrivKey, nonce uint64, to tx.Address, amount uint64) []byte {
	return txtest.SendTx(e.t, testChainID, key, nonce, to, amount, e.params.FixedGas, e.params.MinGasPrice)
}

func (e *testEnv) pfb(key secp256k1.PrivKey, nonce uint64, ns byte, datas ...[]byte) []byte {
	return txtest.PFBTx(e.t, testChainID, key, nonce, txtest.Namespace(e.t, ns), e.params.MinGasPrice, e.params, datas...)
}

// signPFB signs msg with blobs, the gas it needs at the minimum price.
func (e *testEnv) signPFB(key secp256k1.PrivKey, nonce uint64, msg *tx.MsgPayForBlobs, blobs ...*share.Blob) []byte {
	e.t.Helper()
	gas, _ := tx.GasUsed(e.params, msg)
	inner, err := tx.SignTx(tx.Body{ChainID: testChainID, Nonce: nonce, Fee: tx.Fee{GasLimit: gas, GasPrice: e.params.MinGasPrice}, Msg: msg}, key)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := share.MarshalBlobTx(inner, blobs...)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func TestCheckTxRejects(t *testing.T) {
	e := newTestEnv(t, func(g *Genesis) { g.Params.MaxBlobSize = 1000 })
	ns := txtest.Namespace(t, 1)
	blob, err := share.NewBlob(ns, blobData(100, 1), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	commit, _ := blob.Commitment()
	pfbMsg := func() *tx.MsgPayForBlobs {
		return &tx.MsgPayForBlobs{Signer: e.aliceA, Namespaces: []share.Namespace{ns}, BlobSizes: []uint32{100},
			ShareCommitments: [][]byte{commit}, ShareVersions: []uint32{0}}
	}

	badSig := e.send(e.alice, 0, e.bobA, 1)
	decoded, _ := tx.UnmarshalTx(badSig)
	decoded.Signature[10] ^= 1
	badSig, _ = decoded.Marshal()

	reserved := pfbMsg()
	reserved.Namespaces[0] = share.PayForBlobNamespace
	wrongCommit := pfbMsg()
	wrongCommit.ShareCommitments[0] = bytes.Repeat([]byte{7}, 32)
	big, _ := share.NewBlob(ns, blobData(2000, 1), 0, nil)
	bigCommit, _ := big.Commitment()
	tooBig := &tx.MsgPayForBlobs{Signer: e.aliceA, Namespaces: []share.Namespace{ns}, BlobSizes: []uint32{2000},
		ShareCommitments: [][]byte{bigCommit}, ShareVersions: []uint32{0}}
	drt, _ := header.DataRootTx{SquareSize: 1, DataRoot: make([]byte, 32)}.Marshal()
	pfbInner, _, _ := share.UnmarshalBlobTx(e.pfb(e.alice, 0, 1, blobData(10, 1)))

	cases := []struct {
		name string
		tx   []byte
		code uint32
		log  string
	}{
		{"bad signature", badSig, tx.CodeInvalidSignature, "invalid signature"},
		{"wrong nonce", e.send(e.alice, 1, e.bobA, 1), tx.CodeIncorrectSequence, "incorrect account sequence"},
		{"insufficient funds", e.send(e.alice, 0, e.bobA, 2e12), tx.CodeInsufficientFunds, "insufficient funds"},
		{"unfunded fee", txtest.SendTx(t, testChainID, secp256k1.GenPrivKeySecp256k1([]byte("carol")), 0, e.bobA, 1, e.params.FixedGas, 1), tx.CodeInsufficientFunds, "insufficient funds"},
		{"reserved namespace", e.signPFB(e.alice, 0, reserved, blob), tx.CodeInvalidNamespace, "reserved"},
		{"commitment mismatch", e.signPFB(e.alice, 0, wrongCommit, blob), tx.CodeCommitmentMismatch, "commitment"},
		{"blob over limit", e.signPFB(e.alice, 0, tooBig, big), tx.CodeBlobTooLarge, "blob: over size limit"},
		{"data root magic", drt, tx.CodeReservedTx, "data root"},
		{"pfb without blobs", pfbInner.Tx, tx.CodeInvalidMsg, "blob tx"},
		{"wrong chain", txtest.SendTx(t, "other", e.alice, 0, e.bobA, 1, e.params.FixedGas, 1), tx.CodeWrongChainID, "chain"},
		{"low gas", txtest.SendTx(t, testChainID, e.alice, 0, e.bobA, 1, e.params.FixedGas-1, 1), tx.CodeInsufficientFee, "gas limit"},
		{"garbage", []byte{0xff, 0x01}, tx.CodeMalformedTx, "malformed"},
		{"not authority", e.updateValidator(e.bob, 0, []byte("0123456789abcdef0123456789abcdef"), 5), tx.CodeUnauthorized, "authority"},
	}
	for _, c := range cases {
		res := e.checkTx(c.tx)
		if res.Code != c.code || !strings.Contains(res.Log, c.log) {
			t.Errorf("%s: code %d log %q; want code %d and %q", c.name, res.Code, res.Log, c.code, c.log)
		}
	}
	// A valid transaction passes, and its nonce is then taken in the
	// mempool's view.
	ok := e.send(e.alice, 0, e.bobA, 1)
	if res := e.checkTx(ok); res.Code != tx.CodeOK {
		t.Fatalf("valid send rejected: %s", res.Log)
	}
	if res := e.checkTx(ok); res.Code != tx.CodeIncorrectSequence {
		t.Fatalf("replayed send: code %d %s", res.Code, res.Log)
	}
	if res := e.checkTx(e.send(e.alice, 1, e.bobA, 1)); res.Code != tx.CodeOK {
		t.Fatalf("next nonce rejected: %s", res.Log)
	}
}

func (e *testEnv) updateValidator(key secp256k1.PrivKey, nonce uint64, pk []byte, power int64) []byte {
	e.t.Helper()
	raw, err := tx.SignTx(tx.Body{ChainID: testChainID, Nonce: nonce, Fee: tx.Fee{GasLimit: e.params.FixedGas, GasPrice: e.params.MinGasPrice},
		Msg: &tx.MsgUpdateValidator{PubKey: pk, Power: power}}, key)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func TestFinalizeBlockExecutes(t *testing.T) {
	e := newTestEnv(t, nil)
	p := e.params
	datas := [][]byte{blobData(1000, 1), blobData(10, 2)}
	res := e.block(
		e.send(e.alice, 0, e.carolA, 500),
		e.pfb(e.bob, 0, 3, datas...),
		e.send(e.alice, 1, e.bobA, 7),
	)
	if n := len(res.TxResults); n != 4 {
		t.Fatalf("%d results, want 4", n)
	}
	for i, r := range res.TxResults {
		if r.Code != tx.CodeOK {
			t.Fatalf("tx %d: code %d %s", i, r.Code, r.Log)
		}
	}
	pfbGas := p.FixedGas + p.GasPerBlobByte*1010
	if got := res.TxResults[2].GasUsed; got != int64(pfbGas) {
		t.Fatalf("PFB gas used %d, want %d", got, pfbGas)
	}
	sendFee := p.FixedGas * p.MinGasPrice
	if a := e.account(e.aliceA); a.Balance != 1e12-500-7-2*sendFee || a.Nonce != 2 {
		t.Fatalf("alice: %+v", a)
	}
	if b := e.account(e.bobA); b.Balance != 1e12+7-pfbGas*p.MinGasPrice || b.Nonce != 1 || b.PubKey == nil {
		t.Fatalf("bob: %+v", b)
	}
	if c := e.account(e.carolA); c.Balance != 500 || c.Nonce != 0 {
		t.Fatalf("carol: %+v", c)
	}
	// The mempool's view was reset at Commit: the next nonce is accepted.
	if r := e.checkTx(e.send(e.alice, 2, e.bobA, 1)); r.Code != tx.CodeOK {
		t.Fatalf("after commit: %s", r.Log)
	}
}

func TestPrepareProposalDropsInvalidAndReorders(t *testing.T) {
	e := newTestEnv(t, nil)
	bad := e.send(e.alice, 5, e.bobA, 1) // nonce gap
	// alice's PFB (nonce 0) precedes her send (nonce 1) in the mempool, but
	// the square puts bare transactions first: the send then has a wrong
	// nonce and must be dropped, not proposed.
	txs := e.prepare(e.pfb(e.alice, 0, 1, blobData(50, 1)), e.send(e.alice, 1, e.bobA, 1), bad, e.send(e.bob, 0, e.aliceA, 3))
	if len(txs) != 3 {
		t.Fatalf("proposal has %d txs, want bob's send, alice's PFB and the data root tx", len(txs))
	}
	if !header.IsDataRootTx(txs[2]) {
		t.Fatal("last tx is not the data root tx")
	}
	if e.process(txs) != abci.ResponseProcessProposal_ACCEPT {
		t.Fatal("rejected")
	}
}

func TestPrepareProposalRespectsMaxTxBytes(t *testing.T) {
	e := newTestEnv(t, nil)
	tx1 := e.send(e.alice, 0, e.bobA, 1)
	tx2 := e.send(e.alice, 1, e.bobA, 1)
	limit := protoTxSize(tx1) + protoTxSize(make([]byte, header.DataRootTxSize))
	res, err := e.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{Txs: [][]byte{tx1, tx2}, MaxTxBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	// Counted as CometBFT counts them.
	total := cmttypes.ComputeProtoSizeForTxs(cmttypes.ToTxs(res.Txs))
	if len(res.Txs) != 2 || total > limit {
		t.Fatalf("%d txs, %d bytes, limit %d", len(res.Txs), total, limit)
	}
}

func TestProcessProposalRejects(t *testing.T) {
	e := newTestEnv(t, nil)
	good := e.prepare(e.send(e.alice, 0, e.bobA, 1),
		e.pfb(e.alice, 1, 1, blobData(700, 1)), e.pfb(e.bob, 0, 2, blobData(900, 2)))
	if len(good) != 4 || e.process(good) != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("good proposal (%d txs) not accepted", len(good))
	}
	clone := func() [][]byte { return append([][]byte(nil), good...) }

	wrongRoot := clone()
	drt, _ := header.UnmarshalDataRootTx(wrongRoot[3])
	drt.DataRoot[0] ^= 1
	wrongRoot[3], _ = drt.Marshal()

	wrongSize := clone()
	drt, _ = header.UnmarshalDataRootTx(wrongSize[3])
	drt.SquareSize *= 2
	wrongSize[3], _ = drt.Marshal()

	notLast := clone()
	notLast[2], notLast[3] = notLast[3], notLast[2]

	// The two PFBs swapped: every tx still valid, but the square differs.
	reordered := clone()
	reordered[1], reordered[2] = reordered[2], reordered[1]

	// A bare transaction after the blob txs cannot be laid out.
	badOrder := [][]byte{good[1], good[0], good[2], good[3]}

	invalidTx := clone()
	invalidTx[0] = e.send(e.alice, 0, e.bobA, 2e12)

	cases := map[string][][]byte{
		"wrong data root":     wrongRoot,
		"wrong square size":   wrongSize,
		"missing data root":   good[:3],
		"data root not last":  notLast,
		"reordered square":    reordered,
		"bare tx after blobs": badOrder,
		"invalid tx":          invalidTx,
		"empty":               nil,
		"two data roots":      append(clone(), good[3]),
	}
	for name, txs := range cases {
		if e.process(txs) != abci.ResponseProcessProposal_REJECT {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestValidatorUpdatesAuthorityOnly(t *testing.T) {
	e := newTestEnv(t, nil)
	newVal := ed25519.GenPrivKeyFromSecret([]byte("v2")).PubKey().Bytes()
	if r := e.checkTx(e.updateValidator(e.bob, 0, newVal, 5)); r.Code != tx.CodeUnauthorized {
		t.Fatalf("bob's update: code %d %s", r.Code, r.Log)
	}
	// Removing the only validator is refused.
	if r := e.checkTx(e.updateValidator(e.alice, 0, e.valKey.PubKey().Bytes(), 0)); r.Code != tx.CodeInvalidValidatorSet {
		t.Fatalf("removing the last validator: code %d %s", r.Code, r.Log)
	}
	res := e.block(e.updateValidator(e.alice, 0, newVal, 5), e.updateValidator(e.alice, 1, newVal, 7))
	if len(res.ValidatorUpdates) != 1 {
		t.Fatalf("%d validator updates, want 1 (the last per key)", len(res.ValidatorUpdates))
	}
	u := res.ValidatorUpdates[0]
	if !bytes.Equal(u.PubKey.GetEd25519(), newVal) || u.Power != 7 {
		t.Fatalf("update %v", u)
	}
	res = e.block(e.updateValidator(e.alice, 2, e.valKey.PubKey().Bytes(), 0))
	if len(res.ValidatorUpdates) != 1 || res.ValidatorUpdates[0].Power != 0 {
		t.Fatalf("removal: %v", res.ValidatorUpdates)
	}
	if vs := e.app.state.Validators(); len(vs) != 1 || !bytes.Equal(vs[0].PubKey, newVal) {
		t.Fatalf("validator set %v", vs)
	}
	// The removal and the addition were persisted.
	e.reopen()
	if vs := e.app.state.Validators(); len(vs) != 1 || !bytes.Equal(vs[0].PubKey, newVal) || vs[0].Power != 7 {
		t.Fatalf("validator set after restart %v", vs)
	}
}

func TestRestartResumes(t *testing.T) {
	e := newTestEnv(t, nil)
	for i := range uint64(3) {
		e.block(e.send(e.alice, i, e.carolA, 10), e.pfb(e.bob, i, 1, blobData(100, byte(i))))
	}
	info, err := e.app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != 3 || len(info.LastBlockAppHash) != 32 {
		t.Fatalf("info %+v", info)
	}
	// A block finalized but not committed is lost on restart; CometBFT
	// replays it.
	proposal := e.prepare(e.send(e.alice, 3, e.carolA, 10))
	if _, err := e.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: proposal, Height: 4}); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	again, err := e.app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if again.LastBlockHeight != 3 || !bytes.Equal(again.LastBlockAppHash, info.LastBlockAppHash) {
		t.Fatalf("after restart: height %d hash %X; want 3 %X", again.LastBlockHeight, again.LastBlockAppHash, info.LastBlockAppHash)
	}
	if h, _ := e.app.state.Hash(); !bytes.Equal(h, info.LastBlockAppHash) {
		t.Fatal("reloaded state hashes differently")
	}
	if c := e.account(e.carolA); c.Balance != 30 {
		t.Fatalf("carol after restart: %+v", c)
	}
	// The chain continues.
	e.block(e.send(e.alice, 3, e.carolA, 10))
	if c := e.account(e.carolA); c.Balance != 40 {
		t.Fatalf("carol: %+v", c)
	}
}

func TestInitChainValidation(t *testing.T) {
	e := newTestEnv(t, nil)
	dir := t.TempDir()
	db := badgertest.OpenAt(t, dir)
	defer db.Close()
	a, err := New(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: "other", AppStateBytes: e.genesisB}); err == nil {
		t.Fatal("accepted a genesis of another chain")
	}
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: []byte(`{"chain_id":"x","bogus":1}`)}); err == nil {
		t.Fatal("accepted an unknown field")
	}
	if _, err := ParseGenesis(bytes.Replace(e.genesisB, []byte(`"max_square_size":128`), []byte(`"max_square_size":100`), 1)); err == nil {
		t.Fatal("accepted a max square size that is not a power of two")
	}
}

// FinalizeBlock executes whatever block consensus decided (ProcessProposal
// may have been skipped, as in block sync): an invalid transaction gets a
// nonzero code and changes nothing, the others execute.
func TestFinalizeBlockInvalidTx(t *testing.T) {
	e := newTestEnv(t, nil)
	before := e.account(e.aliceA)
	txs := [][]byte{e.send(e.alice, 3, e.bobA, 1), {0xff}, e.send(e.alice, 0, e.carolA, 9)}
	drt, err := DataRootTx(txs, e.params.MaxSquareSize)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: append(txs, drt), Height: 1})
	if err != nil {
		t.Fatal(err)
	}
	codes := []uint32{res.TxResults[0].Code, res.TxResults[1].Code, res.TxResults[2].Code, res.TxResults[3].Code}
	if codes[0] != tx.CodeIncorrectSequence || codes[1] != tx.CodeMalformedTx || codes[2] != tx.CodeOK || codes[3] != tx.CodeOK {
		t.Fatalf("codes %v", codes)
	}
	if _, err := e.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	after := e.account(e.aliceA)
	if after.Nonce != 1 || after.Balance != before.Balance-9-e.params.FixedGas*e.params.MinGasPrice {
		t.Fatalf("alice %+v", after)
	}
}

func TestCheckTxShareVersionOneSigner(t *testing.T) {
	e := newTestEnv(t, nil)
	ns := txtest.Namespace(t, 4)
	mk := func(signer tx.Address) []byte {
		b, err := share.NewBlob(ns, blobData(300, 1), share.ShareVersionOne, signer[:])
		if err != nil {
			t.Fatal(err)
		}
		c, _ := b.Commitment()
		return e.signPFB(e.alice, 0, &tx.MsgPayForBlobs{Signer: e.aliceA, Namespaces: []share.Namespace{ns},
			BlobSizes: []uint32{300}, ShareCommitments: [][]byte{c}, ShareVersions: []uint32{1}}, b)
	}
	if r := e.checkTx(mk(e.bobA)); r.Code != tx.CodeCommitmentMismatch || !strings.Contains(r.Log, "signer") {
		t.Fatalf("blob signed for bob: code %d %s", r.Code, r.Log)
	}
	if r := e.checkTx(mk(e.aliceA)); r.Code != tx.CodeOK {
		t.Fatalf("share version 1 blob: code %d %s", r.Code, r.Log)
	}
}
