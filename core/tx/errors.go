package tx

import (
	"errors"

	"github.com/datamesh/mesh-node/share"
)

// Errors a transaction is rejected with. Each maps to its own ABCI code
// (see Code); wrapped errors carry the evidence (expected and actual values).
var (
	ErrInvalidSignature    = errors.New("tx: invalid signature")
	ErrWrongChainID        = errors.New("tx: wrong chain ID")
	ErrIncorrectSequence   = errors.New("incorrect account sequence")
	ErrInsufficientFunds   = errors.New("insufficient funds")
	ErrBlobTooLarge        = errors.New("blob: over size limit")
	ErrCommitmentMismatch  = errors.New("tx: blobs do not match the pay for blobs message")
	ErrReservedTx          = errors.New("tx: transaction starts with the data root transaction magic")
	ErrUnauthorized        = errors.New("tx: signer is not the authority")
	ErrInsufficientFee     = errors.New("tx: insufficient fee")
	ErrInvalidValidatorSet = errors.New("tx: invalid validator update")
	ErrBlobTxRequired      = errors.New("tx: pay for blobs must be sent in a blob tx with its blobs")
	ErrUnexpectedBlobTx    = errors.New("tx: only pay for blobs may be sent in a blob tx")
	ErrInvalidMsg          = errors.New("tx: invalid message")
	// ErrInvalidKZG: a PayForBlobs' KZG proofs do not verify against its
	// blobs (a wrong proof, or a commitment to other bytes), or the chain
	// accepts no KZG commitments.
	ErrInvalidKZG = errors.New("tx: invalid KZG commitments")
)

// ABCI result codes. 0 is success.
const (
	CodeOK uint32 = iota
	CodeMalformedTx
	CodeInvalidSignature
	CodeWrongChainID
	CodeIncorrectSequence
	CodeInsufficientFunds
	CodeInvalidNamespace
	CodeCommitmentMismatch
	CodeBlobTooLarge
	CodeReservedTx
	CodeUnauthorized
	CodeInsufficientFee
	CodeInvalidValidatorSet
	CodeInvalidMsg
	CodeInternal
	CodeInvalidKZG
	// CodeNotFound answers a query for a record the state does not hold.
	CodeNotFound
)

// Code returns the ABCI code for a transaction error: CodeOK for nil.
func Code(err error) uint32 {
	switch {
	case err == nil:
		return CodeOK
	case errors.Is(err, ErrReservedTx):
		return CodeReservedTx
	case errors.Is(err, ErrBlobTooLarge), errors.Is(err, share.ErrBlobTooLarge):
		return CodeBlobTooLarge
	case errors.Is(err, share.ErrInvalidNamespace):
		return CodeInvalidNamespace
	case errors.Is(err, ErrCommitmentMismatch):
		return CodeCommitmentMismatch
	case errors.Is(err, ErrInvalidSignature):
		return CodeInvalidSignature
	case errors.Is(err, ErrWrongChainID):
		return CodeWrongChainID
	case errors.Is(err, ErrIncorrectSequence):
		return CodeIncorrectSequence
	case errors.Is(err, ErrInsufficientFunds):
		return CodeInsufficientFunds
	case errors.Is(err, ErrUnauthorized):
		return CodeUnauthorized
	case errors.Is(err, ErrInsufficientFee):
		return CodeInsufficientFee
	case errors.Is(err, ErrInvalidValidatorSet):
		return CodeInvalidValidatorSet
	case errors.Is(err, ErrInvalidKZG):
		return CodeInvalidKZG
	case errors.Is(err, ErrMalformedTx), errors.Is(err, share.ErrMalformedBlobTx), errors.Is(err, share.ErrNotBlobTx):
		return CodeMalformedTx
	default:
		return CodeInvalidMsg
	}
}
