package nmt

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
)

const (
	// NamespaceSize is the size of a namespace in bytes.
	NamespaceSize = 29
	// DigestSize is the size of the SHA-256 part of a node.
	DigestSize = sha256.Size
	// NodeSize is the size of every node of the tree: minNs || maxNs || digest.
	NodeSize = 2*NamespaceSize + DigestSize

	// LeafPrefix and NodePrefix are the domain separators of leaf and inner
	// hashes (RFC 6962).
	LeafPrefix = 0x00
	NodePrefix = 0x01
)

// MaxNamespace returns the parity namespace, NamespaceSize bytes of 0xFF:
// with the ignore-max rule, a right child whose minimum is MaxNamespace does
// not raise its parent's maximum. The slice is the caller's.
func MaxNamespace() []byte { return bytes.Repeat([]byte{0xFF}, NamespaceSize) }

// isMaxNamespace reports whether ns is MaxNamespace.
func isMaxNamespace(ns []byte) bool {
	for _, b := range ns {
		if b != 0xFF {
			return false
		}
	}
	return len(ns) == NamespaceSize
}

var (
	// ErrShortLeaf is returned for leaf data shorter than a namespace.
	ErrShortLeaf = errors.New("nmt: leaf shorter than a namespace")
	// ErrInvalidNode is returned for a node that is not NodeSize bytes or
	// whose maximum namespace is below its minimum.
	ErrInvalidNode = errors.New("nmt: invalid node")
	// ErrUnorderedSiblings is returned when a right child's minimum
	// namespace is below its left sibling's maximum.
	ErrUnorderedSiblings = errors.New("nmt: unordered siblings")
	// ErrInvalidPushOrder is returned when leaves are not pushed in
	// non-decreasing namespace order.
	ErrInvalidPushOrder = errors.New("nmt: leaves pushed out of namespace order")
)

// EmptyRoot returns the root of a tree with no leaves: zero namespaces and
// SHA256("").
func EmptyRoot() []byte {
	sum := sha256.Sum256(nil)
	out := make([]byte, NodeSize)
	copy(out[2*NamespaceSize:], sum[:])
	return out
}

// Hasher computes leaf and inner-node hashes. It reuses one SHA-256 state, so
// a Hasher must not be used from several goroutines at once. The zero value is
// not usable; call NewHasher.
type Hasher struct {
	h      hash.Hash
	prefix [1]byte // domain separator, kept here so writing it does not allocate
}

// NewHasher returns a Hasher with its own SHA-256 state.
func NewHasher() *Hasher { return &Hasher{h: sha256.New()} }

// HashLeaf appends to dst the leaf hash of data: ns || ns || SHA256(0x00 ||
// data), where ns = data[:NamespaceSize].
func (hs *Hasher) HashLeaf(dst, data []byte) ([]byte, error) {
	if len(data) < NamespaceSize {
		return dst, ErrShortLeaf
	}
	return hs.HashLeafNs(dst, data[:NamespaceSize], data[NamespaceSize:]), nil
}

// HashLeafNs appends to dst the leaf hash of ns || payload without
// concatenating them first. ns must be NamespaceSize bytes.
func (hs *Hasher) HashLeafNs(dst, ns, payload []byte) []byte {
	hs.h.Reset()
	hs.prefix[0] = LeafPrefix
	hs.h.Write(hs.prefix[:])
	hs.h.Write(ns)
	hs.h.Write(payload)
	dst = append(dst, ns...)
	dst = append(dst, ns...)
	return hs.h.Sum(dst)
}

// HashNode appends to dst the inner node over left and right, both NodeSize
// bytes. The minimum namespace is left's minimum; the maximum is right's
// maximum, or left's when right's minimum is MaxNamespace (ignore-max rule).
func (hs *Hasher) HashNode(dst, left, right []byte) ([]byte, error) {
	if err := ValidateNode(left); err != nil {
		return dst, err
	}
	if err := ValidateNode(right); err != nil {
		return dst, err
	}
	if bytes.Compare(right[:NamespaceSize], left[NamespaceSize:2*NamespaceSize]) < 0 {
		return dst, ErrUnorderedSiblings
	}
	return hs.hashNodeUnchecked(dst, left, right), nil
}

// hashNodeUnchecked is HashNode for nodes the caller built itself.
func (hs *Hasher) hashNodeUnchecked(dst, left, right []byte) []byte {
	dst = append(dst, left[:NamespaceSize]...)
	if isMaxNamespace(right[:NamespaceSize]) {
		dst = append(dst, left[NamespaceSize:2*NamespaceSize]...)
	} else {
		dst = append(dst, right[NamespaceSize:2*NamespaceSize]...)
	}
	hs.h.Reset()
	hs.prefix[0] = NodePrefix
	hs.h.Write(hs.prefix[:])
	hs.h.Write(left)
	hs.h.Write(right)
	return hs.h.Sum(dst)
}

// ValidateNode checks a node's size and that its maximum namespace is not
// below its minimum.
func ValidateNode(node []byte) error {
	if len(node) != NodeSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidNode, len(node), NodeSize)
	}
	if bytes.Compare(node[NamespaceSize:2*NamespaceSize], node[:NamespaceSize]) < 0 {
		return fmt.Errorf("%w: max namespace below min", ErrInvalidNode)
	}
	return nil
}

// MinNamespace returns the minimum namespace of a node (aliasing node).
func MinNamespace(node []byte) []byte { return node[:NamespaceSize] }

// MaxNamespaceOf returns the maximum namespace of a node (aliasing node).
func MaxNamespaceOf(node []byte) []byte { return node[NamespaceSize : 2*NamespaceSize] }
