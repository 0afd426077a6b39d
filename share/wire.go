package share

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Wire formats of proto/blob/v1/blob.proto, encoded and decoded by hand with
// protowire (see the package doc for why). Encoding is byte-identical to the
// Go protobuf runtime's: fields in field-number order, proto3 zero values
// omitted, share indexes packed. Decoding accepts exactly what the Go
// protobuf runtime accepts for these messages (unknown fields skipped, a
// known field with an unexpected wire type treated as unknown, the last
// value of a repeated scalar field winning, type_id checked for UTF-8), so
// that every node classifies the same bytes the same way.

const (
	// BlobTxTypeID is the type_id of every BlobTx.
	BlobTxTypeID = "BLOB"
	// IndexWrapperTypeID is the type_id of every IndexWrapper.
	IndexWrapperTypeID = "INDX"

	// MaxBlobTxSize bounds the encoded size of a BlobTx UnmarshalBlobTx
	// accepts: the bytes of the largest square. A larger one could never
	// be laid out.
	MaxBlobTxSize = MaxShareCount * ShareSize
	// MaxBlobsPerBlobTx bounds the number of blobs in a BlobTx: every blob
	// takes at least one share of the largest square.
	MaxBlobsPerBlobTx = MaxShareCount
)

var (
	// ErrNotBlobTx is returned by UnmarshalBlobTx for bytes that are not a
	// BlobTx at all (not a well-formed message, or type_id is not "BLOB").
	ErrNotBlobTx = errors.New("share: not a blob tx")
	// ErrMalformedBlobTx is wrapped by errors about a BlobTx whose blobs
	// are missing, invalid or too many.
	ErrMalformedBlobTx = errors.New("share: malformed blob tx")
	// ErrNotIndexWrapper is returned by UnmarshalIndexWrapper for bytes
	// that are not an IndexWrapper.
	ErrNotIndexWrapper = errors.New("share: not an index wrapper")
)

// Field numbers of blob.proto.
const (
	blobTxTxField     = 1
	blobTxBlobsField  = 2
	blobTxTypeIDField = 3

	blobNamespaceIDField      = 1
	blobDataField             = 2
	blobShareVersionField     = 3
	blobNamespaceVersionField = 4
	blobSignerField           = 5

	iwTxField           = 1
	iwShareIndexesField = 2
	iwTypeIDField       = 3
)

// BlobTx is a mempool transaction that carries blobs: an encoded SDK
// transaction (holding the MsgPayForBlobs) and the blobs it pays for.
type BlobTx struct {
	Tx    []byte
	Blobs []*Blob
}

// MarshalBlobTx encodes BlobTx{tx, blobs, "BLOB"}. At least one blob is
// required.
func MarshalBlobTx(tx []byte, blobs ...*Blob) ([]byte, error) {
	if len(blobs) == 0 {
		return nil, fmt.Errorf("%w: no blobs", ErrMalformedBlobTx)
	}
	size := sizeBytesField(blobTxTxField, len(tx)) + sizeBytesField(blobTxTypeIDField, len(BlobTxTypeID))
	for i, b := range blobs {
		if b == nil || len(b.data) == 0 {
			return nil, fmt.Errorf("%w: blob %d is empty", ErrMalformedBlobTx, i)
		}
		size += sizeMessageField(blobTxBlobsField, sizeBlobProto(b))
	}
	out := make([]byte, 0, size)
	out = appendBytesField(out, blobTxTxField, tx)
	for _, b := range blobs {
		out = protowire.AppendTag(out, blobTxBlobsField, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(sizeBlobProto(b)))
		out = appendBlobProto(out, b)
	}
	out = appendBytesField(out, blobTxTypeIDField, []byte(BlobTxTypeID))
	return out, nil
}

func sizeBlobProto(b *Blob) int {
	return sizeBytesField(blobNamespaceIDField, NamespaceIDSize) +
		sizeBytesField(blobDataField, len(b.data)) +
		sizeVarintField(blobShareVersionField, uint64(b.shareVersion)) +
		sizeVarintField(blobNamespaceVersionField, uint64(b.ns.Version())) +
		sizeBytesField(blobSignerField, len(b.signer))
}

func appendBlobProto(out []byte, b *Blob) []byte {
	out = appendBytesField(out, blobNamespaceIDField, b.ns[NamespaceVersionSize:])
	out = appendBytesField(out, blobDataField, b.data)
	out = appendVarintField(out, blobShareVersionField, uint64(b.shareVersion))
	out = appendVarintField(out, blobNamespaceVersionField, uint64(b.ns.Version()))
	return appendBytesField(out, blobSignerField, b.signer)
}

// UnmarshalBlobTx decodes a BlobTx. isBlobTx reports whether b is a BlobTx
// at all: a well-formed message whose type_id is "BLOB". When it is false,
// err wraps ErrNotBlobTx and b should be handled as an ordinary transaction.
// When it is true and err is non-nil (wrapping ErrMalformedBlobTx or a blob
// validation error such as ErrInvalidNamespace or ErrBlobTooLarge), b is an
// invalid BlobTx that must be rejected. The result does not alias b.
//
// Blobs are validated as NewBlob does, which is stricter than go-square (it
// also rejects reserved namespaces and oversized blobs, which celestia-app
// rejects in its own blob validation). Inputs larger than MaxBlobTxSize or
// with more than MaxBlobsPerBlobTx blobs are rejected before any blob is
// allocated.
func UnmarshalBlobTx(b []byte) (btx *BlobTx, isBlobTx bool, err error) {
	return unmarshalBlobTx(b, false)
}

// UnmarshalBlobTxAliased is UnmarshalBlobTx without copies: the BlobTx's
// Tx and its blobs' data and signers are sub-slices of b. It is for a
// caller whose b is never modified while the result is in use (a
// consensus engine's transaction bytes, which it hands out and keeps
// unchanged); a large BlobTx then costs no copy of its blobs to decode.
func UnmarshalBlobTxAliased(b []byte) (btx *BlobTx, isBlobTx bool, err error) {
	return unmarshalBlobTx(b, true)
}

// unmarshalBlobTx is UnmarshalBlobTx; with alias, the BlobTx's Tx and its
// blobs' data and signers are sub-slices of b instead of copies, for
// callers that keep b unmodified while they use the result (the Builder's
// Construct and Build, which lay out a block's own transactions).
func unmarshalBlobTx(b []byte, alias bool) (btx *BlobTx, isBlobTx bool, err error) {
	// First pass: check the whole message is well-formed and count the
	// blobs, allocating nothing.
	var count int
	tx, typeID, err := walkBlobTx(b, func([]byte) error { count++; return nil })
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrNotBlobTx, err)
	}
	if string(typeID) != BlobTxTypeID {
		return nil, false, fmt.Errorf("%w: type_id %q", ErrNotBlobTx, typeID)
	}
	switch {
	case len(b) > MaxBlobTxSize:
		return nil, true, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformedBlobTx, len(b), MaxBlobTxSize)
	case count == 0:
		return nil, true, fmt.Errorf("%w: no blobs", ErrMalformedBlobTx)
	case count > MaxBlobsPerBlobTx:
		return nil, true, fmt.Errorf("%w: %d blobs, at most %d", ErrMalformedBlobTx, count, MaxBlobsPerBlobTx)
	}
	btx = &BlobTx{Blobs: make([]*Blob, 0, count)}
	if len(tx) > 0 {
		btx.Tx = tx[:len(tx):len(tx)]
		if !alias {
			btx.Tx = bytes.Clone(tx)
		}
	}
	_, _, err = walkBlobTx(b, func(msg []byte) error {
		blob, err := blobFromProto(msg, alias)
		if err != nil {
			return fmt.Errorf("%w: blob %d: %w", ErrMalformedBlobTx, len(btx.Blobs), err)
		}
		btx.Blobs = append(btx.Blobs, blob)
		return nil
	})
	if err != nil {
		return nil, true, err
	}
	return btx, true, nil
}

// walkBlobTx parses a BlobTx, calling onBlob with the bytes of every
// BlobProto after checking they are well-formed, and returns the last tx and
// type_id values.
func walkBlobTx(b []byte, onBlob func([]byte) error) (tx, typeID []byte, err error) {
	for len(b) > 0 {
		num, typ, n, err := consumeTag(b)
		if err != nil {
			return nil, nil, err
		}
		b = b[n:]
		switch {
		case num == blobTxTxField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, nil, fieldError(num, n)
			}
			tx, b = v, b[n:]
		case num == blobTxBlobsField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, nil, fieldError(num, n)
			}
			if _, err := decodeBlobProto(v); err != nil {
				return nil, nil, err
			}
			if err := onBlob(v); err != nil {
				return nil, nil, err
			}
			b = b[n:]
		case num == blobTxTypeIDField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, nil, fieldError(num, n)
			}
			if !utf8.Valid(v) {
				return nil, nil, errors.New("type_id is not valid UTF-8")
			}
			typeID, b = v, b[n:]
		default:
			n, err := skipField(num, typ, b)
			if err != nil {
				return nil, nil, err
			}
			b = b[n:]
		}
	}
	return tx, typeID, nil
}

// blobProto is a decoded BlobProto before validation; its slices alias the
// input.
type blobProto struct {
	namespaceID, data, signer      []byte
	shareVersion, namespaceVersion uint32
}

// decodeBlobProto parses a BlobProto with the Go protobuf runtime's rules.
func decodeBlobProto(b []byte) (blobProto, error) {
	var p blobProto
	for len(b) > 0 {
		num, typ, n, err := consumeTag(b)
		if err != nil {
			return p, err
		}
		b = b[n:]
		switch {
		case typ == protowire.BytesType && (num == blobNamespaceIDField || num == blobDataField || num == blobSignerField):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return p, fieldError(num, n)
			}
			switch num {
			case blobNamespaceIDField:
				p.namespaceID = v
			case blobDataField:
				p.data = v
			default:
				p.signer = v
			}
			b = b[n:]
		case typ == protowire.VarintType && (num == blobShareVersionField || num == blobNamespaceVersionField):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return p, fieldError(num, n)
			}
			// uint32 fields keep the low 32 bits of the varint.
			if num == blobShareVersionField {
				p.shareVersion = uint32(v)
			} else {
				p.namespaceVersion = uint32(v)
			}
			b = b[n:]
		default:
			n, err := skipField(num, typ, b)
			if err != nil {
				return p, err
			}
			b = b[n:]
		}
	}
	return p, nil
}

// blobFromProto validates a BlobProto (already known to be well-formed) and
// returns the blob, copying its data and signer unless alias is set.
func blobFromProto(msg []byte, alias bool) (*Blob, error) {
	p, err := decodeBlobProto(msg)
	if err != nil {
		return nil, err
	}
	if p.namespaceVersion > uint32(NamespaceVersionMax) {
		return nil, fmt.Errorf("%w: namespace version %d", ErrInvalidNamespace, p.namespaceVersion)
	}
	if p.shareVersion > MaxShareVersion {
		return nil, fmt.Errorf("%w: %d is above %d", ErrUnsupportedShareVersion, p.shareVersion, MaxShareVersion)
	}
	ns, err := NewNamespace(uint8(p.namespaceVersion), p.namespaceID)
	if err != nil {
		return nil, err
	}
	if !alias {
		return NewBlob(ns, p.data, uint8(p.shareVersion), p.signer)
	}
	if err := validateBlob(ns, p.data, uint8(p.shareVersion), p.signer); err != nil {
		return nil, err
	}
	b := &Blob{ns: ns, data: p.data[:len(p.data):len(p.data)], shareVersion: uint8(p.shareVersion)}
	if b.shareVersion == ShareVersionOne {
		b.signer = p.signer[:len(p.signer):len(p.signer)]
	}
	return b, nil
}

// IndexWrapper is the form a BlobTx's transaction takes in the square: the
// SDK transaction and the share index at which each of its blobs starts, in
// the order of the BlobTx's blobs.
type IndexWrapper struct {
	Tx           []byte
	ShareIndexes []uint32
}

// MarshalIndexWrapper encodes IndexWrapper{tx, shareIndexes, "INDX"} with
// the share indexes packed.
func MarshalIndexWrapper(tx []byte, shareIndexes ...uint32) []byte {
	packed := 0
	for _, v := range shareIndexes {
		packed += protowire.SizeVarint(uint64(v))
	}
	out := make([]byte, 0, indexWrapperSize(len(tx), packed, len(shareIndexes) > 0))
	out = appendBytesField(out, iwTxField, tx)
	if len(shareIndexes) > 0 {
		out = protowire.AppendTag(out, iwShareIndexesField, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(packed))
		for _, v := range shareIndexes {
			out = protowire.AppendVarint(out, uint64(v))
		}
	}
	return appendBytesField(out, iwTypeIDField, []byte(IndexWrapperTypeID))
}

// indexWrapperSize returns the encoded size of an IndexWrapper whose tx is
// txLen bytes and whose packed share indexes take packedLen bytes.
func indexWrapperSize(txLen, packedLen int, hasIndexes bool) int {
	size := sizeBytesField(iwTxField, txLen) + sizeBytesField(iwTypeIDField, len(IndexWrapperTypeID))
	if hasIndexes {
		size += sizeMessageField(iwShareIndexesField, packedLen)
	}
	return size
}

// worstCaseIndexWrapperSize is the size of the IndexWrapper of a BlobTx with
// the given tx size and blob count when every share index is MaxShareCount,
// the largest (as a varint, longest) index the builder can write. It is the
// builder's size estimate for a PayForBlob.
func worstCaseIndexWrapperSize(txLen, blobs int) int {
	return indexWrapperSize(txLen, blobs*protowire.SizeVarint(MaxShareCount), blobs > 0)
}

// UnmarshalIndexWrapper decodes an IndexWrapper. It returns an error
// wrapping ErrNotIndexWrapper for bytes that are not a well-formed message
// with type_id "INDX". The result does not alias b.
func UnmarshalIndexWrapper(b []byte) (*IndexWrapper, error) {
	var tx, typeID []byte
	var indexes []uint32
	in := b
	for len(in) > 0 {
		num, typ, n, err := consumeTag(in)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotIndexWrapper, err)
		}
		in = in[n:]
		switch {
		case num == iwTxField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(in)
			if n < 0 {
				return nil, fmt.Errorf("%w: %v", ErrNotIndexWrapper, fieldError(num, n))
			}
			tx, in = v, in[n:]
		case num == iwShareIndexesField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(in)
			if n < 0 {
				return nil, fmt.Errorf("%w: %v", ErrNotIndexWrapper, fieldError(num, n))
			}
			for len(v) > 0 {
				x, m := protowire.ConsumeVarint(v)
				if m < 0 {
					return nil, fmt.Errorf("%w: %v", ErrNotIndexWrapper, fieldError(num, m))
				}
				indexes = append(indexes, uint32(x))
				v = v[m:]
			}
			in = in[n:]
		case num == iwShareIndexesField && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(in)
			if n < 0 {
				return nil, fmt.Errorf("%w: %v", ErrNotIndexWrapper, fieldError(num, n))
			}
			indexes = append(indexes, uint32(x))
			in = in[n:]
		case num == iwTypeIDField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(in)
			if n < 0 {
				return nil, fmt.Errorf("%w: %v", ErrNotIndexWrapper, fieldError(num, n))
			}
			if !utf8.Valid(v) {
				return nil, fmt.Errorf("%w: type_id is not valid UTF-8", ErrNotIndexWrapper)
			}
			typeID, in = v, in[n:]
		default:
			n, err := skipField(num, typ, in)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrNotIndexWrapper, err)
			}
			in = in[n:]
		}
	}
	if string(typeID) != IndexWrapperTypeID {
		return nil, fmt.Errorf("%w: type_id %q", ErrNotIndexWrapper, typeID)
	}
	iw := &IndexWrapper{ShareIndexes: indexes}
	if len(tx) > 0 {
		iw.Tx = append([]byte(nil), tx...)
	}
	return iw, nil
}

// consumeTag parses a field tag as the Go protobuf runtime does: a varint
// whose field number is in [1, 2^29-1]. An end-group tag is an error at
// message level (there is no open group).
func consumeTag(b []byte) (protowire.Number, protowire.Type, int, error) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, 0, fmt.Errorf("bad field tag: %v", protowire.ParseError(n))
	}
	num := v >> 3
	if num < uint64(protowire.MinValidNumber) || num > uint64(protowire.MaxValidNumber) {
		return 0, 0, 0, fmt.Errorf("invalid field number %d", num)
	}
	typ := protowire.Type(v & 7)
	if typ == protowire.EndGroupType {
		return 0, 0, 0, fmt.Errorf("unexpected end group for field %d", num)
	}
	return protowire.Number(num), typ, n, nil
}

// skipField skips the value of an unknown field.
func skipField(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
	n := protowire.ConsumeFieldValue(num, typ, b)
	if n < 0 {
		return 0, fieldError(num, n)
	}
	return n, nil
}

func fieldError(num protowire.Number, code int) error {
	return fmt.Errorf("field %d: %v", num, protowire.ParseError(code))
}

func sizeBytesField(num protowire.Number, n int) int {
	if n == 0 {
		return 0
	}
	return sizeMessageField(num, n)
}

func sizeMessageField(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

func sizeVarintField(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func appendBytesField(out []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return out
	}
	out = protowire.AppendTag(out, num, protowire.BytesType)
	return protowire.AppendBytes(out, v)
}

func appendVarintField(out []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return out
	}
	out = protowire.AppendTag(out, num, protowire.VarintType)
	return protowire.AppendVarint(out, v)
}
