package app

import (
	"bytes"
	"flag"
	"testing"

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
	seeds := map[string]map[string][]byte{
		"FuzzExecute": {
			"send": send, "pfb": pfb, "update-validator": upd, "pfb-inner-only": btx.Tx,
			"data-root-magic": append([]byte("DMDR\x01"), make([]byte, 36)...), "empty": {},
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
