package blobstream

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/merkle"
)

// TupleSize is the length of an encoded data root tuple.
const TupleSize = 64

// MaxRange is the most heights one tuple root may cover, celestia-node's
// limit: about 27 hours of 10-second blocks.
const MaxRange = 10_000

// ErrHeightZero is returned for a range or height that starts at 0; the text
// is celestia-node's.
var ErrHeightZero = errors.New("height is equal to 0")

// ErrInvalidRange matches (errors.Is) every other range error of TupleRoot,
// TupleProof, CheckRange and CheckProofRequest. Their texts are
// celestia-node's exactly, with no prefix, because clients match on them.
var ErrInvalidRange = errors.New("blobstream: invalid range")

// rangeError is an error with celestia-node's text that is ErrInvalidRange.
type rangeError string

func (e rangeError) Error() string        { return string(e) }
func (e rangeError) Is(target error) bool { return target == ErrInvalidRange }

func rangeErrorf(format string, args ...any) error {
	return rangeError(fmt.Sprintf(format, args...))
}

// EncodeTuple returns abi.encode(uint256 height, bytes32 dataRoot): height as
// 32 bytes big-endian, then dataRoot.
func EncodeTuple(height uint64, dataRoot [32]byte) []byte {
	out := make([]byte, TupleSize)
	binary.BigEndian.PutUint64(out[24:32], height)
	copy(out[32:], dataRoot[:])
	return out
}

// Tuples returns the encoded tuples of the consecutive heights start,
// start+1, … whose data roots are roots, in order.
func Tuples(start uint64, roots [][32]byte) [][]byte {
	out := make([][]byte, len(roots))
	for i, r := range roots {
		out[i] = EncodeTuple(start+uint64(i), r)
	}
	return out
}

// TupleRoot returns the data root tuple root of the consecutive heights
// start, start+1, … with data roots roots: the RFC 6962 SHA-256 root
// (merkle.HashFromByteSlices, CometBFT's) over their encoded tuples. It
// refuses an empty list and a start of 0.
func TupleRoot(start uint64, roots [][32]byte) ([]byte, error) {
	if start == 0 {
		return nil, ErrHeightZero
	}
	if len(roots) == 0 {
		return nil, rangeErrorf("cannot hash an empty list of encoded data root tuples")
	}
	return merkle.HashFromByteSlices(Tuples(start, roots)), nil
}

// TupleProof returns the tuple root of heights start, start+1, … (as
// TupleRoot) and the proof of height's tuple in it, which
// merkle.Proof.Verify(root, EncodeTuple(height, root)) accepts.
func TupleProof(height, start uint64, roots [][32]byte) ([]byte, *merkle.Proof, error) {
	if height == 0 || start == 0 {
		return nil, nil, ErrHeightZero
	}
	if height < start || height-start >= uint64(len(roots)) {
		return nil, nil, rangeErrorf("height %d is not in the %d heights from %d", height, len(roots), start)
	}
	root, proofs := merkle.ProofsFromByteSlices(Tuples(start, roots))
	return root, proofs[height-start], nil
}

// CheckRange checks the end-exclusive range [start, end) of a tuple root
// against a chain whose head is head, with celestia-node's error texts:
// start ≥ 1, start < end, end − start ≤ MaxRange, end ≤ head + 1.
func CheckRange(start, end, head uint64) error {
	if start == 0 {
		return ErrHeightZero
	}
	if start >= end {
		return rangeErrorf("end block is smaller or equal to the start block")
	}
	if end-start > MaxRange {
		return rangeErrorf("the query exceeds the limit of allowed blocks %d", MaxRange)
	}
	if end > head+1 {
		return rangeErrorf("end block %d is higher than local chain height %d. Wait for the node until it syncs up to %d",
			end, head, end)
	}
	return nil
}

// CheckProofRequest checks a request for the proof of height's tuple in the
// root of [start, end): CheckRange, then start ≤ height < end, with
// celestia-node's error texts.
func CheckProofRequest(height, start, end, head uint64) error {
	if err := CheckRange(start, end, head); err != nil {
		return err
	}
	if height < start || height >= end {
		return rangeErrorf("height %d should be in the end exclusive interval first_block %d last_block %d",
			height, start, end)
	}
	return nil
}
