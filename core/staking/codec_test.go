package staking_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/core/staking"
)

// sampleState is a state with validators, delegations, unbondings,
// redelegations, a slash and a jail.
func sampleState(t testing.TB) *staking.State {
	c := newChain(t, testParams(), 5, 100_000)
	c.createValidator(0, 10_000, "0.1")
	c.createValidator(1, 10_000, "0")
	if err := c.s.Delegate(c.bank, addr(2), addr(0), 5000); err != nil {
		t.Fatal(err)
	}
	c.block(5)
	c.fees = 333
	c.block(5)
	if _, err := c.s.Undelegate(c.bank, addr(2), addr(0), 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Redelegate(c.bank, addr(2), addr(0), addr(1), 1000); err != nil {
		t.Fatal(err)
	}
	c.missing[staking.ConsAddressOf(consKey(1))] = true
	c.block(5, staking.Evidence{Address: staking.ConsAddressOf(consKey(0)), Height: c.s.Height(), Power: 15_000})
	return c.s
}

func TestEntriesRoundTrip(t *testing.T) {
	s := sampleState(t)
	roundTrip(t, s)
	es := s.Entries()
	for i := 1; i < len(es); i++ {
		if bytes.Compare(es[i-1].Key, es[i].Key) >= 0 {
			t.Fatal("entries not sorted by key")
		}
	}
	l, err := staking.Load(es)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := l.Validators(), s.Validators(); len(a) != len(b) || a[0].Tokens != b[0].Tokens || !a[0].Shares.Equal(b[0].Shares) {
		t.Fatalf("validators %+v, want %+v", a, b)
	}
	r1, _ := s.Rewards(addr(2), addr(0))
	r2, _ := l.Rewards(addr(2), addr(0))
	if !r1.Equal(r2) || r1.IsZero() {
		t.Fatalf("rewards %s after loading, %s before", r2, r1)
	}
}

func TestLoadRefuses(t *testing.T) {
	es := sampleState(t).Entries()
	without := func(i int) []staking.KV { return append(append([]staking.KV(nil), es[:i]...), es[i+1:]...) }
	with := func(i int, v []byte) []staking.KV {
		out := append([]staking.KV(nil), es...)
		out[i] = staking.KV{Key: es[i].Key, Value: v}
		return out
	}
	last := len(es) - 1
	cases := map[string][]staking.KV{
		"no params":       without(0),
		"duplicate":       append(append([]staking.KV(nil), es...), es[1]),
		"truncated":       with(last, es[last].Value[:len(es[last].Value)-1]),
		"trailing":        with(last, append(append([]byte(nil), es[last].Value...), 0)),
		"unknown prefix":  append(append([]staking.KV(nil), es...), staking.KV{Key: []byte{0xff}}),
		"empty key":       append(append([]staking.KV(nil), es...), staking.KV{}),
		"missing entity":  without(last), // a validator's last power or a signing info
		"oversized value": append(append([]staking.KV(nil), es...), staking.KV{Key: []byte{0x15, 1}, Value: make([]byte, staking.MaxValueSize+1)}),
	}
	// A pool that does not match the validators breaks an invariant.
	meta := append([]byte(nil), es[1].Value...)
	meta[16+7]++ // bonded pool, low byte
	cases["pool mismatch"] = with(1, meta)
	for name, in := range cases {
		if _, err := staking.Load(in); err == nil {
			t.Errorf("%s: loaded", name)
		} else if !errors.Is(err, staking.ErrCorrupt) && !errors.Is(err, staking.ErrInvariant) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzLoad replaces one entry of a real state by arbitrary bytes: Load
// must not panic, and what it accepts must serialize back identically.
func FuzzLoad(f *testing.F) {
	es := sampleState(f).Entries()
	for i, kv := range es {
		f.Add(uint8(i), kv.Key, kv.Value)
	}
	f.Fuzz(func(t *testing.T, idx uint8, key, value []byte) {
		in := append([]staking.KV(nil), es...)
		in[int(idx)%len(in)] = staking.KV{Key: key, Value: value}
		s, err := staking.Load(in)
		if err != nil {
			return
		}
		roundTrip(t, s)
	})
}

func TestParseDec(t *testing.T) {
	for in, want := range map[string]string{
		"0.05": "0.050000000000000000", "12": "12.000000000000000000", "0.000000000000000001": "0.000000000000000001",
	} {
		d, err := staking.ParseDec(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %s, %v", in, d, err)
		}
	}
	for _, in := range []string{"", ".5", "5.", "-1", "1e5", "0.0000000000000000001", "1.2.3", " 1"} {
		if _, err := staking.ParseDec(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
