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

// AppendJSON writes what encoding/json makes of the blob's jsonBlob, byte
// for byte, whatever its fields hold (nil and empty slices included).
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	var ns [29]byte
	ns[28] = 7
	for _, b := range []Blob{
		{},
		{Index: -1},
		{Data: []byte{}, Commitment: Commitment{}, Signer: []byte{}, Index: 12345678},
		{Data: []byte("hi"), ShareVersion: 1, Signer: bytes.Repeat([]byte{0xfb}, 20), Commitment: bytes.Repeat([]byte{0xff}, 32), Index: -1},
		{Data: bytes.Repeat([]byte{0x3e, 0x3f, 0xfe}, 1000), ShareVersion: 255, Index: 1 << 40},
	} {
		b.Namespace = ns
		want, err := json.Marshal(jsonBlob{Namespace: b.Namespace[:], Data: b.Data, ShareVersion: b.ShareVersion,
			Commitment: b.Commitment, Signer: b.Signer, Index: b.Index})
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("x")
		if got := b.AppendJSON(prefix); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
		if got, err := json.Marshal(&b); err != nil || !bytes.Equal(got, want) {
			t.Errorf("json.Marshal: %s %v\nwant %s", got, err, want)
		}
	}
}
