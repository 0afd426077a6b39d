package tx_test

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
	"github.com/datamesh/mesh-node/share"
)

// FuzzUnmarshalTx decodes arbitrary bytes as a transaction: decoding never
// panics, fails only with ErrMalformedTx, and what decodes re-encodes to the
// same bytes (one encoding per transaction). Its seed corpus is in
// testdata/fuzz/FuzzUnmarshalTx and runs with plain go test.
func FuzzUnmarshalTx(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := tx.UnmarshalTx(data)
		if err != nil {
			if got != nil || !errors.Is(err, tx.ErrMalformedTx) {
				t.Fatalf("got (%v, %v)", got, err)
			}
			return
		}
		enc, err := got.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoded %x, input %x", enc, data)
		}
		_ = got.ValidateBasic()
		_ = got.VerifySignature()
	})
}

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the generated seed corpus under testdata/fuzz")

// TestSeedCorpus rewrites the seed corpus with -write-corpus; otherwise it
// checks that every seed is present, so a change to the encoding that
// invalidates the corpus shows up here.
func TestSeedCorpus(t *testing.T) {
	send, pfb, upd := txtest.SeedTxs(t, "fuzz")
	btx, _, err := share.UnmarshalBlobTx(pfb)
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"send": send, "pfb-inner": btx.Tx, "update-validator": upd,
		"empty": {}, "truncated": send[:len(send)/2],
	}
	_, seeds["pfb-kzg"] = signedBody(t, kzgPFB(t))
	reg, _, _ := registerMsg(t)
	_, seeds["register-evm-address"] = signedBody(t, reg)
	for name, m := range stakingMsgs(t) {
		_, seeds[name] = signedBody(t, m)
	}
	var corpus []fuzzcorpus.Seed
	for name, data := range seeds {
		corpus = append(corpus, fuzzcorpus.Seed{Target: "FuzzUnmarshalTx", Name: name, Args: []any{data}})
	}
	if *writeCorpus {
		fuzzcorpus.Write(t, corpus, false)
		return
	}
	fuzzcorpus.Check(t, corpus, "go test ./core/tx -run TestSeedCorpus -write-corpus")
}
