package eds

import (
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
	"google.golang.org/protobuf/encoding/protowire"
)

// Helpers for the protobuf messages of samples, namespace data and
// bad-encoding proofs (spec sections 8 and 9), written with protowire like
// the header's encoding (dah_proto.go).
//
// The decoders treat their input as untrusted. They accept what a protobuf
// encoder produces (fields in any order, unknown fields skipped) within
// fixed size limits, and are stricter than protobuf in one way: a singular
// field given twice is an error, where protobuf would keep the last scalar
// or merge the messages.

// maxProofEncodedSize bounds the encoding of a proof UnmarshalProof accepts
// without unknown fields: start and end (a tag and a varint of at most 5
// bytes below nmt.MaxProofIndex = 2^30 each), nmt.MaxProofNodes nodes and a
// leaf hash (a tag, a one-byte length and nmt.NodeSize bytes each) and the
// flag (a tag and one byte).
const maxProofEncodedSize = 2*(1+5) + (nmt.MaxProofNodes+1)*(1+1+nmt.NodeSize) + 2

// shareMsgSize is the size of the message Share{bytes data = 1} holding one
// share: a tag, a two-byte length, the share.
const shareMsgSize = 1 + 2 + share.ShareSize

// field is one field of a protobuf message.
type field struct {
	num    protowire.Number
	typ    protowire.Type
	bytes  []byte // the value of a BytesType field, aliasing the input
	varint uint64 // the value of a VarintType field
}

// errDuplicate is returned (wrapped) for a singular field given twice.
var errDuplicate = errors.New("field repeated")

// walkMessage calls fn for every field of the message b, in order. Fields of
// other wire types than bytes and varint are skipped after checking that
// they parse, so fn sees only those two types.
func walkMessage(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			f.varint, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType && typ != protowire.VarintType {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// want checks that a known field has the expected wire type.
func (f field) want(typ protowire.Type) error {
	if f.typ != typ {
		return fmt.Errorf("field %d has wire type %d, want %d", f.num, f.typ, typ)
	}
	return nil
}

// once records that a singular field was seen, and fails the second time.
func once(seen *bool, num protowire.Number) error {
	if *seen {
		return fmt.Errorf("%w: %d", errDuplicate, num)
	}
	*seen = true
	return nil
}

// singleBytes returns the value of a singular bytes field, failing on a
// wrong wire type or a second occurrence (recorded in seen).
func (f field) singleBytes(seen *bool) ([]byte, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	if err := once(seen, f.num); err != nil {
		return nil, err
	}
	return f.bytes, nil
}

// singleProof decodes a singular field holding an nmt proof into dst,
// failing on a wrong wire type or a second occurrence (recorded in seen).
func (f field) singleProof(seen *bool, dst *nmt.Proof) error {
	b, err := f.singleBytes(seen)
	if err != nil {
		return err
	}
	p, err := nmt.UnmarshalProof(b)
	if err != nil {
		return err
	}
	*dst = p
	return nil
}

// singleAxis decodes a singular axis enum field into dst, failing on a
// second occurrence (recorded in seen) or a value that is no axis.
func (f field) singleAxis(seen *bool, dst *Axis) error {
	if err := once(seen, f.num); err != nil {
		return err
	}
	a, err := decodeAxis(f)
	if err != nil {
		return err
	}
	*dst = a
	return nil
}

// appendShareMsg appends field num holding Share{bytes data = 1; } with s.
func appendShareMsg(b []byte, num protowire.Number, s []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(1)+protowire.SizeBytes(len(s))))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	return protowire.AppendBytes(b, s)
}

// decodeShareMsg decodes Share{bytes data = 1; }, whose data must be one
// share of share.ShareSize bytes. The share aliases b.
func decodeShareMsg(b []byte) ([]byte, error) {
	var data []byte
	var seen bool
	err := walkMessage(b, func(f field) error {
		if f.num != 1 {
			return nil
		}
		var err error
		data, err = f.singleBytes(&seen)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("share: %w", err)
	}
	if len(data) != share.ShareSize {
		return nil, fmt.Errorf("%w: share has %d bytes, want %d", ErrInvalidShareSize, len(data), share.ShareSize)
	}
	return data, nil
}

// appendProof appends field num holding the encoding of p.
func appendProof(b []byte, num protowire.Number, p nmt.Proof) ([]byte, error) {
	enc, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, enc), nil
}

// appendAxis appends an enum field holding a, omitted for Row (0), as
// proto3 omits default values.
func appendAxis(b []byte, num protowire.Number, a Axis) []byte {
	if a == Row {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a))
}

// decodeAxis decodes an enum field holding an axis: 0 (ROW) or 1 (COL).
func decodeAxis(f field) (Axis, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	if f.varint > uint64(Col) {
		return 0, fmt.Errorf("field %d: axis %d is neither ROW (0) nor COL (1)", f.num, f.varint)
	}
	return Axis(f.varint), nil
}

// checkAxis returns an error for an Axis value other than Row and Col.
func checkAxis(a Axis) error {
	if a != Row && a != Col {
		return fmt.Errorf("%w: %s", ErrOutOfRange, a)
	}
	return nil
}
