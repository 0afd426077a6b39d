package blob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/state"
)

// submitRequest returns a blob.Submit request body carrying one blob of
// size bytes with its commitment, as a client sends it.
func submitRequest(tb testing.TB, size int) []byte {
	tb.Helper()
	b, err := blob.New(mustNS("bench"), pattern(size, 7))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "blob.Submit",
		"params": []any{[]*blob.Blob{b}, nil}})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// decodeSubmitParams decodes a blob.Submit body the way the API server
// does: the server's json.Valid check, go-jsonrpc's request and parameter
// list decoding, then the blobs parameter into its Go type.
func decodeSubmitParams(body []byte) ([]*blob.Blob, error) {
	if !json.Valid(body) {
		return nil, fmt.Errorf("invalid body")
	}
	var req struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		return nil, err
	}
	var ps []json.RawMessage
	if err := json.Unmarshal(req.Params, &ps); err != nil {
		return nil, err
	}
	var blobs []*blob.Blob
	if err := json.NewDecoder(bytes.NewReader(ps[0])).Decode(&blobs); err != nil {
		return nil, err
	}
	return blobs, nil
}

// BenchmarkSubmitPath measures the node's side of blob.Submit for one
// blob: the request body decoded as the server decodes it, then
// Service.Submit up to the submitter, then the commitments taken as the
// state client takes them. The app's own check of the commitment is not part
// of it.
func BenchmarkSubmitPath(b *testing.B) {
	for _, size := range []int{4 << 20} {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			body := submitRequest(b, size)
			sub := &fakeSubmitter{resp: &state.TxResponse{Height: 1, TxHash: "AB"}}
			svc, err := blob.NewService(blob.Options{Headers: newTestHeaders(), Getter: &testGetter{}, Submitter: sub})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				blobs, err := decodeSubmitParams(body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := svc.Submit(ctx, blobs, nil); err != nil {
					b.Fatal(err)
				}
				for _, sb := range sub.got { // as the state client does
					if _, err := sb.Commitment(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkBlobUnmarshalJSON measures decoding one blob's JSON alone.
func BenchmarkBlobUnmarshalJSON(b *testing.B) {
	bl, err := blob.New(mustNS("bench"), pattern(4<<20, 7))
	if err != nil {
		b.Fatal(err)
	}
	enc, err := json.Marshal(bl)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bl.Data)))
	b.ReportAllocs()
	for b.Loop() {
		var got blob.Blob
		if err := got.UnmarshalJSON(enc); err != nil {
			b.Fatal(err)
		}
	}
}
