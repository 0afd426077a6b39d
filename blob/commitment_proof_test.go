package blob_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/share"
)

// bigBlobSquare builds a square with blobs of 1 share, 11 shares (width
// 1), 105 shares (width 2) and 320 shares (width 8), so commitment proofs
// span rows and have wide subtrees.
func bigBlobSquare(t *testing.T) *eds.ExtendedDataSquare {
	t.Helper()
	var txs [][]byte
	for i, size := range []int{100, 5000, 50000, 153000} {
		b, err := share.NewBlob(mustNS("big"), pattern(size, byte(i)), share.ShareVersionZero, nil)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := share.MarshalBlobTx([]byte{'p', byte(i)}, b)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	return edstest.BuildEDS(t, txs, share.SquareSizeUpperBound)
}

func TestCommitmentProof(t *testing.T) {
	for name, e := range map[string]*eds.ExtendedDataSquare{"custom": customSquare(t), "big blobs": bigBlobSquare(t)} {
		t.Run(name, func(t *testing.T) {
			f := newFixtureWith(t, 2, 2, e)
			ctx := ctxT(t)
			root := f.headers[customHeight-1].DAH.Hash()
			widths := map[int]bool{}
			for _, b := range f.expected(t, customHeight) {
				p, err := f.svc.GetCommitmentProof(ctx, customHeight, b.Namespace, b.Commitment)
				if err != nil {
					t.Fatalf("blob at %d: %v", b.Index, err)
				}
				if err := p.Verify(root, b.Commitment); err != nil {
					t.Fatalf("blob at %d: %v", b.Index, err)
				}
				sb, _ := b.ShareBlob()
				widths[share.SubTreeWidth(sb.SharesNeeded())] = true
				if p.RowProof.StartRow != b.Index/e.Width() || len(p.SubtreeRootProofs) != len(p.RowProof.RowRoots) {
					t.Fatalf("blob at %d: rows from %d, %d proofs", b.Index, p.RowProof.StartRow, len(p.SubtreeRootProofs))
				}
				// JSON round trip, then verify again.
				js, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				var back blob.CommitmentProof
				if err := json.Unmarshal(js, &back); err != nil {
					t.Fatalf("decoding %s: %v", js, err)
				}
				if err := back.Verify(root, b.Commitment); err != nil {
					t.Fatalf("decoded proof: %v", err)
				}
				checkCommitmentProofTampering(t, p, root, b.Commitment)
			}
			if name == "big blobs" && !(widths[1] && widths[2] && widths[8]) {
				t.Fatalf("subtree widths covered: %v", widths)
			}
		})
	}
}

func checkCommitmentProofTampering(t *testing.T, p *blob.CommitmentProof, root, c []byte) {
	t.Helper()
	bad := func(name string, f func(q *blob.CommitmentProof), dataRoot, commitment []byte) {
		t.Helper()
		q := cloneCommitmentProof(p)
		f(q)
		if err := q.Verify(dataRoot, commitment); !errors.Is(err, blob.ErrInvalidProof) {
			t.Errorf("%s: %v, want ErrInvalidProof", name, err)
		}
	}
	keep := func(*blob.CommitmentProof) {}
	otherC := bytes.Clone(c)
	otherC[0] ^= 1
	bad("other commitment", keep, root, otherC)
	bad("other data root", keep, otherC, c)
	bad("empty commitment", keep, root, nil)
	bad("subtree root flipped", func(q *blob.CommitmentProof) { q.SubtreeRoots[0][40] ^= 1 }, root, c)
	bad("subtree root dropped", func(q *blob.CommitmentProof) { q.SubtreeRoots = q.SubtreeRoots[1:] }, root, c)
	bad("namespace", func(q *blob.CommitmentProof) { q.Namespace[28] ^= 1 }, root, c)
	bad("row root", func(q *blob.CommitmentProof) { q.RowProof.RowRoots[0][40] ^= 1 }, root, c)
	bad("row index", func(q *blob.CommitmentProof) { q.RowProof.StartRow++; q.RowProof.EndRow++ }, root, c)
	bad("merkle aunt", func(q *blob.CommitmentProof) { q.RowProof.Proofs[0].Aunts[0][3] ^= 1 }, root, c)
	bad("range widened", func(q *blob.CommitmentProof) { q.SubtreeRootProofs[0].End++ }, root, c)
	bad("range moved", func(q *blob.CommitmentProof) { q.SubtreeRootProofs[0].Start--; q.SubtreeRootProofs[0].End-- }, root, c)
	bad("no rows", func(q *blob.CommitmentProof) { q.RowProof = eds.RowProof{}; q.SubtreeRootProofs = nil }, root, c)
	if len(p.SubtreeRootProofs[0].Nodes) > 0 {
		bad("nmt node", func(q *blob.CommitmentProof) { q.SubtreeRootProofs[0].Nodes[0][50] ^= 1 }, root, c)
	}
	if len(p.SubtreeRootProofs) > 1 {
		bad("row dropped", func(q *blob.CommitmentProof) {
			q.SubtreeRootProofs = q.SubtreeRootProofs[1:]
			q.RowProof.RowRoots = q.RowProof.RowRoots[1:]
			q.RowProof.Proofs = q.RowProof.Proofs[1:]
			q.RowProof.StartRow++
		}, root, c)
	}
	var nilProof *blob.CommitmentProof
	if err := nilProof.Verify(root, c); !errors.Is(err, blob.ErrInvalidProof) {
		t.Errorf("nil proof: %v", err)
	}
}

func cloneCommitmentProof(p *blob.CommitmentProof) *blob.CommitmentProof {
	q := *p
	q.SubtreeRoots = edstest.CloneCells(p.SubtreeRoots)
	q.SubtreeRootProofs = edstest.CloneNMTProofs(p.SubtreeRootProofs)
	q.RowProof = edstest.CloneRowProof(p.RowProof)
	return &q
}

// TestCommitmentProofJSON pins celestia-node's shape: its CommitmentProof
// in CometBFT's libs/json, the row proof being celestia-app's protobuf
// RowProof (keys omitempty, 64-bit integers as strings).
func TestCommitmentProofJSON(t *testing.T) {
	f := newFixture(t, 2, 2)
	ctx := ctxT(t)
	b := f.expected(t, customHeight)[0]
	p, err := f.svc.GetCommitmentProof(ctx, customHeight, b.Namespace, b.Commitment)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"subtree_roots", "subtree_root_proofs", "namespace_id", "row_proof", "namespace_version"} {
		if top[key] == nil {
			t.Errorf("lacks %q: %s", key, js)
		}
	}
	if len(top) != 5 {
		t.Errorf("keys: %s", js)
	}
	if want, _ := json.Marshal(b.Namespace.ID()); string(top["namespace_id"]) != string(want) || string(top["namespace_version"]) != "0" {
		t.Errorf("namespace %s version %s", top["namespace_id"], top["namespace_version"])
	}
	if !regexp.MustCompile(`^\[\{("start":\d+,)?"end":\d+,("nodes":\[[^]]*\],)?"is_max_namespace_ignored":true\}`).Match(top["subtree_root_proofs"]) {
		t.Errorf("subtree_root_proofs %s", top["subtree_root_proofs"])
	}
	var rp map[string]json.RawMessage
	if err := json.Unmarshal(top["row_proof"], &rp); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\["[A-Za-z0-9+/]{120}"`).Match(rp["row_roots"]) {
		t.Errorf("row_roots in base64: %s", rp["row_roots"])
	}
	if !regexp.MustCompile(`^\[\{"total":"\d+",("index":"[1-9]\d*",)?"leaf_hash":"[^"]+","aunts":\[`).Match(rp["proofs"]) {
		t.Errorf("proofs %s", rp["proofs"])
	}
	// start_row and end_row are left out when 0, as are index 0.
	if (p.RowProof.StartRow == 0) != (rp["start_row"] == nil) || rp["root"] != nil {
		t.Errorf("row_proof keys: %s", top["row_proof"])
	}
}

func TestCommitmentProofNotFound(t *testing.T) {
	f := newFixture(t, 2, 2)
	ctx := ctxT(t)
	want := f.expected(t, customHeight)[0]
	wrong := bytes.Clone(want.Commitment)
	wrong[0] ^= 1
	if _, err := f.svc.GetCommitmentProof(ctx, customHeight, want.Namespace, wrong); !errors.Is(err, blob.ErrBlobNotFound) {
		t.Fatalf("wrong commitment: %v", err)
	}
}
