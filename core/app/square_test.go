package app

import (
	"bytes"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
)

// referenceDataRootTx is the data root transaction of body computed the
// plain way: share.Construct, eds.Extend of a copy, eds.NewDAH.
func referenceDataRootTx(t *testing.T, body [][]byte, maxSquareSize int) (*eds.ExtendedDataSquare, []byte) {
	t.Helper()
	sq, err := share.Construct(body, maxSquareSize)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := eds.Extend(sq.Shares)
	if err != nil {
		t.Fatal(err)
	}
	dah, err := eds.NewDAH(ext)
	if err != nil {
		t.Fatal(err)
	}
	drt, err := header.DataRootTx{SquareSize: uint32(sq.Width), DataRoot: dah.Hash()}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return ext, drt
}

// The square laid out in place (share.ConstructInto or BuildInto into an
// eds.ODSBuffer) and extended in place is share.Construct's (Build's)
// extended by eds.Extend, share for share, with the same DAH: for several
// proposals PrepareTxs builds (bare transactions, one and several PFBs,
// squares of width 1 to 16), whose data root transactions are the
// reference's, and which ProcessTxs accepts.
func TestSquareInPlaceMatchesExtend(t *testing.T) {
	e := newTestEnv(t, nil)
	base := e.app.state
	maxSquare := base.Config.Params.MaxSquareSize
	proposals := [][][]byte{
		nil,
		{e.send(e.alice, 0, e.bobA, 1)},
		{e.pfb(e.alice, 0, 1, blobData(50, 1))},
		{e.pfb(e.alice, 0, 3, blobData(20_000, 2), blobData(700, 3)), e.send(e.bob, 0, e.aliceA, 5), e.pfb(e.bob, 1, 2, blobData(90_000, 4))},
	}
	widths := map[uint32]bool{}
	for i, mempool := range proposals {
		txs, err := PrepareTxs(base, mempool, 8<<20)
		if err != nil {
			t.Fatal(err)
		}
		body := txs[:len(txs)-1]
		want, wantDRT := referenceDataRootTx(t, body, maxSquare)
		if !bytes.Equal(txs[len(txs)-1], wantDRT) {
			t.Fatalf("proposal %d: PrepareTxs's data root tx %X, the reference's %X", i, txs[len(txs)-1], wantDRT)
		}
		drt, err := DataRootTx(body, maxSquare)
		if err != nil || !bytes.Equal(drt, wantDRT) {
			t.Fatalf("proposal %d: DataRootTx %X, %v; the reference's %X", i, drt, err, wantDRT)
		}
		if err := ProcessTxs(base, txs); err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
		var sq squareInPlace
		if _, err := share.ConstructInto(body, maxSquare, sq.cells); err != nil {
			t.Fatal(err)
		}
		got, _, err := sq.extend()
		if err != nil {
			t.Fatal(err)
		}
		if got.Width() != want.Width() {
			t.Fatalf("proposal %d: width %d, want %d", i, got.Width(), want.Width())
		}
		for r := range want.Width() {
			for c := range want.Width() {
				if !bytes.Equal(got.Share(r, c), want.Share(r, c)) {
					t.Fatalf("proposal %d: share (%d, %d) differs", i, r, c)
				}
			}
		}
		widths[uint32(want.K())] = true
		// Build's square, laid out in place, is the same too.
		var built squareInPlace
		if _, _, err := share.BuildInto(body, maxSquare, built.cells); err != nil {
			t.Fatal(err)
		}
		if drt, _, err := built.dataRootTx(); err != nil || !bytes.Equal(drt, wantDRT) {
			t.Fatalf("proposal %d: BuildInto's data root tx %X, %v; the reference's %X", i, drt, err, wantDRT)
		}
	}
	if len(widths) < 3 {
		t.Fatalf("the proposals cover square widths %v only", widths)
	}
}

// decodeCached's BlobTx aliases the transaction's bytes: its blob data is
// the part of raw that holds it, not a copy (decodeCached says why that is
// safe), while DecodeTx's is a copy.
func TestDecodeCachedAliasesBlobs(t *testing.T) {
	e := newTestEnv(t, nil)
	data := blobData(3000, 9)
	raw := e.pfb(e.alice, 0, 1, data)
	at := bytes.Index(raw, data)
	if at < 0 {
		t.Fatal("blob data not found in the transaction")
	}
	dt, err := decodeCached(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := dt.btx.Blobs[0].Data()
	if len(got) != len(data) || &got[0] != &raw[at] {
		t.Fatal("decodeCached copied the blob data")
	}
	_, btx, err := DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d := btx.Blobs[0].Data(); !bytes.Equal(d, data) || &d[0] == &raw[at] {
		t.Fatal("DecodeTx's blob data is not a copy of the transaction's")
	}
}
