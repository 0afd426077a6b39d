package eds

import (
	"fmt"

	"github.com/datamesh/mesh-node/nmt"
	"google.golang.org/protobuf/encoding/protowire"
)

// Protobuf field numbers of
//
//	message DataAvailabilityHeader {
//	  repeated bytes row_roots = 1;
//	  repeated bytes column_roots = 2;
//	}
const (
	fieldRowRoots    protowire.Number = 1
	fieldColumnRoots protowire.Number = 2
)

// MaxDAHEncodedSize bounds the protobuf encoding of a valid header: 2×1024
// roots of 90 bytes, each behind a one-byte tag and a one-byte length.
const MaxDAHEncodedSize = 2 * MaxDAHRoots * (1 + 1 + nmt.NodeSize)

// MarshalBinary returns the protobuf encoding of d. It fails if d does not
// pass ValidateBasic, so only decodable headers are encoded.
func (d *DataAvailabilityHeader) MarshalBinary() ([]byte, error) {
	if err := d.ValidateBasic(); err != nil {
		return nil, err
	}
	size := 0
	for _, r := range d.RowRoots {
		size += protowire.SizeTag(fieldRowRoots) + protowire.SizeBytes(len(r))
	}
	for _, c := range d.ColumnRoots {
		size += protowire.SizeTag(fieldColumnRoots) + protowire.SizeBytes(len(c))
	}
	b := make([]byte, 0, size)
	for _, r := range d.RowRoots {
		b = protowire.AppendTag(b, fieldRowRoots, protowire.BytesType)
		b = protowire.AppendBytes(b, r)
	}
	for _, c := range d.ColumnRoots {
		b = protowire.AppendTag(b, fieldColumnRoots, protowire.BytesType)
		b = protowire.AppendBytes(b, c)
	}
	return b, nil
}

// UnmarshalDAH decodes the protobuf encoding of a header and validates it
// (ValidateBasic). It accepts unknown fields, as protobuf does, but rejects
// more than MaxDAHRoots roots per axis and roots that are not nmt.NodeSize
// bytes before allocating for them. The returned header does not alias data.
func UnmarshalDAH(data []byte) (*DataAvailabilityHeader, error) {
	var nRows, nCols int
	// First pass: check the structure and count roots, so the second pass
	// allocates exactly once.
	if err := walkDAH(data, func(field protowire.Number, root []byte) error {
		n := &nRows
		if field == fieldColumnRoots {
			n = &nCols
		}
		if *n == MaxDAHRoots {
			return fmt.Errorf("%w: more than %d %s", ErrInvalidDAH, MaxDAHRoots, fieldName(field))
		}
		if len(root) != nmt.NodeSize {
			return fmt.Errorf("%w: %s entry %d has %d bytes, want %d", ErrInvalidDAH, fieldName(field), *n, len(root), nmt.NodeSize)
		}
		*n++
		return nil
	}); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, (nRows+nCols)*nmt.NodeSize)
	rows := make([][]byte, 0, nRows)
	cols := make([][]byte, 0, nCols)
	_ = walkDAH(data, func(field protowire.Number, root []byte) error {
		buf = append(buf, root...)
		r := buf[len(buf)-nmt.NodeSize : len(buf) : len(buf)]
		if field == fieldRowRoots {
			rows = append(rows, r)
		} else {
			cols = append(cols, r)
		}
		return nil
	})
	d := &DataAvailabilityHeader{RowRoots: rows, ColumnRoots: cols}
	if err := d.ValidateBasic(); err != nil {
		return nil, err
	}
	d.hash = d.computeHash()
	return d, nil
}

func fieldName(f protowire.Number) string {
	if f == fieldRowRoots {
		return "row_roots"
	}
	return "column_roots"
}

// walkDAH calls fn for every row_roots and column_roots entry of data, in
// order, and skips other fields.
func walkDAH(data []byte, fn func(field protowire.Number, root []byte) error) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("%w: tag: %w", ErrInvalidDAH, protowire.ParseError(n))
		}
		data = data[n:]
		if num != fieldRowRoots && num != fieldColumnRoots {
			m := protowire.ConsumeFieldValue(num, typ, data)
			if m < 0 {
				return fmt.Errorf("%w: field %d: %w", ErrInvalidDAH, num, protowire.ParseError(m))
			}
			data = data[m:]
			continue
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("%w: %s has wire type %d, want bytes", ErrInvalidDAH, fieldName(num), typ)
		}
		v, m := protowire.ConsumeBytes(data)
		if m < 0 {
			return fmt.Errorf("%w: %s: %w", ErrInvalidDAH, fieldName(num), protowire.ParseError(m))
		}
		data = data[m:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}
