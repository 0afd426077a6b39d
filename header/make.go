package header

import (
	"bytes"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/eds"
)

// MakeExtendedHeader builds the extended header of a block from its header,
// its transactions (the data root transaction last), its commit, its
// validator set and the DAH the caller computed from the block's square,
// and validates it. The bridge calls it for every block it follows; the
// result owns copies of raw, the data root transaction and the proof, and
// shares commit, vals and dah with the caller, who must not modify them
// afterwards. Errors are Validate's, or ErrInvalidDataRootProof when the
// block has no data root transaction last.
func MakeExtendedHeader(raw *cmttypes.Header, txs cmttypes.Txs, commit *cmttypes.Commit,
	vals *cmttypes.ValidatorSet, dah *eds.DataAvailabilityHeader) (*ExtendedHeader, error) {
	if raw == nil {
		return nil, fmt.Errorf("%w: nil header", ErrInvalidHeader)
	}
	if len(txs) == 0 || !IsDataRootTx(txs[len(txs)-1]) {
		return nil, fmt.Errorf("%w: block %d does not end with a data root transaction", ErrInvalidDataRootProof, raw.Height)
	}
	return MakeExtendedHeaderWithProof(raw, txs.Proof(len(txs)-1), commit, vals, dah)
}

// MakeExtendedHeaderWithProof is MakeExtendedHeader for a caller that has
// already computed the proof of the block's data root transaction,
// proof = txs.Proof(len(txs)-1), whose RootHash is the transactions' hash
// (a pass of SHA-256 over every transaction, not repeated here). proof.Data
// must be the data root transaction. The result owns copies of raw and of
// proof.Data; it takes proof.Proof, whose aunts the caller must not modify
// afterwards. Validate checks the proof against raw's DataHash.
func MakeExtendedHeaderWithProof(raw *cmttypes.Header, proof cmttypes.TxProof, commit *cmttypes.Commit,
	vals *cmttypes.ValidatorSet, dah *eds.DataAvailabilityHeader) (*ExtendedHeader, error) {
	if raw == nil {
		return nil, fmt.Errorf("%w: nil header", ErrInvalidHeader)
	}
	if !IsDataRootTx(proof.Data) {
		return nil, fmt.Errorf("%w: block %d: the proven transaction is not a data root transaction", ErrInvalidDataRootProof, raw.Height)
	}
	h := &ExtendedHeader{
		RawHeader:     *raw,
		Commit:        commit,
		ValidatorSet:  vals,
		DAH:           dah,
		DataRootTx:    bytes.Clone(proof.Data),
		DataRootProof: proof.Proof,
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}
