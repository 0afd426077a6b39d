package kzg_test

// The consensus-spec KZG test vectors shipped in go-eth-kzg's module, run
// through this package's API. The module's directory comes from the go
// command; the test fails if it cannot be found, since make test must run
// the vectors.

import (
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/kzg"
)

const ethKZGModule = "github.com/crate-crypto/go-eth-kzg"

// vectorCounts is how many vectors go-eth-kzg v1.5.0 ships of each kind
// this package covers. The kinds left out are the EIP-7594 cell ones:
// compute_cells_and_kzg_proofs (11), recover_cells_and_kzg_proofs (17) and
// verify_cell_kzg_proof_batch (30), 58 of the 311.
var vectorCounts = map[string]int{
	"blob_to_kzg_commitment":      11,
	"compute_kzg_proof":           52,
	"compute_blob_kzg_proof":      15,
	"verify_kzg_proof":            122,
	"verify_blob_kzg_proof":       29,
	"verify_blob_kzg_proof_batch": 24,
}

func vectorDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", ethKZGModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", ethKZGModule, err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "tests")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("go-eth-kzg test vectors: %v (run go mod download %s)", err, ethKZGModule)
	}
	return dir
}

func TestConsensusSpecVectors(t *testing.T) {
	dir := vectorDir(t)
	total := 0
	for _, kind := range slices.Sorted(maps.Keys(vectorCounts)) {
		want := vectorCounts[kind]
		files, err := filepath.Glob(filepath.Join(dir, kind, "*", "*", "data.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != want {
			t.Errorf("%s: %d vectors, want %d", kind, len(files), want)
		}
		ran := 0
		for _, f := range files {
			t.Run(kind+"/"+filepath.Base(filepath.Dir(f)), func(t *testing.T) {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				runVector(t, kind, parseVector(t, string(b)))
			})
			ran++
		}
		total += ran
	}
	if total != 253 {
		t.Errorf("ran %d vectors, want 253", total)
	}
	t.Logf("ran %d consensus-spec vectors", total)
}

// vector is a test case: its inputs by name, each a list of hex strings
// (one for a scalar input), and its output, nil if the input is invalid.
type vector struct {
	input  map[string][]string
	output []string // hex strings, or "true"/"false"; nil for null
}

var (
	keyRE    = regexp.MustCompile(`(\w+):\s*(\[[^\]]*\]|'[^']*'|true|false|null)`)
	stringRE = regexp.MustCompile(`'([^']*)'|\b(true|false)\b`)
)

// parseVector reads the flow-style YAML of the vectors: an input mapping of
// quoted strings and lists of them, and an output that is null, a boolean,
// a quoted string or a list of them.
func parseVector(t *testing.T, s string) vector {
	t.Helper()
	in, out, ok := strings.Cut(s, "\noutput:")
	if !ok || !strings.HasPrefix(in, "input:") {
		t.Fatalf("unexpected vector layout: %.80q", s)
	}
	v := vector{input: map[string][]string{}}
	for _, m := range keyRE.FindAllStringSubmatch(strings.TrimPrefix(in, "input:"), -1) {
		v.input[m[1]] = quoted(m[2])
	}
	if out = strings.TrimSpace(out); out != "null" {
		v.output = quoted(out)
		if len(v.output) == 0 {
			t.Fatalf("unparsed output %.80q", out)
		}
	}
	return v
}

// quoted returns the quoted strings and booleans in s, in order.
func quoted(s string) []string {
	var r []string
	for _, m := range stringRE.FindAllStringSubmatch(s, -1) {
		r = append(r, m[1]+m[2])
	}
	return r
}

// decode decodes 0x-prefixed hex into exactly n bytes.
func decode(s string, n int) ([]byte, bool) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	return b, err == nil && len(b) == n
}

func one(v vector, key string, n int) ([]byte, bool) {
	if len(v.input[key]) != 1 {
		return nil, false
	}
	return decode(v.input[key][0], n)
}

func runVector(t *testing.T, kind string, v vector) {
	t.Helper()
	valid := v.output != nil
	// Inputs of the wrong length cannot be expressed in this API's fixed
	// size types; the spec rejects them (output null).
	wrongSize := func() {
		t.Helper()
		if valid {
			t.Fatal("input of the wrong size in a valid vector")
		}
	}
	switch kind {
	case "blob_to_kzg_commitment":
		blob, ok := one(v, "blob", kzg.BlobSize)
		if !ok {
			wrongSize()
			return
		}
		c, err := kzg.BlobToCommitment((*kzg.Blob)(blob))
		expect(t, v, err, c[:])
	case "compute_blob_kzg_proof":
		blob, ok1 := one(v, "blob", kzg.BlobSize)
		c, ok2 := one(v, "commitment", 48)
		if !ok1 || !ok2 {
			wrongSize()
			return
		}
		p, err := kzg.ComputeBlobProof((*kzg.Blob)(blob), kzg.Commitment(c))
		expect(t, v, err, p[:])
	case "compute_kzg_proof":
		blob, ok1 := one(v, "blob", kzg.BlobSize)
		z, ok2 := one(v, "z", 32)
		if !ok1 || !ok2 {
			wrongSize()
			return
		}
		p, y, err := kzg.ComputeProof((*kzg.Blob)(blob), [32]byte(z))
		expect(t, v, err, p[:], y[:])
	case "verify_kzg_proof":
		c, ok1 := one(v, "commitment", 48)
		z, ok2 := one(v, "z", 32)
		y, ok3 := one(v, "y", 32)
		p, ok4 := one(v, "proof", 48)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			wrongSize()
			return
		}
		expectVerify(t, v, kzg.VerifyProof(kzg.Commitment(c), [32]byte(z), [32]byte(y), kzg.Proof(p)))
	case "verify_blob_kzg_proof":
		blob, ok1 := one(v, "blob", kzg.BlobSize)
		c, ok2 := one(v, "commitment", 48)
		p, ok3 := one(v, "proof", 48)
		if !ok1 || !ok2 || !ok3 {
			wrongSize()
			return
		}
		expectVerify(t, v, kzg.VerifyBlobProof((*kzg.Blob)(blob), kzg.Commitment(c), kzg.Proof(p)))
	case "verify_blob_kzg_proof_batch":
		var blobs []*kzg.Blob
		var cs []kzg.Commitment
		var ps []kzg.Proof
		for _, s := range v.input["blobs"] {
			b, ok := decode(s, kzg.BlobSize)
			if !ok {
				wrongSize()
				return
			}
			blobs = append(blobs, (*kzg.Blob)(b))
		}
		for _, s := range v.input["commitments"] {
			b, ok := decode(s, 48)
			if !ok {
				wrongSize()
				return
			}
			cs = append(cs, kzg.Commitment(b))
		}
		for _, s := range v.input["proofs"] {
			b, ok := decode(s, 48)
			if !ok {
				wrongSize()
				return
			}
			ps = append(ps, kzg.Proof(b))
		}
		expectVerify(t, v, kzg.VerifyBlobProofBatch(blobs, cs, ps))
	default:
		t.Fatalf("unknown kind %s", kind)
	}
}

// expect checks a computation: an error wrapping ErrInvalidInput for an
// invalid vector, else the expected outputs.
func expect(t *testing.T, v vector, err error, got ...[]byte) {
	t.Helper()
	if v.output == nil {
		if !errors.Is(err, kzg.ErrInvalidInput) {
			t.Fatalf("invalid input: got %v, want ErrInvalidInput", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(v.output) {
		t.Fatalf("%d outputs, vector has %d", len(got), len(v.output))
	}
	for i, g := range got {
		if want := v.output[i]; "0x"+hex.EncodeToString(g) != want {
			t.Errorf("output %d: got %x, want %s", i, g, want)
		}
	}
}

// expectVerify checks a verification: ErrInvalidInput for an invalid
// vector, nil for output true, ErrVerify for output false.
func expectVerify(t *testing.T, v vector, err error) {
	t.Helper()
	var want error
	switch {
	case v.output == nil:
		want = kzg.ErrInvalidInput
	case len(v.output) == 1 && v.output[0] == "false":
		want = kzg.ErrVerify
	case len(v.output) == 1 && v.output[0] == "true":
		if err != nil {
			t.Fatalf("valid proof: %v", err)
		}
		return
	default:
		t.Fatalf("unexpected output %q", v.output)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}
