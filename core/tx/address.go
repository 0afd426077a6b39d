package tx

import (
	"fmt"

	"github.com/cometbft/cometbft/crypto/secp256k1"
)

// AddressPrefix is the bech32 human-readable part of account addresses.
const AddressPrefix = "mesh"

// AddressSize is the length of an account address in bytes.
const AddressSize = 20

// PubKeySize is the length of an account public key: a compressed
// secp256k1 point.
const PubKeySize = secp256k1.PubKeySize

// Address identifies an account: RIPEMD-160(SHA-256(compressed secp256k1
// public key)), as CometBFT's secp256k1 PubKey.Address computes it. Its text
// form is bech32 with prefix "mesh".
type Address [AddressSize]byte

// AddressFromPubKey returns the address of a 33-byte compressed secp256k1
// public key.
func AddressFromPubKey(pub []byte) (Address, error) {
	if len(pub) != PubKeySize {
		return Address{}, fmt.Errorf("tx: public key is %d bytes, want %d", len(pub), PubKeySize)
	}
	var a Address
	copy(a[:], secp256k1.PubKey(pub).Address())
	return a, nil
}

// AddressFromBytes copies a 20-byte address.
func AddressFromBytes(b []byte) (Address, error) {
	var a Address
	if len(b) != AddressSize {
		return a, fmt.Errorf("tx: address is %d bytes, want %d", len(b), AddressSize)
	}
	copy(a[:], b)
	return a, nil
}

// ParseAddress decodes a bech32 address with prefix "mesh".
func ParseAddress(s string) (Address, error) {
	hrp, data, err := DecodeBech32(s)
	if err != nil {
		return Address{}, fmt.Errorf("tx: address %q: %w", s, err)
	}
	if hrp != AddressPrefix {
		return Address{}, fmt.Errorf("tx: address %q: prefix %q, want %q", s, hrp, AddressPrefix)
	}
	return AddressFromBytes(data)
}

// String returns the bech32 form, "mesh1...".
func (a Address) String() string {
	s, err := EncodeBech32(AddressPrefix, a[:])
	if err != nil { // cannot happen: 20 bytes always fit
		return fmt.Sprintf("mesh-invalid-%x", a[:])
	}
	return s
}

// MarshalText implements encoding.TextMarshaler with the bech32 form.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the bech32 form.
func (a *Address) UnmarshalText(b []byte) error {
	p, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}
