package kzg_test

// The consensus-spec KZG test vectors shipped in go-eth-kzg's module, all
// 311 of them, run through this package's API. The module's directory comes
// from the go command; the test fails if it cannot be found, since make test
// must run the vectors.

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/kzg"
)

const ethKZGModule = "github.com/crate-crypto/go-eth-kzg"

// vectorCounts is how many vectors go-eth-kzg v1.5.0 ships of each kind:
// the EIP-4844 ones and the EIP-7594 cell ones, 311 in all.
var vectorCounts = map[string]int{
	"blob_to_kzg_commitment":       11,
	"compute_kzg_proof":            52,
	"compute_blob_kzg_proof":       15,
	"verify_kzg_proof":             122,
	"verify_blob_kzg_proof":        29,
	"verify_blob_kzg_proof_batch":  24,
	"compute_cells_and_kzg_proofs": 11,
	"recover_cells_and_kzg_proofs": 17,
	"verify_cell_kzg_proof_batch":  30,
}

const totalVectors = 311

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
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Name())
	}
	if want := slices.Sorted(maps.Keys(vectorCounts)); !slices.Equal(kinds, want) {
		t.Errorf("vector kinds %q, want %q", kinds, want)
	}
	total := 0
	for _, kind := range slices.Sorted(maps.Keys(vectorCounts)) {
		want := vectorCounts[kind]
		cases, err := filepath.Glob(filepath.Join(dir, kind, "*", "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) != want {
			t.Errorf("%s: %d vectors, want %d", kind, len(cases), want)
		}
		for _, c := range cases {
			t.Run(kind+"/"+filepath.Base(c), func(t *testing.T) {
				// Two of the recovery cases name their file data.yml.
				b, err := os.ReadFile(filepath.Join(c, "data.yaml"))
				if errors.Is(err, os.ErrNotExist) {
					b, err = os.ReadFile(filepath.Join(c, "data.yml"))
				}
				if err != nil {
					t.Fatal(err)
				}
				runVector(t, kind, parseVector(t, string(b)))
			})
			total++
		}
	}
	if total != totalVectors {
		t.Errorf("ran %d vectors, want %d", total, totalVectors)
	}
	t.Logf("ran %d consensus-spec vectors", total)
}

// vector is a test case: its inputs by name, and its output, nil if the
// input is invalid.
type vector struct {
	input map[string]node
	// out is the output as parsed; output is its scalars in order (hex
	// strings, or "true"/"false"), nil for null.
	out    node
	output []string
}

// parseVector reads a vector's YAML: a mapping of input (a mapping of
// strings, numbers and lists of them) and output (null, a boolean, a
// string or a list, possibly of lists).
func parseVector(t *testing.T, s string) vector {
	t.Helper()
	n, err := parseYAML(s)
	if err != nil {
		t.Fatalf("vector: %v", err)
	}
	in, ok1 := n.mapping["input"]
	out, ok2 := n.mapping["output"]
	if !ok1 || !ok2 || in.mapping == nil || len(n.mapping) != 2 {
		t.Fatalf("unexpected vector layout: %.80q", s)
	}
	v := vector{input: in.mapping, out: out}
	if out.isList || out.scalar != "null" {
		v.output = out.scalars(nil)
		if len(v.output) == 0 {
			t.Fatalf("empty output in %.80q", s)
		}
	}
	return v
}

// node is a value of the vectors' YAML: a scalar (a string, number,
// boolean or null), a list or a mapping.
type node struct {
	scalar  string
	isList  bool
	list    []node
	mapping map[string]node
}

// scalars appends the scalars of n, depth first, to dst.
func (n node) scalars(dst []string) []string {
	if !n.isList {
		return append(dst, n.scalar)
	}
	for _, e := range n.list {
		dst = e.scalars(dst)
	}
	return dst
}

// yamlLine is a non-blank line: its indentation and its text.
type yamlLine struct {
	indent int
	text   string
}

// parseYAML parses the subset of YAML the vectors use: block mappings and
// sequences, flow lists and mappings (which may span lines), single-quoted
// strings and plain scalars. It does not handle comments, escapes in
// quoted strings, or anchors; it returns an error rather than guess.
func parseYAML(s string) (node, error) {
	var lines []yamlLine
	for l := range strings.SplitSeq(s, "\n") {
		text := strings.TrimLeft(l, " ")
		if strings.TrimSpace(text) == "" {
			continue
		}
		lines = append(lines, yamlLine{len(l) - len(text), strings.TrimRight(text, " \r")})
	}
	return parseBlock(lines)
}

var keyRE = regexp.MustCompile(`^(\w+):(?: +(.*))?$`)

// parseBlock parses lines, which hold one value.
func parseBlock(lines []yamlLine) (node, error) {
	if len(lines) == 0 {
		return node{}, errors.New("missing value")
	}
	indent, first := lines[0].indent, lines[0].text
	isItem := func(l yamlLine) bool { return l.indent == indent && (l.text == "-" || strings.HasPrefix(l.text, "- ")) }
	switch {
	case isItem(lines[0]): // block sequence
		n := node{isList: true}
		for len(lines) > 0 {
			if !isItem(lines[0]) {
				return node{}, fmt.Errorf("line %q in a sequence", lines[0].text)
			}
			var item []yamlLine
			if rest := strings.TrimSpace(lines[0].text[1:]); rest != "" {
				item = append(item, yamlLine{indent + 2, rest})
			}
			j := 1
			for j < len(lines) && lines[j].indent > indent {
				j++
			}
			e, err := parseBlock(append(item, lines[1:j]...))
			if err != nil {
				return node{}, err
			}
			n.list = append(n.list, e)
			lines = lines[j:]
		}
		return n, nil
	case keyRE.MatchString(first): // block mapping
		n := node{mapping: map[string]node{}}
		for len(lines) > 0 {
			m := keyRE.FindStringSubmatch(lines[0].text)
			if m == nil || lines[0].indent != indent {
				return node{}, fmt.Errorf("line %q in a mapping", lines[0].text)
			}
			var value []yamlLine
			if m[2] != "" {
				value = append(value, yamlLine{indent + 1, m[2]})
			}
			// The value continues on deeper lines, or on lines of a
			// sequence at the key's own indentation.
			j := 1
			for j < len(lines) && (lines[j].indent > indent || isItem(lines[j])) {
				j++
			}
			e, err := parseBlock(append(value, lines[1:j]...))
			if err != nil {
				return node{}, fmt.Errorf("%s: %w", m[1], err)
			}
			if _, dup := n.mapping[m[1]]; dup {
				return node{}, fmt.Errorf("key %s twice", m[1])
			}
			n.mapping[m[1]] = e
			lines = lines[j:]
		}
		return n, nil
	default: // a flow value, possibly over several lines
		texts := make([]string, len(lines))
		for i, l := range lines {
			texts[i] = l.text
		}
		p := flowParser{s: strings.Join(texts, " ")}
		n, err := p.value()
		if err != nil {
			return node{}, err
		}
		if p.skip(); p.i != len(p.s) {
			return node{}, fmt.Errorf("trailing %.20q", p.s[p.i:])
		}
		return n, nil
	}
}

// flowParser parses a YAML flow value in s from offset i.
type flowParser struct {
	s string
	i int
}

func (p *flowParser) skip() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// value parses the value at p.i.
func (p *flowParser) value() (node, error) {
	p.skip()
	if p.i == len(p.s) {
		return node{}, errors.New("missing flow value")
	}
	switch p.s[p.i] {
	case '[':
		p.i++
		n := node{isList: true}
		for {
			if p.skip(); p.i < len(p.s) && p.s[p.i] == ']' && len(n.list) == 0 {
				p.i++
				return n, nil
			}
			e, err := p.value()
			if err != nil {
				return node{}, err
			}
			n.list = append(n.list, e)
			if end, err := p.separator(']'); err != nil || end {
				return n, err
			}
		}
	case '{':
		p.i++
		n := node{mapping: map[string]node{}}
		for {
			k, err := p.value()
			if err != nil {
				return node{}, err
			}
			if p.skip(); k.isList || k.mapping != nil || p.i == len(p.s) || p.s[p.i] != ':' {
				return node{}, errors.New("flow mapping without a key")
			}
			p.i++
			e, err := p.value()
			if err != nil {
				return node{}, err
			}
			if _, dup := n.mapping[k.scalar]; dup {
				return node{}, fmt.Errorf("key %s twice", k.scalar)
			}
			n.mapping[k.scalar] = e
			if end, err := p.separator('}'); err != nil || end {
				return n, err
			}
		}
	case '\'':
		end := strings.IndexByte(p.s[p.i+1:], '\'')
		if end < 0 {
			return node{}, errors.New("unterminated string")
		}
		n := node{scalar: p.s[p.i+1 : p.i+1+end]}
		p.i += end + 2
		return n, nil
	default:
		end := strings.IndexAny(p.s[p.i:], ",]}:")
		if end < 0 {
			end = len(p.s) - p.i
		}
		n := node{scalar: strings.TrimSpace(p.s[p.i : p.i+end])}
		p.i += end
		return n, nil
	}
}

// separator consumes a comma (end false) or the closing bracket close (end
// true).
func (p *flowParser) separator(close byte) (end bool, err error) {
	p.skip()
	switch {
	case p.i < len(p.s) && p.s[p.i] == ',':
		p.i++
		return false, nil
	case p.i < len(p.s) && p.s[p.i] == close:
		p.i++
		return true, nil
	default:
		return false, fmt.Errorf("expected , or %c at offset %d", close, p.i)
	}
}

// decode decodes 0x-prefixed hex into exactly n bytes.
func decode(s string, n int) ([]byte, bool) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	return b, err == nil && len(b) == n
}

// one returns the input key, a string, decoded; false if it is not n
// bytes of hex.
func one(t *testing.T, v vector, key string, n int) ([]byte, bool) {
	t.Helper()
	in, ok := v.input[key]
	if !ok || in.isList || in.mapping != nil {
		t.Fatalf("input %s: missing or not a string", key)
	}
	return decode(in.scalar, n)
}

// hexList returns the input key, a list of strings, decoded; false if one
// is not n bytes of hex.
func hexList(t *testing.T, v vector, key string, n int) ([][]byte, bool) {
	t.Helper()
	in, ok := v.input[key]
	if !ok || !in.isList {
		t.Fatalf("input %s: missing or not a list", key)
	}
	out := make([][]byte, len(in.list))
	for i, e := range in.list {
		if out[i], ok = decode(e.scalar, n); !ok || e.isList || e.mapping != nil {
			return nil, false
		}
	}
	return out, true
}

// indexList returns the input key, a list of numbers; false if one is not
// a uint64.
func indexList(t *testing.T, v vector, key string) ([]uint64, bool) {
	t.Helper()
	in, ok := v.input[key]
	if !ok || !in.isList {
		t.Fatalf("input %s: missing or not a list", key)
	}
	out := make([]uint64, len(in.list))
	for i, e := range in.list {
		var err error
		if out[i], err = strconv.ParseUint(e.scalar, 10, 64); err != nil || e.isList || e.mapping != nil {
			return nil, false
		}
	}
	return out, true
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
		blob, ok := one(t, v, "blob", kzg.BlobSize)
		if !ok {
			wrongSize()
			return
		}
		c, err := kzg.BlobToCommitment((*kzg.Blob)(blob))
		expect(t, v, err, c[:])
	case "compute_blob_kzg_proof":
		blob, ok1 := one(t, v, "blob", kzg.BlobSize)
		c, ok2 := one(t, v, "commitment", 48)
		if !ok1 || !ok2 {
			wrongSize()
			return
		}
		p, err := kzg.ComputeBlobProof((*kzg.Blob)(blob), kzg.Commitment(c))
		expect(t, v, err, p[:])
	case "compute_kzg_proof":
		blob, ok1 := one(t, v, "blob", kzg.BlobSize)
		z, ok2 := one(t, v, "z", 32)
		if !ok1 || !ok2 {
			wrongSize()
			return
		}
		p, y, err := kzg.ComputeProof((*kzg.Blob)(blob), [32]byte(z))
		expect(t, v, err, p[:], y[:])
	case "verify_kzg_proof":
		c, ok1 := one(t, v, "commitment", 48)
		z, ok2 := one(t, v, "z", 32)
		y, ok3 := one(t, v, "y", 32)
		p, ok4 := one(t, v, "proof", 48)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			wrongSize()
			return
		}
		expectVerify(t, v, kzg.VerifyProof(kzg.Commitment(c), [32]byte(z), [32]byte(y), kzg.Proof(p)))
	case "verify_blob_kzg_proof":
		blob, ok1 := one(t, v, "blob", kzg.BlobSize)
		c, ok2 := one(t, v, "commitment", 48)
		p, ok3 := one(t, v, "proof", 48)
		if !ok1 || !ok2 || !ok3 {
			wrongSize()
			return
		}
		expectVerify(t, v, kzg.VerifyBlobProof((*kzg.Blob)(blob), kzg.Commitment(c), kzg.Proof(p)))
	case "verify_blob_kzg_proof_batch":
		bs, ok1 := hexList(t, v, "blobs", kzg.BlobSize)
		cs, ok2 := hexList(t, v, "commitments", 48)
		ps, ok3 := hexList(t, v, "proofs", 48)
		if !ok1 || !ok2 || !ok3 {
			wrongSize()
			return
		}
		blobs := make([]*kzg.Blob, len(bs))
		for i, b := range bs {
			blobs[i] = (*kzg.Blob)(b)
		}
		expectVerify(t, v, kzg.VerifyBlobProofBatch(blobs, toCommitments(cs), toProofs(ps)))
	case "compute_cells_and_kzg_proofs":
		blob, ok := one(t, v, "blob", kzg.BlobSize)
		if !ok {
			wrongSize()
			return
		}
		cells, ps, err := kzg.ComputeCells((*kzg.Blob)(blob))
		expectCells(t, v, err, cells, ps)
	case "recover_cells_and_kzg_proofs":
		indices, ok1 := indexList(t, v, "cell_indices")
		cs, ok2 := hexList(t, v, "cells", kzg.CellSize)
		if !ok1 || !ok2 {
			wrongSize()
			return
		}
		cells, ps, err := kzg.RecoverCells(indices, toCells(cs))
		expectCells(t, v, err, cells, ps)
	case "verify_cell_kzg_proof_batch":
		cs, ok1 := hexList(t, v, "commitments", 48)
		indices, ok2 := indexList(t, v, "cell_indices")
		cells, ok3 := hexList(t, v, "cells", kzg.CellSize)
		ps, ok4 := hexList(t, v, "proofs", 48)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			wrongSize()
			return
		}
		expectVerify(t, v, kzg.VerifyCellProofBatch(toCommitments(cs), indices, toCells(cells), toProofs(ps)))
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

// expectCells checks a computation of all cells and their proofs: the
// output is a list of the cells and the list of their proofs.
func expectCells(t *testing.T, v vector, err error, cells []*kzg.Cell, ps []kzg.Proof) {
	t.Helper()
	if v.output != nil {
		o := v.out.list
		if len(o) != 2 || len(o[0].list) != kzg.CellsPerBlob || len(o[1].list) != kzg.CellsPerBlob {
			t.Fatalf("output is not %d cells and %d proofs", kzg.CellsPerBlob, kzg.CellsPerBlob)
		}
	}
	var got [][]byte
	if err == nil {
		if len(cells) != kzg.CellsPerBlob || len(ps) != kzg.CellsPerBlob {
			t.Fatalf("%d cells, %d proofs", len(cells), len(ps))
		}
		for _, c := range cells {
			got = append(got, c[:])
		}
		for i := range ps {
			got = append(got, ps[i][:])
		}
	}
	expect(t, v, err, got...)
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

func toCommitments(bs [][]byte) []kzg.Commitment {
	out := make([]kzg.Commitment, len(bs))
	for i, b := range bs {
		out[i] = kzg.Commitment(b)
	}
	return out
}

func toProofs(bs [][]byte) []kzg.Proof {
	out := make([]kzg.Proof, len(bs))
	for i, b := range bs {
		out[i] = kzg.Proof(b)
	}
	return out
}

func toCells(bs [][]byte) []*kzg.Cell {
	out := make([]*kzg.Cell, len(bs))
	for i, b := range bs {
		out[i] = (*kzg.Cell)(b)
	}
	return out
}
