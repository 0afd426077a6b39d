package eds

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/share"
	"google.golang.org/protobuf/encoding/protowire"
)

// BadEncodingProofType names the proof format, as celestia-node's
// fraud-proof type "badencodingv0.1" (spec section 9).
const BadEncodingProofType = "badencodingv0.1"

// HeaderHashSize is the size of BadEncodingProof.HeaderHash: the hash of the
// CometBFT header of the block, SHA-256.
const HeaderHashSize = 32

var (
	// ErrInvalidBadEncodingProof is wrapped by every error from
	// BadEncodingProof.Validate, BadEncodingProof.MarshalBinary and
	// UnmarshalBadEncodingProof: the proof does not show that the square is
	// badly encoded, or is malformed.
	ErrInvalidBadEncodingProof = errors.New("eds: invalid bad-encoding proof")
	// ErrInsufficientProofs is returned (wrapped) by NewBadEncodingProof
	// when the evidence has fewer than k proven shares.
	ErrInsufficientProofs = errors.New("eds: too few proven shares for a bad-encoding proof")
)

// BadEncodingProof shows that a row or column of the square committed to by
// a header is not what its root says: decoding the axis from at least k of
// its shares, each proven against the header, and encoding it again gives
// another root (spec section 9, celestia-node's BadEncodingProof). It is
// built from the *ErrByzantineData Repair returns, and checked by Validate.
type BadEncodingProof struct {
	// HeaderHash and Height name the block: the HeaderHashSize-byte hash
	// of its header, and its height.
	HeaderHash []byte
	Height     uint64
	// Axis and Index name the badly encoded row or column.
	Axis  Axis
	Index int
	// Shares has one entry per cell of the axis, Width() entries: the share
	// with its proof against the root of the row or the column through the
	// cell (Sample.Axis says which; Repair proves against the orthogonal
	// axis), or nil.
	Shares []*Sample
}

// NewBadEncodingProof turns the evidence Repair returned for the block with
// the given header hash and height into a proof, keeping the shares that
// have a proof. It fails, wrapping ErrInsufficientProofs, when fewer than
// half of the axis's shares (k) are proven; see ErrByzantineData.Proofs. The
// proof aliases the shares and proofs of byz.
func NewBadEncodingProof(headerHash []byte, height uint64, byz *ErrByzantineData) (*BadEncodingProof, error) {
	if byz == nil {
		return nil, fmt.Errorf("%w: no evidence", ErrInsufficientProofs)
	}
	if len(headerHash) != HeaderHashSize {
		return nil, fmt.Errorf("%w: header hash has %d bytes, want %d", ErrInvalidBadEncodingProof, len(headerHash), HeaderHashSize)
	}
	if len(byz.Proofs) != len(byz.Shares) {
		return nil, fmt.Errorf("%w: %d proofs for %d shares", ErrInsufficientProofs, len(byz.Proofs), len(byz.Shares))
	}
	p := &BadEncodingProof{
		HeaderHash: headerHash,
		Height:     height,
		Axis:       byz.Axis,
		Index:      byz.Index,
		Shares:     make([]*Sample, len(byz.Shares)),
	}
	proven := 0
	for j, s := range byz.Shares {
		if s == nil || byz.Proofs[j] == nil {
			continue
		}
		p.Shares[j] = &Sample{Share: s, Proof: *byz.Proofs[j], Axis: byz.Axis.orthogonal()}
		proven++
	}
	if proven < len(byz.Shares)/2 {
		return nil, fmt.Errorf("%w: %d of %d shares of %s %d proven, want %d",
			ErrInsufficientProofs, proven, len(byz.Shares), byz.Axis, byz.Index, len(byz.Shares)/2)
	}
	return p, nil
}

// Validate checks the proof against the header of the block it names and
// returns nil when it holds: the square committed to by dah really is badly
// encoded. That is:
//   - Index names a row or column of the square, and Shares has one entry
//     per cell of it (2k);
//   - at least k entries are set, and each is the share at its cell
//     (Sample.Verify: against the root of the row or column through the
//     cell, at the cell's position, which also orders the proofs);
//   - decoding the axis from those shares, encoding its first half again
//     and computing its root with the ns' rule gives a root other than the
//     header's, or fails (namespaces out of order).
//
// Validate checks the data only: the caller must check that Height and
// HeaderHash name the header dah belongs to. Errors wrap
// ErrInvalidBadEncodingProof, and the reason (ErrInvalidDAH,
// ErrOutOfRange, ErrInvalidSample, …) when there is one. Validate never
// panics on a malformed proof or header.
func (p *BadEncodingProof) Validate(dah *DataAvailabilityHeader) error {
	if p == nil {
		return fmt.Errorf("%w: nil proof", ErrInvalidBadEncodingProof)
	}
	w, err := dah.width()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidBadEncodingProof, err)
	}
	k := w / 2
	if err := checkAxis(p.Axis); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidBadEncodingProof, err)
	}
	if p.Index < 0 || p.Index >= w {
		return fmt.Errorf("%w: %w: %s %d of a square of width %d", ErrInvalidBadEncodingProof, ErrOutOfRange, p.Axis, p.Index, w)
	}
	if len(p.Shares) != w {
		return fmt.Errorf("%w: %d shares for an axis of %d", ErrInvalidBadEncodingProof, len(p.Shares), w)
	}
	shards := make([][]byte, w)
	known := 0
	for j, s := range p.Shares {
		if s == nil {
			continue
		}
		row, col := p.Index, j
		if p.Axis == Col {
			row, col = j, p.Index
		}
		if err := s.verify(dah, w, row, col); err != nil {
			return fmt.Errorf("%w: share %d: %w", ErrInvalidBadEncodingProof, j, err)
		}
		shards[j] = s.Share
		known++
	}
	if known < k {
		return fmt.Errorf("%w: %d shares, want at least %d", ErrInvalidBadEncodingProof, known, k)
	}
	enc, err := codecFor(k)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidBadEncodingProof, err)
	}
	// The codec fills in the missing shards with new slices and only reads
	// the others, which belong to p. With at least k shares of
	// share.ShareSize bytes it cannot fail; should it, the spec counts a
	// decoding failure as proof of bad encoding. Reconstruct, not
	// ReconstructData: see codecFor.
	if err := enc.Reconstruct(shards); err != nil {
		return nil
	}
	axis := make([][]byte, w)
	copy(axis, shards[:k])
	parity := make([]byte, k*share.ShareSize)
	for j := k; j < w; j++ {
		axis[j] = parity[(j-k)*share.ShareSize : (j-k+1)*share.ShareSize]
	}
	if err := enc.Encode(axis); err != nil {
		return fmt.Errorf("%w: encode: %w", ErrInvalidBadEncodingProof, err)
	}
	root, err := newTreeHasher(w).rootOf(nil, k, p.Axis, p.Index, axis, nil)
	if err != nil {
		// The decoded axis has namespaces out of order, so no tree has
		// the header's root: bad encoding (spec section 9).
		return nil
	}
	if bytes.Equal(root, dah.root(p.Axis, p.Index)) {
		return fmt.Errorf("%w: %s %d decodes to the header's root", ErrInvalidBadEncodingProof, p.Axis, p.Index)
	}
	return nil
}

// Protobuf field numbers of celestia-node's (share/eds/byzantine/pb)
//
//	message BadEncoding {
//	  bytes HeaderHash = 1;
//	  uint64 Height = 2;
//	  repeated Share Shares = 3;
//	  uint32 Index = 4;
//	  axis Axis = 5;             // enum axis { ROW = 0; COL = 1; }
//	}
//	message Share {
//	  bytes Data = 1;
//	  proof.pb.Proof Proof = 2;
//	  axis ProofAxis = 3;
//	}
//
// A nil entry of Shares is an empty Share message.
const (
	fieldBEFPHeaderHash protowire.Number = 1
	fieldBEFPHeight     protowire.Number = 2
	fieldBEFPShares     protowire.Number = 3
	fieldBEFPIndex      protowire.Number = 4
	fieldBEFPAxis       protowire.Number = 5

	fieldBEFPShareData  protowire.Number = 1
	fieldBEFPShareProof protowire.Number = 2
	fieldBEFPShareAxis  protowire.Number = 3
)

// maxBEFPShareSize bounds one Share message: the share, the largest proof
// and the axis, each behind its tag and length.
const maxBEFPShareSize = (1 + 2 + share.ShareSize) + (1 + 2 + maxProofEncodedSize) + 2

// MaxBadEncodingProofSize bounds the encoding of a proof that
// UnmarshalBadEncodingProof accepts: the header hash, the height, MaxDAHRoots
// Share messages of at most maxBEFPShareSize bytes, the index and the axis,
// each behind its tag (and length). Longer input is rejected unread. A proof
// Repair makes is far smaller: k proofs of at most 2·log2(2k) nodes.
const MaxBadEncodingProofSize = (1 + 1 + HeaderHashSize) + (1 + 10) + MaxDAHRoots*(1+2+maxBEFPShareSize) + (1 + 5) + 2

// MarshalBinary returns the protobuf encoding of p (the messages above),
// fields in number order and zero scalars omitted, as protobuf encoders
// write them. It fails, wrapping ErrInvalidBadEncodingProof, for a proof
// UnmarshalBadEncodingProof would reject: a header hash that is not
// HeaderHashSize bytes, more than MaxDAHRoots shares, an index outside
// [0, MaxDAHRoots), an invalid axis, a share that is not share.ShareSize
// bytes or a proof nmt.UnmarshalProof would reject.
func (p *BadEncodingProof) MarshalBinary() ([]byte, error) {
	if err := p.checkShape(); err != nil {
		return nil, err
	}
	b := protowire.AppendTag(nil, fieldBEFPHeaderHash, protowire.BytesType)
	b = protowire.AppendBytes(b, p.HeaderHash)
	if p.Height != 0 {
		b = protowire.AppendTag(b, fieldBEFPHeight, protowire.VarintType)
		b = protowire.AppendVarint(b, p.Height)
	}
	var msg []byte
	for j, s := range p.Shares {
		msg = msg[:0]
		if s != nil {
			if err := s.checkShape(); err != nil {
				return nil, fmt.Errorf("%w: share %d: %w", ErrInvalidBadEncodingProof, j, err)
			}
			msg = protowire.AppendTag(msg, fieldBEFPShareData, protowire.BytesType)
			msg = protowire.AppendBytes(msg, s.Share)
			var err error
			if msg, err = appendProof(msg, fieldBEFPShareProof, s.Proof); err != nil {
				return nil, fmt.Errorf("%w: share %d: %w", ErrInvalidBadEncodingProof, j, err)
			}
			msg = appendAxis(msg, fieldBEFPShareAxis, s.Axis)
		}
		b = protowire.AppendTag(b, fieldBEFPShares, protowire.BytesType)
		b = protowire.AppendBytes(b, msg)
	}
	if p.Index != 0 {
		b = protowire.AppendTag(b, fieldBEFPIndex, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(p.Index))
	}
	return appendAxis(b, fieldBEFPAxis, p.Axis), nil
}

// checkShape checks what the encoding needs of the proof's own fields.
func (p *BadEncodingProof) checkShape() error {
	switch {
	case len(p.HeaderHash) != HeaderHashSize:
		return fmt.Errorf("%w: header hash has %d bytes, want %d", ErrInvalidBadEncodingProof, len(p.HeaderHash), HeaderHashSize)
	case len(p.Shares) > MaxDAHRoots:
		return fmt.Errorf("%w: %d shares, at most %d", ErrInvalidBadEncodingProof, len(p.Shares), MaxDAHRoots)
	case p.Index < 0 || p.Index >= MaxDAHRoots:
		return fmt.Errorf("%w: %w: index %d, want [0, %d)", ErrInvalidBadEncodingProof, ErrOutOfRange, p.Index, MaxDAHRoots)
	}
	if err := checkAxis(p.Axis); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidBadEncodingProof, err)
	}
	return nil
}

// UnmarshalBadEncodingProof decodes the protobuf encoding of a proof,
// treating data as untrusted: at most MaxBadEncodingProofSize bytes, a
// header hash of HeaderHashSize bytes, at most MaxDAHRoots shares, each
// either empty (a nil entry) or a share of share.ShareSize bytes with a
// proof within nmt.UnmarshalProof's limits and an axis of 0 or 1, an index
// below MaxDAHRoots and an axis of 0 or 1; no singular field may repeat. It
// does not validate the proof. The result does not alias data. Errors wrap
// ErrInvalidBadEncodingProof.
func UnmarshalBadEncodingProof(data []byte) (*BadEncodingProof, error) {
	if len(data) > MaxBadEncodingProofSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidBadEncodingProof, len(data), MaxBadEncodingProofSize)
	}
	var (
		p                    BadEncodingProof
		seenHash, seenHeight bool
		seenIndex, seenAxis  bool
		shareData            [][]byte // aliasing data until copied
	)
	err := walkMessage(data, func(f field) error {
		switch f.num {
		case fieldBEFPHeaderHash:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			if err := once(&seenHash, f.num); err != nil {
				return err
			}
			if len(f.bytes) != HeaderHashSize {
				return fmt.Errorf("header hash has %d bytes, want %d", len(f.bytes), HeaderHashSize)
			}
			p.HeaderHash = bytes.Clone(f.bytes)
		case fieldBEFPHeight:
			if err := f.want(protowire.VarintType); err != nil {
				return err
			}
			if err := once(&seenHeight, f.num); err != nil {
				return err
			}
			p.Height = f.varint
		case fieldBEFPShares:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			if len(p.Shares) == MaxDAHRoots {
				return fmt.Errorf("more than %d shares", MaxDAHRoots)
			}
			s, err := decodeBEFPShare(f.bytes)
			if err != nil {
				return fmt.Errorf("share %d: %w", len(p.Shares), err)
			}
			p.Shares = append(p.Shares, s)
			if s != nil {
				shareData = append(shareData, s.Share)
			}
		case fieldBEFPIndex:
			if err := f.want(protowire.VarintType); err != nil {
				return err
			}
			if err := once(&seenIndex, f.num); err != nil {
				return err
			}
			if f.varint >= MaxDAHRoots {
				return fmt.Errorf("%w: index %d, want [0, %d)", ErrOutOfRange, f.varint, MaxDAHRoots)
			}
			p.Index = int(f.varint)
		case fieldBEFPAxis:
			return f.singleAxis(&seenAxis, &p.Axis)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBadEncodingProof, err)
	}
	if !seenHash {
		return nil, fmt.Errorf("%w: header hash missing", ErrInvalidBadEncodingProof)
	}
	// Copy the shares out of data, into one array.
	copies := cloneCells(shareData)
	for _, s := range p.Shares {
		if s != nil {
			s.Share, copies = copies[0], copies[1:]
		}
	}
	return &p, nil
}

// decodeBEFPShare decodes a Share message: nil for an empty one, else a
// sample whose Share aliases b.
func decodeBEFPShare(b []byte) (*Sample, error) {
	var (
		s                             Sample
		seenData, seenProof, seenAxis bool
	)
	err := walkMessage(b, func(f field) error {
		switch f.num {
		case fieldBEFPShareData:
			data, err := f.singleBytes(&seenData)
			if err != nil {
				return err
			}
			if len(data) != share.ShareSize {
				return fmt.Errorf("%w: share has %d bytes, want %d", ErrInvalidShareSize, len(data), share.ShareSize)
			}
			s.Share = data
		case fieldBEFPShareProof:
			return f.singleProof(&seenProof, &s.Proof)
		case fieldBEFPShareAxis:
			return f.singleAxis(&seenAxis, &s.Axis)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case !seenData && !seenProof && !seenAxis:
		return nil, nil
	case !seenData || !seenProof:
		return nil, errors.New("share without proof or proof without share")
	}
	return &s, nil
}
