package blobstream_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/blobstream"
)

var update = flag.Bool("update", false, "rewrite testdata/sharesproof.json")

const exampleFile = "testdata/sharesproof.json"

// example is the file testdata/sharesproof.json: a SharesProof and the
// tuple root it verifies against. docs/blobstream.md shows it.
type example struct {
	TupleRoot   string                 `json:"tupleRoot"`
	SharesProof blobstream.SharesProof `json:"sharesProof"`
}

// TestSharesProofExampleFile checks that testdata/sharesproof.json, a
// blob of 3 shares over 2 rows, is what the builder makes today (so the
// JSON encoding is stable) and that it verifies after decoding.
func TestSharesProofExampleFile(t *testing.T) {
	f := newBlobFixture(t, 6, 3*478)
	want, err := json.MarshalIndent(example{TupleRoot: "0x" + hex.EncodeToString(f.tupleRoot[:]), SharesProof: *f.proof}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(exampleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the builder's JSON (go test -run %s -update rewrites it)", exampleFile, t.Name())
	}
	var ex example
	if err := json.Unmarshal(got, &ex); err != nil {
		t.Fatal(err)
	}
	root, err := hex.DecodeString(strings.TrimPrefix(ex.TupleRoot, "0x"))
	if err != nil || len(root) != 32 {
		t.Fatalf("tuple root %q: %v", ex.TupleRoot, err)
	}
	if err := blobstream.VerifySharesProof(&ex.SharesProof, [32]byte(root)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&ex.SharesProof, f.proof) {
		t.Fatal("decoded proof differs from the one encoded")
	}
}

// TestSharesProofJSONFields checks the field names (Solidity's) and the
// encodings: byte strings as 0x-hex, integers as numbers.
func TestSharesProofJSONFields(t *testing.T) {
	f := newBlobFixture(t, 5, 12*478)
	b, err := json.Marshal(f.proof)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"attestationProof", "data", "namespace", "rowProofs", "rowRoots", "shareProofs"}; !slices.Equal(keys, want) {
		t.Fatalf("fields %v, want %v", keys, want)
	}
	var v struct {
		Data        []string `json:"data"`
		ShareProofs []struct {
			BeginKey  uint64 `json:"beginKey"`
			EndKey    uint64 `json:"endKey"`
			SideNodes []struct {
				Min    struct{ Version, ID string } `json:"min"`
				Max    struct{ Version, ID string } `json:"max"`
				Digest string                       `json:"digest"`
			} `json:"sideNodes"`
		} `json:"shareProofs"`
		Namespace struct {
			Version string `json:"version"`
			ID      string `json:"id"`
		} `json:"namespace"`
		RowProofs []struct {
			SideNodes []string `json:"sideNodes"`
			Key       uint64   `json:"key"`
			NumLeaves uint64   `json:"numLeaves"`
		} `json:"rowProofs"`
		AttestationProof struct {
			TupleRootNonce uint64 `json:"tupleRootNonce"`
			Tuple          struct {
				Height   uint64 `json:"height"`
				DataRoot string `json:"dataRoot"`
			} `json:"tuple"`
			Proof struct {
				SideNodes []string `json:"sideNodes"`
				Key       uint64   `json:"key"`
				NumLeaves uint64   `json:"numLeaves"`
			} `json:"proof"`
		} `json:"attestationProof"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	ns := f.proof.Namespace.Bytes()
	switch {
	case v.Data[0] != "0x"+hex.EncodeToString(f.proof.Data[0]):
		t.Errorf("data[0] = %.20s…", v.Data[0])
	case v.Namespace.Version != "0x00" || v.Namespace.ID != "0x"+hex.EncodeToString(ns[1:]):
		t.Errorf("namespace %+v", v.Namespace)
	case v.ShareProofs[0].BeginKey != 5 || v.ShareProofs[0].EndKey != 8 || len(v.ShareProofs[0].SideNodes[0].Digest) != 2+64:
		t.Errorf("shareProofs[0] %+v", v.ShareProofs[0])
	case v.RowProofs[1].Key != 1 || v.RowProofs[1].NumLeaves != 32 || len(v.RowProofs[1].SideNodes) != 5:
		t.Errorf("rowProofs[1] %+v", v.RowProofs[1])
	case v.AttestationProof.TupleRootNonce != nonce || v.AttestationProof.Tuple.Height != f.height ||
		v.AttestationProof.Tuple.DataRoot != "0x"+hex.EncodeToString(f.dah.Hash()) ||
		v.AttestationProof.Proof.Key != f.height-tupleStart || v.AttestationProof.Proof.NumLeaves != tupleCount:
		t.Errorf("attestationProof %+v", v.AttestationProof)
	}
}

func TestSharesProofJSONRejects(t *testing.T) {
	f := newBlobFixture(t, 6, 3*478)
	good, err := json.Marshal(f.proof)
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	dataRoot := hex.EncodeToString(f.dah.Hash())
	many := func(item string, n int) string { return "[" + strings.Repeat(item+",", n-1) + item + "]" }
	node := `{"min":{"version":"0x00","id":"0x` + strings.Repeat("00", 28) + `"},"max":{"version":"0x00","id":"0x` +
		strings.Repeat("00", 28) + `"},"digest":"0x` + strings.Repeat("00", 32) + `"}`
	for name, in := range map[string]string{
		"not JSON":             `{"data":`,
		"no 0x":                strings.Replace(s, `"0x`+dataRoot, `"`+dataRoot, 1),
		"odd hex":              strings.Replace(s, `"0x`+dataRoot, `"0x0`+dataRoot, 1),
		"short data root":      strings.Replace(s, `"0x`+dataRoot, `"0x`+dataRoot[2:], 1),
		"long share":           `{"data":["0x` + strings.Repeat("00", 513) + `"]}`,
		"negative key":         `{"rowProofs":[{"sideNodes":[],"key":-1,"numLeaves":1}]}`,
		"key above the limit":  `{"rowProofs":[{"sideNodes":[],"key":1073741825,"numLeaves":1}]}`,
		"endKey above limit":   `{"shareProofs":[{"beginKey":0,"endKey":1073741825,"sideNodes":[]}]}`,
		"too many side nodes":  `{"shareProofs":[{"beginKey":0,"endKey":1,"sideNodes":` + many(node, 65) + `}]}`,
		"too many aunts":       `{"rowProofs":[{"sideNodes":` + many(`"0x`+dataRoot+`"`, 101) + `,"key":0,"numLeaves":1}]}`,
		"too many row roots":   `{"rowRoots":` + many(node, 513) + `}`,
		"version of two bytes": `{"namespace":{"version":"0x0000","id":"0x` + strings.Repeat("00", 28) + `"}}`,
		"short id":             `{"namespace":{"version":"0x00","id":"0x00"}}`,
		"number as string":     `{"attestationProof":{"tupleRootNonce":"1"}}`,
	} {
		var p blobstream.SharesProof
		if err := p.UnmarshalJSON([]byte(in)); !errors.Is(err, blobstream.ErrInvalidJSON) {
			t.Errorf("%s: %v, want ErrInvalidJSON", name, err)
		}
	}
}

// FuzzSharesProofJSON decodes arbitrary bytes: no panic, the limits hold,
// a decoded proof re-encodes to JSON that decodes to the same proof, and
// verifying it does not panic.
func FuzzSharesProofJSON(f *testing.F) {
	ex, err := os.ReadFile(exampleFile)
	if err != nil {
		f.Fatal(err)
	}
	var wrapped struct {
		SharesProof json.RawMessage `json:"sharesProof"`
	}
	if err := json.Unmarshal(ex, &wrapped); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(wrapped.SharesProof))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"data":["0x00"],"shareProofs":[{"beginKey":0,"endKey":1,"sideNodes":[]}],"rowRoots":[],"rowProofs":[]}`))
	f.Add([]byte(`{"attestationProof":{"tupleRootNonce":1,"tuple":{"height":1,"dataRoot":"0x` + strings.Repeat("ab", 32) +
		`"},"proof":{"sideNodes":[],"key":0,"numLeaves":1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p blobstream.SharesProof
		if err := p.UnmarshalJSON(b); err != nil {
			if !errors.Is(err, blobstream.ErrInvalidJSON) {
				t.Fatalf("error %v is not ErrInvalidJSON", err)
			}
			return
		}
		if len(p.Data) > blobstream.MaxProofShares || len(p.RowRoots) > blobstream.MaxProofRows ||
			len(p.ShareProofs) > blobstream.MaxProofRows || len(p.RowProofs) > blobstream.MaxProofRows {
			t.Fatal("limits exceeded")
		}
		_ = blobstream.VerifySharesProof(&p, [32]byte{})
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q blobstream.SharesProof
		if err := json.Unmarshal(again, &q); err != nil {
			t.Fatalf("re-encoded proof does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(p), normalize(q)) {
			t.Fatal("round trip changed the proof")
		}
	})
}

// normalize turns the empty slices of p into nil, which JSON does not
// distinguish from them.
func normalize(p blobstream.SharesProof) blobstream.SharesProof {
	for i := range p.Data {
		if len(p.Data[i]) == 0 {
			p.Data[i] = nil
		}
	}
	return p
}
