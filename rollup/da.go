package rollup

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// The rollup node reaches DataMesh through three interfaces, which
// rollup/meshapi implements over the Go API client (api/client); they
// can be served by different nodes.

// Submitter posts blobs to DataMesh: normally the sequencer's own node.
type Submitter interface {
	// Submit posts each of blobs as one blob of ns, in order, in one
	// transaction, and returns the DataMesh height it was included at.
	// An error may still mean the blobs were included (a timeout).
	Submit(ctx context.Context, ns share.Namespace, blobs [][]byte) (uint64, error)
}

// HeaderSource gives the DataMesh headers a follower trusts: normally
// the user's own light node, which verified them (header sync and data
// availability sampling). Its headers are the root of the follower's
// trust in what a NamespaceSource serves.
type HeaderSource interface {
	// WaitForHeight returns the header at height, waiting until the
	// source has it.
	WaitForHeight(ctx context.Context, height uint64) (*header.ExtendedHeader, error)
}

// NamespaceSource serves a namespace's data at a height, with proofs: any
// DataMesh node's API, which the follower does not trust.
type NamespaceSource interface {
	// GetNamespaceData returns the data of ns in the square at height:
	// one entry per row that may hold ns (eds.RowsWithNamespace of the
	// height's DAH), in row order, each with its NMT proof.
	GetNamespaceData(ctx context.Context, height uint64, ns share.Namespace) ([]eds.RowNamespaceData, error)
	// String names the source in errors (its URL).
	String() string
}

// verifiedBlobs checks rows, a namespace source's answer for ns at h's
// height, against h's DAH and returns the blobs of ns in square order.
// The check is NamespaceData.Verify: every row that may hold ns is
// there, and each row's shares are proven complete by its proof, so a
// source that leaves out a share, a blob or a row fails here.
func verifiedBlobs(h *header.ExtendedHeader, rows []eds.RowNamespaceData, ns share.Namespace) ([][]byte, error) {
	if h == nil || h.DAH == nil {
		return nil, fmt.Errorf("%w: header without a DAH", eds.ErrInvalidNamespaceData)
	}
	want := eds.RowsWithNamespace(h.DAH, ns)
	nd := make(eds.NamespaceData, len(rows))
	for i, r := range rows {
		nd[i] = eds.NamespaceRow{Row: -1, Data: r}
		if i < len(want) {
			nd[i].Row = want[i]
		}
	}
	if err := nd.Verify(h.DAH, ns); err != nil {
		return nil, err
	}
	placed, err := share.ParseBlobs(nd.Flatten())
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(placed))
	for i, p := range placed {
		out[i] = p.Blob.Data()
	}
	return out, nil
}
