package rollup_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/rollup"
)

func TestGenesisFileRoundTrip(t *testing.T) {
	g := localGenesis(t, keyFrom("seq"))
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := rollup.WriteGenesis(path, g); err != nil {
		t.Fatal(err)
	}
	if err := rollup.WriteGenesis(path, g); err == nil {
		t.Fatal("WriteGenesis overwrote an existing file")
	}
	got, err := rollup.ReadGenesis(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(g)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("read back %s, wrote %s", b, a)
	}
}

func TestGenesisRejects(t *testing.T) {
	good, err := json.Marshal(localGenesis(t, keyFrom("seq")))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(from, to string) string {
		if !strings.Contains(string(good), from) {
			t.Fatalf("%q not in %s", from, good)
		}
		return strings.Replace(string(good), from, to, 1)
	}
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	ns, key := m["namespace"].(string), m["sequencer_key"].(string)
	for name, in := range map[string]string{
		"unknown member":    edit(`{`, `{"extra":1,`),
		"missing member":    edit(`"da_start_height":1,`, ``),
		"trailing data":     string(good) + `{}`,
		"uppercase key":     edit(key, strings.ToUpper(key)),
		"short key":         edit(key, key[:62]),
		"reserved ns":       edit(ns, "00"+strings.Repeat("0", 54)+"01"),
		"bad chain id":      edit(`"chain_id":"local"`, `"chain_id":"a b"`),
		"empty chain id":    edit(`"chain_id":"local"`, `"chain_id":""`),
		"DA height 0":       edit(`"da_start_height":1`, `"da_start_height":0`),
		"initial height 0":  edit(`"initial_height":1`, `"initial_height":0`),
		"time not RFC 3339": edit(`"genesis_time":"`, `"genesis_time":"x`),
		"not an object":     `[]`,
	} {
		var g rollup.Genesis
		if err := g.UnmarshalJSON([]byte(in)); !errors.Is(err, rollup.ErrInvalidGenesis) {
			t.Errorf("%s: %v, want ErrInvalidGenesis", name, err)
		}
	}
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, []byte(strings.Repeat(" ", rollup.MaxGenesisSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rollup.ReadGenesis(path); !errors.Is(err, rollup.ErrInvalidGenesis) {
		t.Fatalf("oversized file: %v", err)
	}
}
