package blob

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/datamesh/mesh-node/kzg"
)

// The byte types of the KZG answers. As the rest of the API, commitments,
// proofs and cells are base64 in JSON; z, y, versioned hashes and the
// precompile input are 0x-prefixed hex, as Ethereum tools expect. Decoding
// requires the exact length.

// Hex32 is 32 bytes written in JSON as 0x followed by 64 hex digits: a
// field element (z, y) or an EIP-4844 versioned hash.
type Hex32 [32]byte

// MarshalJSON writes h as a 0x-prefixed hex string.
func (h Hex32) MarshalJSON() ([]byte, error) { return marshalHex(h[:]) }

// UnmarshalJSON reads a 0x-prefixed hex string of exactly 32 bytes
// (either case).
func (h *Hex32) UnmarshalJSON(data []byte) error { return unmarshalHex(data, h[:], "Hex32") }

// String returns h as 0x-prefixed hex.
func (h Hex32) String() string { return "0x" + hex.EncodeToString(h[:]) }

// PrecompileInputSize is the size of the input of the EIP-4844
// point-evaluation precompile: versioned hash, z, y, commitment, proof.
const PrecompileInputSize = 32 + 32 + 32 + 48 + 48

// PrecompileInput is the input of the EIP-4844 point-evaluation precompile
// (address 0x0A): versioned_hash ‖ z ‖ y ‖ commitment ‖ proof. JSON writes
// it as 0x followed by 384 hex digits.
type PrecompileInput [PrecompileInputSize]byte

// MarshalJSON writes p as a 0x-prefixed hex string.
func (p PrecompileInput) MarshalJSON() ([]byte, error) { return marshalHex(p[:]) }

// UnmarshalJSON reads a 0x-prefixed hex string of exactly 192 bytes.
func (p *PrecompileInput) UnmarshalJSON(data []byte) error {
	return unmarshalHex(data, p[:], "PrecompileInput")
}

// KZGPoint is a compressed BLS12-381 G1 point, a KZG commitment or proof
// (kzg.Commitment, kzg.Proof), 48 bytes; base64 in JSON.
type KZGPoint [48]byte

// MarshalJSON writes k as a base64 string.
func (k KZGPoint) MarshalJSON() ([]byte, error) { return json.Marshal(k[:]) }

// UnmarshalJSON reads a base64 string of exactly 48 bytes.
func (k *KZGPoint) UnmarshalJSON(data []byte) error { return unmarshalBase64(data, k[:], "KZGPoint") }

// CellData is an EIP-7594 cell of a chunk's extension (a kzg.Cell,
// kzg.CellSize bytes); base64 in JSON.
type CellData [kzg.CellSize]byte

// MarshalJSON writes c as a base64 string.
func (c CellData) MarshalJSON() ([]byte, error) { return json.Marshal(c[:]) }

// UnmarshalJSON reads a base64 string of exactly kzg.CellSize bytes.
func (c *CellData) UnmarshalJSON(data []byte) error { return unmarshalBase64(data, c[:], "CellData") }

func marshalHex(b []byte) ([]byte, error) {
	out := make([]byte, 0, 4+2*len(b))
	out = append(out, `"0x`...)
	out = hex.AppendEncode(out, b)
	return append(out, '"'), nil
}

// unmarshalHex reads the JSON string data, 0x and exactly 2·len(dst) hex
// digits, into dst.
func unmarshalHex(data, dst []byte, name string) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("blob: %s: want a 0x-prefixed hex string: %w", name, err)
	}
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return fmt.Errorf("blob: %s: %q does not start with 0x", name, truncate(s))
	}
	s = s[2:]
	if len(s) != 2*len(dst) {
		return fmt.Errorf("blob: %s: %d hex digits, want %d", name, len(s), 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("blob: %s: %w", name, err)
	}
	return nil
}

// unmarshalBase64 reads the JSON string data, standard base64 of exactly
// len(dst) bytes, into dst.
func unmarshalBase64(data, dst []byte, name string) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("blob: %s: want a base64 string: %w", name, err)
	}
	if base64.StdEncoding.DecodedLen(len(s)) > len(dst)+2 {
		return fmt.Errorf("blob: %s: %d base64 characters, want %d bytes", name, len(s), len(dst))
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("blob: %s: %w", name, err)
	}
	if len(b) != len(dst) {
		return fmt.Errorf("blob: %s: %d bytes, want %d", name, len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
