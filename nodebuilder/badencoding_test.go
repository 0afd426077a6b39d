package nodebuilder_test

import (
	"context"
	"io"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/nodebuilder"
	"github.com/datamesh/mesh-node/shrex"
)

// badlyEncoded returns the cells of e with cell (r, c) of Q2 changed and
// row r encoded again from its changed first half, and the DAH of those
// cells: every row is a valid encoding of its first half and matches its
// root, but column c does not decode to what its root commits to. It is
// the square a producer that lies about its parity would commit to.
func badlyEncoded(t *testing.T, e *eds.ExtendedDataSquare, r, c int) ([][][]byte, *eds.DataAvailabilityHeader) {
	t.Helper()
	w, k := e.Width(), e.K()
	if r < k || c >= k {
		t.Fatalf("cell (%d, %d) is not in Q2", r, c)
	}
	rows := make([][][]byte, w)
	for i := range w {
		for _, cell := range e.Row(i) {
			rows[i] = append(rows[i], append([]byte(nil), cell...))
		}
	}
	rows[r][c][len(rows[r][c])-1] ^= 0x5a
	full, err := eds.ExtendAxis(rows[r][:k])
	if err != nil {
		t.Fatal(err)
	}
	rows[r] = full
	dah := &eds.DataAvailabilityHeader{}
	for i := range w {
		col := make([][]byte, w)
		for j := range w {
			col[j] = rows[j][i]
		}
		rr, err := eds.AxisRoot(rows[i], i)
		if err != nil {
			t.Fatal(err)
		}
		cr, err := eds.AxisRoot(col, i)
		if err != nil {
			t.Fatal(err)
		}
		dah.RowRoots, dah.ColumnRoots = append(dah.RowRoots, rr), append(dah.ColumnRoots, cr)
	}
	return rows, dah
}

// badChain is a chain whose block at height badHeight commits (its validators signed the data root) to a badly
// encoded square: one parity share of Q2 is wrong, and its row is encoded
// again so that every row matches its root, but column 1 does not.
type badChain struct {
	headers []*header.ExtendedHeader
	// squares are the honest squares by height; at badHeight, the square
	// the producer started from.
	squares map[uint64]*eds.ExtendedDataSquare
	// rows and dah are the badly encoded square of badHeight.
	rows [][][]byte
	dah  *eds.DataAvailabilityHeader
}

const badHeight = 12

// newBadChain makes a badChain of length headers of chainID.
func newBadChain(t *testing.T, chainID string, length int) *badChain {
	t.Helper()
	c := &badChain{squares: map[uint64]*eds.ExtendedDataSquare{}}
	g := headertest.NewGenerator(headertest.Options{ChainID: chainID, Seed: 30, Blobs: 4, MaxBlobSize: 4000,
		OnSquare: func(h int64, e *eds.ExtendedDataSquare) {
			c.squares[uint64(h)] = e
			if h == badHeight {
				c.rows, c.dah = badlyEncoded(t, e, e.K(), 1)
			}
		},
		// The validators sign a data root transaction of the bad square.
		Byzantine: func(h int64, txs cmttypes.Txs) cmttypes.Txs {
			if h != badHeight {
				return txs
			}
			drt, err := header.DataRootTx{SquareSize: uint32(c.dah.SquareSize()), DataRoot: c.dah.Hash()}.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			txs[len(txs)-1] = drt
			return txs
		}})
	c.headers = g.Chain(t, length)
	byz := *c.headers[badHeight-1]
	byz.DAH = c.dah
	if err := byz.Validate(); err != nil {
		t.Fatalf("the bad block's header does not validate: %v", err)
	}
	c.headers[badHeight-1] = &byz
	return c
}

// startBadBridge starts a test bridge serving the first n headers of c
// (the rest are the test's to publish) and every square over shrex but
// the bad one, whose rows it serves (serveRows): a node must rebuild it
// from rows to find it badly encoded, and no light node can sample it.
func startBadBridge(ctx context.Context, t *testing.T, chainID string, c *badChain, n int) *testBridge {
	t.Helper()
	b := startSquareBridge(ctx, t, chainID, memChain(ctx, t, c.headers[:n]),
		&squareMap{squares: c.squares, withhold: func(h uint64) bool { return h == badHeight }})
	serveRows(t, b, chainID, c.squares, badHeight, c.rows)
	return b
}

// TestFullNodeDetectsBadEncoding: a test bridge serves a chain whose block
// at height 12 commits (its validators signed the data root) to a badly
// encoded square: one parity share of Q2 is wrong. The bridge serves that
// square's rows, each consistent with its root, but not the whole square.
// The full node rebuilds the square from rows, finds that column 1 does not
// match its root, keeps a bad-encoding proof naming the column that
// validates against the header, and reports every height from 12 on
// unavailable; the heights below stay available.
func TestFullNodeDetectsBadEncoding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const chainID, bad = "bad-encoding-test", badHeight
	c := newBadChain(t, chainID, 20)
	badDAH := c.dah
	b := startBadBridge(ctx, t, chainID, c, 20)

	conf := nodeConfig(nodebuilder.Full, chainID, b.addr(t))
	conf.Header.TrustedHeight = 1
	n, err := nodebuilder.New(nodebuilder.Full, t.TempDir(), conf, nodebuilder.Options{
		Logger: testLogger(t, "full"),
		DAS:    func(o *das.Options) { o.Workers = 1; o.FullTimeout = 10 * time.Second },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	coretest.WaitUntil(ctx, t, "the full node to find the bad encoding", func() bool { return n.DASer().BadEncoding() != nil })

	p := n.DASer().BadEncoding()
	if p.Height != bad || p.Axis != eds.Col || p.Index != 1 {
		t.Fatalf("bad-encoding proof of height %d, axis %v, index %d; want %d, col, 1", p.Height, p.Axis, p.Index, bad)
	}
	if err := p.Validate(badDAH); err != nil {
		t.Fatalf("the proof does not validate against the header: %v", err)
	}
	st := n.DASer().Stats()
	if st.BadEncoding == nil || st.BadEncoding.Axis != "col" || st.BadEncoding.Index != 1 {
		t.Fatalf("stats report %+v", st.BadEncoding)
	}
	for h := uint64(bad); h <= 20; h++ {
		if r, err := n.DASer().Result(ctx, h); err == nil && r.Available {
			t.Fatalf("height %d reported available after the bad block", h)
		}
	}
	if n.P2P().IsBlocked(b.id()) {
		t.Error("the bridge was blocked for rows that match their roots")
	}
}

// serveRows makes b answer shrex row requests itself: the rows of the
// bad square at height bad, the honest rows elsewhere (shrex's format: a
// status header, then the first half of the row).
func serveRows(t *testing.T, b *testBridge, chainID string, squares map[uint64]*eds.ExtendedDataSquare, bad uint64, badRows [][][]byte) {
	t.Helper()
	header := func(status byte) []byte { return []byte{2, 0x08, status} }
	b.p2p.Host().SetStreamHandler(shrex.ProtocolID(chainID, shrex.KindRow), func(s network.Stream) {
		defer s.Close()
		req, err := io.ReadAll(io.LimitReader(s, 64))
		if err != nil {
			_ = s.Reset()
			return
		}
		id, err := eds.UnmarshalRowID(req)
		e := squares[id.Height]
		if err != nil || e == nil || id.Row >= e.Width() {
			_, _ = s.Write(header(2))
			return
		}
		row := e.Row(id.Row)
		if id.Height == bad {
			row = badRows[id.Row]
		}
		out := header(1)
		for _, cell := range row[:e.K()] {
			out = append(out, cell...)
		}
		_, _ = s.Write(out)
	})
}
