package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/share"
)

// TestSubmitOverHTTP checks blob.Submit over a POST, which the server
// decodes ahead of go-jsonrpc when it can: the blobs reach the submitter
// as sent, with their commitments, and a call the server leaves to
// go-jsonrpc (another spelling of a key, a bad blob) is answered as
// go-jsonrpc answers it.
func TestSubmitOverHTTP(t *testing.T) {
	sub := &recordingSubmitter{}
	url := submitServer(t, sub)
	ns, err := share.NewV0Namespace([]byte("http"))
	if err != nil {
		t.Fatal(err)
	}
	b1, err := blob.New(ns, bytes.Repeat([]byte{1}, 3000))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := blob.New(ns, []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string {
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	blobs := enc([]*blob.Blob{b1, b2})
	for name, body := range map[string]string{
		"plain":          `{"jsonrpc":"2.0","id":1,"method":"blob.Submit","params":[` + blobs + `,null]}`,
		"folded params":  `{"jsonrpc":"2.0","id":1,"method":"blob.Submit","Params":[` + blobs + `,null]}`,
		"params first":   `{"params":[` + blobs + `,{"gas_price":0.5}],"jsonrpc":"2.0","id":1,"method":"blob.Submit"}`,
		"escaped method": `{"jsonrpc":"2.0","id":1,"method":"blob.Submi\u0074","params":[` + blobs + `,null]}`,
	} {
		sub.blobs = nil
		if got := string(postRPC(t, url, []byte(body))); got != `{"id":1,"jsonrpc":"2.0","result":7}` {
			t.Fatalf("%s: response %s", name, got)
		}
		if len(sub.blobs) != 2 {
			t.Fatalf("%s: submitted %d blobs", name, len(sub.blobs))
		}
		for i, want := range []*blob.Blob{b1, b2} {
			if got := sub.blobs[i]; got.Namespace() != want.Namespace || !bytes.Equal(got.Data(), want.Data) ||
				!bytes.Equal(sub.commitments[i], want.Commitment) {
				t.Fatalf("%s: blob %d submitted differs", name, i)
			}
		}
	}

	plain := `{"jsonrpc":"2.0","id":5,"method":"blob.Submit","params":[` + blobs + `,null]}`
	wrong := *b2
	wrong.Commitment = b1.Commitment
	for name, tc := range map[string]struct{ body, want string }{
		"wrong commitment": {`{"jsonrpc":"2.0","id":2,"method":"blob.Submit","params":[` + enc([]*blob.Blob{b1, &wrong}) + `,null]}`,
			`{"error":{"code":-32700,"message":"unmarshaling params for 'blob.Submit' (param: *[]*blob.Blob): blob: invalid blob: commitment ` +
				fmt.Sprintf("%X", []byte(b1.Commitment)) + ` does not match the data's ` + fmt.Sprintf("%X", []byte(b2.Commitment)) + `"},"id":2,"jsonrpc":"2.0"}`},
		"null blob": {`{"jsonrpc":"2.0","id":3,"method":"blob.Submit","params":[[null],null]}`,
			`{"error":{"code":1,"message":"blob: invalid blob: blob 0 is null"},"id":3,"jsonrpc":"2.0"}`},
		"data after the request": {plain + ` x`, fmt.Sprintf(
			`{"error":{"code":-32700,"message":"api: parse error: data after the JSON value, at byte %d"},"id":null,"jsonrpc":"2.0"}`, len(plain))},
		"bad options": {strings.Replace(plain, `,null]}`, `,nul]}`, 1),
			`{"error":{"code":-32700,"message":"api: parse error: invalid character ']' in literal null (expecting 'l')"},"id":null,"jsonrpc":"2.0"}`},
		"no blobs": {`{"jsonrpc":"2.0","id":4,"method":"blob.Submit","params":[null,null]}`,
			`{"error":{"code":1,"message":"blob: invalid blob: no blobs to submit"},"id":4,"jsonrpc":"2.0"}`},
	} {
		sub.blobs = nil
		if got := string(postRPC(t, url, []byte(tc.body))); got != tc.want || sub.blobs != nil {
			t.Errorf("%s: response\n%s\nwant\n%s (submitted %d blobs)", name, got, tc.want, len(sub.blobs))
		}
	}
}
