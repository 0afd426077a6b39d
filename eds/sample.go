package eds

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
	"google.golang.org/protobuf/encoding/protowire"
)

var (
	// ErrOutOfRange is returned for a row, column or axis index outside the
	// square, and for an Axis value other than Row and Col.
	ErrOutOfRange = errors.New("eds: index out of range")
	// ErrInvalidSample is wrapped by every error from Sample.Verify,
	// Sample.MarshalBinary and UnmarshalSample.
	ErrInvalidSample = errors.New("eds: invalid sample")
)

// Sample is one share of an extended data square with an NMT inclusion
// proof against the root of its row (Axis Row) or of its column (Axis Col):
// what a light node asks for when it samples a cell (spec section 8,
// celestia-node shwap's Sample). The sample does not carry its coordinates;
// the verifier, who asked for them, supplies them.
type Sample struct {
	// Share is the share, share.ShareSize bytes.
	Share []byte
	// Proof proves leaf ns' || Share of the tree of the axis through the
	// cell: Start is the column for a row proof, the row for a column
	// proof, and End = Start+1.
	Proof nmt.Proof
	// Axis is the axis whose root the proof leads to.
	Axis Axis
}

// Sample returns the share at (row, col) with its proof against the root of
// the row (axis Row) or the column (axis Col) through it. It builds that
// axis's tree, 2k leaf hashes. The sample is owned by the caller: Share is a
// copy. Errors wrap ErrOutOfRange for coordinates outside the square or an
// invalid axis.
func (e *ExtendedDataSquare) Sample(row, col int, axis Axis) (*Sample, error) {
	if err := e.checkCell(row, col); err != nil {
		return nil, err
	}
	if err := checkAxis(axis); err != nil {
		return nil, err
	}
	idx, pos := axisPos(axis, row, col)
	p, err := e.proveCell(axis, idx, pos)
	if err != nil {
		return nil, err
	}
	return &Sample{Share: bytes.Clone(e.cell(row, col)), Proof: p, Axis: axis}, nil
}

// checkCell returns ErrOutOfRange (wrapped) unless (row, col) is a cell of e.
func (e *ExtendedDataSquare) checkCell(row, col int) error {
	if row < 0 || row >= e.width || col < 0 || col >= e.width {
		return fmt.Errorf("%w: cell (%d, %d) of a square of width %d", ErrOutOfRange, row, col, e.width)
	}
	return nil
}

// axisPos returns the index of the row or column through (row, col) and the
// cell's position along it.
func axisPos(axis Axis, row, col int) (idx, pos int) {
	if axis == Row {
		return row, col
	}
	return col, row
}

// proveCell returns the proof of cell pos of row or column idx against that
// axis's root.
func (e *ExtendedDataSquare) proveCell(axis Axis, idx, pos int) (nmt.Proof, error) {
	var cells [][]byte
	if axis == Row {
		cells = e.Row(idx)
	} else {
		cells = e.Col(idx)
	}
	t, err := axisTree(e.k, idx, cells)
	if err != nil {
		return nmt.Proof{}, err
	}
	return t.ProveRange(pos, pos+1)
}

// Verify checks that s is the share at (row, col) of the square committed to
// by dah: the proof must be for leaf col of the row (Axis Row) or leaf row of
// the column (Axis Col), and lead from ns' || Share to that axis's root,
// where ns' is the share's namespace in quadrant Q0 (row and col below k) and
// the parity namespace elsewhere.
//
// A nil error means the sample verifies. Errors wrap ErrInvalidSample, with
// ErrInvalidDAH, ErrInvalidSquareSize, ErrOutOfRange, ErrInvalidShareSize or
// nmt.ErrInvalidProof when one of those is the reason. Verify never panics
// on a malformed sample or header.
func (s *Sample) Verify(dah *DataAvailabilityHeader, row, col int) error {
	if s == nil {
		return fmt.Errorf("%w: nil sample", ErrInvalidSample)
	}
	w, err := dah.width()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSample, err)
	}
	return s.verify(dah, w, row, col)
}

// verify is Verify for a header of width w already validated.
func (s *Sample) verify(dah *DataAvailabilityHeader, w, row, col int) error {
	if row < 0 || row >= w || col < 0 || col >= w {
		return fmt.Errorf("%w: %w: cell (%d, %d) of a square of width %d", ErrInvalidSample, ErrOutOfRange, row, col, w)
	}
	if err := s.checkShape(); err != nil {
		return err
	}
	idx, pos := axisPos(s.Axis, row, col)
	if s.Proof.Start != pos || s.Proof.End != pos+1 {
		return fmt.Errorf("%w: %s proof of cell (%d, %d) is for leaves [%d, %d), want [%d, %d)",
			ErrInvalidSample, s.Axis, row, col, s.Proof.Start, s.Proof.End, pos, pos+1)
	}
	ns := leafNamespace(w/2, row, col, s.Share)
	if err := s.Proof.VerifyInclusion(ns, [][]byte{s.Share}, dah.root(s.Axis, idx)); err != nil {
		return fmt.Errorf("%w: cell (%d, %d) against %s %d: %w", ErrInvalidSample, row, col, s.Axis, idx, err)
	}
	return nil
}

// checkShape checks the share size and the axis.
func (s *Sample) checkShape() error {
	if len(s.Share) != share.ShareSize {
		return fmt.Errorf("%w: %w: share has %d bytes, want %d", ErrInvalidSample, ErrInvalidShareSize, len(s.Share), share.ShareSize)
	}
	if err := checkAxis(s.Axis); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSample, err)
	}
	return nil
}

// Protobuf field numbers of shwap's
//
//	message Sample {
//	  Share share = 1;          // message Share { bytes data = 1; }
//	  proof.pb.Proof proof = 2;
//	  AxisType proof_type = 3;  // enum AxisType { ROW = 0; COL = 1; }
//	}
const (
	fieldSampleShare protowire.Number = 1
	fieldSampleProof protowire.Number = 2
	fieldSampleAxis  protowire.Number = 3
)

// MaxSampleSize bounds the encoding of a sample UnmarshalSample accepts: the
// share message, the largest proof nmt.UnmarshalProof accepts, and the axis,
// each behind its tag and length. Longer input is rejected unread.
const MaxSampleSize = (1 + 2 + shareMsgSize) + (1 + 2 + maxProofEncodedSize) + 2

// MarshalBinary returns the protobuf encoding of s (the message above), with
// fields in number order and proof_type omitted for Row, as protobuf
// encoders write it. It fails, wrapping ErrInvalidSample, for a share that
// is not share.ShareSize bytes, an invalid axis, or a proof
// nmt.UnmarshalProof would reject.
func (s *Sample) MarshalBinary() ([]byte, error) {
	if err := s.checkShape(); err != nil {
		return nil, err
	}
	b := appendShareMsg(make([]byte, 0, MaxSampleSize), fieldSampleShare, s.Share)
	b, err := appendProof(b, fieldSampleProof, s.Proof)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSample, err)
	}
	return appendAxis(b, fieldSampleAxis, s.Axis), nil
}

// UnmarshalSample decodes the protobuf encoding of a sample, treating data as
// untrusted: at most MaxSampleSize bytes, a share of exactly
// share.ShareSize bytes, a proof within nmt.UnmarshalProof's limits, an axis
// of 0 or 1; share and proof must be present, and no field may repeat. It
// does not verify the proof. The sample does not alias data. Errors wrap
// ErrInvalidSample.
func UnmarshalSample(data []byte) (*Sample, error) {
	if len(data) > MaxSampleSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidSample, len(data), MaxSampleSize)
	}
	var (
		s                        Sample
		haveShare, haveProof, ax bool
	)
	err := walkMessage(data, func(f field) error {
		switch f.num {
		case fieldSampleShare:
			b, err := f.singleBytes(&haveShare)
			if err != nil {
				return err
			}
			sh, err := decodeShareMsg(b)
			if err != nil {
				return err
			}
			s.Share = bytes.Clone(sh)
		case fieldSampleProof:
			return f.singleProof(&haveProof, &s.Proof)
		case fieldSampleAxis:
			return f.singleAxis(&ax, &s.Axis)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSample, err)
	}
	if !haveShare || !haveProof {
		return nil, fmt.Errorf("%w: share or proof missing", ErrInvalidSample)
	}
	return &s, nil
}
