package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/state"
)

// maxSubmitResponse bounds the answer to blob.Submit read back: a height or
// an error, a few hundred bytes.
const maxSubmitResponse = 1 << 20

// httpSubmit is blob.Submit over HTTP, the request written by hand: the
// blobs go into the body with blob.AppendJSON, base64 in one pass. Through
// go-jsonrpc, encoding/json validates and copies each blob's JSON twice
// (once as the blob's MarshalJSON output, once as the request's params),
// a byte at a time: a CPU profile of tools/loadgen submitting 4 MB blobs
// at 12 MB/s spent two thirds of its 0.35 of a core there. The answer is
// go-jsonrpc's: the height, a *jsonrpc.JSONRPCError for an error the node
// returned, and an error for a failure of the transport or an HTTP status
// other than 200, 400 and 500.
type httpSubmit struct {
	url string
	hdr http.Header
	hc  *http.Client
	id  atomic.Int64
}

func (s *httpSubmit) submit(ctx context.Context, blobs []*blob.Blob, opts *state.TxConfig) (uint64, error) {
	id := s.id.Add(1)
	body, err := submitRequest(id, blobs, opts)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("client: blob.Submit: %w", err)
	}
	req.Header = s.hdr.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("client: blob.Submit: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	// As go-jsonrpc: its server answers errors with 400 or 500 and a
	// JSON-RPC error; any other failure is not one.
	if resp.StatusCode > http.StatusBadRequest && resp.StatusCode != http.StatusInternalServerError {
		return 0, fmt.Errorf("client: blob.Submit: request failed, http status %s", resp.Status)
	}
	var r struct {
		ID     *int64                `json:"id"`
		Result json.RawMessage       `json:"result"`
		Error  *jsonrpc.JSONRPCError `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxSubmitResponse)).Decode(&r); err != nil {
		return 0, fmt.Errorf("client: blob.Submit: http status %s, reading the answer: %w", resp.Status, err)
	}
	if r.ID == nil || *r.ID != id {
		return 0, fmt.Errorf("client: blob.Submit: the answer's id is not the request's (%d)", id)
	}
	if r.Error != nil {
		return 0, r.Error
	}
	var height uint64
	if err := json.Unmarshal(r.Result, &height); err != nil {
		return 0, fmt.Errorf("client: blob.Submit: result %.64q: %w", r.Result, err)
	}
	return height, nil
}

// submitRequest is the JSON-RPC 2.0 request of blob.Submit(blobs, opts)
// with the given id, as go-jsonrpc would send it.
func submitRequest(id int64, blobs []*blob.Blob, opts *state.TxConfig) ([]byte, error) {
	o, err := json.Marshal(opts)
	if err != nil {
		return nil, fmt.Errorf("client: blob.Submit: options: %w", err)
	}
	size := 128 + len(o)
	for _, b := range blobs {
		if b != nil {
			size += 128 + len(b.Signer)*2 + (len(b.Data)+2)/3*4 + len(b.Commitment)*2
		}
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"jsonrpc":"2.0","id":`...)
	buf = strconv.AppendInt(buf, id, 10)
	buf = append(buf, `,"method":"blob.Submit","params":[`...)
	if blobs == nil {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '[')
		for i, b := range blobs {
			if i > 0 {
				buf = append(buf, ',')
			}
			if b == nil {
				buf = append(buf, "null"...)
				continue
			}
			buf = b.AppendJSON(buf)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, ',')
	buf = append(buf, o...)
	return append(buf, "]}"...), nil
}
