package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/merkle"
)

// BlobstreamModule is the "blobstream" RPC module: celestia-node's
// methods, the data root tuple roots of height ranges and the proofs of one
// height's tuple in them (package blobstream), which need headers only, so
// every node type serves them, over the heights its header store holds (a
// light node's from its tail up); and DataMesh's, the chain's attestations
// (GetAttestation, GetAttestationByHeight, GetValset,
// GetLatestAttestationNonce) and a blob's SharesProof up to an attested
// commitment (GetSharesProof), which need the node's core connection
// (BlobstreamDeps.Attestations). Every method needs read; the tuple
// methods and GetSharesProof are heavy calls (a range reads up to
// blobstream.MaxRange headers, GetSharesProof rows of a square too).
type BlobstreamModule struct {
	h     *Headers
	s     *Shares
	blobs BlobService
	att   Attestations
	lim   *Limiter
	halt  Halt
}

// blobstreamMethods is the blobstream module's table (see rpcTable).
var blobstreamMethods = rpcTable{namespace: "blobstream", methods: map[string]rpcMethod{
	"GetDataRootTupleRoot":           {perm: PermRead, cost: costHeavy},
	"GetDataRootTupleInclusionProof": {perm: PermRead, cost: costHeavy},
	"GetAttestation":                 {perm: PermRead},
	"GetAttestationByHeight":         {perm: PermRead},
	"GetValset":                      {perm: PermRead},
	"GetLatestAttestationNonce":      {perm: PermRead},
	"GetSharesProof":                 {perm: PermRead, cost: costHeavy},
}}

func (*BlobstreamModule) rpcTable() *rpcTable { return &blobstreamMethods }

// BlobstreamDeps are the blobstream module's dependencies. Headers is
// required; without Shares and Blobs GetSharesProof fails, without
// Attestations the attestation methods and GetSharesProof answer
// ErrNoAttestations.
type BlobstreamDeps struct {
	// Headers are the node's verified headers.
	Headers *Headers
	// Shares reads a blob's shares with their proofs (Shares.GetRange).
	Shares *Shares
	// Blobs finds a blob's place in its square (BlobService.Get).
	Blobs BlobService
	// Attestations reads the chain's attestations: the node's state client
	// (state.Client), when it has a core connection.
	Attestations Attestations
}

// NewBlobstreamModule returns the blobstream module over d. opts.Limiter
// bounds its heavy calls; opts.Halt refuses GetSharesProof at and above a
// block proven badly encoded. The tuple methods ignore it: a tuple root is
// about headers, which a bad-encoding proof does not make untrustworthy
// (the header module keeps serving too). It fails without d.Headers.
func NewBlobstreamModule(d BlobstreamDeps, opts ModuleOptions) (*BlobstreamModule, error) {
	if d.Headers == nil {
		return nil, errors.New("api: blobstream module needs headers")
	}
	return &BlobstreamModule{h: d.Headers, s: d.Shares, blobs: d.Blobs, att: d.Attestations,
		lim: opts.Limiter, halt: checkHalt(opts.Halt)}, nil
}

// GetDataRootTupleRoot (blobstream.GetDataRootTupleRoot, read) returns the
// data root tuple root of the heights [start, end): the RFC 6962 root over
// abi.encode(height, dataRoot) of each, the data root being the one in the
// height's data root transaction (blobstream.TupleRoot). The range must
// satisfy blobstream.CheckRange against the node's local head; its errors
// are celestia-node's texts, unprefixed ("height is equal to 0", "end block
// is smaller or equal to the start block", …). Heights below the store's
// tail answer header.ErrNotFound. The JSON result is upper-case hex, as
// celestia-node's.
func (m *BlobstreamModule) GetDataRootTupleRoot(ctx context.Context, start, end uint64) (Hash, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := blobstream.CheckRange(start, end, m.h.store.Height()); err != nil {
		return nil, err
	}
	roots, err := m.dataRoots(ctx, start, end)
	if err != nil {
		return nil, err
	}
	return blobstream.TupleRoot(start, roots)
}

// GetDataRootTupleInclusionProof (blobstream.GetDataRootTupleInclusionProof,
// read) returns the proof of height's data root tuple in the tuple root of
// [start, end) (GetDataRootTupleRoot's), which merkle.Proof.Verify and
// CometBFT's crypto/merkle Proof.Verify accept for the root and
// blobstream.EncodeTuple(height, dataRoot). The checks and error texts are
// celestia-node's (blobstream.CheckProofRequest).
func (m *BlobstreamModule) GetDataRootTupleInclusionProof(ctx context.Context, height, start, end uint64) (*merkle.Proof, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := blobstream.CheckProofRequest(height, start, end, m.h.store.Height()); err != nil {
		return nil, err
	}
	roots, err := m.dataRoots(ctx, start, end)
	if err != nil {
		return nil, err
	}
	_, p, err := blobstream.TupleProof(height, start, roots)
	return p, err
}

// dataRoots reads the data roots of the stored headers [start, end) from
// their data root transactions, header.MaxRangeSize at a time.
func (m *BlobstreamModule) dataRoots(ctx context.Context, start, end uint64) ([][32]byte, error) {
	roots := make([][32]byte, 0, end-start)
	for from := start; from < end; from += header.MaxRangeSize {
		to := min(end, from+header.MaxRangeSize)
		hs, err := m.h.store.GetRange(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("api: blobstream: headers %d to %d: %w", from, to-1, err)
		}
		for _, h := range hs {
			drt, err := header.UnmarshalDataRootTx(h.DataRootTx)
			if err != nil {
				return nil, fmt.Errorf("api: blobstream: header %d: %w", h.Height(), err)
			}
			if len(drt.DataRoot) != 32 {
				return nil, fmt.Errorf("api: blobstream: header %d: data root of %d bytes", h.Height(), len(drt.DataRoot))
			}
			roots = append(roots, [32]byte(drt.DataRoot))
		}
	}
	return roots, nil
}
