package eds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/datamesh/mesh-node/share"
)

// The binary IDs of shwap (spec section 8), which the shrex protocols send
// as requests: big-endian fixed-size fields, each ID the previous one
// followed by more. A block height of 0 is invalid, as in celestia-node.

// ErrInvalidID is wrapped by every ID decoding and validation error.
var ErrInvalidID = errors.New("eds: invalid shwap id")

// Encoded sizes of the IDs.
const (
	EdsIDSize              = 8                               // height u64
	RowIDSize              = EdsIDSize + 2                   // + row u16
	SampleIDSize           = RowIDSize + 2                   // + column u16
	RowNamespaceDataIDSize = RowIDSize + share.NamespaceSize // + namespace
)

// EdsID names the extended data square of a block.
type EdsID struct {
	Height uint64
}

// Validate checks that the height is not 0.
func (id EdsID) Validate() error {
	if id.Height == 0 {
		return fmt.Errorf("%w: height 0", ErrInvalidID)
	}
	return nil
}

// MarshalBinary returns the EdsIDSize-byte encoding of id.
func (id EdsID) MarshalBinary() ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	return binary.BigEndian.AppendUint64(make([]byte, 0, EdsIDSize), id.Height), nil
}

// UnmarshalEdsID decodes and validates an EdsID of exactly EdsIDSize bytes.
func UnmarshalEdsID(data []byte) (EdsID, error) {
	if err := checkIDSize("EdsID", data, EdsIDSize); err != nil {
		return EdsID{}, err
	}
	id := EdsID{Height: binary.BigEndian.Uint64(data)}
	if err := id.Validate(); err != nil {
		return EdsID{}, err
	}
	return id, nil
}

// RowID names a row of the square of a block.
type RowID struct {
	Height uint64
	Row    int
}

// EdsID returns the ID of the square the row belongs to.
func (id RowID) EdsID() EdsID { return EdsID{Height: id.Height} }

// Validate checks the height and that Row is a row of a square of the given
// width (Width() of the square, 2k).
func (id RowID) Validate(width int) error {
	if err := id.EdsID().Validate(); err != nil {
		return err
	}
	return checkIDIndex("row", id.Row, width)
}

// MarshalBinary returns the RowIDSize-byte encoding of id. It fails for a
// height of 0 or a row outside [0, 65535].
func (id RowID) MarshalBinary() ([]byte, error) {
	if err := id.EdsID().Validate(); err != nil {
		return nil, err
	}
	return appendIDIndex(binary.BigEndian.AppendUint64(make([]byte, 0, RowIDSize), id.Height), "row", id.Row)
}

// UnmarshalRowID decodes a RowID of exactly RowIDSize bytes and checks its
// height; the row is checked against a square by Validate.
func UnmarshalRowID(data []byte) (RowID, error) {
	if err := checkIDSize("RowID", data, RowIDSize); err != nil {
		return RowID{}, err
	}
	id := RowID{Height: binary.BigEndian.Uint64(data), Row: int(binary.BigEndian.Uint16(data[EdsIDSize:]))}
	if err := id.EdsID().Validate(); err != nil {
		return RowID{}, err
	}
	return id, nil
}

// SampleID names a cell of the square of a block.
type SampleID struct {
	Height   uint64
	Row, Col int
}

// RowID returns the ID of the row of the cell.
func (id SampleID) RowID() RowID { return RowID{Height: id.Height, Row: id.Row} }

// Validate checks the height and that (Row, Col) is a cell of a square of
// the given width.
func (id SampleID) Validate(width int) error {
	if err := id.RowID().Validate(width); err != nil {
		return err
	}
	return checkIDIndex("column", id.Col, width)
}

// MarshalBinary returns the SampleIDSize-byte encoding of id. It fails for a
// height of 0 or a row or column outside [0, 65535].
func (id SampleID) MarshalBinary() ([]byte, error) {
	b, err := id.RowID().MarshalBinary()
	if err != nil {
		return nil, err
	}
	return appendIDIndex(b, "column", id.Col)
}

// UnmarshalSampleID decodes a SampleID of exactly SampleIDSize bytes and
// checks its height; the coordinates are checked by Validate.
func UnmarshalSampleID(data []byte) (SampleID, error) {
	if err := checkIDSize("SampleID", data, SampleIDSize); err != nil {
		return SampleID{}, err
	}
	row, err := UnmarshalRowID(data[:RowIDSize])
	if err != nil {
		return SampleID{}, err
	}
	return SampleID{Height: row.Height, Row: row.Row, Col: int(binary.BigEndian.Uint16(data[RowIDSize:]))}, nil
}

// RowNamespaceDataID names the data of one namespace in one row of the
// square of a block.
type RowNamespaceDataID struct {
	Height    uint64
	Row       int
	Namespace share.Namespace
}

// RowID returns the ID of the row.
func (id RowNamespaceDataID) RowID() RowID { return RowID{Height: id.Height, Row: id.Row} }

// Validate checks the height, that Row is a row of a square of the given
// width, and the namespace: a valid namespace (share.Namespace.Validate)
// other than the parity namespace, whose completeness no proof can show.
func (id RowNamespaceDataID) Validate(width int) error {
	if err := id.RowID().Validate(width); err != nil {
		return err
	}
	return checkIDNamespace(id.Namespace)
}

// MarshalBinary returns the RowNamespaceDataIDSize-byte encoding of id. It
// fails for a height of 0, a row outside [0, 65535] or an invalid namespace.
func (id RowNamespaceDataID) MarshalBinary() ([]byte, error) {
	if err := checkIDNamespace(id.Namespace); err != nil {
		return nil, err
	}
	b, err := id.RowID().MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(b, id.Namespace[:]...), nil
}

// UnmarshalRowNamespaceDataID decodes a RowNamespaceDataID of exactly
// RowNamespaceDataIDSize bytes and checks its height and namespace; the row
// is checked by Validate.
func UnmarshalRowNamespaceDataID(data []byte) (RowNamespaceDataID, error) {
	if err := checkIDSize("RowNamespaceDataID", data, RowNamespaceDataIDSize); err != nil {
		return RowNamespaceDataID{}, err
	}
	row, err := UnmarshalRowID(data[:RowIDSize])
	if err != nil {
		return RowNamespaceDataID{}, err
	}
	id := RowNamespaceDataID{Height: row.Height, Row: row.Row}
	copy(id.Namespace[:], data[RowIDSize:])
	if err := checkIDNamespace(id.Namespace); err != nil {
		return RowNamespaceDataID{}, err
	}
	return id, nil
}

func checkIDSize(name string, data []byte, want int) error {
	if len(data) != want {
		return fmt.Errorf("%w: %s of %d bytes, want %d", ErrInvalidID, name, len(data), want)
	}
	return nil
}

func checkIDIndex(what string, i, width int) error {
	if i < 0 || i >= width {
		return fmt.Errorf("%w: %w: %s %d of a square of width %d", ErrInvalidID, ErrOutOfRange, what, i, width)
	}
	return nil
}

func appendIDIndex(b []byte, what string, i int) ([]byte, error) {
	if i < 0 || i > math.MaxUint16 {
		return nil, fmt.Errorf("%w: %s %d does not fit 16 bits", ErrInvalidID, what, i)
	}
	return binary.BigEndian.AppendUint16(b, uint16(i)), nil
}

func checkIDNamespace(ns share.Namespace) error {
	if err := ns.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	if ns.IsParity() {
		return fmt.Errorf("%w: %w: the parity namespace has no namespace data", ErrInvalidID, share.ErrInvalidNamespace)
	}
	return nil
}
