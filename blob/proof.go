package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// rowSpan is the part of a blob in one row: columns [from, to) of row row.
type rowSpan struct {
	row, from, to int
}

// spans returns the rows a blob of n shares spans whose first share is at
// index (in the extended square of width 2k), in row order. A blob's
// shares follow each other in the original square, row-major.
func spans(index, n, k int) []rowSpan {
	row, col := index/(2*k), index%(2*k)
	var out []rowSpan
	for n > 0 {
		to := min(k, col+n)
		out = append(out, rowSpan{row: row, from: col, to: to})
		n -= to - col
		row, col = row+1, 0
	}
	return out
}

// GetProof returns the proof of the blob of namespace ns with commitment c
// at height: one NMT inclusion proof per row the blob spans, in row order,
// each proving the blob's shares in that row (leaves ns || share) against
// the row's root in the header's DAH. It fetches each such row's first half
// and rebuilds the row's tree. ErrBlobNotFound if there is no such blob.
func (s *Service) GetProof(ctx context.Context, height uint64, ns share.Namespace, c Commitment) (*Proof, error) {
	h, b, sb, err := s.locate(ctx, height, ns, c)
	if err != nil {
		return nil, err
	}
	proof, _, err := s.proveSpans(ctx, h, b.Index, sb.SharesNeeded())
	if err != nil {
		return nil, err
	}
	return &proof, nil
}

// proveSpans returns, for a blob of n shares whose first share is at index
// of h's extended square, the rows it spans and one NMT inclusion proof
// per row of its shares there, fetching each row (rowTree).
func (s *Service) proveSpans(ctx context.Context, h *header.ExtendedHeader, index, n int) (Proof, []rowSpan, error) {
	k := h.DAH.SquareSize()
	sps := spans(index, n, k)
	if len(sps) == 0 {
		return nil, nil, fmt.Errorf("blob: no shares to prove at height %d", h.Height())
	}
	proof := make(Proof, 0, len(sps))
	for _, sp := range sps {
		t, err := s.rowTree(ctx, h, sp.row, k)
		if err != nil {
			return nil, nil, err
		}
		p, err := t.ProveRange(sp.from, sp.to)
		if err != nil {
			return nil, nil, fmt.Errorf("blob: proving row %d at height %d: %w", sp.row, h.Height(), err)
		}
		proof = append(proof, &p)
	}
	return proof, sps, nil
}

// rowTree fetches row row of h's square and returns its NMT, built as eds
// builds row trees (Q0 leaves under their own namespace, parity cells
// under the parity namespace), after checking its root against the DAH.
func (s *Service) rowTree(ctx context.Context, h *header.ExtendedHeader, row, k int) (*nmt.Tree, error) {
	cells, err := s.getter.GetRow(ctx, h, row)
	if err != nil {
		return nil, fmt.Errorf("blob: row %d at height %d: %w", row, h.Height(), err)
	}
	switch len(cells) {
	case 2 * k:
	case k:
		if cells, err = eds.ExtendAxis(cells); err != nil {
			return nil, fmt.Errorf("blob: extending row %d at height %d: %w", row, h.Height(), err)
		}
	default:
		return nil, fmt.Errorf("blob: row %d at height %d: %d shares, want %d or %d", row, h.Height(), len(cells), k, 2*k)
	}
	t := nmt.New()
	leaf := make([]byte, 0, share.NamespaceSize+share.ShareSize)
	for j, cell := range cells {
		ns := share.ParitySharesNamespace[:]
		if j < k {
			ns = cell[:share.NamespaceSize]
		}
		leaf = append(append(leaf[:0], ns...), cell...)
		if err := t.Push(leaf); err != nil {
			return nil, fmt.Errorf("blob: row %d at height %d: %w", row, h.Height(), err)
		}
	}
	root, _ := t.Root()
	if !bytes.Equal(root, h.DAH.RowRoots[row]) {
		return nil, fmt.Errorf("blob: row %d at height %d does not match its root in the header", row, h.Height())
	}
	return t, nil
}

// Included reports whether p proves that the blob of namespace ns with
// commitment c is in the square at height: it fetches that blob (for its
// shares and position) and verifies each of p's proofs against the
// header's row roots, for the blob's shares in that row. It returns
// (false, nil) when there is no such blob or when p does not verify (wrong
// rows, ranges or hashes); an error wrapping ErrInvalidProof for a
// malformed p (nil, empty, a nil entry, or one the nmt verifier rejects as
// malformed rather than for leading to another root); and other errors
// when the blob cannot be fetched.
func (s *Service) Included(ctx context.Context, height uint64, ns share.Namespace, p *Proof, c Commitment) (bool, error) {
	if p == nil || len(*p) == 0 {
		return false, fmt.Errorf("%w: no row proofs", ErrInvalidProof)
	}
	for i, rp := range *p {
		if rp == nil {
			return false, fmt.Errorf("%w: row proof %d is nil", ErrInvalidProof, i)
		}
	}
	h, b, sb, err := s.locate(ctx, height, ns, c)
	if errors.Is(err, ErrBlobNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	shares := sb.Shares()
	sps := spans(b.Index, len(shares), h.DAH.SquareSize())
	if len(sps) != len(*p) {
		return false, nil
	}
	for i, sp := range sps {
		rp := (*p)[i]
		if rp.Start != sp.from || rp.End != sp.to {
			return false, nil
		}
		payloads := make([][]byte, sp.to-sp.from)
		for j := range payloads {
			payloads[j] = shares[0]
			shares = shares[1:]
		}
		err := rp.VerifyInclusion(ns[:], payloads, h.DAH.RowRoots[sp.row])
		switch {
		case err == nil:
		case errors.Is(err, nmt.ErrRootMismatch):
			return false, nil
		default:
			return false, fmt.Errorf("%w: row proof %d: %w", ErrInvalidProof, i, err)
		}
	}
	return true, nil
}

// locate returns the header at height, the blob of namespace ns with
// commitment c in its square, and the blob's shares form: what the proof
// methods start from. ErrBlobNotFound if there is no such blob.
func (s *Service) locate(ctx context.Context, height uint64, ns share.Namespace, c Commitment) (*header.ExtendedHeader, *Blob, *share.Blob, error) {
	h, err := s.header(ctx, height)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := s.get(ctx, h, ns, c)
	if err != nil {
		return nil, nil, nil, err
	}
	sb, err := b.ShareBlob()
	if err != nil {
		return nil, nil, nil, err
	}
	return h, b, sb, nil
}
