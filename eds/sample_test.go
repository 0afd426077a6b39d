package eds_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/celestiaorg/nmt/pb"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/nmt"
	"google.golang.org/protobuf/encoding/protowire"
)

var axes = []eds.Axis{eds.Row, eds.Col}

// checkSample proves cell (r, c) along axis and checks the sample with our
// verifier, the reference verifier and through the wire encoding.
func checkSample(t *testing.T, e *eds.ExtendedDataSquare, dah *eds.DataAvailabilityHeader, r, c int, axis eds.Axis) {
	t.Helper()
	s, err := e.Sample(r, c, axis)
	if err != nil {
		t.Fatalf("(%d, %d) %s: %v", r, c, axis, err)
	}
	if !bytes.Equal(s.Share, e.Share(r, c)) || s.Axis != axis {
		t.Fatalf("(%d, %d) %s: wrong share or axis", r, c, axis)
	}
	if err := s.Verify(dah, r, c); err != nil {
		t.Fatalf("(%d, %d) %s: %v", r, c, axis, err)
	}
	if !refVerifySample(dah, s, r, c) {
		t.Fatalf("(%d, %d) %s: the reference rejects our proof", r, c, axis)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := eds.UnmarshalSample(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(dah, r, c); err != nil {
		t.Fatalf("(%d, %d) %s after the wire: %v", r, c, axis, err)
	}
}

func TestSampleEveryCell(t *testing.T) {
	for _, k := range []int{1, 2, 4, 8, 16} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			e, dah, _ := square(t, uint64(100+k), k)
			for r := 0; r < 2*k; r++ {
				for c := 0; c < 2*k; c++ {
					for _, axis := range axes {
						checkSample(t, e, dah, r, c, axis)
					}
				}
			}
		})
	}
}

func TestSampleSpotK64(t *testing.T) {
	const k = 64
	e, dah, _ := square(t, 64, k)
	rng := rand.New(rand.NewPCG(64, 1))
	// The corners of each quadrant, then random cells.
	cells := [][2]int{{0, 0}, {k - 1, k - 1}, {0, k}, {k, 0}, {k, k}, {2*k - 1, 2*k - 1}}
	for range 40 {
		cells = append(cells, [2]int{rng.IntN(2 * k), rng.IntN(2 * k)})
	}
	for _, rc := range cells {
		for _, axis := range axes {
			checkSample(t, e, dah, rc[0], rc[1], axis)
		}
	}
}

// The reference library's proofs (rsmt2d's square, celestiaorg/nmt trees
// with the ns' rule) are field for field ours, and our verifier accepts them.
func TestSampleReferenceProofs(t *testing.T) {
	for _, k := range []int{1, 2, 8} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			ods := edstest.RandomODS(uint64(200+k), k, k/2)
			e, dah := edstest.Extend(t, ods)
			ref := refExtend(t, ods)
			w := 2 * k
			for _, axis := range axes {
				for idx := 0; idx < w; idx++ {
					tree := refAxisTree(t, ref, axis, idx)
					for pos := 0; pos < w; pos++ {
						rp, err := tree.ProveRange(pos, pos+1)
						if err != nil {
							t.Fatal(err)
						}
						r, c := idx, pos
						if axis == eds.Col {
							r, c = pos, idx
						}
						s := &eds.Sample{Share: ref.GetCell(uint(r), uint(c)), Proof: fromRef(rp), Axis: axis}
						if err := s.Verify(dah, r, c); err != nil {
							t.Fatalf("(%d, %d) %s: reference proof rejected: %v", r, c, axis, err)
						}
						ours, err := e.Sample(r, c, axis)
						if err != nil {
							t.Fatal(err)
						}
						if !equalProofs(ours.Proof, s.Proof) {
							t.Fatalf("(%d, %d) %s: proofs differ\nours %+v\nref  %+v", r, c, axis, ours.Proof, s.Proof)
						}
					}
				}
			}
		})
	}
}

// equalProofs reports whether two proofs have the same fields, treating nil
// and empty slices alike.
func equalProofs(a, b nmt.Proof) bool {
	return a.Start == b.Start && a.End == b.End &&
		a.IsMaxNamespaceIgnored == b.IsMaxNamespaceIgnored &&
		bytes.Equal(a.LeafHash, b.LeafHash) &&
		slices.EqualFunc(a.Nodes, b.Nodes, bytes.Equal)
}

// cloneSample returns a deep copy of s.
func cloneSample(s *eds.Sample) *eds.Sample {
	c := *s
	c.Share = bytes.Clone(s.Share)
	c.Proof.Nodes = cloneShares(s.Proof.Nodes)
	c.Proof.LeafHash = bytes.Clone(s.Proof.LeafHash)
	return &c
}

func TestSampleRejects(t *testing.T) {
	const k = 4
	e, dah, _ := square(t, 7, k)
	other := testDAH(t, 8)
	// A Q0 cell, a Q1 cell and a Q3 cell, each along both axes.
	for _, rc := range [][2]int{{1, 2}, {2, 5}, {6, 7}} {
		r, c := rc[0], rc[1]
		for _, axis := range axes {
			good, err := e.Sample(r, c, axis)
			if err != nil {
				t.Fatal(err)
			}
			otherAxis := eds.Col
			if axis == eds.Col {
				otherAxis = eds.Row
			}
			tests := []struct {
				name   string
				mutate func(s *eds.Sample)
				dah    *eds.DataAvailabilityHeader
				at     func(r, c int) (int, int) // the coordinates verified
				want   error                     // besides ErrInvalidSample
			}{
				{name: "share payload", mutate: func(s *eds.Sample) { s.Share[200] ^= 1 }, want: nmt.ErrRootMismatch},
				{name: "share namespace", mutate: func(s *eds.Sample) { s.Share[nsSize-1] ^= 1 }, want: nmt.ErrInvalidProof},
				{name: "short share", mutate: func(s *eds.Sample) { s.Share = s.Share[:511] }, want: eds.ErrInvalidShareSize},
				{name: "nil share", mutate: func(s *eds.Sample) { s.Share = nil }, want: eds.ErrInvalidShareSize},
				{name: "proof node", mutate: func(s *eds.Sample) { s.Proof.Nodes[0][70] ^= 1 }, want: nmt.ErrInvalidProof},
				{name: "proof node dropped", mutate: func(s *eds.Sample) { s.Proof.Nodes = s.Proof.Nodes[1:] }, want: nmt.ErrInvalidProof},
				{name: "start shifted", mutate: func(s *eds.Sample) { s.Proof.Start++; s.Proof.End++ }},
				{name: "range widened", mutate: func(s *eds.Sample) { s.Proof.End++ }},
				{name: "max namespace not ignored", mutate: func(s *eds.Sample) { s.Proof.IsMaxNamespaceIgnored = false }, want: nmt.ErrInvalidProof},
				{name: "absence proof", mutate: func(s *eds.Sample) { s.Proof.LeafHash = bytes.Clone(dah.RowRoots[0]) }, want: nmt.ErrInvalidProof},
				{name: "other axis claimed", mutate: func(s *eds.Sample) { s.Axis = otherAxis }},
				{name: "invalid axis", mutate: func(s *eds.Sample) { s.Axis = 7 }, want: eds.ErrOutOfRange},
				{name: "next row", at: func(r, c int) (int, int) { return r + 1, c }},
				{name: "next column", at: func(r, c int) (int, int) { return r, c + 1 }},
				{name: "transposed", at: func(r, c int) (int, int) { return c, r }},
				{name: "negative row", at: func(r, c int) (int, int) { return -1, c }, want: eds.ErrOutOfRange},
				{name: "column past the square", at: func(r, c int) (int, int) { return r, 2 * k }, want: eds.ErrOutOfRange},
				{name: "other header", dah: other, want: nmt.ErrInvalidProof},
				{name: "nil header", dah: &eds.DataAvailabilityHeader{}, want: eds.ErrInvalidDAH},
				{name: "header of 6 roots", dah: &eds.DataAvailabilityHeader{RowRoots: roots(6, nmt.NodeSize), ColumnRoots: roots(6, nmt.NodeSize)}, want: eds.ErrInvalidSquareSize},
			}
			for _, tt := range tests {
				t.Run(fmt.Sprintf("(%d,%d)/%s/%s", r, c, axis, tt.name), func(t *testing.T) {
					s := cloneSample(good)
					if tt.mutate != nil {
						tt.mutate(s)
					}
					d := dah
					if tt.dah != nil {
						d = tt.dah
					}
					vr, vc := r, c
					if tt.at != nil {
						vr, vc = tt.at(r, c)
					}
					err := s.Verify(d, vr, vc)
					if !errors.Is(err, eds.ErrInvalidSample) || (tt.want != nil && !errors.Is(err, tt.want)) {
						t.Fatalf("got %v, want ErrInvalidSample and %v", err, tt.want)
					}
				})
			}
		}
	}
	var nilSample *eds.Sample
	if err := nilSample.Verify(dah, 0, 0); !errors.Is(err, eds.ErrInvalidSample) {
		t.Fatalf("nil sample: %v", err)
	}
	if err := (&eds.Sample{}).Verify(nil, 0, 0); !errors.Is(err, eds.ErrInvalidDAH) {
		t.Fatalf("nil header: %v", err)
	}
}

func TestSampleErrors(t *testing.T) {
	e, _, _ := square(t, 3, 2)
	for _, tt := range []struct {
		r, c int
		axis eds.Axis
	}{{-1, 0, eds.Row}, {0, 4, eds.Col}, {4, 4, eds.Row}, {0, 0, eds.Axis(2)}, {0, 0, eds.Axis(-1)}} {
		s, err := e.Sample(tt.r, tt.c, tt.axis)
		if s != nil || !errors.Is(err, eds.ErrOutOfRange) {
			t.Fatalf("(%d, %d) %s: got (%v, %v)", tt.r, tt.c, tt.axis, s, err)
		}
	}
	// The share is a copy.
	s, err := e.Sample(1, 1, eds.Row)
	if err != nil {
		t.Fatal(err)
	}
	s.Share[0] ^= 0xFF
	if e.Share(1, 1)[0] == s.Share[0] {
		t.Fatal("Sample aliases the square")
	}
}

// refProofBytes encodes p with the reference's gogoproto message.
func refProofBytes(t testing.TB, p nmt.Proof) []byte {
	t.Helper()
	m := pb.Proof{Start: int64(p.Start), End: int64(p.End), Nodes: p.Nodes, LeafHash: p.LeafHash, IsMaxNamespaceIgnored: p.IsMaxNamespaceIgnored}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// shareMsg returns the message Share{bytes data = 1} holding s.
func shareMsg(s []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), s)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

// The encoding is shwap's Sample message, the proof encoded as gogoproto
// encodes celestiaorg/nmt's pb.Proof.
func TestSampleWireFormat(t *testing.T) {
	e, _, _ := square(t, 5, 4)
	for _, axis := range axes {
		s, err := e.Sample(2, 6, axis)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want := appendBytesField(nil, 1, shareMsg(s.Share))
		want = appendBytesField(want, 2, refProofBytes(t, s.Proof))
		if axis == eds.Col {
			want = appendVarintField(want, 3, 1)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: encoding\n%x\nwant\n%x", axis, got, want)
		}
		if len(got) > eds.MaxSampleSize {
			t.Fatalf("%d bytes exceed MaxSampleSize", len(got))
		}
		dec, err := eds.UnmarshalSample(got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec.Share, s.Share) || dec.Axis != s.Axis || !equalProofs(dec.Proof, s.Proof) {
			t.Fatal("round trip changed the sample")
		}
		// The decoded sample does not alias its input.
		got[10] ^= 0xFF
		if !bytes.Equal(dec.Share, s.Share) {
			t.Fatal("decoded sample aliases its input")
		}
	}
}

func TestUnmarshalSample(t *testing.T) {
	e, dah, _ := square(t, 5, 2)
	s, err := e.Sample(1, 3, eds.Col)
	if err != nil {
		t.Fatal(err)
	}
	share, proof := shareMsg(s.Share), refProofBytes(t, s.Proof)
	// Clipped: every case appending to it gets its own copy.
	valid := slices.Clip(appendVarintField(appendBytesField(appendBytesField(nil, 1, share), 2, proof), 3, 1))
	// Fields out of order and unknown fields are accepted.
	reordered := appendVarintField(nil, 3, 1)
	reordered = appendVarintField(reordered, 9, 12345)
	reordered = appendBytesField(reordered, 2, proof)
	reordered = appendBytesField(reordered, 1, append(appendBytesField(nil, 4, []byte("x")), share...))

	tests := []struct {
		name string
		data []byte
		msg  string // empty: valid, decodes to s
	}{
		{"valid", valid, ""},
		{"reordered with unknown fields", reordered, ""},
		{"empty", nil, "share or proof missing"},
		{"no proof", appendBytesField(nil, 1, share), "share or proof missing"},
		{"no share", appendBytesField(nil, 2, proof), "share or proof missing"},
		{"short share", appendBytesField(appendBytesField(nil, 1, shareMsg(s.Share[:511])), 2, proof), "511 bytes"},
		{"empty share message", appendBytesField(appendBytesField(nil, 1, nil), 2, proof), "0 bytes"},
		{"share repeated", appendBytesField(valid, 1, share), "field repeated"},
		{"data repeated", appendBytesField(appendBytesField(nil, 1, append(bytes.Clone(share), share...)), 2, proof), "field repeated"},
		{"proof repeated", appendBytesField(valid, 2, proof), "field repeated"},
		{"axis 2", appendVarintField(appendBytesField(appendBytesField(nil, 1, share), 2, proof), 3, 2), "axis 2"},
		{"axis as bytes", appendBytesField(appendBytesField(appendBytesField(nil, 1, share), 2, proof), 3, []byte{1}), "wire type"},
		{"share as varint", appendVarintField(nil, 1, 5), "wire type"},
		{"bad proof", appendBytesField(appendBytesField(nil, 1, share), 2, []byte{0x1a, 0x01, 0x00}), "node 0 has 1 bytes"},
		{"truncated", valid[:len(valid)-3], "field 2: unexpected EOF"},
		{"bad tag", []byte{0x80}, "tag"},
		{"too long", append(bytes.Clone(valid), make([]byte, eds.MaxSampleSize)...), "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eds.UnmarshalSample(tt.data)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Share, s.Share) || got.Axis != eds.Col || !equalProofs(got.Proof, s.Proof) {
					t.Fatal("decoded another sample")
				}
				if err := got.Verify(dah, 1, 3); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != nil || !errors.Is(err, eds.ErrInvalidSample) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got (%v, %v), want ErrInvalidSample mentioning %q", got, err, tt.msg)
			}
		})
	}
}

func TestSampleMarshalErrors(t *testing.T) {
	e, _, _ := square(t, 5, 2)
	good, err := e.Sample(0, 0, eds.Row)
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(s *eds.Sample){
		"short share":  func(s *eds.Sample) { s.Share = s.Share[1:] },
		"invalid axis": func(s *eds.Sample) { s.Axis = 3 },
		"short node":   func(s *eds.Sample) { s.Proof.Nodes[0] = s.Proof.Nodes[0][:10] },
		"negative end": func(s *eds.Sample) { s.Proof.End = -1 },
	} {
		s := cloneSample(good)
		mutate(s)
		if b, err := s.MarshalBinary(); b != nil || !errors.Is(err, eds.ErrInvalidSample) {
			t.Fatalf("%s: got (%x, %v)", name, b, err)
		}
	}
}
