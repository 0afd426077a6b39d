package app

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/merkle"
)

// scratchHash is the app hash of st computed from all its entries:
// merkle.HashFromByteSlices over the leaves, in key order with
// Blobstream's data roots and attestations moved last.
func scratchHash(t testing.TB, st *State) []byte {
	t.Helper()
	es, err := st.entries()
	if err != nil {
		t.Fatal(err)
	}
	var rest, last []kv
	for _, e := range es {
		if k := string(e.key); strings.HasPrefix(k, "br/") || strings.HasPrefix(k, "bn/") {
			last = append(last, e)
		} else {
			rest = append(rest, e)
		}
	}
	es = append(rest, last...)
	leaves := make([][]byte, len(es))
	for i, e := range es {
		leaf := protowire.AppendVarint(nil, uint64(len(e.key)))
		leaves[i] = append(append(leaf, e.key...), e.value...)
	}
	return merkle.HashFromByteSlices(leaves)
}

// checkAppHash checks the committed app hash of a against the hash of its
// state from scratch, and against the state and hash db has stored.
func checkAppHash(t testing.TB, a *App, db *badger.DB) {
	t.Helper()
	if want := scratchHash(t, a.state); !bytes.Equal(a.appHash, want) {
		t.Fatalf("height %d: app hash %X, from scratch %X", a.height, a.appHash, want)
	}
	st, h, stored, err := NewStore(db).Load()
	if err != nil {
		t.Fatal(err)
	}
	if h != a.height || !bytes.Equal(stored, a.appHash) {
		t.Fatalf("stored height %d hash %X, committed %d %X", h, stored, a.height, a.appHash)
	}
	if got := scratchHash(t, st); !bytes.Equal(got, a.appHash) {
		t.Fatalf("height %d: the stored state hashes to %X, committed %X", h, got, a.appHash)
	}
}

// TestAppHashPoATransfers sends random amounts between funded accounts and
// to new ones (inserts anywhere in the key order) for many blocks, checking
// after each that the incrementally kept app hash is the one from scratch
// and that the stored state has it, restarting now and then (the tree is
// built again from the stored state).
func TestAppHashPoATransfers(t *testing.T) {
	const funded = 6
	keys := make([]tx.Address, 0, funded)
	privs := make([]func(nonce uint64, to tx.Address, amount uint64) []byte, 0, funded)
	var accts []GenesisAccount
	e := newTestEnv(t, func(g *Genesis) {
		for i := range funded {
			k, a := txtest.Key(t, fmt.Sprint("payer", i))
			keys = append(keys, a)
			accts = append(accts, GenesisAccount{Address: a, Balance: 1e12})
			privs = append(privs, func(nonce uint64, to tx.Address, amount uint64) []byte {
				return txtest.SendTx(t, testChainID, k, nonce, to, amount, g.Params.FixedGas, g.Params.MinGasPrice)
			})
		}
		g.Accounts = append(g.Accounts, accts...)
	})
	r := rand.New(rand.NewPCG(7, 19))
	nonces := make([]uint64, funded)
	for b := range 120 {
		var txs [][]byte
		for i := range funded {
			if r.IntN(3) == 0 {
				continue
			}
			to := keys[r.IntN(funded)]
			if r.IntN(2) == 0 {
				var fresh tx.Address
				for j := range fresh {
					fresh[j] = byte(r.Uint32())
				}
				to = fresh
			}
			txs = append(txs, privs[i](nonces[i], to, 1+r.Uint64N(1000)))
			nonces[i]++
		}
		res := e.block(txs...)
		for i, tr := range res.TxResults {
			if tr.Code != tx.CodeOK && i < len(txs) {
				t.Fatalf("block %d: transaction %d failed: %s", b, i, tr.Log)
			}
		}
		checkAppHash(t, e.app, e.db)
		if b%40 == 39 {
			e.reopen()
		}
	}
}

// TestAppHashAfterSecondDelta hashes two states made from one base (the
// second finds the tree taken by the first and builds its own) and the
// base again: each hash is the one from scratch.
func TestAppHashAfterSecondDelta(t *testing.T) {
	e := newPoSEnv(t, 3, 6, nil)
	base := e.app.state
	baseHash, err := base.Hash()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		d := NewDelta(base)
		if err := d.stakeState().Delegate(deltaBank{d}, e.addrs[3+i], e.addrs[i], 1e6); err != nil {
			t.Fatal(err)
		}
		st := d.apply()
		h, err := st.Hash()
		if err != nil {
			t.Fatal(err)
		}
		if want := scratchHash(t, st); !bytes.Equal(h, want) {
			t.Fatalf("state %d: hash %X, from scratch %X", i, h, want)
		}
	}
	if h, err := base.Hash(); err != nil || !bytes.Equal(h, baseHash) || !bytes.Equal(h, scratchHash(t, base)) {
		t.Fatalf("base hashes to %X after the deltas, %X before (%v)", h, baseHash, err)
	}
}
