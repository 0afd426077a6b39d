package eds_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/celestiaorg/rsmt2d"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/nmt"
	"github.com/datamesh/mesh-node/share"
)

// run is n consecutive shares of namespace v0(id).
type run struct {
	id byte
	n  int
}

func v0(id byte) share.Namespace {
	ns, err := share.NewV0Namespace([]byte{id})
	if err != nil {
		panic(err)
	}
	return ns
}

// runsSquare lays out runs row-major in a k×k square, tail padding after
// them, and returns the extended square and its header.
func runsSquare(t testing.TB, k int, runs ...run) (*eds.ExtendedDataSquare, *eds.DataAvailabilityHeader) {
	t.Helper()
	var ods [][]byte
	for _, r := range runs {
		ns := v0(r.id)
		for i := 0; i < r.n; i++ {
			s := make([]byte, shareSize)
			copy(s, ns[:])
			s[nsSize] = 0x01
			copy(s[nsSize+1:], fmt.Sprintf("share %d of %x", i, r.id))
			ods = append(ods, s)
		}
	}
	for len(ods) < k*k {
		ods = append(ods, tailPadding())
	}
	e, dah := edstest.Extend(t, ods)
	return e, dah
}

// odsSharesOf returns the shares of ns in the ODS of e, row-major.
func odsSharesOf(e *eds.ExtendedDataSquare, ns share.Namespace) [][]byte {
	var out [][]byte
	for _, s := range e.ODS() {
		if bytes.Equal(s[:nsSize], ns[:]) {
			out = append(out, s)
		}
	}
	return out
}

// checkNamespaceData gets the data of ns from e and checks it: the rows
// wanted, the shares of ns in the ODS, accepted by our verifier, the
// reference's, and equal to the reference's proofs.
func checkNamespaceData(t *testing.T, e *eds.ExtendedDataSquare, ref *rsmt2d.ExtendedDataSquare, dah *eds.DataAvailabilityHeader, ns share.Namespace, wantRows []int) eds.NamespaceData {
	t.Helper()
	nd, err := e.NamespaceData(ns)
	if err != nil {
		t.Fatal(err)
	}
	rows := eds.RowsWithNamespace(dah, ns)
	if !slices.Equal(rows, wantRows) {
		t.Fatalf("%s: rows %v, want %v", ns, rows, wantRows)
	}
	if len(nd) != len(rows) {
		t.Fatalf("%s: %d rows of data", ns, len(nd))
	}
	if err := nd.Verify(dah, ns); err != nil {
		t.Fatalf("%s: %v", ns, err)
	}
	if got, want := nd.Flatten(), odsSharesOf(e, ns); !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("%s: %d shares, want %d", ns, len(got), len(want))
	}
	for i, r := range nd {
		if r.Row != rows[i] {
			t.Fatalf("entry %d is row %d", i, r.Row)
		}
		leaves := make([][]byte, len(r.Data.Shares))
		for j, s := range r.Data.Shares {
			leaves[j] = append(ns.Bytes(), s...)
		}
		if !toRef(r.Data.Proof).VerifyNamespace(sha256.New(), ns[:], leaves, dah.RowRoots[r.Row]) {
			t.Fatalf("%s row %d: the reference rejects our proof", ns, r.Row)
		}
		rp, err := refAxisTree(t, ref, eds.Row, r.Row).ProveNamespace(ns[:])
		if err != nil {
			t.Fatal(err)
		}
		if !equalProofs(fromRef(rp), r.Data.Proof) {
			t.Fatalf("%s row %d: proofs differ\nours %+v\nref  %+v", ns, r.Row, r.Data.Proof, fromRef(rp))
		}
		one := &eds.RowNamespaceData{Shares: r.Data.Shares, Proof: fromRef(rp)}
		if err := one.Verify(dah, ns, r.Row); err != nil {
			t.Fatalf("%s row %d: reference proof rejected: %v", ns, r.Row, err)
		}
		// Through the wire.
		b, err := r.Data.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := eds.UnmarshalRowNamespaceData(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := back.Verify(dah, ns, r.Row); err != nil {
			t.Fatalf("%s row %d after the wire: %v", ns, r.Row, err)
		}
	}
	return nd
}

// squareShares returns copies of all cells of e, row-major.
func squareShares(e *eds.ExtendedDataSquare) [][]byte {
	w := e.Width()
	out := make([][]byte, 0, w*w)
	for r := 0; r < w; r++ {
		for c := 0; c < w; c++ {
			out = append(out, bytes.Clone(e.Share(r, c)))
		}
	}
	return out
}

// The layout of the tests below (k = 8, 8 shares per row):
//
//	row 0: 10 10 10 20 20 20 20 20
//	row 1: 20 ×8
//	row 2: 20 ×8
//	row 3: 30 30 30 30 30 40 60 60
//	row 4: 60 ×7, tail padding
//	rows 5–7: tail padding
var layout = []run{{0x10, 3}, {0x20, 21}, {0x30, 5}, {0x40, 1}, {0x60, 9}}

func TestNamespaceData(t *testing.T) {
	e, dah := runsSquare(t, 8, layout...)
	ref := refImport(t, squareShares(e))
	tests := []struct {
		name    string
		ns      share.Namespace
		rows    []int
		absence []int // rows answered with an absence proof
	}{
		{"in one row", v0(0x10), []int{0}, nil},
		{"over three rows", v0(0x20), []int{0, 1, 2}, nil},
		{"over two rows", v0(0x60), []int{3, 4}, nil},
		{"one share", v0(0x40), []int{3}, nil},
		{"tail padding", share.TailPaddingNamespace, []int{4, 5, 6, 7}, nil},
		{"absent in row 0", v0(0x15), []int{0}, []int{0}},
		{"absent in row 3", v0(0x50), []int{3}, []int{3}},
		{"absent in row 4", v0(0x70), []int{4}, []int{4}},
		{"below every row", v0(0x05), nil, nil},
		{"between rows 2 and 3", v0(0x25), nil, nil},
		{"secondary reserved, below tail padding", share.MinSecondaryReservedNamespace, []int{4}, []int{4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nd := checkNamespaceData(t, e, ref, dah, tt.ns, tt.rows)
			for _, r := range nd {
				absent := slices.Contains(tt.absence, r.Row)
				if r.Data.Proof.IsOfAbsence() != absent || (len(r.Data.Shares) == 0) != absent {
					t.Fatalf("row %d: absence proof %v with %d shares", r.Row, r.Data.Proof.IsOfAbsence(), len(r.Data.Shares))
				}
			}
		})
	}
}

func TestNamespaceDataRandomSquares(t *testing.T) {
	for _, k := range []int{1, 2, 4, 8, 16} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			e, dah, flat := square(t, uint64(300+k), k)
			ref := refImport(t, flat)
			seen := map[share.Namespace]bool{}
			for _, s := range e.ODS() {
				ns := share.Namespace(s[:nsSize])
				if seen[ns] {
					continue
				}
				seen[ns] = true
				// The namespace itself, and a neighbour that is absent
				// unless it happens to be present too.
				checkNamespaceData(t, e, ref, dah, ns, eds.RowsWithNamespace(dah, ns))
				if next := ns; !ns.IsTailPadding() {
					next[nsSize-1]++
					checkNamespaceData(t, e, ref, dah, next, eds.RowsWithNamespace(dah, next))
				}
			}
		})
	}
}

// RowNamespaceData answers for any row, the parity half included, with the
// empty proof where the row's range does not contain the namespace.
func TestRowNamespaceDataAnyRow(t *testing.T) {
	e, dah := runsSquare(t, 4, run{0x10, 6}, run{0x20, 3})
	for row := 0; row < 8; row++ {
		for _, ns := range []share.Namespace{v0(0x10), v0(0x15), v0(0x20), v0(0x01)} {
			d, err := e.RowNamespaceData(ns, row)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Verify(dah, ns, row); err != nil {
				t.Fatalf("row %d %s: %v", row, ns, err)
			}
			candidate := slices.Contains(eds.RowsWithNamespace(dah, ns), row)
			if d.Proof.IsEmpty() == candidate {
				t.Fatalf("row %d %s: empty proof %v for a candidate row %v", row, ns, d.Proof.IsEmpty(), candidate)
			}
		}
	}
	for _, row := range []int{-1, 8} {
		if d, err := e.RowNamespaceData(v0(0x10), row); d != nil || !errors.Is(err, eds.ErrOutOfRange) {
			t.Fatalf("row %d: got (%v, %v)", row, d, err)
		}
	}
	if d, err := e.RowNamespaceData(share.ParitySharesNamespace, 0); d != nil || !errors.Is(err, share.ErrInvalidNamespace) {
		t.Fatalf("parity namespace: got (%v, %v)", d, err)
	}
	if nd, err := e.NamespaceData(share.ParitySharesNamespace); nd != nil || !errors.Is(err, share.ErrInvalidNamespace) {
		t.Fatalf("parity namespace: got (%v, %v)", nd, err)
	}
	// The shares are copies.
	d, _ := e.RowNamespaceData(v0(0x10), 0)
	d.Shares[0][100] ^= 0xFF
	if e.Share(0, 0)[100] == d.Shares[0][100] {
		t.Fatal("RowNamespaceData aliases the square")
	}
}

// cloneND returns a deep copy of nd.
func cloneND(nd eds.NamespaceData) eds.NamespaceData {
	out := make(eds.NamespaceData, len(nd))
	for i, r := range nd {
		out[i] = eds.NamespaceRow{Row: r.Row, Data: eds.RowNamespaceData{Shares: cloneShares(r.Data.Shares), Proof: r.Data.Proof}}
		out[i].Data.Proof.Nodes = cloneShares(r.Data.Proof.Nodes)
		out[i].Data.Proof.LeafHash = bytes.Clone(r.Data.Proof.LeafHash)
	}
	return out
}

func TestNamespaceDataRejects(t *testing.T) {
	e, dah := runsSquare(t, 8, layout...)
	present, absent := v0(0x20), v0(0x50)
	get := func(ns share.Namespace) eds.NamespaceData {
		nd, err := e.NamespaceData(ns)
		if err != nil {
			t.Fatal(err)
		}
		return nd
	}
	nd20, nd50, nd60 := get(present), get(absent), get(v0(0x60))
	absence15 := get(v0(0x15))[0].Data // absence in row 0, leaf hash: the first 0x20 leaf
	if len(nd20) != 3 || len(nd50) != 1 || !nd50[0].Data.Proof.IsOfAbsence() || !absence15.Proof.IsOfAbsence() {
		t.Fatal("unexpected layout")
	}
	tests := []struct {
		name   string
		ns     share.Namespace
		nd     eds.NamespaceData
		mutate func(nd eds.NamespaceData) eds.NamespaceData
		dah    *eds.DataAvailabilityHeader
		want   error // besides ErrInvalidNamespaceData
	}{
		{name: "first row dropped", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { return nd[1:] }},
		{name: "middle row dropped", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { return slices.Delete(nd, 1, 2) }},
		{name: "last row dropped", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { return nd[:2] }},
		{name: "row added", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { return append(nd, nd[2]) }},
		{name: "rows swapped", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[1], nd[2] = nd[2], nd[1]; return nd }},
		{name: "row renumbered", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[2].Row = 5; return nd }},
		{name: "proof of another row", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[1].Data.Proof = nd[2].Data.Proof; return nd }, want: nmt.ErrInvalidProof},
		{name: "first share dropped", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData {
			nd[0].Data.Shares = nd[0].Data.Shares[1:]
			nd[0].Data.Proof.Start++
			return nd
		}, want: nmt.ErrInvalidProof},
		{name: "last share dropped", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData {
			nd[0].Data.Shares = nd[0].Data.Shares[:len(nd[0].Data.Shares)-1]
			nd[0].Data.Proof.End--
			return nd
		}, want: nmt.ErrInvalidProof},
		{name: "share dropped, proof kept", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData {
			nd[1].Data.Shares = nd[1].Data.Shares[1:]
			return nd
		}, want: nmt.ErrInvalidProof},
		{name: "share payload", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[1].Data.Shares[3][100] ^= 1; return nd }, want: nmt.ErrRootMismatch},
		{name: "share of another namespace", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[1].Data.Shares[3][nsSize-1] = 0x21; return nd }},
		{name: "short share", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData {
			nd[1].Data.Shares[0] = nd[1].Data.Shares[0][:500]
			return nd
		}, want: eds.ErrInvalidShareSize},
		{name: "shares with an absence proof", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[0].Data.Proof = absence15.Proof; return nd }, want: nmt.ErrInvalidProof},
		{name: "absence proof for a present namespace", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[0].Data = absence15; return nd }, want: nmt.ErrInvalidProof},
		{name: "inclusion proof without shares", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[0].Data.Shares = nil; return nd }, want: nmt.ErrInvalidProof},
		{name: "empty proof for a present namespace", ns: present, nd: nd20, mutate: func(nd eds.NamespaceData) eds.NamespaceData {
			nd[1].Data = eds.RowNamespaceData{Proof: nmt.Proof{IsMaxNamespaceIgnored: true}}
			return nd
		}, want: nmt.ErrIncompleteProof},
		{name: "empty proof for an absent namespace", ns: absent, nd: nd50, mutate: func(nd eds.NamespaceData) eds.NamespaceData {
			nd[0].Data.Proof = nmt.Proof{IsMaxNamespaceIgnored: true}
			return nd
		}, want: nmt.ErrIncompleteProof},
		{name: "absent namespace, no rows", ns: absent, nd: nd50, mutate: func(nd eds.NamespaceData) eds.NamespaceData { return nil }},
		{name: "absent namespace given present data", ns: absent, nd: nd60, mutate: func(nd eds.NamespaceData) eds.NamespaceData { return nd[:1] }},
		{name: "absence leaf hash changed", ns: absent, nd: nd50, mutate: func(nd eds.NamespaceData) eds.NamespaceData { nd[0].Data.Proof.LeafHash[80] ^= 1; return nd }, want: nmt.ErrInvalidProof},
		{name: "parity namespace", ns: share.ParitySharesNamespace, nd: nil, want: share.ErrInvalidNamespace},
		{name: "other header", ns: present, nd: nd20, dah: testDAH(t, 8)},
		{name: "invalid header", ns: present, nd: nd20, dah: &eds.DataAvailabilityHeader{}, want: eds.ErrInvalidDAH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nd := cloneND(tt.nd)
			if tt.mutate != nil {
				nd = tt.mutate(nd)
			}
			d := dah
			if tt.dah != nil {
				d = tt.dah
			}
			err := nd.Verify(d, tt.ns)
			if !errors.Is(err, eds.ErrInvalidNamespaceData) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want ErrInvalidNamespaceData and %v", err, tt.want)
			}
		})
	}
	var nilRow *eds.RowNamespaceData
	if err := nilRow.Verify(dah, present, 0); !errors.Is(err, eds.ErrInvalidNamespaceData) {
		t.Fatalf("nil row data: %v", err)
	}
	if err := nd20[0].Data.Verify(dah, present, 16); !errors.Is(err, eds.ErrOutOfRange) {
		t.Fatalf("row out of range: %v", err)
	}
	if rows := eds.RowsWithNamespace(&eds.DataAvailabilityHeader{}, present); rows != nil {
		t.Fatalf("invalid header: rows %v", rows)
	}
}

func TestRowNamespaceDataWire(t *testing.T) {
	e, _ := runsSquare(t, 8, layout...)
	for _, ns := range []share.Namespace{v0(0x20), v0(0x50), v0(0x05)} {
		d, err := e.RowNamespaceData(ns, 3)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for _, s := range d.Shares {
			want = appendBytesField(want, 1, shareMsg(s))
		}
		want = appendBytesField(want, 2, refProofBytes(t, d.Proof))
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: encoding\n%x\nwant\n%x", ns, got, want)
		}
		back, err := eds.UnmarshalRowNamespaceData(got)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(back.Shares, d.Shares, bytes.Equal) || !equalProofs(back.Proof, d.Proof) {
			t.Fatalf("%s: round trip changed the data", ns)
		}
	}

	d, err := e.RowNamespaceData(v0(0x20), 1)
	if err != nil {
		t.Fatal(err)
	}
	proof := refProofBytes(t, d.Proof)
	one := appendBytesField(nil, 1, shareMsg(d.Shares[0]))
	var tooMany []byte
	for range eds.MaxSquareSize + 1 {
		tooMany = append(tooMany, one...)
	}
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "proof missing"},
		{"no proof", one, "proof missing"},
		{"proof repeated", appendBytesField(appendBytesField(nil, 2, proof), 2, proof), "field repeated"},
		{"short share", appendBytesField(appendBytesField(nil, 1, shareMsg(d.Shares[0][:100])), 2, proof), "share 0"},
		{"share as varint", appendVarintField(nil, 1, 1), "wire type"},
		{"bad proof", appendBytesField(nil, 2, []byte{0x08}), "field 1"},
		{"too many shares", appendBytesField(tooMany, 2, proof), "more than 512 shares"},
		{"too long", make([]byte, eds.MaxRowNamespaceDataSize+1), "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eds.UnmarshalRowNamespaceData(tt.data)
			if got != nil || !errors.Is(err, eds.ErrInvalidNamespaceData) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got (%v, %v), want ErrInvalidNamespaceData mentioning %q", got, err, tt.msg)
			}
		})
	}
	for name, bad := range map[string]*eds.RowNamespaceData{
		"short share":     {Shares: [][]byte{make([]byte, 10)}, Proof: d.Proof},
		"too many shares": {Shares: make([][]byte, eds.MaxSquareSize+1), Proof: d.Proof},
		"bad proof":       {Proof: nmt.Proof{Start: 2, End: 1}},
	} {
		if b, err := bad.MarshalBinary(); b != nil || !errors.Is(err, eds.ErrInvalidNamespaceData) {
			t.Fatalf("%s: got (%x, %v)", name, b, err)
		}
	}
}
