package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header"
)

// queryJSON asks c's application path with data and decodes the answer
// into out; ok is false for CodeNotFound.
func queryJSON(ctx context.Context, t *testing.T, c *rpchttp.HTTP, path, data string, out any) (ok bool) {
	t.Helper()
	q, err := c.ABCIQuery(ctx, path, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	switch q.Response.Code {
	case tx.CodeOK:
	case tx.CodeNotFound:
		return false
	default:
		t.Fatalf("query %s %q: code %d %s", path, data, q.Response.Code, q.Response.Log)
	}
	if err := json.Unmarshal(q.Response.Value, out); err != nil {
		t.Fatalf("query %s %q: %v", path, data, err)
	}
	return true
}

func attestation(ctx context.Context, t *testing.T, c *rpchttp.HTTP, nonce uint64) *tx.Attestation {
	t.Helper()
	var a tx.Attestation
	if !queryJSON(ctx, t, c, tx.AttestationQueryPath, strconv.FormatUint(nonce, 10), &a) {
		t.Fatalf("no attestation %d", nonce)
	}
	return &a
}

// waitAttested waits until nonce is attested.
func waitAttested(ctx context.Context, t *testing.T, c *rpchttp.HTTP, nonce uint64) {
	t.Helper()
	coretest.WaitUntil(ctx, t, fmt.Sprint("attestation ", nonce), func() bool {
		var n tx.BlobstreamNonces
		return queryJSON(ctx, t, c, tx.LatestNonceQueryPath, "", &n) && n.LatestAttested >= nonce
	})
}

// checkDataCommitment checks the attested data commitment a: its tuple
// root is the one over the data roots of the data root transactions of its
// heights, its signatures pass blobstream.VerifySignatures against the
// signing valset and each recovers to that member's registered address;
// the block that included it leads with its attestation transaction. It
// returns the indexes of the signing valset's members that signed.
func checkDataCommitment(ctx context.Context, t *testing.T, c *rpchttp.HTTP, a *tx.Attestation, maxSquareSize int) map[int]bool {
	t.Helper()
	if a.Kind != tx.AttestationDataCommitment || a.IncludedHeight == 0 {
		t.Fatalf("attestation %d: %+v, want an attested data commitment", a.Nonce, a)
	}
	var roots [][32]byte
	for h := a.BeginBlock; h < a.EndBlock; h++ {
		txs := coretest.CheckDataRoot(ctx, t, c, int64(h), maxSquareSize)
		drt, err := header.UnmarshalDataRootTx(txs[len(txs)-1])
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, [32]byte(drt.DataRoot))
	}
	want, err := blobstream.TupleRoot(a.BeginBlock, roots)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%X", want) != a.TupleRoot.String() {
		t.Fatalf("attestation %d [%d, %d): tuple root %s, the data root transactions give %X", a.Nonce, a.BeginBlock, a.EndBlock, a.TupleRoot, want)
	}
	signers := attestation(ctx, t, c, a.SignerNonce)
	if signers.Kind != tx.AttestationValset {
		t.Fatalf("attestation %d is signed by %d, a %s", a.Nonce, a.SignerNonce, signers.Kind)
	}
	digest := blobstream.DataCommitmentDigest(a.Nonce, [32]byte(want))
	if err := blobstream.VerifySignatures(signers.EVMValidators(), a.Signatures, digest, signers.PowerThreshold); err != nil {
		t.Fatalf("attestation %d: %v", a.Nonce, err)
	}
	signed := map[int]bool{}
	for i, s := range a.Signatures {
		if s.IsZero() {
			continue
		}
		addr, err := blobstream.Recover(digest, s)
		if err != nil || addr != signers.Validators[i].EVMAddress {
			t.Fatalf("attestation %d: signature %d recovers to %s (%v), want %s", a.Nonce, i, addr, err, signers.Validators[i].EVMAddress)
		}
		signed[i] = true
	}
	inc := a.IncludedHeight
	b, err := c.Block(ctx, &inc)
	if err != nil {
		t.Fatal(err)
	}
	at, err := app.UnmarshalAttestationTx(b.Block.Txs[0])
	if err != nil || at.Nonce != a.Nonce {
		t.Fatalf("block %d: first tx is not attestation %d's: %v", inc, a.Nonce, err)
	}
	return signed
}

// memberIndex returns the index of the validator whose blobstream key is
// key in valset a.
func memberIndex(t *testing.T, a *tx.Attestation, key *secp256k1.PrivateKey) int {
	t.Helper()
	addr := blobstream.AddressOf(key.PubKey())
	for i, m := range a.Validators {
		if m.EVMAddress == addr {
			return i
		}
	}
	t.Fatalf("valset %d has no member %s", a.Nonce, addr)
	return -1
}

// attestingNetwork starts four validators of a chain with data commitment
// window w, each with its blobstream key registered at genesis; wrap0, if
// not nil, returns the wrap of the first one's application.
func attestingNetwork(t *testing.T, chainID string, w uint64, wrap0 func(*coretest.Validator) func(*app.App) abci.Application) (*app.Genesis, []*coretest.Validator) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs four CometBFT nodes")
	}
	g := coretest.Genesis(t, chainID, "alice")
	g.Params.DataCommitmentWindow = w
	vals := coretest.NewValidators(t, 4)
	coretest.WriteGenesis(t, g, vals...)
	var wrap func(*app.App) abci.Application
	if wrap0 != nil {
		wrap = wrap0(vals[0])
	}
	vals[0].Start(wrap)
	for _, v := range vals[1:] {
		v.Start(nil)
	}
	return g, vals
}

// Four validators with a window of 4 blocks: the genesis valset (nonce 1)
// holds their registered addresses, and the data commitments of the first
// windows are attested with the data root transactions' roots, signed by
// the genesis valset.
func TestNodesAttestDataCommitments(t *testing.T) {
	g, vals := attestingNetwork(t, "mesh-bs-test", 4, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := vals[2].Client()
	waitAttested(ctx, t, c, 4)

	genesis := attestation(ctx, t, c, 1)
	if genesis.Kind != tx.AttestationValset || len(genesis.Validators) != 4 || genesis.PowerThreshold != 27 {
		t.Fatalf("nonce 1: %+v, want the 4 genesis validators, threshold 27", genesis)
	}
	for i, v := range vals {
		pk, err := v.PV.GetPubKey()
		if err != nil {
			t.Fatal(err)
		}
		var info tx.EVMAddressInfo
		if !queryJSON(ctx, t, c, tx.EVMAddressQueryPath, fmt.Sprintf("%X", pk.Address()), &info) || info.EVMAddress != blobstream.AddressOf(v.BlobstreamKey.PubKey()) {
			t.Fatalf("validator %d: EVM address %+v", i, info)
		}
		memberIndex(t, genesis, v.BlobstreamKey)
	}
	for nonce := uint64(2); nonce <= 4; nonce++ {
		a := attestation(ctx, t, c, nonce)
		begin := 4*(nonce-2) + 1
		if a.BeginBlock != begin || a.EndBlock != begin+4 || a.SignerNonce != 1 {
			t.Fatalf("nonce %d: range [%d, %d) signed by %d, want [%d, %d) by 1", nonce, a.BeginBlock, a.EndBlock, a.SignerNonce, begin, begin+4)
		}
		checkDataCommitment(ctx, t, c, a, g.Params.MaxSquareSize)
		var byHeight tx.Attestation
		if !queryJSON(ctx, t, c, tx.DataCommitmentQueryPath, strconv.FormatUint(begin+2, 10), &byHeight) || byHeight.Nonce != nonce {
			t.Fatalf("data commitment at height %d: nonce %d, want %d", begin+2, byHeight.Nonce, nonce)
		}
	}
}

// wrongRootSigner extends its votes with a signature over a wrong tuple
// root for the pending nonce, and counts the extensions it sent.
type wrongRootSigner struct {
	*app.App
	key  *secp256k1.PrivateKey // the validator's blobstream key
	sent *atomic.Int64
}

func (w wrongRootSigner) ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	res, err := w.App.ExtendVote(ctx, req)
	if err != nil || len(res.VoteExtension) == 0 {
		return res, err
	}
	e, err := app.UnmarshalVoteExtension(res.VoteExtension)
	if err != nil {
		return nil, err
	}
	if e.Signature, err = blobstream.Sign(w.key, blobstream.DataCommitmentDigest(e.Nonce, [32]byte{0xba, 0xd})); err != nil {
		return nil, err
	}
	res.VoteExtension = e.Marshal()
	w.sent.Add(1)
	return res, nil
}

// One of four validators signs wrong roots in its vote extensions: the
// others reject them, so its signature is in no attestation, and the chain
// and its attestations go on with the other three.
func TestNodesRejectWrongAttestationSignature(t *testing.T) {
	var sent atomic.Int64
	g, vals := attestingNetwork(t, "mesh-bs-byz", 3, func(v *coretest.Validator) func(*app.App) abci.Application {
		return func(a *app.App) abci.Application { return wrongRootSigner{App: a, key: v.BlobstreamKey, sent: &sent} }
	})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := vals[1].Client()
	waitAttested(ctx, t, c, 4)
	if sent.Load() == 0 {
		t.Fatal("the byzantine validator sent no extension")
	}
	genesis := attestation(ctx, t, c, 1)
	byz := memberIndex(t, genesis, vals[0].BlobstreamKey)
	for nonce := uint64(2); nonce <= 4; nonce++ {
		signed := checkDataCommitment(ctx, t, c, attestation(ctx, t, c, nonce), g.Params.MaxSquareSize)
		if signed[byz] {
			t.Fatalf("attestation %d carries the byzantine validator's signature", nonce)
		}
	}
	coretest.WaitHeight(ctx, t, c, coretest.Height(ctx, t, c)+2)
}

// A validator registers a new EVM address by transaction (paid by alice):
// the changed set becomes a valset attestation signed by the genesis set,
// and the data commitments after it are signed by the new set, in which
// the validator's node (still holding its old key) no longer signs.
func TestNodesValsetChangeByRegistration(t *testing.T) {
	g, vals := attestingNetwork(t, "mesh-bs-valset", 4, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	alice, _ := coretest.Key(t, "alice")
	c := vals[1].Client()
	coretest.WaitHeight(ctx, t, c, 1)

	newKey, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	pk, err := vals[0].PV.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := tx.NewMsgRegisterEVMAddress(g.ChainID, pk.Bytes(), vals[0].PV.Key.PrivKey.Sign, newKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tx.SignTx(tx.Body{ChainID: g.ChainID, Fee: tx.Fee{GasLimit: g.Params.FixedGas, GasPrice: g.Params.MinGasPrice}, Msg: msg}, alice)
	if err != nil {
		t.Fatal(err)
	}
	height := coretest.Broadcast(ctx, t, c, raw)

	// The valset made after that block, and the first data commitment
	// after it.
	var valset *tx.Attestation
	coretest.WaitUntil(ctx, t, "the new valset", func() bool {
		var v tx.Attestation
		var n tx.BlobstreamNonces
		queryJSON(ctx, t, c, tx.LatestNonceQueryPath, "", &n)
		if !queryJSON(ctx, t, c, tx.ValsetQueryPath, strconv.FormatUint(n.Latest, 10), &v) || v.Nonce == 1 {
			return false
		}
		valset = &v
		return true
	})
	if valset.CreatedHeight != height || valset.SignerNonce != 1 {
		t.Fatalf("valset %d made at %d signed by %d, want made at %d by 1", valset.Nonce, valset.CreatedHeight, valset.SignerNonce, height)
	}
	waitAttested(ctx, t, c, valset.Nonce+1)
	valset = attestation(ctx, t, c, valset.Nonce)
	genesis := attestation(ctx, t, c, 1)
	digest := blobstream.ValsetDigest(valset.Nonce, valset.PowerThreshold, blobstream.ValsetHash(valset.EVMValidators()))
	if err := blobstream.VerifySignatures(genesis.EVMValidators(), valset.Signatures, digest, genesis.PowerThreshold); err != nil {
		t.Fatalf("valset %d: %v", valset.Nonce, err)
	}
	moved := memberIndex(t, valset, newKey)
	next := attestation(ctx, t, c, valset.Nonce+1)
	if next.Kind != tx.AttestationDataCommitment || next.SignerNonce != valset.Nonce {
		t.Fatalf("attestation %d after the valset: %+v, want a data commitment signed by %d", next.Nonce, next, valset.Nonce)
	}
	signed := checkDataCommitment(ctx, t, c, next, g.Params.MaxSquareSize)
	if signed[moved] || len(signed) != 3 {
		t.Fatalf("attestation %d signed by members %v of the new set; member %d's key is not on its node", next.Nonce, signed, moved)
	}
	var info tx.EVMAddressInfo
	if !queryJSON(ctx, t, c, tx.EVMAddressQueryPath, fmt.Sprintf("%x", pk.Bytes()), &info) || info.EVMAddress != blobstream.AddressOf(newKey.PubKey()) {
		t.Fatalf("EVM address after the registration: %+v", info)
	}
}
