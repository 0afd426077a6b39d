package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

func TestAccountRef(t *testing.T) {
	var want tx.Address
	for i := range want {
		want[i] = byte(i + 1)
	}
	bech := func(hrp string) string {
		s, err := tx.EncodeBech32(hrp, want[:])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, hrp := range []string{"mesh", "celestia"} {
		var r api.AccountRef
		if err := json.Unmarshal([]byte(`"`+bech(hrp)+`"`), &r); err != nil {
			t.Fatalf("%s address: %v", hrp, err)
		}
		if tx.Address(r) != want {
			t.Fatalf("%s address decoded to other bytes", hrp)
		}
		out, err := json.Marshal(r)
		if err != nil || string(out) != `"`+want.String()+`"` {
			t.Fatalf("%s address re-encoded as %s, %v; want the mesh1 form", hrp, out, err)
		}
	}
	for _, bad := range []string{`"` + bech("cosmos") + `"`, `"mesh1qqqq"`, `""`, `42`} {
		var r api.AccountRef
		err := json.Unmarshal([]byte(bad), &r)
		if err == nil {
			t.Fatalf("%s accepted", bad)
		}
		if strings.Contains(bad, "cosmos") && !strings.Contains(err.Error(), `prefix "cosmos"`) {
			t.Fatalf("%s: %v; want the prefix named", bad, err)
		}
	}
}

func TestPayForBlobBlob(t *testing.T) {
	ns, err := share.NewV0Namespace([]byte("pfb"))
	if err != nil {
		t.Fatal(err)
	}
	nodeJSON, err := json.Marshal(map[string]any{"namespace": ns.Bytes(), "data": []byte("hello"), "share_version": 0})
	if err != nil {
		t.Fatal(err)
	}
	// go-square's protobuf JSON: a 28-byte ID, the version apart, zero
	// values left out.
	squareJSON, err := json.Marshal(map[string]any{"namespace_id": ns.Bytes()[1:], "data": []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	var commitments [][]byte
	for _, in := range [][]byte{nodeJSON, squareJSON} {
		var b api.PayForBlobBlob
		if err := json.Unmarshal(in, &b); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if b.Namespace() != ns || string(b.Data()) != "hello" {
			t.Fatalf("%s decoded to another blob", in)
		}
		c, err := b.Commitment()
		if err != nil {
			t.Fatal(err)
		}
		commitments = append(commitments, c)
	}
	if string(commitments[0]) != string(commitments[1]) {
		t.Fatal("the two shapes of one blob have different commitments")
	}
	for _, bad := range []string{
		`{"namespace_id": "AAAA", "data": "aGk="}`,                                                // short ID
		`{"namespace_id": ` + b64(ns.Bytes()[1:]) + `, "namespace_version": 256, "data": "aGk="}`, // version overflows
		`{"namespace_id": ` + b64(ns.Bytes()[1:]) + `, "share_version": 300, "data": "aGk="}`,
		`{"namespace_id": ` + b64(ns.Bytes()[1:]) + `}`, // no data
		`[1, 2]`,
		`{"namespace": "AAAA", "data": "aGk="}`,
	} {
		var b api.PayForBlobBlob
		if err := json.Unmarshal([]byte(bad), &b); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
}
