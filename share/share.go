package share

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var (
	// ErrShareSize is returned for a share that is not ShareSize bytes.
	ErrShareSize = errors.New("share: wrong share size")
	// ErrMalformedShare is wrapped by errors about a share's content, such
	// as asking a continuation share for its sequence length.
	ErrMalformedShare = errors.New("share: malformed share")
	// ErrUnsupportedShareVersion is returned for a share version above
	// MaxShareVersion, or one that a blob cannot use (only 0 and 1 can).
	ErrUnsupportedShareVersion = errors.New("share: unsupported share version")
)

// InfoByte is the byte after a share's namespace: the share version in its
// upper seven bits and the sequence-start flag in its lowest bit. Every byte
// value is a well-formed InfoByte.
type InfoByte byte

// NewInfoByte returns (version << 1) | sequenceStart. The version must be at
// most MaxShareVersion.
func NewInfoByte(version uint8, sequenceStart bool) (InfoByte, error) {
	if version > MaxShareVersion {
		return 0, fmt.Errorf("%w: %d is above %d", ErrUnsupportedShareVersion, version, MaxShareVersion)
	}
	b := version << 1
	if sequenceStart {
		b |= 1
	}
	return InfoByte(b), nil
}

// Version returns the share version.
func (i InfoByte) Version() uint8 { return uint8(i) >> 1 }

// IsSequenceStart reports whether the share is the first of its sequence.
func (i InfoByte) IsSequenceStart() bool { return i&1 == 1 }

// Share is one 512-byte share of an original data square (spec section 2):
// namespace(29) || info byte || ... The accessors read the bytes in place; a
// Share made by converting a slice of the wrong length makes every accessor
// return ErrShareSize, never panic. A Share aliases the bytes it was made
// from.
type Share []byte

// NewShare checks that b is ShareSize bytes and returns it as a Share,
// aliasing b.
func NewShare(b []byte) (Share, error) {
	if len(b) != ShareSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrShareSize, len(b), ShareSize)
	}
	return Share(b), nil
}

func (s Share) checkSize() error {
	if len(s) != ShareSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrShareSize, len(s), ShareSize)
	}
	return nil
}

// Namespace returns the share's namespace after checking that it is a valid
// namespace (version 0 or 255, version-0 zero prefix). Parity shares have no
// namespace; the raw first 29 bytes of any share are s[:NamespaceSize].
func (s Share) Namespace() (Namespace, error) {
	if err := s.checkSize(); err != nil {
		return Namespace{}, err
	}
	return NamespaceFromBytes(s[:NamespaceSize])
}

// rawNamespace returns the first 29 bytes as a Namespace without
// validation. The size must have been checked.
func (s Share) rawNamespace() Namespace {
	var ns Namespace
	copy(ns[:], s[:NamespaceSize])
	return ns
}

// InfoByte returns the share's info byte.
func (s Share) InfoByte() (InfoByte, error) {
	if err := s.checkSize(); err != nil {
		return 0, err
	}
	return InfoByte(s[NamespaceSize]), nil
}

// Version returns the share version from the info byte.
func (s Share) Version() (uint8, error) {
	ib, err := s.InfoByte()
	return ib.Version(), err
}

// IsSequenceStart reports whether the share starts a sequence.
func (s Share) IsSequenceStart() (bool, error) {
	ib, err := s.InfoByte()
	return ib.IsSequenceStart(), err
}

// IsCompact reports whether the share is in a compact namespace
// (transactions or PayForBlobs).
func (s Share) IsCompact() (bool, error) {
	if err := s.checkSize(); err != nil {
		return false, err
	}
	return s.rawNamespace().IsCompact(), nil
}

// SequenceLen returns the sequence length of a first share: the blob size
// for a sparse sequence, the total size of the length-delimited units for a
// compact one, 0 for padding. A continuation share has none.
func (s Share) SequenceLen() (uint32, error) {
	start, err := s.IsSequenceStart()
	if err != nil {
		return 0, err
	}
	if !start {
		return 0, fmt.Errorf("%w: continuation share has no sequence length", ErrMalformedShare)
	}
	return binary.BigEndian.Uint32(s[NamespaceSize+ShareInfoBytes:]), nil
}

// HasSigner reports whether the share holds a signer: the first share of a
// share version 1 sparse sequence that is not padding.
func (s Share) HasSigner() (bool, error) {
	if err := s.checkSize(); err != nil {
		return false, err
	}
	ib := InfoByte(s[NamespaceSize])
	if !ib.IsSequenceStart() || ib.Version() != ShareVersionOne || s.rawNamespace().IsCompact() {
		return false, nil
	}
	return binary.BigEndian.Uint32(s[NamespaceSize+ShareInfoBytes:]) != 0, nil
}

// Signer returns the 20-byte signer of the first share of a share version 1
// blob, aliasing the share.
func (s Share) Signer() ([]byte, error) {
	ok, err := s.HasSigner()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: only the first share of a version 1 blob has a signer", ErrMalformedShare)
	}
	return s[sparseFirstHeaderSize : sparseFirstHeaderSize+SignerSize], nil
}

// ReservedBytes returns the reserved-bytes field of a compact share: the
// offset from the start of the share of the first unit that starts in it, or
// 0 if none does. It must be below ShareSize.
func (s Share) ReservedBytes() (uint32, error) {
	compact, err := s.IsCompact()
	if err != nil {
		return 0, err
	}
	if !compact {
		return 0, fmt.Errorf("%w: sparse share has no reserved bytes", ErrMalformedShare)
	}
	off := s.headerSize() - ShareReservedBytes
	rb := binary.BigEndian.Uint32(s[off:])
	if rb >= ShareSize {
		return 0, fmt.Errorf("%w: reserved bytes %d not below share size", ErrMalformedShare, rb)
	}
	return rb, nil
}

// headerSize returns the offset of the payload. The size must have been
// checked.
func (s Share) headerSize() int {
	ib := InfoByte(s[NamespaceSize])
	switch {
	case s.rawNamespace().IsCompact() && ib.IsSequenceStart():
		return compactFirstHeaderSize
	case s.rawNamespace().IsCompact():
		return compactContinuationHeaderSize
	case !ib.IsSequenceStart():
		return sparseContinuationHeaderSize
	case ib.Version() == ShareVersionOne && binary.BigEndian.Uint32(s[NamespaceSize+ShareInfoBytes:]) != 0:
		return sparseFirstHeaderSize + SignerSize
	default:
		return sparseFirstHeaderSize
	}
}

// RawData returns the share's payload, aliasing the share: everything after
// the namespace, info byte, sequence length, reserved bytes and signer that
// the share has. Trailing zero padding is included.
func (s Share) RawData() ([]byte, error) {
	if err := s.checkSize(); err != nil {
		return nil, err
	}
	return s[s.headerSize():], nil
}

// IsPadding reports whether the share is padding: a sequence start with
// sequence length 0 (namespace padding), or a share in the tail padding or
// primary reserved padding namespace.
func (s Share) IsPadding() (bool, error) {
	if err := s.checkSize(); err != nil {
		return false, err
	}
	ns := s.rawNamespace()
	if ns.IsTailPadding() || ns.IsPrimaryReservedPadding() {
		return true, nil
	}
	return InfoByte(s[NamespaceSize]).IsSequenceStart() && binary.BigEndian.Uint32(s[NamespaceSize+ShareInfoBytes:]) == 0, nil
}
