package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// noReads stands in for the headers and getter of a blob service that is
// only asked to submit.
type noReads struct{}

var errNoReads = errors.New("submit benchmark: no reads")

func (noReads) GetByHeight(context.Context, uint64) (*header.ExtendedHeader, error) {
	return nil, errNoReads
}
func (noReads) WaitForHeight(context.Context, uint64) (*header.ExtendedHeader, error) {
	return nil, errNoReads
}
func (noReads) Head(context.Context) (*header.ExtendedHeader, error) { return nil, errNoReads }
func (noReads) GetNamespaceData(context.Context, *header.ExtendedHeader, share.Namespace) (eds.NamespaceData, error) {
	return eds.NamespaceData{}, errNoReads
}
func (noReads) GetRow(context.Context, *header.ExtendedHeader, int) ([][]byte, error) {
	return nil, errNoReads
}

// recordingSubmitter stands in for the state client: it takes each blob's
// commitment as the client does to build the PayForBlobs, and keeps the
// blobs.
type recordingSubmitter struct {
	blobs       []*share.Blob
	commitments [][]byte
}

func (s *recordingSubmitter) SubmitPayForBlob(_ context.Context, blobs []*share.Blob, _ *state.TxConfig) (*state.TxResponse, error) {
	s.blobs, s.commitments = blobs, nil
	for _, b := range blobs {
		c, err := b.Commitment()
		if err != nil {
			return nil, err
		}
		s.commitments = append(s.commitments, c)
	}
	return &state.TxResponse{Height: 7, TxHash: "AB"}, nil
}

// submitServer starts a server on loopback whose blob module submits
// through sub, stopped at the end of the test, and returns its URL.
func submitServer(tb testing.TB, sub blob.Submitter) string {
	tb.Helper()
	svc, err := blob.NewService(blob.Options{Headers: noReads{}, Getter: noReads{}, Submitter: sub})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := api.NewServer(api.ServerOptions{Addr: "127.0.0.1:0", SkipAuth: true, MaxRequestBytes: 16 << 20},
		api.Modules{Blob: api.NewBlobModule(svc, api.ModuleOptions{})})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			tb.Error(err)
		}
	})
	return "http://" + srv.Addr()
}

// postRPC POSTs body to url and returns the response body.
func postRPC(tb testing.TB, url string, body []byte) []byte {
	tb.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSpace(out)
}

// BenchmarkSubmitServer measures the node's side of a blob.Submit of one
// 4 MiB blob sent with its commitment: the server's handling of the POST
// (body checks, decoding), the blob module and Service.Submit, up to a
// submitter that takes the commitments as the state client does. The
// app's own check of the commitment is not part of it.
func BenchmarkSubmitServer(b *testing.B) {
	const size = 4 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	ns, err := share.NewV0Namespace([]byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	bl, err := blob.New(ns, data)
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "blob.Submit",
		"params": []any{[]*blob.Blob{bl}, nil}})
	if err != nil {
		b.Fatal(err)
	}
	sub := &recordingSubmitter{}
	url := submitServer(b, sub)
	want := `{"id":1,"jsonrpc":"2.0","result":7}`
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if got := string(postRPC(b, url, body)); got != want {
			b.Fatalf("response %s, want %s", got, want)
		}
	}
}
