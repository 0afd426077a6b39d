package share

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

const (
	// NamespaceSize is the size of a namespace: a version byte and a 28-byte ID.
	NamespaceSize = 29
	// NamespaceVersionSize is the size of the namespace version.
	NamespaceVersionSize = 1
	// NamespaceIDSize is the size of the namespace ID.
	NamespaceIDSize = NamespaceSize - NamespaceVersionSize
	// NamespaceVersionZero is the version of user namespaces.
	NamespaceVersionZero = uint8(0)
	// NamespaceVersionMax is the version of the secondary reserved namespaces.
	NamespaceVersionMax = uint8(255)
	// NamespaceVersionZeroPrefixSize is the number of leading zero bytes of a
	// version-0 namespace ID.
	NamespaceVersionZeroPrefixSize = 18
	// NamespaceVersionZeroIDSize is the number of user bytes of a version-0
	// namespace ID.
	NamespaceVersionZeroIDSize = NamespaceIDSize - NamespaceVersionZeroPrefixSize
)

// ErrInvalidNamespace is wrapped by every namespace validation error.
var ErrInvalidNamespace = errors.New("share: invalid namespace")

// Namespace is a 29-byte namespace: version || id. Namespaces are ordered by
// their bytes. The zero value is the version-0 namespace with an all-zero ID,
// which is reserved.
type Namespace [NamespaceSize]byte

// Reserved namespaces (spec section 1).
var (
	TxNamespace                      = primaryReserved(0x01)
	IntermediateStateRootsNamespace  = primaryReserved(0x02)
	PayForBlobNamespace              = primaryReserved(0x04)
	PrimaryReservedPaddingNamespace  = primaryReserved(0xFF)
	MaxPrimaryReservedNamespace      = primaryReserved(0xFF)
	MinSecondaryReservedNamespace    = secondaryReserved(0x00)
	TailPaddingNamespace             = secondaryReserved(0xFE)
	ParitySharesNamespace            = secondaryReserved(0xFF)
	supportedNamespaceVersions       = []uint8{NamespaceVersionZero, NamespaceVersionMax}
	namespaceVersionZeroPrefixZeroes = make([]byte, NamespaceVersionZeroPrefixSize)
)

func primaryReserved(last byte) Namespace {
	var ns Namespace
	ns[NamespaceSize-1] = last
	return ns
}

func secondaryReserved(last byte) Namespace {
	var ns Namespace
	for i := range ns {
		ns[i] = 0xFF
	}
	ns[NamespaceSize-1] = last
	return ns
}

// NewV0Namespace returns the version-0 namespace whose ID is id left-padded
// with zeros. id holds at most 10 bytes.
func NewV0Namespace(id []byte) (Namespace, error) {
	if len(id) > NamespaceVersionZeroIDSize {
		return Namespace{}, fmt.Errorf("%w: version 0 id is %d bytes, at most %d allowed",
			ErrInvalidNamespace, len(id), NamespaceVersionZeroIDSize)
	}
	var ns Namespace
	copy(ns[NamespaceSize-len(id):], id)
	return ns, nil
}

// NewNamespace returns the namespace with the given version and 28-byte ID,
// checking that the version is supported and, for version 0, that the ID
// starts with 18 zero bytes.
func NewNamespace(version uint8, id []byte) (Namespace, error) {
	if len(id) != NamespaceIDSize {
		return Namespace{}, fmt.Errorf("%w: id is %d bytes, want %d", ErrInvalidNamespace, len(id), NamespaceIDSize)
	}
	var ns Namespace
	ns[0] = version
	copy(ns[1:], id)
	return ns, ns.Validate()
}

// NamespaceFromBytes parses and validates a 29-byte namespace.
func NamespaceFromBytes(b []byte) (Namespace, error) {
	if len(b) != NamespaceSize {
		return Namespace{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidNamespace, len(b), NamespaceSize)
	}
	var ns Namespace
	copy(ns[:], b)
	return ns, ns.Validate()
}

// Version returns the namespace version.
func (n Namespace) Version() uint8 { return n[0] }

// ID returns a copy of the 28-byte namespace ID.
func (n Namespace) ID() []byte { return append([]byte(nil), n[1:]...) }

// Bytes returns a copy of the 29 namespace bytes.
func (n Namespace) Bytes() []byte { return append([]byte(nil), n[:]...) }

// String returns the namespace in hex.
func (n Namespace) String() string { return hex.EncodeToString(n[:]) }

// Compare orders namespaces by their bytes.
func (n Namespace) Compare(o Namespace) int { return bytes.Compare(n[:], o[:]) }

// Validate checks that the version is supported and that a version-0 ID has
// its 18-byte zero prefix.
func (n Namespace) Validate() error {
	supported := false
	for _, v := range supportedNamespaceVersions {
		if n.Version() == v {
			supported = true
		}
	}
	if !supported {
		return fmt.Errorf("%w: unsupported version %d", ErrInvalidNamespace, n.Version())
	}
	if n.Version() == NamespaceVersionZero && !bytes.Equal(n[1:1+NamespaceVersionZeroPrefixSize], namespaceVersionZeroPrefixZeroes) {
		return fmt.Errorf("%w: version 0 id must start with %d zero bytes", ErrInvalidNamespace, NamespaceVersionZeroPrefixSize)
	}
	return nil
}

// IsReserved reports whether n is in the primary (≤ MaxPrimaryReserved) or
// secondary (≥ MinSecondaryReserved) reserved range.
func (n Namespace) IsReserved() bool {
	return n.Compare(MaxPrimaryReservedNamespace) <= 0 || n.Compare(MinSecondaryReservedNamespace) >= 0
}

// IsPrimaryReserved reports whether n ≤ MaxPrimaryReservedNamespace.
func (n Namespace) IsPrimaryReserved() bool { return n.Compare(MaxPrimaryReservedNamespace) <= 0 }

// IsParity reports whether n is the parity namespace.
func (n Namespace) IsParity() bool { return n == ParitySharesNamespace }

// IsTailPadding reports whether n is the tail padding namespace.
func (n Namespace) IsTailPadding() bool { return n == TailPaddingNamespace }

// IsPrimaryReservedPadding reports whether n is the primary reserved padding
// namespace.
func (n Namespace) IsPrimaryReservedPadding() bool { return n == PrimaryReservedPaddingNamespace }

// IsCompact reports whether shares of n are compact shares (transactions and
// PayForBlobs) rather than sparse shares.
func (n Namespace) IsCompact() bool { return n == TxNamespace || n == PayForBlobNamespace }

// ValidateForBlob checks that a blob may be posted under n: a valid version-0
// namespace outside the reserved ranges.
func (n Namespace) ValidateForBlob() error {
	if err := n.Validate(); err != nil {
		return err
	}
	if n.Version() != NamespaceVersionZero {
		return fmt.Errorf("%w: blob namespace version must be 0, got %d", ErrInvalidNamespace, n.Version())
	}
	if n.IsReserved() {
		return fmt.Errorf("%w: %s is reserved", ErrInvalidNamespace, n)
	}
	return nil
}

// MarshalJSON encodes n as the base64 of its 29 bytes, as celestia-node's
// API does.
func (n Namespace) MarshalJSON() ([]byte, error) { return json.Marshal(n[:]) }

// UnmarshalJSON decodes the base64 of 29 bytes and validates the result
// (Validate); it does not check that n may hold blobs.
func (n *Namespace) UnmarshalJSON(b []byte) error {
	var raw []byte
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNamespace, err)
	}
	v, err := NamespaceFromBytes(raw)
	if err != nil {
		return err
	}
	*n = v
	return nil
}
