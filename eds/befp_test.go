package eds_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/nmt"
	"google.golang.org/protobuf/encoding/protowire"
)

var headerHash = func() []byte { h := sha256.Sum256([]byte("header")); return h[:] }()

// evidence repairs the square with one corrupted share at (r, c), from the
// cells keepCell selects, and returns the header the corrupted square has
// and Repair's evidence.
func evidence(t *testing.T, k, r, c int, keepCell func(r, c int) bool) (*eds.DataAvailabilityHeader, *eds.ErrByzantineData) {
	t.Helper()
	dah, flat := corrupted(t, k, r, c)
	_, err := eds.Repair(dah, keep(flat, keepCell))
	var byz *eds.ErrByzantineData
	if !errors.As(err, &byz) {
		t.Fatalf("got %v, want ErrByzantineData", err)
	}
	return dah, byz
}

func all(r, c int) bool { return true }

func topHalf(k int) func(r, c int) bool { return func(r, c int) bool { return r < k } }

func leftHalf(k int) func(r, c int) bool { return func(r, c int) bool { return c < k } }

// befpFixture is a valid proof of bad encoding and the header it is against.
func befpFixture(t *testing.T) (*eds.DataAvailabilityHeader, *eds.BadEncodingProof) {
	t.Helper()
	dah, byz := evidence(t, 8, 2, 3, all)
	p, err := eds.NewBadEncodingProof(headerHash, 42, byz)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(dah); err != nil {
		t.Fatal(err)
	}
	return dah, p
}

func TestBadEncodingProofFromRepair(t *testing.T) {
	const k = 8
	tests := []struct {
		name     string
		r, c     int
		keepCell func(r, c int) bool
	}{
		{"Q0 share, all shares", 2, 3, all},
		{"Q0 share, top half", 2, 3, topHalf(k)},
		{"Q0 share, left half", 5, 0, leftHalf(k)},
		{"Q1 share, all shares", 1, 9, all},
		{"Q1 share, top half", 1, 9, topHalf(k)},
		{"Q3 share, all shares", 12, 13, all},
		{"Q3 share, top half", 12, 13, topHalf(k)},
		{"Q3 share, left half", 12, 13, leftHalf(k)},
		{"Q1 share, Q1, half of Q2 and Q3", 1, 9, func(r, c int) bool {
			q := quadrant(r, c, k)
			return q == 1 || q == 3 || q == 2 && (r+c)%2 == 0
		}},
		{"Q3 share, scattered loss", 15, 15, func(r, c int) bool { return (r*5+c*3)%7 != 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dah, byz := evidence(t, k, tt.r, tt.c, tt.keepCell)
			t.Logf("evidence: %v", byz)
			p, err := eds.NewBadEncodingProof(headerHash, 42, byz)
			if err != nil {
				t.Fatal(err)
			}
			before := cloneShares(byz.Shares)
			if err := p.Validate(dah); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			for j := range before {
				if !bytes.Equal(before[j], byz.Shares[j]) {
					t.Fatalf("Validate modified share %d", j)
				}
			}
			b, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			back, err := eds.UnmarshalBadEncodingProof(b)
			if err != nil {
				t.Fatal(err)
			}
			if !equalBEFP(back, p) {
				t.Fatal("round trip changed the proof")
			}
			if err := back.Validate(dah); err != nil {
				t.Fatalf("Validate after the wire: %v", err)
			}
		})
	}
}

// equalBEFP reports whether two proofs have the same fields.
func equalBEFP(a, b *eds.BadEncodingProof) bool {
	if !bytes.Equal(a.HeaderHash, b.HeaderHash) || a.Height != b.Height || a.Axis != b.Axis || a.Index != b.Index || len(a.Shares) != len(b.Shares) {
		return false
	}
	for j := range a.Shares {
		x, y := a.Shares[j], b.Shares[j]
		if (x == nil) != (y == nil) || x != nil && (!bytes.Equal(x.Share, y.Share) || x.Axis != y.Axis || !equalProofs(x.Proof, y.Proof)) {
			return false
		}
	}
	return true
}

// With the bad share in Q1 and only Q1 and half of Q2 given, the evidence
// has k-1 proofs (see ErrByzantineData.Proofs): not enough for a proof.
func TestBadEncodingProofInsufficient(t *testing.T) {
	const k = 8
	_, byz := evidence(t, k, 1, 9, func(r, c int) bool {
		q := quadrant(r, c, k)
		return q == 1 || q == 2 && (r+c)%2 == 0
	})
	p, err := eds.NewBadEncodingProof(headerHash, 1, byz)
	if p != nil || !errors.Is(err, eds.ErrInsufficientProofs) || !strings.Contains(err.Error(), "7 of 16") {
		t.Fatalf("got (%v, %v), want ErrInsufficientProofs", p, err)
	}
	for name, bad := range map[string]*eds.ErrByzantineData{
		"nil":              nil,
		"proofs missing":   {Axis: byz.Axis, Index: byz.Index, Shares: byz.Shares},
		"no shares proven": {Axis: byz.Axis, Index: byz.Index, Shares: byz.Shares, Proofs: make([]*nmt.Proof, len(byz.Shares))},
	} {
		if p, err := eds.NewBadEncodingProof(headerHash, 1, bad); p != nil || !errors.Is(err, eds.ErrInsufficientProofs) {
			t.Fatalf("%s: got (%v, %v)", name, p, err)
		}
	}
	_, good := evidence(t, k, 2, 3, all)
	if p, err := eds.NewBadEncodingProof(headerHash[:31], 1, good); p != nil || !errors.Is(err, eds.ErrInvalidBadEncodingProof) {
		t.Fatalf("short header hash: got (%v, %v)", p, err)
	}
}

// honestProof claims that axis idx of an honest square is badly encoded,
// with the shares at the given positions proven along proofAxis.
func honestProof(t *testing.T, e *eds.ExtendedDataSquare, axis eds.Axis, idx int, positions []int, proofAxis eds.Axis) *eds.BadEncodingProof {
	t.Helper()
	p := &eds.BadEncodingProof{HeaderHash: headerHash, Height: 1, Axis: axis, Index: idx, Shares: make([]*eds.Sample, e.Width())}
	for _, j := range positions {
		r, c := idx, j
		if axis == eds.Col {
			r, c = j, idx
		}
		s, err := e.Sample(r, c, proofAxis)
		if err != nil {
			t.Fatal(err)
		}
		p.Shares[j] = s
	}
	return p
}

func span(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// A proof claimed against an honest square never validates, whichever
// shares it carries and whichever roots they are proven against.
func TestBadEncodingProofHonestSquare(t *testing.T) {
	const k = 8
	e, dah, _ := square(t, 77, k)
	for _, axis := range axes {
		for _, idx := range []int{0, 3, k, 2*k - 1} {
			for name, positions := range map[string][]int{
				"first half":  span(0, k),
				"second half": span(k, 2*k),
				"all":         span(0, 2*k),
				"odd cells":   {1, 3, 5, 7, 9, 11, 13, 15},
			} {
				for _, proofAxis := range axes {
					t.Run(fmt.Sprintf("%s %d/%s/proofs along %s", axis, idx, name, proofAxis), func(t *testing.T) {
						p := honestProof(t, e, axis, idx, positions, proofAxis)
						err := p.Validate(dah)
						if !errors.Is(err, eds.ErrInvalidBadEncodingProof) || !strings.Contains(err.Error(), "decodes to the header's root") {
							t.Fatalf("got %v, want the header's root", err)
						}
					})
				}
			}
		}
	}
	// Evidence from a corrupted square, against the honest square's header.
	_, byz := evidence(t, k, 2, 3, all)
	p, err := eds.NewBadEncodingProof(headerHash, 1, byz)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(dah); !errors.Is(err, eds.ErrInvalidBadEncodingProof) {
		t.Fatalf("evidence against the honest header: %v", err)
	}
}

// cloneBEFP returns a deep copy of p.
func cloneBEFP(p *eds.BadEncodingProof) *eds.BadEncodingProof {
	c := *p
	c.HeaderHash = bytes.Clone(p.HeaderHash)
	c.Shares = make([]*eds.Sample, len(p.Shares))
	for j, s := range p.Shares {
		if s != nil {
			c.Shares[j] = cloneSample(s)
		}
	}
	return &c
}

// firstSet returns the index of the first non-nil share of p.
func firstSet(p *eds.BadEncodingProof) int {
	for j, s := range p.Shares {
		if s != nil {
			return j
		}
	}
	return -1
}

func TestBadEncodingProofRejects(t *testing.T) {
	dah, good := befpFixture(t)
	w := len(good.Shares)
	tests := []struct {
		name   string
		mutate func(p *eds.BadEncodingProof)
		dah    *eds.DataAvailabilityHeader
		want   error // besides ErrInvalidBadEncodingProof
	}{
		{name: "share tampered", mutate: func(p *eds.BadEncodingProof) { p.Shares[firstSet(p)].Share[300] ^= 1 }, want: eds.ErrInvalidSample},
		{name: "proof node tampered", mutate: func(p *eds.BadEncodingProof) { p.Shares[firstSet(p)].Proof.Nodes[0][80] ^= 1 }, want: nmt.ErrInvalidProof},
		{name: "proof start moved", mutate: func(p *eds.BadEncodingProof) { p.Shares[firstSet(p)].Proof.Start++ }, want: eds.ErrInvalidSample},
		{name: "proof axis flipped", mutate: func(p *eds.BadEncodingProof) {
			s := p.Shares[firstSet(p)]
			s.Axis = 1 - s.Axis
		}, want: eds.ErrInvalidSample},
		{name: "shares moved", mutate: func(p *eds.BadEncodingProof) {
			j := firstSet(p)
			p.Shares[j], p.Shares[j+1] = p.Shares[j+1], p.Shares[j]
		}, want: eds.ErrInvalidSample},
		{name: "one share too few", mutate: func(p *eds.BadEncodingProof) { p.Shares[firstSet(p)] = nil }},
		{name: "no shares", mutate: func(p *eds.BadEncodingProof) { p.Shares = make([]*eds.Sample, w) }},
		{name: "short axis", mutate: func(p *eds.BadEncodingProof) { p.Shares = p.Shares[:w-1] }},
		{name: "long axis", mutate: func(p *eds.BadEncodingProof) { p.Shares = append(p.Shares, nil) }},
		{name: "other index", mutate: func(p *eds.BadEncodingProof) { p.Index++ }, want: eds.ErrInvalidSample},
		{name: "index past the square", mutate: func(p *eds.BadEncodingProof) { p.Index = w }, want: eds.ErrOutOfRange},
		{name: "negative index", mutate: func(p *eds.BadEncodingProof) { p.Index = -1 }, want: eds.ErrOutOfRange},
		{name: "other axis", mutate: func(p *eds.BadEncodingProof) { p.Axis = 1 - p.Axis }, want: eds.ErrInvalidSample},
		{name: "invalid axis", mutate: func(p *eds.BadEncodingProof) { p.Axis = 5 }, want: eds.ErrOutOfRange},
		{name: "share of another size", mutate: func(p *eds.BadEncodingProof) {
			s := p.Shares[firstSet(p)]
			s.Share = append(s.Share, 0)
		}, want: eds.ErrInvalidShareSize},
		{name: "invalid header", dah: &eds.DataAvailabilityHeader{}, want: eds.ErrInvalidDAH},
		{name: "header of another width", dah: testDAH(t, 4), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cloneBEFP(good)
			if tt.mutate != nil {
				tt.mutate(p)
			}
			d := dah
			if tt.dah != nil {
				d = tt.dah
			}
			err := p.Validate(d)
			if !errors.Is(err, eds.ErrInvalidBadEncodingProof) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want ErrInvalidBadEncodingProof and %v", err, tt.want)
			}
		})
	}
	var nilProof *eds.BadEncodingProof
	if err := nilProof.Validate(dah); !errors.Is(err, eds.ErrInvalidBadEncodingProof) {
		t.Fatalf("nil proof: %v", err)
	}
}

// The encoding is celestia-node's BadEncoding message, a nil share an empty
// Share message, proofs as gogoproto encodes celestiaorg/nmt's pb.Proof.
func TestBadEncodingProofWireFormat(t *testing.T) {
	_, p := befpFixture(t)
	p.Axis, p.Index = eds.Col, 3 // not a valid proof any more; the encoding does not care
	got, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := appendBytesField(nil, 1, headerHash)
	want = appendVarintField(want, 2, 42)
	for _, s := range p.Shares {
		var msg []byte
		if s != nil {
			msg = appendBytesField(nil, 1, s.Share)
			msg = appendBytesField(msg, 2, refProofBytes(t, s.Proof))
			if s.Axis == eds.Col {
				msg = appendVarintField(msg, 3, 1)
			}
		}
		want = appendBytesField(want, 3, msg)
	}
	want = appendVarintField(want, 4, 3)
	want = appendVarintField(want, 5, 1)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding\n%x\nwant\n%x", got, want)
	}
	if len(got) > eds.MaxBadEncodingProofSize {
		t.Fatal("longer than MaxBadEncodingProofSize")
	}
	back, err := eds.UnmarshalBadEncodingProof(got)
	if err != nil || !equalBEFP(back, p) {
		t.Fatalf("round trip: %v", err)
	}
	// The decoded proof does not alias its input.
	for i := range got {
		got[i] = 0
	}
	if !equalBEFP(back, p) {
		t.Fatal("decoded proof aliases its input")
	}
}

func TestUnmarshalBadEncodingProof(t *testing.T) {
	_, p := befpFixture(t)
	j := firstSet(p)
	s := p.Shares[j]
	proof := refProofBytes(t, s.Proof)
	// Clipped: every case appending to them gets its own copy.
	shareMsg := slices.Clip(appendBytesField(appendBytesField(nil, 1, s.Share), 2, proof))
	head := slices.Clip(appendBytesField(nil, 1, headerHash))
	var tooMany []byte
	for range eds.MaxDAHRoots + 1 {
		tooMany = appendBytesField(tooMany, 3, nil)
	}
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "header hash missing"},
		{"short header hash", appendBytesField(nil, 1, headerHash[:31]), "31 bytes"},
		{"header hash repeated", appendBytesField(head, 1, headerHash), "field repeated"},
		{"height repeated", appendVarintField(appendVarintField(head, 2, 1), 2, 1), "field repeated"},
		{"height as bytes", appendBytesField(head, 2, []byte{1}), "wire type"},
		{"share without proof", appendBytesField(head, 3, appendBytesField(nil, 1, s.Share)), "without proof"},
		{"proof without share", appendBytesField(head, 3, appendBytesField(nil, 2, proof)), "without proof"},
		{"axis alone", appendBytesField(head, 3, appendVarintField(nil, 3, 1)), "without proof"},
		{"short share", appendBytesField(head, 3, appendBytesField(appendBytesField(nil, 1, s.Share[1:]), 2, proof)), "511 bytes"},
		{"share data repeated", appendBytesField(head, 3, appendBytesField(shareMsg, 1, s.Share)), "field repeated"},
		{"share proof repeated", appendBytesField(head, 3, appendBytesField(shareMsg, 2, proof)), "field repeated"},
		{"share axis 2", appendBytesField(head, 3, appendVarintField(shareMsg, 3, 2)), "axis 2"},
		{"bad proof", appendBytesField(head, 3, appendBytesField(appendBytesField(nil, 1, s.Share), 2, []byte{0x10})), "field 2"},
		{"too many shares", append(bytes.Clone(head), tooMany...), "more than 1024 shares"},
		{"index 1024", appendVarintField(head, 4, 1024), "index 1024"},
		{"index repeated", appendVarintField(appendVarintField(head, 4, 1), 4, 1), "field repeated"},
		{"axis 2", appendVarintField(head, 5, 2), "axis 2"},
		{"axis repeated", appendVarintField(appendVarintField(head, 5, 1), 5, 1), "field repeated"},
		{"truncated", head[:len(head)-1], "unexpected EOF"},
		{"too long", make([]byte, eds.MaxBadEncodingProofSize+1), "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eds.UnmarshalBadEncodingProof(tt.data)
			if got != nil || !errors.Is(err, eds.ErrInvalidBadEncodingProof) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got (%v, %v), want ErrInvalidBadEncodingProof mentioning %q", got, err, tt.msg)
			}
		})
	}
	// Unknown fields are skipped, empty shares decode as nil.
	ok := appendVarintField(head, 9, 7)
	ok = appendBytesField(ok, 3, nil)
	ok = appendBytesField(ok, 3, append(protowire.AppendTag(nil, 8, protowire.Fixed32Type), 0, 0, 0, 0))
	got, err := eds.UnmarshalBadEncodingProof(ok)
	if err != nil || len(got.Shares) != 2 || got.Shares[0] != nil || got.Shares[1] != nil {
		t.Fatalf("got (%+v, %v)", got, err)
	}

	for name, mutate := range map[string]func(p *eds.BadEncodingProof){
		"header hash":     func(p *eds.BadEncodingProof) { p.HeaderHash = nil },
		"too many shares": func(p *eds.BadEncodingProof) { p.Shares = make([]*eds.Sample, eds.MaxDAHRoots+1) },
		"negative index":  func(p *eds.BadEncodingProof) { p.Index = -1 },
		"index 1024":      func(p *eds.BadEncodingProof) { p.Index = eds.MaxDAHRoots },
		"axis":            func(p *eds.BadEncodingProof) { p.Axis = 2 },
		"short share":     func(p *eds.BadEncodingProof) { p.Shares[j].Share = p.Shares[j].Share[:10] },
		"share axis":      func(p *eds.BadEncodingProof) { p.Shares[j].Axis = 2 },
		"bad proof":       func(p *eds.BadEncodingProof) { p.Shares[j].Proof.Nodes[0] = nil },
	} {
		q := cloneBEFP(p)
		mutate(q)
		if b, err := q.MarshalBinary(); b != nil || !errors.Is(err, eds.ErrInvalidBadEncodingProof) {
			t.Fatalf("%s: got (%x, %v)", name, b, err)
		}
	}
}

// Validating a proof decodes an axis with data and parity shards missing; a
// Repair decoding an axis with the same data shards missing must not be
// affected. klauspost/reedsolomon v1.14.2's Leopard GF(2^8) inversion cache
// (on for up to 64 shards) keys ReconstructData's error locators without the
// missing parity shards, so a decode through ReconstructData poisons later
// decodes of the same data pattern; the package must use Reconstruct only.
func TestBadEncodingProofValidateThenRepair(t *testing.T) {
	const k = 8
	e, dah, flat := square(t, 2024, k)
	// Shares 0 and 2..8 of row 0: data shard 1 and parity shards 9..15
	// missing.
	p := honestProof(t, e, eds.Row, 0, append([]int{0}, span(2, 9)...), eds.Col)
	if err := p.Validate(dah); !errors.Is(err, eds.ErrInvalidBadEncodingProof) {
		t.Fatalf("honest square: %v", err)
	}
	// Row 0 misses only data shard 1, and column 1 only its first cell.
	checkRepaired(t, dah, keep(flat, func(r, c int) bool { return r != 0 || c != 1 }), flat)
}
