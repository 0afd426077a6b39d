// Package meshapi connects a rollup node (package rollup) to DataMesh
// through the Go API client (api/client): it implements rollup's
// Submitter (blob.Submit), HeaderSource (header.WaitForHeight) and
// NamespaceSource (share.GetNamespaceData) over a client of any node's
// API. It is kept out of package rollup so that the rollup's logic does
// not link the client and its dependencies.
package meshapi

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/rollup"
	"github.com/datamesh/mesh-node/share"
)

var (
	_ rollup.Submitter       = Submitter{}
	_ rollup.HeaderSource    = Headers{}
	_ rollup.NamespaceSource = Data{}
)

// Submitter posts blobs with blob.Submit and the node's default fees.
type Submitter struct{ C *client.Client }

// Submit implements rollup.Submitter.
func (s Submitter) Submit(ctx context.Context, ns share.Namespace, data [][]byte) (uint64, error) {
	blobs := make([]*blob.Blob, len(data))
	for i, d := range data {
		b, err := blob.New(ns, d)
		if err != nil {
			return 0, fmt.Errorf("meshapi: blob %d: %w", i, err)
		}
		blobs[i] = b
	}
	h, err := s.C.Blob.Submit(ctx, blobs, nil)
	if err != nil {
		return 0, fmt.Errorf("meshapi: blob.Submit: %w", err)
	}
	return h, nil
}

// Headers gives headers with header.WaitForHeight: point it at a node
// whose headers the rollup node trusts, normally the user's light node.
type Headers struct{ C *client.Client }

// WaitForHeight implements rollup.HeaderSource.
func (h Headers) WaitForHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error) {
	eh, err := h.C.Header.WaitForHeight(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("meshapi: header.WaitForHeight(%d): %w", height, err)
	}
	return eh, nil
}

// Data serves namespace data with share.GetNamespaceData from any node;
// Name (its URL) names it in errors.
type Data struct {
	C    *client.Client
	Name string
}

// GetNamespaceData implements rollup.NamespaceSource.
func (d Data) GetNamespaceData(ctx context.Context, height uint64, ns share.Namespace) ([]eds.RowNamespaceData, error) {
	nd, err := d.C.Share.GetNamespaceData(ctx, height, ns)
	if err != nil {
		return nil, fmt.Errorf("meshapi: share.GetNamespaceData(%d): %w", height, err)
	}
	out := make([]eds.RowNamespaceData, len(nd))
	for i, r := range nd {
		out[i] = eds.RowNamespaceData(r)
	}
	return out, nil
}

// String implements rollup.NamespaceSource.
func (d Data) String() string { return d.Name }
