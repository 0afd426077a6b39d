package nmt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"

	refnmt "github.com/celestiaorg/nmt"
	"github.com/datamesh/mesh-node/nmt"
)

// goldenNode returns a valid node (both namespaces ns(b)) whose digest is b
// repeated.
func goldenNode(b byte) []byte {
	n := append(ns(b), ns(b)...)
	return append(n, bytes.Repeat([]byte{b}, 32)...)
}

// TestProofJSONGolden pins the JSON of celestiaorg/nmt v0.24.3: its Proof
// marshals through the protobuf message nmt/pb.Proof, whose JSON tags are
// start, end, nodes, leaf_hash, is_max_namespace_ignored, all omitempty.
// The expected bytes are written from that description, not produced by
// the reference; TestProofJSONReference checks the reference agrees.
func TestProofJSONGolden(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	n1, n2 := goldenNode(1), goldenNode(7)
	cases := []struct {
		name  string
		proof nmt.Proof
		want  string
	}{
		{"from zero", nmt.Proof{Start: 0, End: 2, Nodes: [][]byte{n1}, IsMaxNamespaceIgnored: true},
			`{"end":2,"nodes":["` + b64(n1) + `"],"is_max_namespace_ignored":true}`},
		{"absence", nmt.Proof{Start: 3, End: 4, Nodes: [][]byte{n1, n2}, LeafHash: n2, IsMaxNamespaceIgnored: true},
			`{"start":3,"end":4,"nodes":["` + b64(n1) + `","` + b64(n2) + `"],"leaf_hash":"` + b64(n2) + `","is_max_namespace_ignored":true}`},
		{"whole tree", nmt.Proof{Start: 0, End: 8, IsMaxNamespaceIgnored: true}, `{"end":8,"is_max_namespace_ignored":true}`},
		{"empty", nmt.Proof{IsMaxNamespaceIgnored: true}, `{"is_max_namespace_ignored":true}`},
		{"flag false", nmt.Proof{Start: 1, End: 2}, `{"start":1,"end":2}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(c.proof)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		var back nmt.Proof
		if err := json.Unmarshal([]byte(c.want), &back); err != nil {
			t.Fatalf("%s: decoding: %v", c.name, err)
		}
		// Every decoded proof is of an ignore-max tree, flag or not.
		want := c.proof
		want.IsMaxNamespaceIgnored = true
		if !equalProofs(back, want) {
			t.Errorf("%s: decoded %+v, want %+v", c.name, back, want)
		}
	}
}

// TestProofJSONReference checks our JSON against celestiaorg/nmt's own
// marshaller, in both directions, for real proofs of random trees.
func TestProofJSONReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for range 40 {
		leaves := randomLeaves(rng, 1+rng.IntN(40))
		tree, _ := build(t, leaves)
		root := mustRoot(t, tree)
		start := rng.IntN(len(leaves))
		end := start + 1 + rng.IntN(len(leaves)-start)
		ours, err := tree.ProveRange(start, end)
		if err != nil {
			t.Fatal(err)
		}
		nsq := leaves[start][:nmt.NamespaceSize]
		absence, err := tree.ProveNamespace(append(bytes.Clone(nsq[:nmt.NamespaceSize-1]), nsq[nmt.NamespaceSize-1]+1))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []nmt.Proof{ours, absence} {
			got, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(toRef(p))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("proof %+v:\n ours %s\n  ref %s", p, got, want)
			}
			var ref refnmt.Proof
			if err := json.Unmarshal(got, &ref); err != nil {
				t.Fatalf("reference decoding ours: %v", err)
			}
			if !equalProofs(fromRef(ref), p) {
				t.Fatalf("reference decoded %+v, want %+v", fromRef(ref), p)
			}
		}
		// A client that dropped the flag (the reference writes nothing for
		// false): the proof still decodes as, and verifies as, one of the
		// ignore-max tree.
		one, err := tree.ProveRange(start, start+1)
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(toRef(nmt.Proof{Start: one.Start, End: one.End, Nodes: one.Nodes}))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(js, []byte("is_max")) {
			t.Fatalf("reference wrote a false flag: %s", js)
		}
		var back nmt.Proof
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("decoding %s: %v", js, err)
		}
		if err := back.VerifyInclusion(nsq, payloads(leaves[start:start+1]), root); err != nil {
			t.Fatalf("proof without the flag %s: %v", js, err)
		}
	}
}

func TestProofJSONRejects(t *testing.T) {
	for name, in := range map[string]string{
		"flag false":     `{"end":1,"is_max_namespace_ignored":false}`,
		"negative start": `{"start":-1,"end":1}`,
		"end before":     `{"start":3,"end":2}`,
		"short node":     `{"end":1,"nodes":["AAE="]}`,
		"not base64":     `{"end":1,"nodes":["!!"]}`,
		"string start":   `{"start":"1","end":2}`,
	} {
		var p nmt.Proof
		err := json.Unmarshal([]byte(in), &p)
		if !errors.Is(err, nmt.ErrInvalidProof) {
			t.Errorf("%s: %s decoded to %+v, err %v; want ErrInvalidProof", name, in, p, err)
		}
	}
}
