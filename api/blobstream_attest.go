package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

// Attestations reads the chain's Blobstream attestations from a core node
// (the application's /blobstream/ queries; state.Client implements it).
// The answers are the core node's word: the blobstream module checks their
// signatures before it serves them.
type Attestations interface {
	// Attestation returns the attestation with nonce, pending or attested.
	Attestation(ctx context.Context, nonce uint64) (*tx.Attestation, error)
	// DataCommitment returns the data commitment whose range covers height.
	DataCommitment(ctx context.Context, height uint64) (*tx.Attestation, error)
	// Valset returns the valset in force at nonce (largest nonce ≤ it).
	Valset(ctx context.Context, nonce uint64) (*tx.Attestation, error)
	// LatestAttestationNonces returns the latest and latest attested nonces.
	LatestAttestationNonces(ctx context.Context) (tx.BlobstreamNonces, error)
}

// ErrNoAttestations answers the attestation methods of a node without a
// core connection.
var ErrNoAttestations = errors.New("api: blobstream: this node has no core node to read attestations from (set core.rpc in config.toml, or --core.rpc)")

// ErrBadAttestation is wrapped when the core node's answer does not verify:
// signatures that do not reach the signing valset's threshold, a valset
// whose threshold is not two thirds of its power, a tuple root other than
// the one of this node's verified headers. The node serves nothing then.
var ErrBadAttestation = errors.New("api: blobstream: the core node's attestation does not verify")

// GetAttestation (blobstream.GetAttestation, read) returns the attestation
// with nonce: a valset or a data commitment, attested or still pending
// (no signatures, included_height 0). An attested one is returned only
// once its signatures verify (blobstream.VerifySignatures) against the
// valset of its signer_valset_nonce with that valset's threshold, as the
// contract checks them; otherwise the error wraps ErrBadAttestation.
func (m *BlobstreamModule) GetAttestation(ctx context.Context, nonce uint64) (*tx.Attestation, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return nil, err
	}
	defer done()
	return m.checked(ctx, func() (*tx.Attestation, error) { return m.att.Attestation(ctx, nonce) })
}

// GetAttestationByHeight (blobstream.GetAttestationByHeight, read) returns
// the data commitment whose range [begin_block, end_block) holds height,
// checked as GetAttestation's. A height whose window has not ended yet has
// none (state.ErrNotAttested's message).
func (m *BlobstreamModule) GetAttestationByHeight(ctx context.Context, height uint64) (*tx.Attestation, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return nil, err
	}
	defer done()
	return m.checked(ctx, func() (*tx.Attestation, error) { return m.att.DataCommitment(ctx, height) })
}

// GetValset (blobstream.GetValset, read) returns the valset in force at
// nonce: the valset attestation with the largest nonce ≤ nonce, its
// members (EVM address and power, in the contract's order) and its power
// threshold, which is what signs the attestation of that nonce and what a
// contract's updateValidatorSet takes. Its threshold is checked to be two
// thirds of its power (blobstream.PowerThreshold) and, for nonces above 1,
// its own signatures by the valset before it.
func (m *BlobstreamModule) GetValset(ctx context.Context, nonce uint64) (*tx.Attestation, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return nil, err
	}
	defer done()
	return m.checked(ctx, func() (*tx.Attestation, error) { return m.valset(ctx, nonce) })
}

// GetLatestAttestationNonce (blobstream.GetLatestAttestationNonce, read)
// returns the latest nonce made due and the latest attested one (both 0
// on a chain without attestations, data_commitment_window 0).
func (m *BlobstreamModule) GetLatestAttestationNonce(ctx context.Context) (tx.BlobstreamNonces, error) {
	done, err := enter(ctx, m, m.lim)
	if err != nil {
		return tx.BlobstreamNonces{}, err
	}
	defer done()
	if m.att == nil {
		return tx.BlobstreamNonces{}, ErrNoAttestations
	}
	return m.att.LatestAttestationNonces(ctx)
}

// GetSharesProof (blobstream.GetSharesProof, read) returns the SharesProof
// (blobstream.SharesProof, in the JSON of Celestia's Solidity struct) of
// the blob of namespace with commitment at height, up to the attested data
// commitment whose range is exactly [start, end): the blob's shares with
// their NMT proofs to their rows' roots, the rows' proofs to the data root
// of height (the data root transaction's), and the proof of height's tuple
// in the tuple root of [start, end) with that commitment's nonce.
//
// The range is checked as GetDataRootTupleInclusionProof's. No attestation
// covering exactly [start, end), or one still pending, is refused with the
// range the attestation covering height has. Before answering, the node
// checks the attestation's signatures (as GetAttestation), that its tuple
// root is the one of the node's own verified headers over [start, end)
// (ErrBadAttestation otherwise), and reads the blob's shares through the
// verified paths (the blob service finds the blob, Shares.GetRange fetches
// and proves its rows against the header); the proof returned verifies
// with blobstream.VerifySharesProof against the attested root.
// "blob: not found" if there is no such blob.
func (m *BlobstreamModule) GetSharesProof(ctx context.Context, height uint64, namespace share.Namespace, commitment blob.Commitment, start, end uint64) (*blobstream.SharesProof, error) {
	done, err := enterAt(ctx, m, m.lim, m.halt, height)
	if err != nil {
		return nil, err
	}
	defer done()
	if m.att == nil {
		return nil, ErrNoAttestations
	}
	if err := blobstream.CheckProofRequest(height, start, end, m.h.store.Height()); err != nil {
		return nil, err
	}
	a, err := m.att.DataCommitment(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("api: blobstream: no attestation covers [%d, %d): %w", start, end, err)
	}
	if a.BeginBlock != start || a.EndBlock != end {
		return nil, fmt.Errorf("api: blobstream: no attestation covers [%d, %d): height %d is in the data commitment of [%d, %d) (nonce %d)",
			start, end, height, a.BeginBlock, a.EndBlock, a.Nonce)
	}
	if len(a.Signatures) == 0 {
		return nil, fmt.Errorf("api: blobstream: the data commitment of [%d, %d) (nonce %d) is not attested yet", start, end, a.Nonce)
	}
	if err := m.checkSigned(ctx, a); err != nil {
		return nil, err
	}
	roots, err := m.dataRoots(ctx, start, end)
	if err != nil {
		return nil, err
	}
	root, tupleProof, err := blobstream.TupleProof(height, start, roots)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root, a.TupleRoot) {
		return nil, fmt.Errorf("%w: nonce %d attests tuple root %X for [%d, %d), this node's headers give %X",
			ErrBadAttestation, a.Nonce, []byte(a.TupleRoot), start, end, root)
	}
	if m.s == nil || m.blobs == nil {
		return nil, errors.New("api: blobstream: this node cannot read blobs")
	}
	b, err := m.blobs.Get(ctx, height, namespace, commitment)
	if err != nil {
		return nil, notFound(err)
	}
	from, n, err := m.blobShares(ctx, height, b)
	if err != nil {
		return nil, err
	}
	shares, err := m.s.GetRange(ctx, height, from, from+n)
	if err != nil {
		return nil, err
	}
	return blobstream.NewSharesProof(shares.Proof, height, roots[height-start], tupleProof, a.Nonce)
}

// checked returns what get reads from the core node once its signatures
// verify (checkSigned); ErrNoAttestations without a core node.
func (m *BlobstreamModule) checked(ctx context.Context, get func() (*tx.Attestation, error)) (*tx.Attestation, error) {
	if m.att == nil {
		return nil, ErrNoAttestations
	}
	a, err := get()
	if err != nil {
		return nil, err
	}
	if err := m.checkSigned(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// blobShares returns the range of b's shares in the original square at
// height: its first share's index (b.Index is in the extended square) and
// how many shares it takes.
func (m *BlobstreamModule) blobShares(ctx context.Context, height uint64, b *blob.Blob) (from, n int, err error) {
	h, err := m.h.GetByHeight(ctx, height)
	if err != nil {
		return 0, 0, err
	}
	w, err := width(h)
	if err != nil {
		return 0, 0, err
	}
	sb, err := b.ShareBlob()
	if err != nil {
		return 0, 0, err
	}
	row, col := b.Index/w, b.Index%w
	if b.Index < 0 || col >= w/2 || row >= w/2 {
		return 0, 0, fmt.Errorf("api: blobstream: blob index %d is not in the original square of width %d", b.Index, w/2)
	}
	return row*(w/2) + col, sb.SharesNeeded(), nil
}

// valset returns the valset attestation in force at nonce, refusing an
// answer that is not a valset of a nonce ≤ nonce or whose power threshold
// is not the contract's for its power.
func (m *BlobstreamModule) valset(ctx context.Context, nonce uint64) (*tx.Attestation, error) {
	vs, err := m.att.Valset(ctx, nonce)
	if err != nil {
		return nil, err
	}
	if vs.Kind != tx.AttestationValset || vs.Nonce == 0 || vs.Nonce > nonce {
		return nil, fmt.Errorf("%w: asked for the valset at nonce %d, got a %s of nonce %d", ErrBadAttestation, nonce, vs.Kind, vs.Nonce)
	}
	var total uint64
	for _, v := range vs.Validators {
		total += v.Power
	}
	if len(vs.Validators) == 0 || vs.PowerThreshold != blobstream.PowerThreshold(total) {
		return nil, fmt.Errorf("%w: valset %d has %d members of power %d and threshold %d, want %d",
			ErrBadAttestation, vs.Nonce, len(vs.Validators), total, vs.PowerThreshold, blobstream.PowerThreshold(total))
	}
	return vs, nil
}

// checkSigned verifies an attested attestation's signatures against the
// valset of its signer nonce, as the contract does. A pending one (no
// signatures) and nonce 1 (the first valset, which a contract's
// constructor trusts) have none to check.
func (m *BlobstreamModule) checkSigned(ctx context.Context, a *tx.Attestation) error {
	if len(a.Signatures) == 0 {
		return nil
	}
	if a.SignerNonce == 0 || a.SignerNonce >= a.Nonce {
		return fmt.Errorf("%w: nonce %d is signed by valset %d", ErrBadAttestation, a.Nonce, a.SignerNonce)
	}
	signer, err := m.valset(ctx, a.SignerNonce)
	if err != nil {
		return err
	}
	if signer.Nonce != a.SignerNonce {
		return fmt.Errorf("%w: nonce %d is signed by valset %d, which is no valset (the one in force is %d)",
			ErrBadAttestation, a.Nonce, a.SignerNonce, signer.Nonce)
	}
	if err := blobstream.VerifySignatures(signer.EVMValidators(), a.Signatures, a.Digest(), signer.PowerThreshold); err != nil {
		return fmt.Errorf("%w: nonce %d: %w", ErrBadAttestation, a.Nonce, err)
	}
	return nil
}
