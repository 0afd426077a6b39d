package app

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
	"github.com/datamesh/mesh-node/share"
)

// FuzzExecute runs arbitrary bytes, bare or as a BlobTx, through the
// mempool check against a funded state: it never panics, and a rejected
// transaction leaves the state unchanged. Its seed corpus is in
// testdata/fuzz/FuzzExecute.
func FuzzExecute(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _ := fuzzState(t)
		d := NewDelta(st)
		before, err := d.apply().Hash()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Execute(d, data); err != nil {
			after, herr := d.apply().Hash()
			if herr != nil || !bytes.Equal(before, after) {
				t.Fatalf("rejected tx (%v) changed the state", err)
			}
			if tx.Code(err) == tx.CodeOK {
				t.Fatalf("error %v maps to CodeOK", err)
			}
		}
	})
}

func fuzzState(t testing.TB) (*State, tx.Params) {
	_, alice := txtest.Key(t, "alice")
	p := tx.DefaultParams()
	return NewState(&Genesis{ChainID: "fuzz", Authority: alice, Params: p,
		Accounts: []GenesisAccount{{Address: alice, Balance: 1 << 40}}}), p
}

// FuzzAttestationDecoders decodes arbitrary bytes as an attestation
// transaction and as a vote extension: never a panic, errors wrap
// ErrInvalidAttestation, and what decodes encodes to the same bytes. Its
// seed corpus is in testdata/fuzz/FuzzAttestationDecoders.
func FuzzAttestationDecoders(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if a, err := UnmarshalAttestationTx(data); err == nil {
			if !bytes.Equal(a.Marshal(), data) {
				t.Fatalf("attestation tx %x re-encodes to %x", data, a.Marshal())
			}
		} else if !errors.Is(err, ErrInvalidAttestation) {
			t.Fatal(err)
		}
		if e, err := UnmarshalVoteExtension(data); err == nil {
			if !bytes.Equal(e.Marshal(), data) {
				t.Fatalf("vote extension %x re-encodes to %x", data, e.Marshal())
			}
		} else if !errors.Is(err, ErrInvalidAttestation) {
			t.Fatal(err)
		}
	})
}

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the generated seed corpus under testdata/fuzz")

// TestSeedCorpus rewrites the seed corpus with -write-corpus; otherwise it
// checks that every seed is present, so a change to the encoding that
// invalidates the corpus shows up here.
func TestSeedCorpus(t *testing.T) {
	st, _ := fuzzState(t)
	send, pfb, upd := txtest.SeedTxs(t, st.Config.ChainID)
	btx, _, err := share.UnmarshalBlobTx(pfb)
	if err != nil {
		t.Fatal(err)
	}
	sig := blobstream.Signature{V: 27, R: [32]byte{1}, S: [32]byte{2}}
	attTx := AttestationTx{Nonce: 2, Signatures: []blobstream.Signature{sig, {}}}.Marshal()
	reg := seedRegistration(t, st.Config.ChainID)
	seeds := map[string]map[string][]byte{
		"FuzzExecute": {
			"send": send, "pfb": pfb, "update-validator": upd, "pfb-inner-only": btx.Tx,
			"data-root-magic": append([]byte("DMDR\x01"), make([]byte, 36)...), "empty": {},
			"attestation-tx": attTx, "register-evm-address": reg,
		},
		"FuzzAttestationDecoders": {
			"attestation-tx": attTx, "vote-extension": VoteExtension{Nonce: 7, Signature: sig}.Marshal(), "empty": {},
		},
	}
	var corpus []fuzzcorpus.Seed
	for target, files := range seeds {
		for name, data := range files {
			corpus = append(corpus, fuzzcorpus.Seed{Target: target, Name: name, Args: []any{data}})
		}
	}
	if *writeCorpus {
		fuzzcorpus.Write(t, corpus, false)
		return
	}
	fuzzcorpus.Check(t, corpus, "go test ./core/app -run TestSeedCorpus -write-corpus")
}

// seedRegistration is a registration transaction signed by alice for a
// fixed validator key.
func seedRegistration(t *testing.T, chainID string) []byte {
	t.Helper()
	alice, _ := txtest.Key(t, "alice")
	val := ed25519.GenPrivKeyFromSecret([]byte("fuzz validator"))
	var seed [32]byte
	seed[31] = 3
	m, err := tx.NewMsgRegisterEVMAddress(chainID, val.PubKey().Bytes(), val.Sign, secp256k1.PrivKeyFromBytes(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tx.SignTx(tx.Body{ChainID: chainID, Fee: tx.Fee{GasLimit: 65_000, GasPrice: 1}, Msg: m}, alice)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
