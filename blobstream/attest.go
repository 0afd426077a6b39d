package blobstream

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/sha3"
)

// The domain separators of Celestia's Blobstream contract (Constants.sol):
// the strings "checkpoint" and "transactionBatch", each left-aligned in 32
// bytes.
var (
	ValsetDomainSeparator         = domainSeparator("checkpoint")
	DataCommitmentDomainSeparator = domainSeparator("transactionBatch")
)

func domainSeparator(s string) (d [32]byte) {
	copy(d[:], s)
	return d
}

// ErrSignature is wrapped by every error of Recover and VerifySignatures.
var ErrSignature = errors.New("blobstream: invalid attestation signature")

// Address is an EVM address: the last 20 bytes of the Keccak-256 of an
// uncompressed secp256k1 public key (X ‖ Y). Its JSON is 0x-hex.
type Address [20]byte

// String returns the address as 0x and 40 lower-case hex digits.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// MarshalJSON encodes the address as a JSON string, 0x-hex.
func (a Address) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON decodes a 0x-hex (or bare hex) string of 20 bytes.
func (a *Address) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("blobstream: EVM address: %w", err)
	}
	p, err := ParseAddress(s)
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// ParseAddress parses 40 hex digits, with or without 0x, in any case (the
// EIP-55 checksum is not checked).
func ParseAddress(s string) (Address, error) {
	var a Address
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(h) != 2*len(a) {
		return a, fmt.Errorf("blobstream: EVM address %q: want 40 hex digits", s)
	}
	if _, err := hex.Decode(a[:], []byte(h)); err != nil {
		return a, fmt.Errorf("blobstream: EVM address %q: %w", s, err)
	}
	return a, nil
}

// AddressOf returns the EVM address of a secp256k1 public key.
func AddressOf(pub *secp256k1.PublicKey) Address {
	var a Address
	h := keccak256(pub.SerializeUncompressed()[1:])
	copy(a[:], h[12:])
	return a
}

// Validator is a member of an attested validator set: Celestia's Solidity
// struct Validator {address addr; uint256 power}.
type Validator struct {
	Address Address `json:"address"`
	Power   uint64  `json:"power"`
}

// Signature is an Ethereum ECDSA signature, Celestia's Solidity struct
// Signature {uint8 v; bytes32 r; bytes32 s}: V is 27 or 28, S is in the
// lower half of the curve order (as OpenZeppelin's ECDSA.recover requires).
// The zero Signature is the "no signature" entry of a validator that did
// not sign (the contract's isSigNil).
type Signature struct {
	V uint8    `json:"v"`
	R [32]byte `json:"r"`
	S [32]byte `json:"s"`
}

// IsZero reports whether s is the "no signature" entry.
func (s Signature) IsZero() bool { return s == Signature{} }

// Bytes returns r ‖ s ‖ v, the 65-byte form Ethereum tools use.
func (s Signature) Bytes() []byte {
	b := make([]byte, 65)
	copy(b, s.R[:])
	copy(b[32:], s.S[:])
	b[64] = s.V
	return b
}

// SignatureFromBytes parses the 65-byte form r ‖ s ‖ v. It checks the
// length only; Recover checks the rest.
func SignatureFromBytes(b []byte) (Signature, error) {
	var s Signature
	if len(b) != 65 {
		return s, fmt.Errorf("%w: %d bytes, want 65", ErrSignature, len(b))
	}
	copy(s.R[:], b)
	copy(s.S[:], b[32:])
	s.V = b[64]
	return s, nil
}

// MarshalJSON encodes r and s as 0x-hex and v as a number.
func (s Signature) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		V uint8  `json:"v"`
		R string `json:"r"`
		S string `json:"s"`
	}{s.V, "0x" + hex.EncodeToString(s.R[:]), "0x" + hex.EncodeToString(s.S[:])})
}

// UnmarshalJSON decodes MarshalJSON's form.
func (s *Signature) UnmarshalJSON(b []byte) error {
	var j struct {
		V uint8  `json:"v"`
		R string `json:"r"`
		S string `json:"s"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("blobstream: signature: %w", err)
	}
	r, err := parseBytes32(j.R)
	if err != nil {
		return fmt.Errorf("blobstream: signature r: %w", err)
	}
	sv, err := parseBytes32(j.S)
	if err != nil {
		return fmt.Errorf("blobstream: signature s: %w", err)
	}
	*s = Signature{V: j.V, R: r, S: sv}
	return nil
}

func parseBytes32(s string) ([32]byte, error) {
	var out [32]byte
	h := strings.TrimPrefix(s, "0x")
	if len(h) != 64 {
		return out, fmt.Errorf("%q: want 64 hex digits", s)
	}
	_, err := hex.Decode(out[:], []byte(h))
	return out, err
}

// DataCommitmentDigest is the digest validators sign for the tuple root of
// attestation nonce: keccak256(abi.encode(DataCommitmentDomainSeparator,
// uint256 nonce, bytes32 tupleRoot)), the contract's
// domainSeparateDataRootTupleRoot.
func DataCommitmentDigest(nonce uint64, tupleRoot [32]byte) [32]byte {
	return keccak256(DataCommitmentDomainSeparator[:], uint256(nonce), tupleRoot[:])
}

// ValsetHash is keccak256(abi.encode(Validator[] vals)), the contract's
// computeValidatorSetHash: the offset of the array (32), its length, then
// each validator's address (left-padded) and power.
func ValsetHash(vals []Validator) [32]byte {
	parts := [][]byte{uint256(32), uint256(uint64(len(vals)))}
	for _, v := range vals {
		var addr [32]byte
		copy(addr[12:], v.Address[:])
		parts = append(parts, addr[:], uint256(v.Power))
	}
	return keccak256(parts...)
}

// ValsetDigest is the digest of the checkpoint of a validator set with
// attestation nonce: keccak256(abi.encode(ValsetDomainSeparator, uint256
// nonce, uint256 powerThreshold, bytes32 valsetHash)), the contract's
// domainSeparateValidatorSetHash. The contract stores it for the set it
// trusts, and validators of the previous set sign it to hand over.
func ValsetDigest(nonce, powerThreshold uint64, valsetHash [32]byte) [32]byte {
	return keccak256(ValsetDomainSeparator[:], uint256(nonce), uint256(powerThreshold), valsetHash[:])
}

// PowerThreshold is the power a set of validators with total power total
// must gather to attest: at least two thirds, rounded up.
func PowerThreshold(total uint64) uint64 {
	// 2·total/3 rounded up, without overflowing for total near 2^64.
	return total/3*2 + (total%3*2+2)/3
}

// ethSignedMessageHash is EIP-191's "\x19Ethereum Signed Message:\n32" ‖
// digest, hashed: what the contract's ECDSA.toEthSignedMessageHash gives.
func ethSignedMessageHash(digest [32]byte) [32]byte {
	return keccak256([]byte("\x19Ethereum Signed Message:\n32"), digest[:])
}

// Sign signs digest as the contract verifies it: an ECDSA signature of the
// EIP-191 hash of digest, with V 27 or 28 and a low S.
func Sign(key *secp256k1.PrivateKey, digest [32]byte) (Signature, error) {
	h := ethSignedMessageHash(digest)
	c := ecdsa.SignCompact(key, h[:], false)
	if c[0] != 27 && c[0] != 28 {
		// The recovery code says R overflowed the group order: a chance of
		// about 2^-128, and ecrecover cannot express it.
		return Signature{}, fmt.Errorf("%w: recovery code %d cannot be expressed as v", ErrSignature, c[0])
	}
	var s Signature
	s.V = c[0]
	copy(s.R[:], c[1:33])
	copy(s.S[:], c[33:65])
	return s, nil
}

// Recover returns the address that signed digest with sig, as the
// contract's verifySig computes it (ECDSA.recover over the EIP-191 hash):
// it refuses a V other than 27 or 28, an S in the upper half of the curve
// order, and a zero or out-of-range R or S.
func Recover(digest [32]byte, sig Signature) (Address, error) {
	if sig.V != 27 && sig.V != 28 {
		return Address{}, fmt.Errorf("%w: v is %d, want 27 or 28", ErrSignature, sig.V)
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(sig.S[:]); overflow || s.IsOverHalfOrder() {
		return Address{}, fmt.Errorf("%w: s is not in the lower half of the curve order", ErrSignature)
	}
	h := ethSignedMessageHash(digest)
	c := make([]byte, 65)
	c[0] = sig.V
	copy(c[1:], sig.R[:])
	copy(c[33:], sig.S[:])
	pub, _, err := ecdsa.RecoverCompact(c, h[:])
	if err != nil {
		return Address{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return AddressOf(pub), nil
}

// VerifySignatures checks, as the contract's checkValidatorSignatures does,
// that the signatures of vals over digest gather powerThreshold: sigs[i] is
// vals[i]'s signature or the zero Signature; every non-zero one must
// recover to its validator's address (else the whole check fails, as the
// contract reverts), and the powers of the signers, summed in order, must
// reach powerThreshold. Like the contract it stops checking once the
// threshold is reached.
func VerifySignatures(vals []Validator, sigs []Signature, digest [32]byte, powerThreshold uint64) error {
	if len(vals) != len(sigs) {
		return fmt.Errorf("%w: %d signatures for %d validators", ErrSignature, len(sigs), len(vals))
	}
	var power uint64
	for i, v := range vals {
		if sigs[i].IsZero() {
			continue
		}
		signer, err := Recover(digest, sigs[i])
		if err != nil {
			return fmt.Errorf("validator %d (%s): %w", i, v.Address, err)
		}
		if signer != v.Address {
			return fmt.Errorf("%w: validator %d is %s, the signature recovers to %s", ErrSignature, i, v.Address, signer)
		}
		if power += v.Power; power < v.Power {
			return fmt.Errorf("%w: voting power overflows", ErrSignature)
		}
		if power >= powerThreshold {
			break
		}
	}
	if power >= powerThreshold {
		return nil
	}
	return fmt.Errorf("%w: signers hold %d of the %d voting power needed", ErrSignature, power, powerThreshold)
}

func uint256(x uint64) []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b[24:], x)
	return b
}

func keccak256(parts ...[]byte) (out [32]byte) {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	h.Sum(out[:0])
	return out
}
