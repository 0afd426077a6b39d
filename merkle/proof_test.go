package merkle_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	cmtmerkle "github.com/cometbft/cometbft/crypto/merkle"
	"github.com/datamesh/mesh-node/merkle"
)

func randomItems(rng *rand.Rand, n int) [][]byte {
	items := make([][]byte, n)
	for i := range items {
		items[i] = make([]byte, rng.IntN(80))
		for j := range items[i] {
			items[i][j] = byte(rng.Uint32())
		}
	}
	return items
}

// TestProofsMatchCometBFT uses CometBFT's crypto/merkle as the oracle: the
// same root, the same proofs (fields and JSON), and each side verifies the
// other's proofs.
func TestProofsMatchCometBFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 70; n++ {
		items := randomItems(rng, n)
		root, proofs := merkle.ProofsFromByteSlices(items)
		refRoot, refProofs := cmtmerkle.ProofsFromByteSlices(items)
		if !bytes.Equal(root, refRoot) || !bytes.Equal(root, merkle.HashFromByteSlices(items)) {
			t.Fatalf("n=%d: root %x, CometBFT %x", n, root, refRoot)
		}
		if len(proofs) != n {
			t.Fatalf("n=%d: %d proofs", n, len(proofs))
		}
		for i, p := range proofs {
			ref := refProofs[i]
			if p.Total != ref.Total || p.Index != ref.Index || !bytes.Equal(p.LeafHash, ref.LeafHash) ||
				!slices.EqualFunc(p.Aunts, ref.Aunts, bytes.Equal) {
				t.Fatalf("n=%d item %d: proof %+v, CometBFT %+v", n, i, p, ref)
			}
			js, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			refJS, err := json.Marshal(ref)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(js, refJS) {
				t.Fatalf("n=%d item %d: JSON %s, CometBFT %s", n, i, js, refJS)
			}
			if err := p.Verify(root, items[i]); err != nil {
				t.Fatalf("n=%d item %d: %v", n, i, err)
			}
			// Cross-verify: CometBFT checks ours decoded, we check its.
			var back cmtmerkle.Proof
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatal(err)
			}
			if err := back.Verify(root, items[i]); err != nil {
				t.Fatalf("n=%d item %d: CometBFT rejects ours: %v", n, i, err)
			}
			var ours merkle.Proof
			if err := json.Unmarshal(refJS, &ours); err != nil {
				t.Fatal(err)
			}
			if err := ours.Verify(refRoot, items[i]); err != nil {
				t.Fatalf("n=%d item %d: we reject CometBFT's: %v", n, i, err)
			}
			// The wrong item, or another item's position, fails.
			if err := p.Verify(root, append(slices.Clone(items[i]), 1)); !errors.Is(err, merkle.ErrInvalidProof) {
				t.Fatalf("n=%d item %d: wrong item: %v", n, i, err)
			}
			if n > 1 {
				moved := *p
				moved.Index = (p.Index + 1) % p.Total
				if err := moved.Verify(root, items[i]); !errors.Is(err, merkle.ErrInvalidProof) {
					t.Fatalf("n=%d item %d: moved index: %v", n, i, err)
				}
			}
		}
	}
}

func TestProofVerifyRejects(t *testing.T) {
	items := randomItems(rand.New(rand.NewPCG(5, 6)), 11)
	root, proofs := merkle.ProofsFromByteSlices(items)
	p := *proofs[6]
	with := func(f func(q *merkle.Proof)) merkle.Proof {
		q := p
		q.Aunts = slices.Clone(p.Aunts)
		f(&q)
		return q
	}
	for name, q := range map[string]merkle.Proof{
		"zero total":      with(func(q *merkle.Proof) { q.Total = 0 }),
		"negative total":  with(func(q *merkle.Proof) { q.Total = -3 }),
		"negative index":  with(func(q *merkle.Proof) { q.Index = -1 }),
		"index past":      with(func(q *merkle.Proof) { q.Index = q.Total }),
		"huge total":      with(func(q *merkle.Proof) { q.Total = math.MaxInt64 }),
		"huge total, 63":  with(func(q *merkle.Proof) { q.Total = math.MaxInt64; q.Aunts = slices.Repeat(q.Aunts[:1], 63) }),
		"too many aunts":  with(func(q *merkle.Proof) { q.Aunts = slices.Repeat(q.Aunts[:1], merkle.MaxAunts+1) }),
		"one aunt extra":  with(func(q *merkle.Proof) { q.Aunts = append(q.Aunts, q.Aunts[0]) }),
		"one aunt short":  with(func(q *merkle.Proof) { q.Aunts = q.Aunts[1:] }),
		"short aunt":      with(func(q *merkle.Proof) { q.Aunts[1] = q.Aunts[1][:5] }),
		"nil aunt":        with(func(q *merkle.Proof) { q.Aunts[0] = nil }),
		"flipped aunt":    with(func(q *merkle.Proof) { a := slices.Clone(q.Aunts[2]); a[0] ^= 1; q.Aunts[2] = a }),
		"short leaf hash": with(func(q *merkle.Proof) { q.LeafHash = q.LeafHash[:31] }),
		"other total":     with(func(q *merkle.Proof) { q.Total = 7 }),
	} {
		if err := q.Verify(root, items[6]); !errors.Is(err, merkle.ErrInvalidProof) {
			t.Errorf("%s: %v, want ErrInvalidProof", name, err)
		}
	}
	if err := p.Verify(nil, items[6]); !errors.Is(err, merkle.ErrInvalidProof) {
		t.Errorf("nil root: %v", err)
	}
	if err := p.Verify(root, items[6]); err != nil {
		t.Fatal(err)
	}
}

// TestProofJSON: integers as numbers (encoding/json), and also read as
// strings, as CometBFT's libs/json writes them.
func TestProofJSON(t *testing.T) {
	in := `{"total":"4","index":"3","leaf_hash":"` + b64(bytes.Repeat([]byte{1}, 32)) + `","aunts":["` + b64(bytes.Repeat([]byte{2}, 32)) + `"]}`
	var p merkle.Proof
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	if p.Total != 4 || p.Index != 3 || len(p.Aunts) != 1 {
		t.Fatalf("decoded %+v", p)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"total":4,"index":3,"leaf_hash":"` + b64(bytes.Repeat([]byte{1}, 32)) + `","aunts":["` + b64(bytes.Repeat([]byte{2}, 32)) + `"]}`
	if string(out) != want {
		t.Fatalf("encoded %s, want %s", out, want)
	}
	for _, bad := range []string{`{"total":1.5}`, `{"total":"x"}`, `{"index":null}`, `{"aunts":"AA=="}`} {
		if err := json.Unmarshal([]byte(bad), &p); !errors.Is(err, merkle.ErrInvalidProof) {
			t.Errorf("%s: %v, want ErrInvalidProof", bad, err)
		}
	}
}

func b64(b []byte) string {
	out, _ := json.Marshal(b)
	return string(out[1 : len(out)-1])
}

// FuzzProofJSON: whatever decodes, Verify and ComputeRoot answer without
// panicking, and only a proof CometBFT also accepts verifies.
func FuzzProofJSON(f *testing.F) {
	items := randomItems(rand.New(rand.NewPCG(9, 9)), 5)
	root, proofs := merkle.ProofsFromByteSlices(items)
	for _, p := range proofs {
		js, _ := json.Marshal(p)
		f.Add(js, byte(p.Index))
	}
	f.Add([]byte(`{"total":"9223372036854775807","index":"9223372036854775806","leaf_hash":"AA=="}`), byte(0))
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		var p merkle.Proof
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		item := items[int(which)%len(items)]
		_, _ = p.ComputeRoot()
		if err := p.Verify(root, item); err == nil {
			ref := cmtmerkle.Proof{Total: p.Total, Index: p.Index, LeafHash: p.LeafHash, Aunts: p.Aunts}
			if err := ref.Verify(root, item); err != nil {
				t.Fatalf("verified %+v; CometBFT rejects it: %v", p, err)
			}
		}
	})
}

// TestLeafHashProofs checks RootFromLeafHashes and ProofFromLeafHashes
// against HashFromByteSlices and ProofsFromByteSlices over the same items.
func TestLeafHashProofs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	if got, want := merkle.RootFromLeafHashes(nil), merkle.HashFromByteSlices(nil); !bytes.Equal(got, want) {
		t.Fatalf("empty root %x, want %x", got, want)
	}
	for n := 1; n <= 40; n++ {
		items := randomItems(rng, n)
		leaves := make([][]byte, n)
		for i, it := range items {
			leaves[i] = merkle.LeafHash(it)
		}
		root, proofs := merkle.ProofsFromByteSlices(items)
		if got := merkle.RootFromLeafHashes(leaves); !bytes.Equal(got, root) {
			t.Fatalf("n=%d: root %x, want %x", n, got, root)
		}
		for i := range items {
			r, p, err := merkle.ProofFromLeafHashes(leaves, i)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(r, root) || !reflect.DeepEqual(p, proofs[i]) {
				t.Fatalf("n=%d i=%d: proof %+v, want %+v", n, i, p, proofs[i])
			}
			if err := p.Verify(root, items[i]); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
		}
		for _, i := range []int{-1, n} {
			if _, _, err := merkle.ProofFromLeafHashes(leaves, i); !errors.Is(err, merkle.ErrInvalidProof) {
				t.Fatalf("n=%d index %d: err %v", n, i, err)
			}
		}
	}
}
