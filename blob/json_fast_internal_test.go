package blob

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzBlobJSONFast: whatever decodeJSONFast accepts, encoding/json
// decodes without error to the same fields (the fast path changes no
// result), and it never panics. Its seeds are generated with
// FuzzBlobUnmarshalJSON's (see fuzzSeeds in json_test.go).
func FuzzBlobJSONFast(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeJSONFast(data)
		if !ok {
			return
		}
		slow := jsonBlob{Index: -1}
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", data, err)
		}
		same := func(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }
		if !same(fast.Namespace, slow.Namespace) || !same(fast.Data, slow.Data) || fast.ShareVersion != slow.ShareVersion ||
			!same(fast.Commitment, slow.Commitment) || !same(fast.Signer, slow.Signer) || fast.Index != slow.Index {
			t.Fatalf("input %q: fast path %+v, encoding/json %+v", data, fast, slow)
		}
	})
}

// TestDecodeJSONFastTakesTheCommonForm checks the fast path is taken for
// what clients send (so that the benchmark measures it) and left for
// forms only encoding/json reads right.
func TestDecodeJSONFastTakesTheCommonForm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{"namespace":"AAAA","data":"aGk=","share_version":0,"commitment":null,"index":-1}`, true},
		{" {\n\t\"data\" : \"aGk=\" , \"signer\":null } \r\n", true},
		{`{}`, true},
		{`{"Data":"aGk="}`, false},               // case-folded key
		{`{"data":"aGk=","data":"aGk="}`, false}, // duplicate
		{`{"data":"aG\u0073="}`, false},          // escape
		{`{"share_version":1.0}`, false},
		{`{"share_version":256}`, false},
		{`{"index":01}`, false},
		{`{"index":null}`, false},
		{`{"data":"aGk"}`, false}, // bad padding
		{`{"data":"aGk="} x`, false},
		{`{"data":"aGk=",}`, false},
		{`{"x":1}`, false},
	} {
		if _, ok := decodeJSONFast([]byte(tc.in)); ok != tc.fast {
			t.Errorf("decodeJSONFast(%q) took the fast path: %v, want %v", tc.in, ok, tc.fast)
		}
	}
}
