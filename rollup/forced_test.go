package rollup_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/share"
)

func TestForcedTxEnvelope(t *testing.T) {
	tx := []byte(`{"type":"set","key":"a","value":"b"}`)
	env, err := rollup.EncodeForcedTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("DMFX\x01"), tx...); !bytes.Equal(env, want) {
		t.Fatalf("envelope %q, want %q", env, want)
	}
	got, err := rollup.DecodeForcedTx(env)
	if err != nil || !bytes.Equal(got, tx) {
		t.Fatalf("decode: %q, %v", got, err)
	}
	env[len(env)-1] = 'X'
	if got[len(got)-1] != '}' {
		t.Fatal("the decoded transaction aliases the blob")
	}
	max := bytes.Repeat([]byte{'a'}, rollup.MaxForcedTxSize)
	if _, err := rollup.EncodeForcedTx(max); err != nil {
		t.Fatalf("a transaction of the maximum size: %v", err)
	}
	for name, blob := range map[string][]byte{
		"empty blob":     {},
		"magic only":     []byte("DMFX\x01"),
		"other version":  []byte("DMFX\x02tx"),
		"a rollup block": []byte("DMRB\x01tx"),
		"oversized":      append([]byte("DMFX\x01"), append(max, 'a')...),
		"plain tx":       tx,
	} {
		if _, err := rollup.DecodeForcedTx(blob); !errors.Is(err, rollup.ErrNotForcedTx) {
			t.Errorf("%s: %v, want ErrNotForcedTx", name, err)
		}
	}
	for _, bad := range [][]byte{nil, append(max, 'a')} {
		if _, err := rollup.EncodeForcedTx(bad); !errors.Is(err, rollup.ErrNotForcedTx) {
			t.Errorf("encode %d bytes: %v, want ErrNotForcedTx", len(bad), err)
		}
	}
}

// FuzzDecodeForcedTx: DecodeForcedTx never panics, and what it accepts
// encodes back to the same blob.
func FuzzDecodeForcedTx(f *testing.F) {
	f.Add([]byte("DMFX\x01x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := rollup.DecodeForcedTx(b)
		if err != nil {
			return
		}
		again, err := rollup.EncodeForcedTx(tx)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted %q re-encodes to %q, %v", b, again, err)
		}
	})
}

// A genesis without the forced-inclusion fields (a file written before
// them) takes the defaults; given ones are checked.
func TestGenesisForcedDefaults(t *testing.T) {
	g := localGenesis(t, keyFrom("seq"))
	def := rollup.DefaultForcedNamespace(g.Namespace)
	if err := def.ValidateForBlob(); err != nil || def == g.Namespace {
		t.Fatalf("default forced namespace %s: %v", def, err)
	}
	if g.ForcedInclusionNamespace() != def || g.ForcedInclusionEpoch() != rollup.DefaultForcedInclusionEpoch {
		t.Fatalf("defaults: %s %d", g.ForcedInclusionNamespace(), g.ForcedInclusionEpoch())
	}
	full, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(full, &m); err != nil {
		t.Fatal(err)
	}
	if m["forced_inclusion_epoch"] != float64(10) || m["forced_namespace"] == nil {
		t.Fatalf("written genesis lacks the forced-inclusion defaults: %s", full)
	}
	fns := m["forced_namespace"].(string)
	delete(m, "forced_namespace")
	delete(m, "forced_inclusion_epoch")
	old, _ := json.Marshal(m)
	var back rollup.Genesis
	if err := back.UnmarshalJSON(old); err != nil {
		t.Fatalf("a genesis without the forced fields: %v", err)
	}
	if back.ForcedInclusionNamespace() != def || back.ForcedInclusionEpoch() != rollup.DefaultForcedInclusionEpoch {
		t.Fatalf("old genesis read with %s %d", back.ForcedInclusionNamespace(), back.ForcedInclusionEpoch())
	}

	// A store opened with the old genesis opens with the new encoding.
	db := badgertest.Open(t)
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("rollup/genesis"), old) }); err != nil {
		t.Fatal(err)
	}
	if _, err := rollup.OpenStore(db, g); err != nil {
		t.Fatalf("a store written before forced inclusion: %v", err)
	}
	other := *g
	other.ForcedEpoch = 11
	if _, err := rollup.OpenStore(db, &other); err == nil {
		t.Fatal("a store opened with another forced-inclusion epoch")
	}

	edit := func(from, to string) string { return strings.Replace(string(full), from, to, 1) }
	rootNS := strings.Repeat("0", 58)
	for name, in := range map[string]string{
		"epoch 0":              edit(`"forced_inclusion_epoch":10`, `"forced_inclusion_epoch":0`),
		"epoch too long":       edit(`"forced_inclusion_epoch":10`, `"forced_inclusion_epoch":10001`),
		"forced ns is the ns":  edit(fns, m["namespace"].(string)),
		"forced ns zero":       edit(fns, rootNS),
		"forced ns reserved":   edit(fns, "00"+strings.Repeat("0", 54)+"01"),
		"forced ns uppercase":  edit(fns, strings.ToUpper(fns)),
		"forced ns not 29 hex": edit(fns, fns[:56]),
	} {
		var g rollup.Genesis
		if err := g.UnmarshalJSON([]byte(in)); !errors.Is(err, rollup.ErrInvalidGenesis) {
			t.Errorf("%s: %v, want ErrInvalidGenesis", name, err)
		}
	}
	explicit, _ := share.NewV0Namespace([]byte("forced"))
	g.ForcedNamespace, g.ForcedEpoch = explicit, 3
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var got rollup.Genesis
	if err := got.UnmarshalJSON(b); err != nil || got.ForcedInclusionNamespace() != explicit || got.ForcedInclusionEpoch() != 3 {
		t.Fatalf("explicit forced fields read back as %s %d, %v", got.ForcedInclusionNamespace(), got.ForcedInclusionEpoch(), err)
	}
}

// Header.ForcedTxs is encoded only when not 0, signed, and bounded by the
// block's transactions.
func TestBlockForcedTxs(t *testing.T) {
	key := keyFrom("k")
	plain := sampleBlock(t, key)
	rawPlain, err := plain.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b := sampleBlock(t, key)
	b.Header.ForcedTxs = 2
	if err := b.Header.Sign(key); err != nil {
		t.Fatal(err)
	}
	raw, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(rawPlain)+2 {
		t.Fatalf("a block with ForcedTxs is %d bytes, without %d: want 2 more", len(raw), len(rawPlain))
	}
	got, err := rollup.DecodeBlock(raw)
	if err != nil || got.Header.ForcedTxs != 2 {
		t.Fatalf("decoded ForcedTxs %v, %v", got, err)
	}
	if err := got.Header.VerifySignature(key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	// The signature covers it.
	got.Header.ForcedTxs = 1
	if err := got.Header.VerifySignature(key.Public().(ed25519.PublicKey)); !errors.Is(err, rollup.ErrBadSignature) {
		t.Fatalf("a changed ForcedTxs: %v", err)
	}
	b.Header.ForcedTxs = uint64(len(b.Txs)) + 1
	if _, err := b.Encode(); !errors.Is(err, rollup.ErrInvalidBlock) {
		t.Fatalf("more forced transactions than transactions: %v", err)
	}
}
