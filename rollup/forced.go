package rollup

import (
	"bytes"
	"errors"
	"fmt"
)

// Forced inclusion: anyone may post a transaction as a blob in the
// genesis's forced namespace, and the sequencer must include it, within
// ForcedInclusionEpoch DataMesh heights, at the start of a block whose
// header counts it in ForcedTxs. docs/rollups.md, "Forced inclusion",
// states the rule.

// ForcedMagic is the first bytes of a forced transaction's blob: "DMFX"
// and the envelope version. A blob of the forced namespace without it is
// not a forced transaction and is ignored.
var ForcedMagic = []byte{'D', 'M', 'F', 'X', ForcedVersion}

// ForcedVersion is the version byte of ForcedMagic.
const ForcedVersion = 1

// Limits of forced inclusion.
const (
	// MaxForcedTxSize is the most bytes of a forced transaction (the
	// envelope's payload).
	MaxForcedTxSize = 16 << 10
	// MaxForcedTxsPerHeight is the most forced transactions taken from
	// one DataMesh height, the first in square order; later ones are
	// ignored. With MaxForcedTxSize it bounds what one height can oblige
	// the sequencer to include (512 KiB, half a block).
	MaxForcedTxsPerHeight = 32
)

// ErrNotForcedTx: a blob of the forced namespace that is not a valid
// envelope (no ForcedMagic, an empty or oversized transaction).
var ErrNotForcedTx = errors.New("rollup: not a forced transaction")

// EncodeForcedTx wraps tx in the forced-inclusion envelope: ForcedMagic,
// then tx as it is. tx holds 1 to MaxForcedTxSize bytes.
func EncodeForcedTx(tx []byte) ([]byte, error) {
	if len(tx) == 0 || len(tx) > MaxForcedTxSize {
		return nil, fmt.Errorf("%w: transaction of %d bytes, want 1 to %d", ErrNotForcedTx, len(tx), MaxForcedTxSize)
	}
	return append(bytes.Clone(ForcedMagic), tx...), nil
}

// DecodeForcedTx returns the transaction in a forced-inclusion
// envelope, a copy, or an error wrapping ErrNotForcedTx.
func DecodeForcedTx(blob []byte) ([]byte, error) {
	if !bytes.HasPrefix(blob, ForcedMagic) {
		return nil, fmt.Errorf("%w: no magic", ErrNotForcedTx)
	}
	tx := blob[len(ForcedMagic):]
	if len(tx) == 0 || len(tx) > MaxForcedTxSize {
		return nil, fmt.Errorf("%w: transaction of %d bytes, want 1 to %d", ErrNotForcedTx, len(tx), MaxForcedTxSize)
	}
	return bytes.Clone(tx), nil
}

// ForcedTx is a forced transaction found in DataMesh: its place (the
// DataMesh height and its blob's index among the forced namespace's
// blobs in square order) orders the forced transactions, and fixes its
// deadline.
type ForcedTx struct {
	DAHeight uint64
	Index    uint32
	Tx       []byte
}

// Deadline is the last DataMesh height a block including the forced tx
// may be posted at.
func (f *ForcedTx) Deadline(g *Genesis) uint64 { return f.DAHeight + g.ForcedInclusionEpoch() }

// forcedTxs returns the forced transactions among blobs, the forced
// namespace's verified blobs at DataMesh height d, in square order: the
// valid envelopes, at most MaxForcedTxsPerHeight; the rest is reported
// to skip (junk and the overflow), for logging.
func forcedTxs(d uint64, blobs [][]byte, skip func(i int, err error)) []ForcedTx {
	var out []ForcedTx
	for i, b := range blobs {
		tx, err := DecodeForcedTx(b)
		if err == nil && len(out) == MaxForcedTxsPerHeight {
			err = fmt.Errorf("more than %d forced transactions at one height", MaxForcedTxsPerHeight)
		}
		if err != nil {
			skip(i, err)
			continue
		}
		out = append(out, ForcedTx{DAHeight: d, Index: uint32(i), Tx: tx})
	}
	return out
}
