package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"testing"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
)

// longestRun returns the longest range [from, to) of ODS shares of one
// namespace.
func longestRun(ods [][]byte) (from, to int) {
	for i := 0; i < len(ods); {
		j := i + 1
		for j < len(ods) && bytes.Equal(ods[j][:share.NamespaceSize], ods[i][:share.NamespaceSize]) {
			j++
		}
		if j-i > to-from {
			from, to = i, j
		}
		i = j
	}
	return from, to
}

func TestGetRange(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	h := f.c.at(3)
	ods := f.c.square(3).FlattenedODS()
	k := f.c.square(3).K()
	from, to := longestRun(ods)
	if (to-1)/k == from/k {
		t.Fatalf("the longest run [%d, %d) stays in one row of %d; the test wants several", from, to, k)
	}
	for _, r := range [][2]int{{from, to}, {from + 1, to}, {to - 1, to}, {0, 1}} {
		res, err := f.shares.GetRange(ctx, 3, r[0], r[1])
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if len(res.Shares) != r[1]-r[0] {
			t.Fatalf("%v: %d shares", r, len(res.Shares))
		}
		for i, s := range res.Shares {
			if !bytes.Equal(s, ods[r[0]+i]) {
				t.Fatalf("%v: share %d differs", r, i)
			}
		}
		if err := res.Verify(h.DAH.Hash()); err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		// JSON round trip, then verify again.
		js, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		var back api.GetRangeResult
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("%v: decoding %s: %v", r, js, err)
		}
		if err := back.Verify(h.DAH.Hash()); err != nil {
			t.Fatalf("%v: decoded result: %v", r, err)
		}
		// Tampered results fail.
		other := f.c.at(2).DAH.Hash()
		if err := back.Verify(other); !errors.Is(err, eds.ErrInvalidShareProof) {
			t.Errorf("%v: another block's data root: %v", r, err)
		}
		back.Shares[0] = bytes.Clone(back.Shares[0])
		back.Shares[0][50] ^= 1
		if err := back.Verify(h.DAH.Hash()); !errors.Is(err, eds.ErrInvalidShareProof) {
			t.Errorf("%v: tampered share: %v", r, err)
		}
		back.Proof.Data[0] = back.Shares[0]
		if err := back.Verify(h.DAH.Hash()); !errors.Is(err, eds.ErrInvalidShareProof) {
			t.Errorf("%v: tampered share and proof data: %v", r, err)
		}
	}
}

// TestGetRangeJSON pins celestia-node's shape: libs/json encoding of its
// GetRangeResult and celestia-core's ShareProof.
func TestGetRangeJSON(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	ods := f.c.square(3).FlattenedODS()
	from, to := longestRun(ods)
	res, err := f.shares.GetRange(ctx, 3, from, to)
	if err != nil {
		t.Fatal(err)
	}
	top := jsonFields(t, res)
	if len(top) != 2 || top["Shares"] == nil || top["Proof"] == nil {
		t.Fatalf("result keys: %v", top)
	}
	var proof map[string]json.RawMessage
	if err := json.Unmarshal(top["Proof"], &proof); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"data", "share_proofs", "namespace_id", "row_proof", "namespace_version"} {
		if proof[key] == nil {
			t.Errorf("proof lacks %q", key)
		}
	}
	if len(proof) != 5 {
		t.Errorf("proof keys: %v", proof)
	}
	if string(proof["namespace_id"]) != b64(ods[from][1:share.NamespaceSize]) || string(proof["namespace_version"]) != strconv.Itoa(int(ods[from][0])) {
		t.Errorf("namespace %s version %s", proof["namespace_id"], proof["namespace_version"])
	}
	var rp map[string]json.RawMessage
	if err := json.Unmarshal(proof["row_proof"], &rp); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"row_roots", "proofs", "start_row", "end_row"} {
		if rp[key] == nil {
			t.Errorf("row_proof lacks %q", key)
		}
	}
	// Row roots in upper-case hex; total and index as strings.
	if !regexp.MustCompile(`^\["[0-9A-F]{180}"(,"[0-9A-F]{180}")*\]$`).Match(rp["row_roots"]) {
		t.Errorf("row_roots %s", rp["row_roots"])
	}
	if !regexp.MustCompile(`^\[\{"total":"\d+","index":"\d+","leaf_hash":"[^"]+","aunts":\[`).Match(rp["proofs"]) {
		t.Errorf("proofs %s", rp["proofs"])
	}
	// celestia-core's NMTProof: no is_max_namespace_ignored; start left
	// out when 0.
	var nps []map[string]json.RawMessage
	if err := json.Unmarshal(proof["share_proofs"], &nps); err != nil {
		t.Fatal(err)
	}
	for i, np := range nps {
		if np["is_max_namespace_ignored"] != nil || np["end"] == nil || (i > 0 && np["start"] != nil) {
			t.Errorf("share proof %d: %v", i, np)
		}
	}
}

func TestGetRangeRejects(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	k := f.c.square(3).K()
	for _, r := range [][2]int{{-1, 1}, {3, 3}, {4, 2}, {0, k*k + 1}, {k * k, k*k + 1}} {
		if _, err := f.shares.GetRange(ctx, 3, r[0], r[1]); !errors.Is(err, api.ErrOutOfBounds) {
			t.Errorf("range %v: %v, want ErrOutOfBounds", r, err)
		}
	}
	// A range over two namespaces cannot be proven under one.
	ods := f.c.square(3).FlattenedODS()
	from, to := longestRun(ods)
	edge := to
	if to == len(ods) {
		edge = from
	}
	if _, err := f.shares.GetRange(ctx, 3, edge-1, edge+1); !errors.Is(err, eds.ErrInvalidShareProof) {
		t.Errorf("range over two namespaces: %v", err)
	}
}
