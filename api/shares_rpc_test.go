package api_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/filecoin-project/go-jsonrpc"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// TestModulesOverJSONRPC registers the two modules with go-jsonrpc, as the
// server does, and calls them through a go-jsonrpc client with
// celestia-node's method names: parameters and results survive the JSON
// both ways, and errors keep their text.
func TestModulesOverJSONRPC(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 3, 31)
	url, _ := headerShareURL(t, c)

	var hc struct {
		GetByHeight      func(context.Context, uint64) (*header.ExtendedHeader, error)
		GetByHash        func(context.Context, api.Hash) (*header.ExtendedHeader, error)
		GetRangeByHeight func(context.Context, *header.ExtendedHeader, uint64) ([]*header.ExtendedHeader, error)
		SyncState        func(context.Context) (api.SyncState, error)
	}
	closeH, err := jsonrpc.NewClient(ctx, url, "header", &hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeH()
	var sc struct {
		GetShare         func(context.Context, uint64, int, int) (api.Share, error)
		GetSamples       func(context.Context, uint64, []api.SampleCoords) ([]api.Sample, error)
		GetEDS           func(context.Context, uint64) (*api.ExtendedDataSquare, error)
		GetRow           func(context.Context, uint64, int) (api.Row, error)
		GetNamespaceData func(context.Context, uint64, share.Namespace) (api.NamespaceData, error)
		SharesAvailable  func(context.Context, uint64) error
		GetRange         func(context.Context, uint64, int, int) (*api.GetRangeResult, error)
	}
	closeS, err := jsonrpc.NewClient(ctx, url, "share", &sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeS()

	h2, err := hc.GetByHeight(ctx, 2)
	if err != nil || !bytes.Equal(h2.Hash(), c.at(2).Hash()) {
		t.Fatalf("GetByHeight: %v", err)
	}
	if _, err := hc.GetByHeight(ctx, 5); err == nil ||
		!strings.Contains(err.Error(), "header: given height is from the future: networkHeight: 3, requestedHeight: 5") {
		t.Fatalf("future height over RPC: %v", err)
	}
	if got, err := hc.GetByHash(ctx, c.at(3).Hash()); err != nil || got.Height() != 3 {
		t.Fatalf("GetByHash: %v", err)
	}
	if got, err := hc.GetRangeByHeight(ctx, h2, 4); err != nil || len(got) != 1 || got[0].Height() != 3 {
		t.Fatalf("GetRangeByHeight: %v", err)
	}
	if st, err := hc.SyncState(ctx); err != nil || st.Height != 3 || !st.Finished() {
		t.Fatalf("SyncState: %+v, %v", st, err)
	}

	sq := c.square(2)
	if s, err := sc.GetShare(ctx, 2, 1, 2); err != nil || !bytes.Equal(s, sq.Share(1, 2)) {
		t.Fatalf("GetShare: %v", err)
	}
	smps, err := sc.GetSamples(ctx, 2, []api.SampleCoords{{Row: 3, Col: 0}})
	if err != nil || len(smps) != 1 {
		t.Fatalf("GetSamples: %v", err)
	}
	s := eds.Sample(smps[0])
	if err := s.Verify(c.at(2).DAH, 3, 0); err != nil {
		t.Fatalf("sample over RPC: %v", err)
	}
	e, err := sc.GetEDS(ctx, 2)
	if err != nil || e.Square.Width() != sq.Width() || !bytes.Equal(e.Square.Share(0, 0), sq.Share(0, 0)) {
		t.Fatalf("GetEDS: %v", err)
	}
	row, err := sc.GetRow(ctx, 2, 0)
	if err != nil || row.Side != api.RowLeft || len(row.Shares) != sq.K() {
		t.Fatalf("GetRow: %v", err)
	}
	ns := blobNamespace(t, sq)
	nd, err := sc.GetNamespaceData(ctx, 2, ns)
	if err != nil || len(nd) == 0 {
		t.Fatalf("GetNamespaceData: %v", err)
	}
	rng, err := sc.GetRange(ctx, 2, 0, 1)
	if err != nil || len(rng.Shares) != 1 || !bytes.Equal(rng.Shares[0], sq.Share(0, 0)) {
		t.Fatalf("GetRange: %v", err)
	}
	if err := rng.Verify(c.at(2).DAH.Hash()); err != nil {
		t.Fatalf("GetRange over RPC: %v", err)
	}
	if err := sc.SharesAvailable(ctx, 2); err != nil {
		t.Fatalf("SharesAvailable: %v", err)
	}
	if _, err := sc.GetShare(ctx, 2, 0, sq.Width()); err == nil || !strings.Contains(err.Error(), "index out of bounds") {
		t.Fatalf("out of bounds over RPC: %v", err)
	}
}
