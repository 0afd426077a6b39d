package header

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	cmtmerkle "github.com/cometbft/cometbft/crypto/merkle"
	"github.com/cometbft/cometbft/crypto/tmhash"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/eds"
)

// Errors returned by Validate and Verify. Each check wraps its own sentinel,
// so callers (and tests) can tell with errors.Is which part of a header was
// wrong.
var (
	// ErrInvalidHeader is wrapped when a header is malformed: a missing part,
	// a CometBFT header or commit that fails ValidateBasic, or a commit for
	// another height or block.
	ErrInvalidHeader = errors.New("header: invalid extended header")
	// ErrValidatorSetMismatch is wrapped when the validator set does not hash
	// to the header's ValidatorsHash, or (in Verify) when an adjacent header's
	// validators are not the trusted header's next validators.
	ErrValidatorSetMismatch = errors.New("header: validator set mismatch")
	// ErrInvalidCommit is wrapped when the commit does not carry valid
	// signatures from more than 2/3 of the header's validator set.
	ErrInvalidCommit = errors.New("header: invalid commit")
	// ErrInvalidDataRootProof is wrapped when the data root transaction is not
	// proven to be the last transaction under the header's DataHash.
	ErrInvalidDataRootProof = errors.New("header: invalid data root proof")
	// ErrDAHMismatch is wrapped when the DataAvailabilityHeader is invalid or
	// does not match the data root transaction (hash or square size).
	ErrDAHMismatch = errors.New("header: data availability header mismatch")
)

// RawHeader is the CometBFT block header, ExtendedHeader.RawHeader's type:
// packages that pass it on (blob subscriptions carry it) name it through
// header rather than importing CometBFT.
type RawHeader = cmttypes.Header

// ExtendedHeader is a CometBFT block header extended with what a DataMesh
// node needs to sample the block's data: the commit and validator set that
// make it verifiable on its own, the block's DataAvailabilityHeader, and a
// Merkle proof that the data root transaction committing to that DAH is the
// last transaction under RawHeader.DataHash.
//
// A header decoded from a peer is untrusted until Validate (and, against a
// trusted header, Verify) returns nil. An ExtendedHeader is a value to be
// read: once validated, its fields must not be modified.
type ExtendedHeader struct {
	RawHeader    cmttypes.Header
	Commit       *cmttypes.Commit
	ValidatorSet *cmttypes.ValidatorSet
	DAH          *eds.DataAvailabilityHeader
	// DataRootTx is the block's last transaction, the encoding of a
	// DataRootTx value (UnmarshalDataRootTx decodes it).
	DataRootTx []byte
	// DataRootProof proves tmhash(DataRootTx) is the last leaf of the
	// Merkle tree whose root is RawHeader.DataHash (CometBFT's Txs.Proof).
	DataRootProof cmtmerkle.Proof
}

// Height returns the block height.
func (h *ExtendedHeader) Height() uint64 {
	if h.RawHeader.Height < 0 {
		return 0
	}
	return uint64(h.RawHeader.Height)
}

// Hash returns the CometBFT block hash, RawHeader.Hash(). It is nil for a
// header missing required fields.
func (h *ExtendedHeader) Hash() []byte { return h.RawHeader.Hash() }

// ChainID returns the chain ID of the block.
func (h *ExtendedHeader) ChainID() string { return h.RawHeader.ChainID }

// Time returns the block time.
func (h *ExtendedHeader) Time() time.Time { return h.RawHeader.Time }

// LastHeader returns the hash of the previous block, RawHeader.LastBlockID.Hash.
func (h *ExtendedHeader) LastHeader() []byte { return h.RawHeader.LastBlockID.Hash }

// Validate checks that the header is internally consistent and signed by
// more than 2/3 of its own validator set, in this order:
//
//   - basic fields: all parts present, RawHeader.ValidateBasic, Commit
//     ValidateBasic, and the commit is for this height and block
//     (ErrInvalidHeader);
//   - ValidatorSet hashes to RawHeader.ValidatorsHash (ErrValidatorSetMismatch);
//   - every signature in the commit is valid and they add up to more than
//     2/3 of the set's power (ErrInvalidCommit);
//   - DataRootProof proves DataRootTx is the last transaction under
//     RawHeader.DataHash (ErrInvalidDataRootProof);
//   - the DAH is valid, hashes to the DataRootTx's data root and has its
//     square size (ErrDAHMismatch).
//
// Validate says nothing about whether the validator set is the chain's: that
// needs Verify against a trusted header. It never panics on a decoded header.
func (h *ExtendedHeader) Validate() error {
	if err := h.validateBasic(); err != nil {
		return err
	}
	if vh := h.ValidatorSet.Hash(); !bytes.Equal(vh, h.RawHeader.ValidatorsHash) {
		return fmt.Errorf("%w: validator set hash %X, header has %X at height %d",
			ErrValidatorSetMismatch, vh, h.RawHeader.ValidatorsHash, h.RawHeader.Height)
	}
	// All signatures, not only enough of them: a commit carrying any forged
	// signature is not one CometBFT produced.
	if err := h.ValidatorSet.VerifyCommitLightAllSignatures(h.ChainID(), h.Commit.BlockID, h.RawHeader.Height, h.Commit); err != nil {
		return fmt.Errorf("%w: height %d: %w", ErrInvalidCommit, h.RawHeader.Height, err)
	}
	if err := h.verifyDataRootProof(); err != nil {
		return err
	}
	return h.verifyDAH()
}

func (h *ExtendedHeader) validateBasic() error {
	switch {
	case h == nil:
		return fmt.Errorf("%w: nil header", ErrInvalidHeader)
	case h.Commit == nil:
		return fmt.Errorf("%w: no commit", ErrInvalidHeader)
	case h.ValidatorSet == nil || h.ValidatorSet.IsNilOrEmpty():
		return fmt.Errorf("%w: no validator set", ErrInvalidHeader)
	case h.DAH == nil:
		return fmt.Errorf("%w: no data availability header", ErrInvalidHeader)
	}
	if err := h.RawHeader.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidHeader, err)
	}
	if err := h.Commit.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: commit: %w", ErrInvalidHeader, err)
	}
	if err := h.ValidatorSet.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: validator set: %w", ErrInvalidHeader, err)
	}
	if h.Commit.Height != h.RawHeader.Height {
		return fmt.Errorf("%w: commit is for height %d, header is %d", ErrInvalidHeader, h.Commit.Height, h.RawHeader.Height)
	}
	if hash := h.Hash(); !bytes.Equal(h.Commit.BlockID.Hash, hash) {
		return fmt.Errorf("%w: commit is for block %X, header hashes to %X", ErrInvalidHeader, h.Commit.BlockID.Hash, hash)
	}
	return nil
}

func (h *ExtendedHeader) verifyDataRootProof() error {
	p := &h.DataRootProof
	if err := p.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDataRootProof, err)
	}
	if p.Total < 1 || p.Index != p.Total-1 {
		return fmt.Errorf("%w: proves transaction %d of %d, not the last", ErrInvalidDataRootProof, p.Index, p.Total)
	}
	if err := p.Verify(h.RawHeader.DataHash, tmhash.Sum(h.DataRootTx)); err != nil {
		return fmt.Errorf("%w: against DataHash %X: %w", ErrInvalidDataRootProof, h.RawHeader.DataHash, err)
	}
	return nil
}

func (h *ExtendedHeader) verifyDAH() error {
	tx, err := UnmarshalDataRootTx(h.DataRootTx)
	if err != nil {
		// Proven under DataHash, so the block itself is malformed.
		return fmt.Errorf("%w: %w", ErrDAHMismatch, err)
	}
	if err := h.DAH.ValidateBasic(); err != nil {
		return fmt.Errorf("%w: %w", ErrDAHMismatch, err)
	}
	if k := h.DAH.SquareSize(); k != int(tx.SquareSize) {
		return fmt.Errorf("%w: square size %d, data root transaction has %d", ErrDAHMismatch, k, tx.SquareSize)
	}
	if root := h.DAH.Hash(); !bytes.Equal(root, tx.DataRoot) {
		return fmt.Errorf("%w: DAH hashes to %X, data root transaction has %X", ErrDAHMismatch, root, tx.DataRoot)
	}
	return nil
}

// DataRoot returns the data root committed by the block: the hash of DAH,
// nil when the header has no DAH.
func (h *ExtendedHeader) DataRoot() []byte {
	if h.DAH == nil {
		return nil
	}
	return h.DAH.Hash()
}

// String returns a short description: height and hash.
func (h *ExtendedHeader) String() string {
	if h == nil {
		return "ExtendedHeader(nil)"
	}
	return fmt.Sprintf("ExtendedHeader{%s height %d hash %X}", h.RawHeader.ChainID, h.RawHeader.Height, h.Hash())
}
