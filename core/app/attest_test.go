package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/header"
)

// attestEnv is a testEnv with four validators of power 10, each with a
// registered blobstream key, and a data commitment window of 2.
type attestEnv struct {
	*testEnv
	vals []ed25519.PrivKey
	keys []*secp256k1.PrivateKey
}

func newAttestEnv(t *testing.T) *attestEnv {
	t.Helper()
	a := &attestEnv{}
	for i := range 4 {
		a.vals = append(a.vals, ed25519.GenPrivKeyFromSecret(fmt.Appendf(nil, "validator %d", i)))
		var seed [32]byte
		seed[0], seed[31] = byte(i+1), 7
		a.keys = append(a.keys, secp256k1.PrivKeyFromBytes(seed[:]))
	}
	a.testEnv = newTestEnv(t, func(g *Genesis) {
		g.Params.DataCommitmentWindow = 2
		g.Validators = nil
		for i, v := range a.vals {
			g.Validators = append(g.Validators, GenesisValidator{PubKey: v.PubKey().Bytes(), Power: 10})
			g.EVMAddresses = append(g.EVMAddresses, GenesisEVMAddress{PubKey: v.PubKey().Bytes(), EVMAddress: blobstream.AddressOf(a.keys[i].PubKey())})
		}
	})
	return a
}

// votes returns a last commit in which validators idx extended their votes
// with their signatures of the pending attestation.
func (a *attestEnv) votes(idx ...int) abci.ExtendedCommitInfo {
	a.t.Helper()
	att, _ := a.app.state.PendingAttestation()
	var c abci.ExtendedCommitInfo
	for _, i := range idx {
		sig, err := blobstream.Sign(a.keys[i], att.Digest())
		if err != nil {
			a.t.Fatal(err)
		}
		c.Votes = append(c.Votes, abci.ExtendedVoteInfo{Validator: abci.Validator{Address: a.vals[i].PubKey().Address(), Power: 10},
			VoteExtension: VoteExtension{Nonce: att.Nonce, Signature: sig}.Marshal(), BlockIdFlag: cmtproto.BlockIDFlagCommit})
	}
	return c
}

func (a *attestEnv) prepareWith(commit abci.ExtendedCommitInfo) [][]byte {
	a.t.Helper()
	res, err := a.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{MaxTxBytes: 8 << 20, Height: a.nextH, LocalLastCommit: commit})
	if err != nil {
		a.t.Fatal(err)
	}
	return res.Txs
}

func (a *attestEnv) finalize(txs [][]byte) {
	a.t.Helper()
	if _, err := a.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Txs: txs, Height: a.nextH}); err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		a.t.Fatal(err)
	}
	a.nextH++
}

func (a *attestEnv) query(path, data string) *abci.ResponseQuery {
	a.t.Helper()
	res, err := a.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: []byte(data)})
	if err != nil {
		a.t.Fatal(err)
	}
	return res
}

func (a *attestEnv) extendAs(i int, ext []byte) abci.ResponseVerifyVoteExtension_VerifyStatus {
	a.t.Helper()
	res, err := a.app.VerifyVoteExtension(context.Background(), &abci.RequestVerifyVoteExtension{
		ValidatorAddress: a.vals[i].PubKey().Address(), Height: a.nextH, VoteExtension: ext})
	if err != nil {
		a.t.Fatal(err)
	}
	return res.Status
}

// The pending data commitment is signed in ExtendVote and checked in
// VerifyVoteExtension; an attestation transaction from three of four
// signatures leads the proposal and is stored, and ProcessProposal rejects
// one with a flipped signature byte, a wrong nonce or too little power.
// The attestations survive a restart.
func TestAttestationLifecycle(t *testing.T) {
	a := newAttestEnv(t)
	if n := a.app.state.Nonces(); n.Latest != 1 || n.LatestAttested != 1 {
		t.Fatalf("after genesis: nonces %+v, want the genesis valset attested", n)
	}
	var roots [][32]byte
	for range 2 {
		txs := a.prepareWith(abci.ExtendedCommitInfo{})
		drt, err := header.UnmarshalDataRootTx(txs[len(txs)-1])
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, [32]byte(drt.DataRoot))
		a.finalize(txs)
	}
	att, signers := a.app.state.PendingAttestation()
	want, _ := blobstream.TupleRoot(1, roots)
	if att == nil || att.Nonce != 2 || att.BeginBlock != 1 || att.EndBlock != 3 || !bytes.Equal(att.TupleRoot, want) || signers.Nonce != 1 {
		t.Fatalf("pending after two blocks: %+v", att)
	}

	// ExtendVote signs with the node's key; the extension verifies for its
	// validator only.
	a.app.bsKey = a.keys[2]
	ext, err := a.app.ExtendVote(context.Background(), &abci.RequestExtendVote{Height: a.nextH})
	if err != nil || len(ext.VoteExtension) == 0 {
		t.Fatalf("ExtendVote: %v %x", err, ext.VoteExtension)
	}
	if st := a.extendAs(2, ext.VoteExtension); st != abci.ResponseVerifyVoteExtension_ACCEPT {
		t.Fatalf("own extension: %v", st)
	}
	wrongRoot, _ := blobstream.Sign(a.keys[1], blobstream.DataCommitmentDigest(2, [32]byte{1}))
	wrongNonce, _ := blobstream.Sign(a.keys[1], blobstream.DataCommitmentDigest(3, [32]byte(want)))
	for name, c := range map[string]struct {
		val int
		ext []byte
	}{
		"another validator's":  {1, ext.VoteExtension},
		"wrong root":           {1, VoteExtension{Nonce: 2, Signature: wrongRoot}.Marshal()},
		"wrong nonce":          {1, VoteExtension{Nonce: 3, Signature: wrongNonce}.Marshal()},
		"garbage":              {1, []byte{1, 2, 3}},
		"trailing bytes":       {2, append(bytes.Clone(ext.VoteExtension), 0)},
		"zero signature bytes": {2, VoteExtension{Nonce: 2}.Marshal()},
	} {
		if st := a.extendAs(c.val, c.ext); st != abci.ResponseVerifyVoteExtension_REJECT {
			t.Errorf("%s extension: %v, want REJECT", name, st)
		}
	}
	if st := a.extendAs(1, nil); st != abci.ResponseVerifyVoteExtension_ACCEPT {
		t.Fatalf("empty extension: %v", st)
	}

	// Two signers of four (20 of 40, threshold 27) are not enough.
	if txs := a.prepareWith(a.votes(0, 1)); IsAttestationTx(txs[0]) {
		t.Fatal("an attestation transaction from 20 of 40 power")
	}
	txs := a.prepareWith(a.votes(0, 1, 3))
	if !IsAttestationTx(txs[0]) {
		t.Fatal("no attestation transaction from three signers")
	}
	if st := a.process(txs); st != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("the attestation proposal: %v", st)
	}
	at, err := UnmarshalAttestationTx(txs[0])
	if err != nil {
		t.Fatal(err)
	}
	reject := map[string][]byte{}
	flipped := *at
	flipped.Signatures = append([]blobstream.Signature(nil), at.Signatures...)
	flipped.Signatures[0].R[5] ^= 1
	reject["flipped signature byte"] = flipped.Marshal()
	reject["wrong nonce"] = AttestationTx{Nonce: 3, Signatures: at.Signatures}.Marshal()
	weak := AttestationTx{Nonce: 2, Signatures: append([]blobstream.Signature(nil), at.Signatures...)}
	for i := range weak.Signatures {
		if !weak.Signatures[i].IsZero() {
			weak.Signatures[i] = blobstream.Signature{}
			break
		}
	}
	reject["too little power"] = weak.Marshal()
	reject["truncated"] = txs[0][:len(txs[0])-1]
	for name, bad := range reject {
		p := append([][]byte{bad}, txs[1:]...)
		drt, err := DataRootTx(p[:len(p)-1], a.params.MaxSquareSize)
		if err != nil {
			t.Fatal(err)
		}
		p[len(p)-1] = drt
		err = ProcessTxs(a.app.state, p)
		if !errors.Is(err, ErrInvalidProposal) || a.process(p) != abci.ResponseProcessProposal_REJECT {
			t.Errorf("%s: ProcessTxs %v", name, err)
		}
	}
	// An attestation transaction after another transaction is refused too.
	if err := ProcessTxs(a.app.state, [][]byte{txs[0], txs[0], txs[1]}); !errors.Is(err, ErrInvalidProposal) {
		t.Errorf("two attestation transactions: %v", err)
	}
	if res := a.checkTx(txs[0]); res.Code != tx.CodeReservedTx {
		t.Errorf("CheckTx of an attestation transaction: code %d", res.Code)
	}

	a.finalize(txs)
	if n := a.app.state.Nonces(); n.LatestAttested != 2 {
		t.Fatalf("after the block: nonces %+v", n)
	}
	res := a.query(tx.AttestationQueryPath, "2")
	var stored tx.Attestation
	if err := json.Unmarshal(res.Value, &stored); err != nil || stored.IncludedHeight != 3 || len(stored.Signatures) != 4 {
		t.Fatalf("attestation 2: %s (%v)", res.Value, err)
	}
	vs, _ := a.app.state.Attestation(1)
	if err := blobstream.VerifySignatures(vs.EVMValidators(), stored.Signatures, blobstream.DataCommitmentDigest(2, [32]byte(want)), vs.PowerThreshold); err != nil {
		t.Fatal(err)
	}
	if res := a.query(tx.DataCommitmentQueryPath, "2"); !bytes.Equal(res.Value, a.query(tx.AttestationQueryPath, "2").Value) {
		t.Fatalf("data commitment at height 2: %s", res.Value)
	}
	for path, data := range map[string]string{tx.AttestationQueryPath: "9", tx.DataCommitmentQueryPath: "50", tx.EVMAddressQueryPath: fmt.Sprintf("%x", bytes.Repeat([]byte{1}, 32))} {
		if res := a.query(path, data); res.Code != tx.CodeNotFound {
			t.Errorf("%s %s: code %d", path, data, res.Code)
		}
	}
	if res := a.query(tx.AttestationQueryPath, "x"); res.Code != tx.CodeInvalidMsg {
		t.Errorf("non-numeric nonce: code %d", res.Code)
	}

	// A restart keeps the attestations, the pending roots and the app hash.
	before := a.query(tx.AttestationQueryPath, "2").Value
	hash := bytes.Clone(a.app.appHash)
	a.reopen()
	if after := a.query(tx.AttestationQueryPath, "2").Value; !bytes.Equal(after, before) {
		t.Fatalf("attestation 2 after restart: %s, before %s", after, before)
	}
	if h, _ := a.app.state.Hash(); !bytes.Equal(h, hash) {
		t.Fatal("the reloaded state hashes differently")
	}
	a.finalize(a.prepareWith(abci.ExtendedCommitInfo{}))
	if n := a.app.state.Nonces(); n.Latest != 3 {
		t.Fatalf("after window [3, 5): nonces %+v", n)
	}
	next, _ := a.app.state.Attestation(3)
	if next.BeginBlock != 3 || next.EndBlock != 5 {
		t.Fatalf("attestation 3: %+v", next)
	}
}

// registration signs a MsgRegisterEVMAddress of key for validator v.
func (a *attestEnv) registration(v ed25519.PrivKey, key *secp256k1.PrivateKey) *tx.MsgRegisterEVMAddress {
	a.t.Helper()
	m, err := tx.NewMsgRegisterEVMAddress(testChainID, v.PubKey().Bytes(), v.Sign, key)
	if err != nil {
		a.t.Fatal(err)
	}
	return m
}

func (a *attestEnv) signMsg(m tx.Msg, nonce uint64) []byte {
	a.t.Helper()
	raw, err := tx.SignTx(tx.Body{ChainID: testChainID, Nonce: nonce, Fee: tx.Fee{GasLimit: a.params.FixedGas, GasPrice: 1}, Msg: m}, a.bob)
	if err != nil {
		a.t.Fatal(err)
	}
	return raw
}

// Registrations: any account pays for a validator's; a bad signature, an
// unknown validator or an address another validator has are refused; a
// registration and a power change each make a valset attestation signed by
// the set before.
func TestRegisterEVMAddress(t *testing.T) {
	a := newAttestEnv(t)
	fresh, _ := secp256k1.GeneratePrivateKey()
	stranger := ed25519.GenPrivKeyFromSecret([]byte("stranger"))

	badCons := a.registration(a.vals[0], fresh)
	badCons.ConsensusSig[3] ^= 1
	badEVM := a.registration(a.vals[0], fresh)
	badEVM.EVMSig[10] ^= 1
	taken := a.registration(a.vals[0], a.keys[1])
	for name, c := range map[string]struct {
		msg  tx.Msg
		code uint32
	}{
		"bad consensus signature": {badCons, tx.CodeInvalidSignature},
		"bad EVM signature":       {badEVM, tx.CodeInvalidSignature},
		"unknown validator":       {a.registration(stranger, fresh), tx.CodeInvalidValidatorSet},
		"address taken":           {taken, tx.CodeInvalidMsg},
	} {
		if res := a.checkTx(a.signMsg(c.msg, 0)); res.Code != c.code {
			t.Errorf("%s: code %d (%s), want %d", name, res.Code, res.Log, c.code)
		}
	}

	a.block(a.signMsg(a.registration(a.vals[3], fresh), 0))
	addr, _ := a.app.state.EVMAddress(a.vals[3].PubKey().Bytes())
	if addr != blobstream.AddressOf(fresh.PubKey()) {
		t.Fatalf("registered address %s", addr)
	}
	vs, ok := a.app.state.Attestation(2)
	if !ok || vs.Kind != tx.AttestationValset || vs.SignerNonce != 1 || vs.CreatedHeight != 1 {
		t.Fatalf("attestation 2: %+v", vs)
	}
	att, signers := a.app.state.PendingAttestation()
	if att.Nonce != 2 || signers.Nonce != 1 {
		t.Fatalf("pending %d signed by %d", att.Nonce, signers.Nonce)
	}
	// The window's data commitment (nonce 3) is signed by the new set.
	a.block(a.updateValidator(a.alice, 0, a.vals[2].PubKey().Bytes(), 20))
	dc, _ := a.app.state.Attestation(4)
	if v3, _ := a.app.state.Attestation(3); v3.Kind != tx.AttestationValset || v3.SignerNonce != 2 || v3.PowerThreshold != 34 {
		t.Fatalf("attestation 3 after the power change: %+v", v3)
	}
	if dc == nil || dc.Kind != tx.AttestationDataCommitment || dc.SignerNonce != 3 {
		t.Fatalf("attestation 4: %+v", dc)
	}
	var got tx.Attestation
	if err := json.Unmarshal(a.query(tx.ValsetQueryPath, strconv.Itoa(4)).Value, &got); err != nil || got.Nonce != 3 {
		t.Fatalf("valset in force at 4: %+v (%v)", got, err)
	}
	if err := json.Unmarshal(a.query(tx.ValsetQueryPath, strconv.Itoa(2)).Value, &got); err != nil || got.Nonce != 2 {
		t.Fatalf("valset in force at 2: %+v (%v)", got, err)
	}
	// The registration and the valsets survive a restart.
	hash := bytes.Clone(a.app.appHash)
	a.reopen()
	if h, _ := a.app.state.Hash(); !bytes.Equal(h, hash) {
		t.Fatal("the reloaded state hashes differently")
	}
	if addr, _ := a.app.state.EVMAddress(a.vals[3].PubKey().Bytes()); addr != blobstream.AddressOf(fresh.PubKey()) {
		t.Fatalf("registered address after restart %s", addr)
	}
}

// A genesis without data_commitment_window (0) makes no attestations and
// adds nothing to the state, so its app hash is as before Blobstream.
func TestNoWindowNoBlobstreamState(t *testing.T) {
	st, p := fuzzState(t)
	p.DataCommitmentWindow = 0
	st.Config.Params = p
	if keys := st.bsKeys(); len(keys) != 0 {
		t.Fatalf("blobstream keys %q without a window", keys)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("data_commitment_window")) {
		t.Fatalf("params JSON %s names the window", raw)
	}
}
