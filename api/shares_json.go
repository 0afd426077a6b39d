package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// ErrInvalidShareJSON is wrapped by the decoders of the share module's
// JSON types for input of the right JSON syntax but the wrong content
// (share sizes, a row side, a square's shape or codec).
var ErrInvalidShareJSON = errors.New("api: invalid share data")

// Share is one share.ShareSize-byte share; its JSON is the base64 of its
// bytes (go-square's Share).
type Share []byte

// MarshalJSON encodes s as base64.
func (s Share) MarshalJSON() ([]byte, error) { return json.Marshal([]byte(s)) }

// UnmarshalJSON decodes base64 and checks the size.
func (s *Share) UnmarshalJSON(b []byte) error {
	var raw []byte
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidShareJSON, err)
	}
	if len(raw) != share.ShareSize {
		return fmt.Errorf("%w: share of %d bytes, want %d", ErrInvalidShareJSON, len(raw), share.ShareSize)
	}
	*s = raw
	return nil
}

// SampleCoords names a cell of an extended square (celestia-node shwap's
// SampleCoords: {"row", "col"}).
type SampleCoords struct {
	Row int `json:"row"`
	Col int `json:"col"`
}

// Sample is a share with its NMT proof against its row's or column's root
// (eds.Sample, to which it converts). Its JSON is celestia-node shwap's
// Sample: {"share": base64, "proof": nmt proof, "proof_type": 0 for a row
// proof, 1 for a column proof (rsmt2d.Axis)}.
type Sample eds.Sample

type jsonSample struct {
	Share     Share     `json:"share"`
	Proof     nmt.Proof `json:"proof"`
	ProofType eds.Axis  `json:"proof_type"`
}

// MarshalJSON encodes s in celestia-node's shape.
func (s Sample) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonSample{Share: s.Share, Proof: s.Proof, ProofType: s.Axis})
}

// UnmarshalJSON decodes celestia-node's shape, checking the share size,
// the proof's shape and the axis; it does not verify the proof
// (eds.Sample.Verify does, against a header).
func (s *Sample) UnmarshalJSON(b []byte) error {
	var j jsonSample
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Share == nil {
		return fmt.Errorf("%w: sample without a share", ErrInvalidShareJSON)
	}
	if j.ProofType != eds.Row && j.ProofType != eds.Col {
		return fmt.Errorf("%w: proof_type %d (want 0 or 1)", ErrInvalidShareJSON, j.ProofType)
	}
	*s = Sample{Share: j.Share, Proof: j.Proof, Axis: j.ProofType}
	return nil
}

// RowSide says which part of a row a Row holds (celestia-node shwap's
// RowSide, whose JSON is its name).
type RowSide string

// The sides of a row.
const (
	// RowLeft: the first half, the k original (or column-parity) shares.
	RowLeft RowSide = "LEFT"
	// RowRight: the second half, the k parity shares.
	RowRight RowSide = "RIGHT"
	// RowBoth: all 2k shares.
	RowBoth RowSide = "BOTH"
)

// Row is a row of an extended square, or half of it: {"shares": [base64],
// "side": "LEFT" | "RIGHT" | "BOTH"} as celestia-node's shwap Row. Either
// half determines the row (erasure coding); the share module returns the
// left half, as celestia-node's shrex does.
type Row struct {
	Shares []Share `json:"shares"`
	Side   RowSide `json:"side"`
}

// UnmarshalJSON decodes a row, rejecting an unknown side and shares of
// the wrong size.
func (r *Row) UnmarshalJSON(b []byte) error {
	type plain Row
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	switch p.Side {
	case RowLeft, RowRight, RowBoth:
	default:
		return fmt.Errorf("%w: row side %q", ErrInvalidShareJSON, p.Side)
	}
	*r = Row(p)
	return nil
}

// RowNamespaceData is the data of a namespace in one row (eds
// RowNamespaceData, to which it converts): {"shares": [base64], "proof":
// nmt proof}, as celestia-node's shwap RowNamespaceData. Shares is null
// for an absence proof or a row the namespace cannot be in.
type RowNamespaceData eds.RowNamespaceData

type jsonRowNamespaceData struct {
	Shares []Share   `json:"shares"`
	Proof  nmt.Proof `json:"proof"`
}

// MarshalJSON encodes d in celestia-node's shape.
func (d RowNamespaceData) MarshalJSON() ([]byte, error) {
	j := jsonRowNamespaceData{Proof: d.Proof}
	if d.Shares != nil {
		j.Shares = make([]Share, len(d.Shares))
		for i, s := range d.Shares {
			j.Shares[i] = s
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes celestia-node's shape, checking share sizes and
// the proof's shape; it does not verify the proof.
func (d *RowNamespaceData) UnmarshalJSON(b []byte) error {
	var j jsonRowNamespaceData
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := RowNamespaceData{Proof: j.Proof}
	if j.Shares != nil {
		out.Shares = make([][]byte, len(j.Shares))
		for i, s := range j.Shares {
			out.Shares[i] = s
		}
	}
	*d = out
	return nil
}

// NamespaceData is all the data of a namespace in a square, one entry per
// row that may hold it, in row order (celestia-node shwap's
// NamespaceData, a JSON array of RowNamespaceData). Unlike
// eds.NamespaceData it does not carry the rows' indices, which
// celestia-node's JSON lacks: they are eds.RowsWithNamespace of the
// header's DAH, in order.
type NamespaceData []RowNamespaceData

// newNamespaceData converts the getter's result.
func newNamespaceData(nd eds.NamespaceData) NamespaceData {
	out := make(NamespaceData, len(nd))
	for i, r := range nd {
		out[i] = RowNamespaceData(r.Data)
	}
	return out
}

// Flatten returns the shares of all rows in order; they alias d's.
func (d NamespaceData) Flatten() [][]byte {
	var out [][]byte
	for _, r := range d {
		out = append(out, r.Shares...)
	}
	return out
}

// edsCodec is the codec name rsmt2d writes in a square's JSON.
const edsCodec = "Leopard"

// ExtendedDataSquare is an extended data square with rsmt2d's JSON, which
// celestia-node's share.GetEDS returns: {"data_square": the (2k)² shares in
// row-major order as base64, "codec": "Leopard"}.
type ExtendedDataSquare struct {
	// Square is the square; nil encodes as JSON null.
	Square *eds.ExtendedDataSquare

	// encoded is Square's JSON when the share module already built it
	// (shared between concurrent calls); never modified.
	encoded []byte
}

type jsonEDS struct {
	DataSquare [][]byte `json:"data_square"`
	Codec      string   `json:"codec"`
}

// MarshalJSON encodes the square in rsmt2d's shape.
func (e ExtendedDataSquare) MarshalJSON() ([]byte, error) {
	if e.encoded != nil {
		return e.encoded, nil
	}
	if e.Square == nil {
		return []byte("null"), nil
	}
	return encodeEDS(context.Background(), e.Square)
}

// encodeEDS returns sq's JSON in rsmt2d's shape, built in one buffer of
// the exact size (no intermediate copies: 45 MB at k = 128, for 33.5 MB of
// shares). It stops with ctx's error between rows.
func encodeEDS(ctx context.Context, sq *eds.ExtendedDataSquare) ([]byte, error) {
	const head, tail = `{"data_square":[`, `],"codec":"` + edsCodec + `"}`
	w := sq.Width()
	cell := base64.StdEncoding.EncodedLen(share.ShareSize) + 2 // quoted
	out := make([]byte, 0, len(head)+w*w*(cell+1)-1+len(tail))
	out = append(out, head...)
	for r := range w {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for c, s := range sq.Row(r) {
			if r > 0 || c > 0 {
				out = append(out, ',')
			}
			out = append(out, '"')
			out = base64.StdEncoding.AppendEncode(out, s)
			out = append(out, '"')
		}
	}
	return append(out, tail...), nil
}

// UnmarshalJSON decodes rsmt2d's shape: (2k)² shares with k a power of two
// and the Leopard codec. It rebuilds the square from its original quarter
// and rejects one whose parity shares differ from the encoding of that
// quarter.
func (e *ExtendedDataSquare) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		e.Square = nil
		return nil
	}
	var j jsonEDS
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Codec != edsCodec {
		return fmt.Errorf("%w: codec %q, want %q", ErrInvalidShareJSON, j.Codec, edsCodec)
	}
	n := len(j.DataSquare)
	w := isqrt(n)
	if n == 0 || w*w != n || w%2 != 0 || bits.OnesCount(uint(w)) != 1 {
		return fmt.Errorf("%w: %d shares is not a (2k)² square with k a power of two", ErrInvalidShareJSON, n)
	}
	k := w / 2
	ods := make([][]byte, 0, k*k)
	for r := range k {
		ods = append(ods, j.DataSquare[r*w:r*w+k]...)
	}
	sq, err := eds.Extend(ods)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidShareJSON, err)
	}
	for i, cell := range j.DataSquare {
		if !bytes.Equal(cell, sq.Share(i/w, i%w)) {
			return fmt.Errorf("%w: share (%d, %d) is not the square's encoding", ErrInvalidShareJSON, i/w, i%w)
		}
	}
	e.Square = sq
	return nil
}

// isqrt returns the integer square root of n ≥ 0.
func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}
