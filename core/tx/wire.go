package tx

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformedTx is wrapped by every transaction decoding error.
var ErrMalformedTx = errors.New("tx: malformed transaction")

// field is one decoded protobuf field: v for length-delimited fields, x for
// varints.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   []byte
	x   uint64
}

// walkFields calls fn for each field of msg. Only varint and
// length-delimited fields exist in our messages; other wire types, field
// number 0 and truncated input are errors.
func walkFields(msg []byte, fn func(f field) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("%w: bad tag: %v", ErrMalformedTx, protowire.ParseError(n))
		}
		msg = msg[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.x, n = protowire.ConsumeVarint(msg)
		case protowire.BytesType:
			f.v, n = protowire.ConsumeBytes(msg)
		default:
			return fmt.Errorf("%w: field %d has unsupported wire type %d", ErrMalformedTx, num, typ)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrMalformedTx, num, protowire.ParseError(n))
		}
		msg = msg[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// want checks a field's wire type.
func (f field) want(typ protowire.Type) error {
	if f.typ != typ {
		return fmt.Errorf("%w: field %d has wire type %d, want %d", ErrMalformedTx, f.num, f.typ, typ)
	}
	return nil
}

func unknownField(msgName string, f field) error {
	return fmt.Errorf("%w: %s: unknown field %d", ErrMalformedTx, msgName, f.num)
}

func appendBytes(out []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return out
	}
	out = protowire.AppendTag(out, num, protowire.BytesType)
	return protowire.AppendBytes(out, v)
}

// appendMessage always writes the field, even for an empty message (proto3
// semantics of a set sub-message).
func appendMessage(out []byte, num protowire.Number, v []byte) []byte {
	out = protowire.AppendTag(out, num, protowire.BytesType)
	return protowire.AppendBytes(out, v)
}

func appendVarint(out []byte, num protowire.Number, x uint64) []byte {
	if x == 0 {
		return out
	}
	out = protowire.AppendTag(out, num, protowire.VarintType)
	return protowire.AppendVarint(out, x)
}

func appendPacked(out []byte, num protowire.Number, xs []uint32) []byte {
	if len(xs) == 0 {
		return out
	}
	var packed []byte
	for _, x := range xs {
		packed = protowire.AppendVarint(packed, uint64(x))
	}
	return appendMessage(out, num, packed)
}

// consumePacked decodes a packed repeated uint32 field.
func consumePacked(f field, dst []uint32) ([]uint32, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	b := f.v
	for len(b) > 0 {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: field %d: %v", ErrMalformedTx, f.num, protowire.ParseError(n))
		}
		if x > 1<<32-1 {
			return nil, fmt.Errorf("%w: field %d: value %d overflows uint32", ErrMalformedTx, f.num, x)
		}
		dst = append(dst, uint32(x))
		b = b[n:]
	}
	return dst, nil
}
