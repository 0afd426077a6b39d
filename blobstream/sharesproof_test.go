package blobstream_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/merkle"
	"github.com/datamesh/mesh-node/share"
)

// blobFixture is a real extended square holding one blob, the attested
// range of tuples its block is in, and the SharesProof of the blob.
type blobFixture struct {
	sq         *eds.ExtendedDataSquare
	dah        *eds.DataAvailabilityHeader
	from, to   int // the blob's shares in the original square
	height     uint64
	tupleRoot  [32]byte
	tupleProof *merkle.Proof
	proof      *blobstream.SharesProof
}

const (
	tupleStart = 10
	tupleCount = 9
	nonce      = 3
)

// newBlobFixture lays out a k=8 original square: at share 0 the padding
// of a lower namespace until share at, then the blob of dataLen bytes
// (real sparse shares, share.Blob.Shares), then tail padding; extends it,
// puts its data root at height tupleStart+3 among tupleCount random ones,
// and builds the blob's SharesProof.
func newBlobFixture(t *testing.T, at, dataLen int) *blobFixture {
	t.Helper()
	const k = 8
	low, err := share.NewV0Namespace([]byte("low"))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := share.NewV0Namespace([]byte("rollup"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(at), uint64(dataLen)))
	data := make([]byte, dataLen)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	b, err := share.NewBlob(ns, data, share.ShareVersionZero, nil)
	if err != nil {
		t.Fatal(err)
	}
	ods := make([][]byte, 0, k*k)
	for range at {
		pad, err := share.NamespacePaddingShare(low, share.ShareVersionZero)
		if err != nil {
			t.Fatal(err)
		}
		ods = append(ods, pad)
	}
	for _, s := range b.Shares() {
		ods = append(ods, s)
	}
	to := len(ods)
	for len(ods) < k*k {
		ods = append(ods, share.TailPaddingShare())
	}
	sq, dah := edstest.Extend(t, ods)
	f := &blobFixture{sq: sq, dah: dah, from: at, to: to, height: tupleStart + 3}

	roots := make([][32]byte, tupleCount)
	for i := range roots {
		for j := range roots[i] {
			roots[i][j] = byte(rng.Uint32())
		}
	}
	dataRoot := [32]byte(dah.Hash())
	roots[f.height-tupleStart] = dataRoot
	root, tp, err := blobstream.TupleProof(f.height, tupleStart, roots)
	if err != nil {
		t.Fatal(err)
	}
	f.tupleRoot, f.tupleProof = [32]byte(root), tp

	var rows [][][]byte
	for r := at / k; r <= (to-1)/k; r++ {
		rows = append(rows, sq.Row(r))
	}
	sp, err := eds.ProveShares(dah, at, to, rows)
	if err != nil {
		t.Fatal(err)
	}
	if f.proof, err = blobstream.NewSharesProof(sp, f.height, dataRoot, tp, nonce); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSharesProofOfABlob(t *testing.T) {
	for _, c := range []struct {
		name        string
		at, dataLen int
		rows        int
	}{
		{"one share", 3, 100, 1},
		{"within a row", 1, 5 * 478, 1},
		{"three rows", 5, 12 * 478, 3},
		{"whole rows", 8, 16*478 - 10, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newBlobFixture(t, c.at, c.dataLen)
			p := f.proof
			if err := blobstream.VerifySharesProof(p, f.tupleRoot); err != nil {
				t.Fatal(err)
			}
			if len(p.RowRoots) != c.rows || len(p.ShareProofs) != c.rows || len(p.RowProofs) != c.rows {
				t.Fatalf("%d row roots, %d share proofs, %d row proofs; want %d rows",
					len(p.RowRoots), len(p.ShareProofs), len(p.RowProofs), c.rows)
			}
			ods := f.sq.FlattenedODS()
			if len(p.Data) != f.to-f.from {
				t.Fatalf("%d shares, the blob has %d", len(p.Data), f.to-f.from)
			}
			for i, s := range p.Data {
				if !bytes.Equal(s, ods[f.from+i]) {
					t.Fatalf("share %d is not the square's share %d", i, f.from+i)
				}
			}
			for i, r := range p.RowRoots {
				if !bytes.Equal(r.Bytes(), f.dah.RowRoots[f.from/8+i]) {
					t.Fatalf("row root %d is not the header's", i)
				}
			}
			if p.AttestationProof.TupleRootNonce != nonce || p.AttestationProof.Tuple.Height != f.height {
				t.Fatalf("attestation proof %+v", p.AttestationProof)
			}
		})
	}
}

// mustFail runs f on a deep copy of the fixture's proof and checks that
// the result does not verify, with the given check named.
func mustFail(t *testing.T, f *blobFixture, want blobstream.ErrorCode, what string, mutate func(p *blobstream.SharesProof)) {
	t.Helper()
	p := cloneProof(t, f.proof)
	mutate(p)
	err := blobstream.VerifySharesProof(p, f.tupleRoot)
	var ve *blobstream.VerifyError
	if !errors.As(err, &ve) || !errors.Is(err, blobstream.ErrInvalidSharesProof) {
		t.Fatalf("%s: %v, want a VerifyError", what, err)
	}
	if ve.Code != want {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// cloneProof deep-copies p through its JSON, which also checks the round
// trip.
func cloneProof(t *testing.T, p *blobstream.SharesProof) *blobstream.SharesProof {
	t.Helper()
	b, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var q blobstream.SharesProof
	if err := q.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return &q
}

func TestSharesProofTampering(t *testing.T) {
	f := newBlobFixture(t, 5, 12*478)
	const (
		tuple = blobstream.InvalidDataRootTupleToDataRootTupleRootProof
		rows  = blobstream.InvalidRowsToDataRootProof
		nmtp  = blobstream.InvalidSharesToRowsProof
		count = blobstream.UnequalDataLengthAndNumberOfSharesProofs
	)
	p := f.proof
	for i := range p.Data {
		for j := range p.Data[i] {
			mustFail(t, f, nmtp, "share byte", func(q *blobstream.SharesProof) { q.Data[i][j] ^= 0x01 })
		}
	}
	for i, sp := range p.ShareProofs {
		for n := range sp.SideNodes {
			for j := range 90 {
				mustFail(t, f, nmtp, "share proof side node byte", func(q *blobstream.SharesProof) {
					flipNode(&q.ShareProofs[i].SideNodes[n], j)
				})
			}
		}
		mustFail(t, f, count, "share proof begin key", func(q *blobstream.SharesProof) { q.ShareProofs[i].BeginKey++ })
		mustFail(t, f, count, "share proof end key", func(q *blobstream.SharesProof) { q.ShareProofs[i].EndKey-- })
		mustFail(t, f, nmtp, "share proof range shifted", func(q *blobstream.SharesProof) {
			if q.ShareProofs[i].BeginKey > 0 {
				q.ShareProofs[i].BeginKey--
				q.ShareProofs[i].EndKey--
			} else {
				q.ShareProofs[i].BeginKey++
				q.ShareProofs[i].EndKey++
			}
		})
		mustFail(t, f, nmtp, "share proof side node dropped", func(q *blobstream.SharesProof) {
			q.ShareProofs[i].SideNodes = q.ShareProofs[i].SideNodes[1:]
		})
	}
	for i := range p.RowRoots {
		for j := range 90 {
			mustFail(t, f, rows, "row root byte", func(q *blobstream.SharesProof) { flipNode(&q.RowRoots[i], j) })
		}
	}
	for i, rp := range p.RowProofs {
		for n := range rp.SideNodes {
			for j := range 32 {
				mustFail(t, f, rows, "row proof side node byte", func(q *blobstream.SharesProof) { q.RowProofs[i].SideNodes[n][j] ^= 1 })
			}
		}
		mustFail(t, f, rows, "row proof key", func(q *blobstream.SharesProof) { q.RowProofs[i].Key++ })
		mustFail(t, f, rows, "row proof numLeaves", func(q *blobstream.SharesProof) { q.RowProofs[i].NumLeaves = 2 })
		mustFail(t, f, rows, "row proof numLeaves", func(q *blobstream.SharesProof) { q.RowProofs[i].NumLeaves = q.RowProofs[i].Key })
	}
	for j := range 32 {
		mustFail(t, f, tuple, "tuple data root byte", func(q *blobstream.SharesProof) { q.AttestationProof.Tuple.DataRoot[j] ^= 1 })
	}
	for bit := range 64 {
		mustFail(t, f, tuple, "tuple height bit", func(q *blobstream.SharesProof) { q.AttestationProof.Tuple.Height ^= 1 << bit })
	}
	ap := p.AttestationProof.Proof
	for n := range ap.SideNodes {
		for j := range 32 {
			mustFail(t, f, tuple, "tuple proof side node byte", func(q *blobstream.SharesProof) { q.AttestationProof.Proof.SideNodes[n][j] ^= 1 })
		}
	}
	mustFail(t, f, tuple, "tuple proof key", func(q *blobstream.SharesProof) { q.AttestationProof.Proof.Key++ })
	mustFail(t, f, tuple, "tuple proof key", func(q *blobstream.SharesProof) { q.AttestationProof.Proof.Key-- })
	mustFail(t, f, tuple, "tuple proof numLeaves", func(q *blobstream.SharesProof) { q.AttestationProof.Proof.NumLeaves = 4 })
	mustFail(t, f, tuple, "tuple proof numLeaves", func(q *blobstream.SharesProof) { q.AttestationProof.Proof.NumLeaves = 17 })
	for j := range 29 {
		mustFail(t, f, nmtp, "namespace byte", func(q *blobstream.SharesProof) {
			if j == 0 {
				q.Namespace.Version ^= 1
			} else {
				q.Namespace.ID[j-1] ^= 1
			}
		})
	}
	mustFail(t, f, blobstream.UnequalRowProofsAndRowRootsNumber, "row proof dropped", func(q *blobstream.SharesProof) { q.RowProofs = q.RowProofs[1:] })
	mustFail(t, f, blobstream.UnequalShareProofsAndRowRootsNumber, "share proof dropped", func(q *blobstream.SharesProof) { q.ShareProofs = q.ShareProofs[1:] })
	mustFail(t, f, count, "share dropped", func(q *blobstream.SharesProof) { q.Data = q.Data[1:] })
	mustFail(t, f, count, "share added", func(q *blobstream.SharesProof) { q.Data = append(q.Data, q.Data[0]) })
	mustFail(t, f, count, "reversed range", func(q *blobstream.SharesProof) {
		q.ShareProofs[0].BeginKey, q.ShareProofs[0].EndKey = q.ShareProofs[0].EndKey, q.ShareProofs[0].BeginKey
	})
	mustFail(t, f, nmtp, "rows swapped", func(q *blobstream.SharesProof) {
		q.RowRoots[0], q.RowRoots[1] = q.RowRoots[1], q.RowRoots[0]
		q.RowProofs[0], q.RowProofs[1] = q.RowProofs[1], q.RowProofs[0]
	})
	// Another tuple root, for example that of another nonce, fails.
	for j := range 32 {
		root := f.tupleRoot
		root[j] ^= 1
		if err := blobstream.VerifySharesProof(f.proof, root); !errors.Is(err, blobstream.ErrInvalidSharesProof) {
			t.Fatalf("tuple root byte %d flipped: %v", j, err)
		}
	}
	if err := blobstream.VerifySharesProof(nil, f.tupleRoot); !errors.Is(err, blobstream.ErrInvalidSharesProof) {
		t.Fatalf("nil proof: %v", err)
	}
	// The untouched proof still verifies: the mutations worked on copies.
	if err := blobstream.VerifySharesProof(f.proof, f.tupleRoot); err != nil {
		t.Fatal(err)
	}
}

// flipNode flips a bit of byte j of n's 90-byte form.
func flipNode(n *blobstream.NamespaceNode, j int) {
	switch {
	case j == 0:
		n.Min.Version ^= 1
	case j < 29:
		n.Min.ID[j-1] ^= 1
	case j == 29:
		n.Max.Version ^= 1
	case j < 58:
		n.Max.ID[j-30] ^= 1
	default:
		n.Digest[j-58] ^= 1
	}
}

func TestNewSharesProofRefuses(t *testing.T) {
	f := newBlobFixture(t, 5, 12*478)
	var rows [][][]byte
	for r := f.from / 8; r <= (f.to-1)/8; r++ {
		rows = append(rows, f.sq.Row(r))
	}
	sp, err := eds.ProveShares(f.dah, f.from, f.to, rows)
	if err != nil {
		t.Fatal(err)
	}
	dataRoot := [32]byte(f.dah.Hash())
	other := dataRoot
	other[0] ^= 1
	for _, c := range []struct {
		name   string
		sp     *eds.ShareProof
		height uint64
		root   [32]byte
		tp     *merkle.Proof
	}{
		{"no share proof", nil, f.height, dataRoot, f.tupleProof},
		{"no tuple proof", sp, f.height, dataRoot, nil},
		{"another data root", sp, f.height, other, f.tupleProof},
		{"another height", sp, f.height + 1, dataRoot, f.tupleProof},
	} {
		if _, err := blobstream.NewSharesProof(c.sp, c.height, c.root, c.tp, nonce); !errors.Is(err, blobstream.ErrBuild) {
			t.Errorf("%s: %v, want ErrBuild", c.name, err)
		}
	}
}
