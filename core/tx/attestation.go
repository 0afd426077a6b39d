package tx

import (
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/datamesh/mesh-node/blobstream"
)

// ABCI query paths of Blobstream's attestations (core/app answers them in
// JSON, at the last committed height; a missing record is CodeNotFound).
const (
	// AttestationQueryPath: data the nonce in decimal; answer an
	// Attestation, pending or attested.
	AttestationQueryPath = "/blobstream/attestation"
	// DataCommitmentQueryPath: data a height in decimal; answer the data
	// commitment Attestation whose range covers it.
	DataCommitmentQueryPath = "/blobstream/data_commitment"
	// LatestNonceQueryPath: no data; answer a BlobstreamNonces.
	LatestNonceQueryPath = "/blobstream/latest_nonce"
	// ValsetQueryPath: data a nonce in decimal; answer the valset
	// Attestation in force at it: the one with the largest nonce ≤ it.
	ValsetQueryPath = "/blobstream/valset"
	// EVMAddressQueryPath: data a validator's ed25519 consensus key (64
	// hex digits) or CometBFT address (40 hex digits); answer an
	// EVMAddressInfo.
	EVMAddressQueryPath = "/blobstream/evm_address"
)

// The kinds of attestation.
const (
	AttestationValset         = "valset"
	AttestationDataCommitment = "data_commitment"
)

// ValsetMember is a validator of an attested set: its consensus key, the
// EVM address it signs with and its power.
type ValsetMember struct {
	PubKey     []byte             `json:"pub_key"` // ed25519, base64 in JSON
	EVMAddress blobstream.Address `json:"evm_address"`
	Power      uint64             `json:"power"`
}

// Attestation is one nonce of Blobstream's sequence: a validator set
// (Kind AttestationValset) or the tuple root of a range of heights (Kind
// AttestationDataCommitment), which the validator set with nonce
// SignerNonce signs. Nonce 1 is the first validator set, which a contract's
// constructor trusts: it has no signer.
type Attestation struct {
	Nonce uint64 `json:"nonce"`
	Kind  string `json:"kind"`
	// BeginBlock and EndBlock (exclusive) are a data commitment's range,
	// TupleRoot the tuple root over it.
	BeginBlock uint64            `json:"begin_block,omitempty"`
	EndBlock   uint64            `json:"end_block,omitempty"`
	TupleRoot  cmtbytes.HexBytes `json:"data_root_tuple_root,omitempty"`
	// Validators are a valset's members, in the contract's order (power
	// descending, then EVM address), with PowerThreshold two thirds of their
	// power rounded up.
	Validators     []ValsetMember `json:"validators,omitempty"`
	PowerThreshold uint64         `json:"power_threshold,omitempty"`
	// SignerNonce is the nonce of the valset that signs this attestation
	// (0 for nonce 1). Signatures are aligned with its Validators, the
	// zero Signature for one that did not sign; empty while pending.
	SignerNonce uint64                 `json:"signer_valset_nonce,omitempty"`
	Signatures  []blobstream.Signature `json:"signatures,omitempty"`
	// CreatedHeight is the block after which the attestation became due,
	// IncludedHeight the block that carried its signatures (0 while
	// pending, and for nonce 1 at genesis).
	CreatedHeight  int64 `json:"created_height"`
	IncludedHeight int64 `json:"included_height,omitempty"`
}

// Digest is what the signer valset signs: DataCommitmentDigest of the
// tuple root or ValsetDigest of the set.
func (a *Attestation) Digest() [32]byte {
	if a.Kind == AttestationValset {
		return blobstream.ValsetDigest(a.Nonce, a.PowerThreshold, blobstream.ValsetHash(a.EVMValidators()))
	}
	var root [32]byte
	copy(root[:], a.TupleRoot)
	return blobstream.DataCommitmentDigest(a.Nonce, root)
}

// EVMValidators returns a valset's members as the contract sees them.
func (a *Attestation) EVMValidators() []blobstream.Validator {
	out := make([]blobstream.Validator, len(a.Validators))
	for i, m := range a.Validators {
		out[i] = blobstream.Validator{Address: m.EVMAddress, Power: m.Power}
	}
	return out
}

// BlobstreamNonces answers LatestNonceQueryPath: the latest nonce made due
// (0 when attestations are off or no validator registered yet) and the
// latest attested one.
type BlobstreamNonces struct {
	Latest         uint64 `json:"latest_nonce"`
	LatestAttested uint64 `json:"latest_attested_nonce"`
}

// EVMAddressInfo answers EVMAddressQueryPath.
type EVMAddressInfo struct {
	ValidatorPubKey []byte             `json:"validator_pub_key"`
	EVMAddress      blobstream.Address `json:"evm_address"`
}
