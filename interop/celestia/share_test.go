package celestia_test

import (
	"bytes"
	"testing"

	"github.com/celestiaorg/celestia-node/api/rpc/client"
	"github.com/celestiaorg/celestia-node/share/shwap"
)

func TestShareModule(t *testing.T) {
	p := postedBlobs(t)
	h := p.header
	dah := h.DAH
	width := len(dah.RowRoots)
	k := width / 2
	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		if err := c.Share.SharesAvailable(ctx, p.height); err != nil {
			t.Fatalf("SharesAvailable(%d): %v", p.height, err)
		}

		eds, err := c.Share.GetEDS(ctx, p.height)
		if err != nil {
			t.Fatalf("GetEDS(%d): %v", p.height, err)
		}
		if int(eds.Width()) != width {
			t.Fatalf("GetEDS: width %d, DAH has %d rows", eds.Width(), width)
		}
		checkEDS(t, h, eds)

		// Shares and samples from every quadrant.
		coords := []shwap.SampleCoords{{Row: 0, Col: 0}, {Row: 0, Col: width - 1}, {Row: width - 1, Col: 0}, {Row: k, Col: k}, {Row: width - 1, Col: width - 1}}
		for _, rc := range coords {
			sh, err := c.Share.GetShare(ctx, p.height, rc.Row, rc.Col)
			if err != nil {
				t.Fatalf("GetShare(%d, %d, %d): %v", p.height, rc.Row, rc.Col, err)
			}
			if !bytes.Equal(sh.ToBytes(), eds.GetCell(uint(rc.Row), uint(rc.Col))) {
				t.Fatalf("GetShare(%d, %d): not the square's cell", rc.Row, rc.Col)
			}
		}
		samples, err := c.Share.GetSamples(ctx, p.height, coords)
		if err != nil {
			t.Fatalf("GetSamples(%d, %v): %v", p.height, coords, err)
		}
		if len(samples) != len(coords) {
			t.Fatalf("GetSamples: %d samples for %d coordinates", len(samples), len(coords))
		}
		for i, s := range samples {
			if err := s.Verify(dah, coords[i].Row, coords[i].Col); err != nil {
				t.Fatalf("sample %v does not verify with shwap.Sample.Verify: %v", coords[i], err)
			}
		}

		for _, idx := range []int{0, k - 1, k, width - 1} {
			row, err := c.Share.GetRow(ctx, p.height, idx)
			if err != nil {
				t.Fatalf("GetRow(%d, %d): %v", p.height, idx, err)
			}
			if err := row.Verify(dah, idx); err != nil {
				t.Fatalf("row %d does not verify with shwap.Row.Verify: %v", idx, err)
			}
		}

		for _, b := range p.blobs[:2] {
			nd, err := c.Share.GetNamespaceData(ctx, p.height, b.Namespace())
			if err != nil {
				t.Fatalf("GetNamespaceData(%d, %x): %v", p.height, b.Namespace().Bytes(), err)
			}
			if err := nd.Verify(dah, b.Namespace()); err != nil {
				t.Fatalf("namespace data of %x does not verify with shwap.NamespaceData.Verify: %v", b.Namespace().Bytes(), err)
			}
			if len(nd.Flatten()) == 0 {
				t.Fatalf("namespace %x: no shares", b.Namespace().Bytes())
			}
		}

		// The big blob's shares: a range over several rows of the ODS, proven
		// to the data root.
		big, err := c.Blob.Get(ctx, p.height, p.big.Namespace(), p.big.Commitment)
		if err != nil {
			t.Fatalf("blob.Get of the big blob: %v", err)
		}
		n, err := big.Length()
		if err != nil {
			t.Fatal(err)
		}
		row, col := big.Index()/width, big.Index()%width
		start := row*k + col
		for _, r := range [][2]int{{start, start + n}, {start + 1, start + 2}, {start, start + k + 1}} {
			res, err := c.Share.GetRange(ctx, p.height, r[0], r[1])
			if err != nil {
				t.Fatalf("GetRange(%d, %d, %d): %v", p.height, r[0], r[1], err)
			}
			if len(res.Shares) != r[1]-r[0] {
				t.Fatalf("GetRange(%d, %d): %d shares", r[0], r[1], len(res.Shares))
			}
			if err := res.Verify(dataRoot(h)); err != nil {
				t.Fatalf("GetRange(%d, %d) does not verify against the data root: %v", r[0], r[1], err)
			}
			for i, sh := range res.Shares {
				idx := r[0] + i
				if !bytes.Equal(sh.ToBytes(), eds.GetCell(uint(idx/k), uint(idx%k))) {
					t.Fatalf("GetRange share %d is not the square's", idx)
				}
			}
		}
	})
}
