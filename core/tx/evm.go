package tx

import (
	"crypto/ed25519"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/sha3"

	"github.com/datamesh/mesh-node/blobstream"
)

// Sizes of a MsgRegisterEVMAddress's fields.
const (
	// ConsensusSigSize is the size of an ed25519 signature.
	ConsensusSigSize = ed25519.SignatureSize
	// EVMSigSize is the size of an EVM signature, r ‖ s ‖ v.
	EVMSigSize = 65
)

// evmRegistrationDomain starts both messages a registration signs, so that
// neither can be mistaken for anything else either key signs (CometBFT's
// sign bytes, an attestation digest).
const evmRegistrationDomain = "datamesh/register-evm-address/v1\x00"

// MsgRegisterEVMAddress sets the EVM address (the Ethereum form of a
// secp256k1 "blobstream key") that the validator with the ed25519
// consensus key ValidatorPubKey signs attestations with. It proves both
// keys: ConsensusSig is the validator key's signature of
// ConsensusSignBytes(chain ID, EVMAddress), EVMSig the EVM key's
// (blobstream.Sign) over EVMRegistrationDigest(chain ID, ValidatorPubKey).
// Any account may send it and pay its fee; the chain checks that the key is
// a validator's.
type MsgRegisterEVMAddress struct {
	ValidatorPubKey []byte
	EVMAddress      blobstream.Address
	ConsensusSig    []byte
	EVMSig          []byte
}

func (*MsgRegisterEVMAddress) isMsg() {}

// ConsensusSignBytes are the bytes a validator's consensus key signs to
// register addr on chainID: a domain string, the chain ID, the address.
func ConsensusSignBytes(chainID string, addr blobstream.Address) []byte {
	out := append([]byte(evmRegistrationDomain), chainID...)
	return append(out, addr[:]...)
}

// EVMRegistrationDigest is the digest the EVM key signs (with
// blobstream.Sign) to register for the validator with ed25519 key
// validatorPubKey on chainID: keccak256 of a domain string, the chain ID
// and the key.
func EVMRegistrationDigest(chainID string, validatorPubKey []byte) (d [32]byte) {
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(evmRegistrationDomain))
	h.Write([]byte(chainID))
	h.Write(validatorPubKey)
	h.Sum(d[:0])
	return d
}

// NewMsgRegisterEVMAddress signs a registration of evmKey's address for the
// validator whose consensus key signs with signConsensus (an ed25519
// signer, e.g. a CometBFT validator key's Sign).
func NewMsgRegisterEVMAddress(chainID string, validatorPubKey []byte, signConsensus func([]byte) ([]byte, error), evmKey *secp256k1.PrivateKey) (*MsgRegisterEVMAddress, error) {
	addr := blobstream.AddressOf(evmKey.PubKey())
	csig, err := signConsensus(ConsensusSignBytes(chainID, addr))
	if err != nil {
		return nil, fmt.Errorf("tx: register EVM address: consensus signature: %w", err)
	}
	esig, err := blobstream.Sign(evmKey, EVMRegistrationDigest(chainID, validatorPubKey))
	if err != nil {
		return nil, fmt.Errorf("tx: register EVM address: EVM signature: %w", err)
	}
	return &MsgRegisterEVMAddress{ValidatorPubKey: validatorPubKey, EVMAddress: addr, ConsensusSig: csig, EVMSig: esig.Bytes()}, nil
}

// ValidateBasic implements Msg: the field sizes. Verify checks the
// signatures, which cover the chain ID.
func (m *MsgRegisterEVMAddress) ValidateBasic() error {
	if len(m.ValidatorPubKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: register EVM address: validator key is %d bytes, want %d (ed25519)", ErrInvalidMsg, len(m.ValidatorPubKey), ed25519.PublicKeySize)
	}
	if m.EVMAddress == (blobstream.Address{}) {
		return fmt.Errorf("%w: register EVM address: zero address", ErrInvalidMsg)
	}
	if len(m.ConsensusSig) != ConsensusSigSize {
		return fmt.Errorf("%w: register EVM address: consensus signature is %d bytes, want %d", ErrInvalidSignature, len(m.ConsensusSig), ConsensusSigSize)
	}
	if len(m.EVMSig) != EVMSigSize {
		return fmt.Errorf("%w: register EVM address: EVM signature is %d bytes, want %d", ErrInvalidSignature, len(m.EVMSig), EVMSigSize)
	}
	return nil
}

// Verify checks both signatures for chainID: the consensus key's over
// ConsensusSignBytes and the EVM signature's recovery to EVMAddress. Its
// errors wrap ErrInvalidSignature.
func (m *MsgRegisterEVMAddress) Verify(chainID string) error {
	if err := m.ValidateBasic(); err != nil {
		return err
	}
	if !ed25519.Verify(m.ValidatorPubKey, ConsensusSignBytes(chainID, m.EVMAddress), m.ConsensusSig) {
		return fmt.Errorf("%w: register EVM address: the consensus signature does not verify against %X", ErrInvalidSignature, m.ValidatorPubKey)
	}
	sig, err := blobstream.SignatureFromBytes(m.EVMSig)
	if err != nil {
		return fmt.Errorf("%w: register EVM address: %v", ErrInvalidSignature, err)
	}
	signer, err := blobstream.Recover(EVMRegistrationDigest(chainID, m.ValidatorPubKey), sig)
	if err != nil {
		return fmt.Errorf("%w: register EVM address: %v", ErrInvalidSignature, err)
	}
	if signer != m.EVMAddress {
		return fmt.Errorf("%w: register EVM address: the EVM signature recovers to %s, not %s", ErrInvalidSignature, signer, m.EVMAddress)
	}
	return nil
}
