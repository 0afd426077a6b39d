package app

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
)

func TestAppHashDeterministic(t *testing.T) {
	_, a := txtest.Key(t, "a")
	_, b := txtest.Key(t, "b")
	g1 := &Genesis{ChainID: "c", Authority: a, Params: tx.DefaultParams(),
		Accounts: []GenesisAccount{{Address: a, Balance: 1}, {Address: b, Balance: 2}}}
	g2 := *g1
	g2.Accounts = []GenesisAccount{{Address: b, Balance: 2}, {Address: a, Balance: 1}}
	h1, err := NewState(g1).Hash()
	if err != nil {
		t.Fatal(err)
	}
	h2, err := NewState(&g2).Hash()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h1, h2) {
		t.Fatal("the app hash depends on the order of accounts")
	}
	d := NewDelta(NewState(g1))
	acc := d.Account(b)
	acc.Balance++
	d.setAccount(b, acc)
	h3, err := d.apply().Hash()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(h1, h3) {
		t.Fatal("a balance change left the app hash unchanged")
	}
}

func TestStoreLoad(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := NewStore(db)
	st, h, hash, err := s.Load()
	if st != nil || h != 0 || hash != nil || err != nil {
		t.Fatalf("empty store: %v %d %x %v", st, h, hash, err)
	}
	_, a := txtest.Key(t, "a")
	g := NewState(&Genesis{ChainID: "c", Authority: a, Params: tx.DefaultParams(),
		Accounts: []GenesisAccount{{Address: a, Balance: 5}}})
	want, _ := g.Hash()
	if err := s.Save(g, nil, 7, want); err != nil {
		t.Fatal(err)
	}
	st, h, hash, err = s.Load()
	if err != nil || h != 7 || !bytes.Equal(hash, want) || st.Account(a).Balance != 5 {
		t.Fatalf("load: %d %x %v", h, hash, err)
	}
	// A corrupt record is an error, not a silent default.
	if err := db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyHeight), binary.BigEndian.AppendUint32(nil, 1))
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Load(); err == nil {
		t.Fatal("loaded a corrupt height record")
	}
}
