package app

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
)

// ErrInvalidAttestation is wrapped by every error about an attestation
// transaction or a vote extension.
var ErrInvalidAttestation = errors.New("app: invalid attestation")

// attestationTxMagic starts an attestation transaction, as "DMDR" starts
// the data root transaction: no transaction (protobuf) or BlobTx starts so.
var attestationTxMagic = []byte("DMAT")

const attestationTxVersion = 1

// MaxAttestationSigners bounds the signatures of an attestation
// transaction.
const MaxAttestationSigners = 10_000

// AttestationTx is the transaction the proposer generates when the
// signatures it collected from vote extensions reach the signing valset's
// threshold: the pending attestation's nonce and the signatures, aligned
// with the signing valset's members (the zero Signature for one that did not
// sign). It is the block's first transaction and a bare transaction of its
// square, so the square and data root cover it as any other:
//
//	"DMAT" ‖ version 1 ‖ 8-byte nonce ‖ 4-byte count ‖ count × (r ‖ s ‖ v)
//
// (integers big-endian).
type AttestationTx struct {
	Nonce      uint64
	Signatures []blobstream.Signature
}

// IsAttestationTx reports whether b starts with the attestation
// transaction's magic.
func IsAttestationTx(b []byte) bool { return bytes.HasPrefix(b, attestationTxMagic) }

// Marshal encodes a.
func (a AttestationTx) Marshal() []byte {
	out := append(bytes.Clone(attestationTxMagic), attestationTxVersion)
	out = binary.BigEndian.AppendUint64(out, a.Nonce)
	out = binary.BigEndian.AppendUint32(out, uint32(len(a.Signatures)))
	for _, s := range a.Signatures {
		out = append(out, s.Bytes()...)
	}
	return out
}

// UnmarshalAttestationTx decodes what Marshal wrote, exactly.
func UnmarshalAttestationTx(b []byte) (*AttestationTx, error) {
	const head = 4 + 1 + 8 + 4
	if len(b) < head || !IsAttestationTx(b) || b[4] != attestationTxVersion {
		return nil, fmt.Errorf("%w: not an attestation transaction of version %d", ErrInvalidAttestation, attestationTxVersion)
	}
	a := &AttestationTx{Nonce: binary.BigEndian.Uint64(b[5:])}
	n := binary.BigEndian.Uint32(b[13:])
	if n > MaxAttestationSigners || uint64(len(b)-head) != uint64(n)*65 {
		return nil, fmt.Errorf("%w: %d signatures in %d bytes", ErrInvalidAttestation, n, len(b)-head)
	}
	a.Signatures = make([]blobstream.Signature, n)
	for i := range a.Signatures {
		a.Signatures[i], _ = blobstream.SignatureFromBytes(b[head+65*i : head+65*(i+1)])
	}
	return a, nil
}

// checkAttestationTx checks the attestation transaction raw against base:
// its nonce is the pending attestation's and its signatures reach the
// signing valset's threshold over its digest (blobstream.VerifySignatures,
// as the contract checks them).
func checkAttestationTx(base *State, raw []byte) (*AttestationTx, error) {
	a, err := UnmarshalAttestationTx(raw)
	if err != nil {
		return nil, err
	}
	att, signers := base.PendingAttestation()
	if att == nil || signers == nil {
		return nil, fmt.Errorf("%w: nonce %d, but no attestation is pending", ErrInvalidAttestation, a.Nonce)
	}
	if a.Nonce != att.Nonce {
		return nil, fmt.Errorf("%w: nonce %d, the pending attestation is %d", ErrInvalidAttestation, a.Nonce, att.Nonce)
	}
	if err := blobstream.VerifySignatures(signers.EVMValidators(), a.Signatures, att.Digest(), signers.PowerThreshold); err != nil {
		return nil, fmt.Errorf("%w: nonce %d: %w", ErrInvalidAttestation, a.Nonce, err)
	}
	return a, nil
}

// Vote extension: protobuf {1: nonce, 2: signature (65 bytes, r ‖ s ‖ v)}.
const (
	extNonceField = 1
	extSigField   = 2
	maxExtSize    = 128
)

// VoteExtension is a validator's signature of the pending attestation,
// carried in its precommit.
type VoteExtension struct {
	Nonce     uint64
	Signature blobstream.Signature
}

// Marshal encodes e.
func (e VoteExtension) Marshal() []byte {
	out := protowire.AppendTag(nil, extNonceField, protowire.VarintType)
	out = protowire.AppendVarint(out, e.Nonce)
	out = protowire.AppendTag(out, extSigField, protowire.BytesType)
	return protowire.AppendBytes(out, e.Signature.Bytes())
}

// UnmarshalVoteExtension decodes exactly what Marshal writes.
func UnmarshalVoteExtension(b []byte) (VoteExtension, error) {
	var e VoteExtension
	if len(b) > maxExtSize {
		return e, fmt.Errorf("%w: vote extension of %d bytes", ErrInvalidAttestation, len(b))
	}
	orig := b
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != extNonceField || typ != protowire.VarintType {
		return e, fmt.Errorf("%w: vote extension: no nonce", ErrInvalidAttestation)
	}
	b = b[n:]
	if e.Nonce, n = protowire.ConsumeVarint(b); n < 0 {
		return e, fmt.Errorf("%w: vote extension: bad nonce", ErrInvalidAttestation)
	}
	b = b[n:]
	num, typ, n = protowire.ConsumeTag(b)
	if n < 0 || num != extSigField || typ != protowire.BytesType {
		return e, fmt.Errorf("%w: vote extension: no signature", ErrInvalidAttestation)
	}
	b = b[n:]
	sig, n := protowire.ConsumeBytes(b)
	if n < 0 || n != len(b) {
		return e, fmt.Errorf("%w: vote extension: bad signature field", ErrInvalidAttestation)
	}
	s, err := blobstream.SignatureFromBytes(sig)
	if err != nil {
		return e, fmt.Errorf("%w: vote extension: %w", ErrInvalidAttestation, err)
	}
	e.Signature = s
	if !bytes.Equal(e.Marshal(), orig) {
		return e, fmt.Errorf("%w: vote extension: non-canonical encoding", ErrInvalidAttestation)
	}
	return e, nil
}

// checkExtension checks a vote extension of the validator with CometBFT
// address valAddr against st: empty, or a signature of the pending
// attestation by the EVM address that validator has in the signing valset.
// It returns the signature's index in that valset, -1 for an empty
// extension.
func checkExtension(st *State, valAddr, ext []byte) (int, VoteExtension, error) {
	if len(ext) == 0 {
		return -1, VoteExtension{}, nil
	}
	e, err := UnmarshalVoteExtension(ext)
	if err != nil {
		return 0, e, err
	}
	att, signers := st.PendingAttestation()
	if att == nil || signers == nil {
		return 0, e, fmt.Errorf("%w: signature for nonce %d, but none is pending", ErrInvalidAttestation, e.Nonce)
	}
	if e.Nonce != att.Nonce {
		return 0, e, fmt.Errorf("%w: signature for nonce %d, the pending one is %d", ErrInvalidAttestation, e.Nonce, att.Nonce)
	}
	idx := -1
	for i, m := range signers.Validators {
		if bytes.Equal(cmted25519.PubKey(m.PubKey).Address(), valAddr) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return 0, e, fmt.Errorf("%w: validator %X is not in valset %d", ErrInvalidAttestation, valAddr, signers.Nonce)
	}
	signer, err := blobstream.Recover(att.Digest(), e.Signature)
	if err != nil {
		return 0, e, fmt.Errorf("%w: nonce %d: %w", ErrInvalidAttestation, att.Nonce, err)
	}
	if want := signers.Validators[idx].EVMAddress; signer != want {
		return 0, e, fmt.Errorf("%w: nonce %d: signed by %s, validator %X attests as %s", ErrInvalidAttestation, att.Nonce, signer, valAddr, want)
	}
	return idx, e, nil
}

// evmAddressTaken refuses a registration of an address another
// validator has: one key would sign for both in a valset.
func evmAddressTaken(d *Delta, m *tx.MsgRegisterEVMAddress) error {
	for pk, a := range d.evmView() {
		if a == m.EVMAddress && pk != string(m.ValidatorPubKey) {
			return fmt.Errorf("%w: register EVM address: %s is validator %X's", tx.ErrInvalidMsg, a, []byte(pk))
		}
	}
	return nil
}
