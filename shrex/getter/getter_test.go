package getter_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/getter"
)

func sampleAnswer(t testing.TB, e *eds.ExtendedDataSquare, lie bool) func([]byte) []byte {
	return func(req []byte) []byte {
		id, err := eds.UnmarshalSampleID(req)
		if err != nil {
			return status(shrex.StatusBadRequest)
		}
		r, c := id.Row, id.Col
		if lie {
			r, c = c, (r+1)%e.Width() // a valid sample of another cell
		}
		smp, err := e.Sample(r, c, eds.Row)
		if err != nil {
			t.Error(err)
			return status(shrex.StatusInternal)
		}
		b, err := smp.MarshalBinary()
		if err != nil {
			t.Error(err)
			return status(shrex.StatusInternal)
		}
		return append(status(shrex.StatusOK), frame(b)...)
	}
}

func TestGetSampleFromAnnouncer(t *testing.T) {
	b := square(t, 1, 4)
	srv := serve(t, storeOf(b))
	e := newEnv(t, b, []host.Host{srv}, nil)
	for _, cell := range [][2]int{{0, 0}, {3, 5}, {7, 7}} {
		smp := e.checkSample(t, b, cell[0], cell[1])
		if err := smp.Verify(b.h.DAH, cell[0], cell[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.g.GetSample(testCtx(t), b.h, 8, 0); !errors.Is(err, eds.ErrOutOfRange) {
		t.Errorf("out of range: %v, want ErrOutOfRange", err)
	}
	if !e.offered(b, srv.ID()) {
		t.Error("the serving peer is no longer offered")
	}
}

func TestGetSampleFailsOverNotFound(t *testing.T) {
	b := square(t, 2, 4)
	withholding := fake(t, nil)
	honest := serve(t, storeOf(b))
	// The announcer comes first; the full node is the fallback.
	e := newEnv(t, b, []host.Host{withholding}, []host.Host{honest})
	e.checkSample(t, b, 1, 6)
	if e.offered(b, withholding.ID()) {
		t.Error("the peer that answered NOT_FOUND is still offered for the square")
	}
	if !e.offered(b, honest.ID()) {
		t.Error("the honest peer is not offered")
	}
	if got := e.blocker.list(); len(got) != 0 {
		t.Errorf("blocked %v, want nobody", got)
	}
}

func TestGetSampleBlocksLiar(t *testing.T) {
	b := square(t, 3, 4)
	other := square(t, 4, 4)
	liar := fake(t, map[shrex.Kind]func([]byte) []byte{shrex.KindSample: sampleAnswer(t, b.eds, true)})
	honest := serve(t, storeOf(b))
	e := newEnv(t, b, []host.Host{liar}, []host.Host{honest})
	e.checkSample(t, b, 2, 5)
	if got := e.blocker.list(); !slices.Equal(got, []peer.ID{liar.ID()}) {
		t.Errorf("blocked %v, want the liar %v", got, liar.ID())
	}
	e.m.Announced(other.h.Height(), other.h.DataRoot(), liar.ID())
	for i := range 20 {
		if e.offered(b, liar.ID()) || e.offered(other, liar.ID()) {
			t.Fatalf("call %d: the liar is offered again", i)
		}
	}
	// Later requests go to the honest peer only.
	if _, err := e.g.GetSample(testCtx(t), b.h, 0, 1); err != nil {
		t.Fatal(err)
	}
	if got := e.blocker.list(); len(got) != 1 {
		t.Errorf("blocked %v, want the liar once", got)
	}
}

func TestAllWithholdingIsUnavailable(t *testing.T) {
	b := square(t, 5, 4)
	a, c := fake(t, nil), fake(t, nil)
	e := newEnv(t, b, []host.Host{a}, []host.Host{c})
	if _, err := e.g.GetSample(testCtx(t), b.h, 0, 0); !errors.Is(err, das.ErrUnavailable) || !errors.Is(err, shrex.ErrNotFound) {
		t.Errorf("GetSample: %v, want ErrUnavailable wrapping ErrNotFound", err)
	}
	// Both peers are cooling down for this square now: nobody to ask.
	if _, err := e.g.GetRow(testCtx(t), b.h, 0); !errors.Is(err, das.ErrUnavailable) {
		t.Errorf("GetRow: %v, want ErrUnavailable", err)
	}
	if got := e.blocker.list(); len(got) != 0 {
		t.Errorf("blocked %v, want nobody", got)
	}

	// A fresh manager: GetEDS asks for the square, then rows, then
	// samples, but only one sample of each peer that has none.
	var samples atomic.Int32
	countSamples := map[shrex.Kind]func([]byte) []byte{shrex.KindSample: func([]byte) []byte {
		samples.Add(1)
		return status(shrex.StatusNotFound)
	}}
	a, c = fake(t, countSamples), fake(t, countSamples)
	e = newEnv(t, b, []host.Host{a}, []host.Host{c})
	if _, err := e.g.GetEDS(testCtx(t), b.h); !errors.Is(err, das.ErrUnavailable) || !errors.Is(err, eds.ErrUnrepairable) {
		t.Errorf("GetEDS: %v, want ErrUnavailable", err)
	}
	// Each of the Parallel workers may ask a peer before it is found out;
	// without the rule, every peer would get all (2k)² = 64.
	if n := samples.Load(); n > 2*getter.DefaultParallel {
		t.Errorf("%d samples asked of two peers that have none, want at most %d", n, 2*getter.DefaultParallel)
	}

	// No peer at all.
	e = newEnv(t, b, nil, nil)
	if _, err := e.g.GetSample(testCtx(t), b.h, 0, 0); !errors.Is(err, das.ErrUnavailable) {
		t.Errorf("no peers: %v, want ErrUnavailable", err)
	}
	if _, err := e.g.GetEDS(testCtx(t), b.h); !errors.Is(err, das.ErrUnavailable) {
		t.Errorf("no peers: GetEDS: %v, want ErrUnavailable", err)
	}
}

func TestGetRowAndNamespaceData(t *testing.T) {
	b := square(t, 6, 8)
	srv := serve(t, storeOf(b))
	e := newEnv(t, b, []host.Host{srv}, nil)
	row, err := e.g.GetRow(testCtx(t), b.h, 11)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.Join(row, nil), bytes.Join(b.eds.Row(11), nil)) {
		t.Fatal("wrong row")
	}
	ns, err := share.NamespaceFromBytes(b.eds.Share(1, 2)[:share.NamespaceSize])
	if err != nil {
		t.Fatal(err)
	}
	nd, err := e.g.GetNamespaceData(testCtx(t), b.h, ns)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.eds.NamespaceData(ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(nd) != len(want) || len(nd) == 0 {
		t.Fatalf("%d rows of namespace data, want %d", len(nd), len(want))
	}
}

func TestGetEDSWhole(t *testing.T) {
	b := square(t, 7, 8)
	srv := serve(t, storeOf(b))
	e := newEnv(t, b, []host.Host{srv}, nil)
	e.checkEDS(t, b)
}

func TestGetEDSReconstructsFromRows(t *testing.T) {
	b := square(t, 8, 8)
	k := b.eds.K()
	top, bottom := rowsOf(b.eds), rowsOf(b.eds)
	for i := range 2 * k {
		if i < k {
			bottom[i] = nil
		} else {
			top[i] = nil
		}
	}
	a, c := rowServer(t, top), rowServer(t, bottom)
	e := newEnv(t, b, []host.Host{a, c}, nil)
	e.checkEDS(t, b)
	if got := e.blocker.list(); len(got) != 0 {
		t.Errorf("blocked %v, want nobody", got)
	}
}

func TestGetEDSReconstructsFromSamples(t *testing.T) {
	b := square(t, 9, 4)
	k := b.eds.K()
	// One peer has k-1 rows, another serves samples only.
	rows := rowsOf(b.eds)
	for i := k - 1; i < 2*k; i++ {
		rows[i] = nil
	}
	a := rowServer(t, rows)
	c := fake(t, map[shrex.Kind]func([]byte) []byte{shrex.KindSample: sampleAnswer(t, b.eds, false)})
	e := newEnv(t, b, []host.Host{a, c}, nil)
	e.checkEDS(t, b)
}

// badlyEncoded returns the rows of b's square with the Q2 share at (r, c)
// changed and row r re-encoded from its changed first half, and the
// header of that square: every row is a codeword with its header's root,
// column c is not a codeword.
func badlyEncoded(t *testing.T, b block, r, c int) ([][][]byte, *eds.DataAvailabilityHeader) {
	t.Helper()
	k := b.eds.K()
	rows := rowsOf(b.eds)
	half := slices.Clone(rows[r][:k])
	half[c] = bytes.Clone(half[c])
	half[c][300] ^= 0x5A
	full, err := eds.ExtendAxis(half)
	if err != nil {
		t.Fatal(err)
	}
	rows[r] = full
	dah := &eds.DataAvailabilityHeader{}
	for i := range 2 * k {
		root, err := eds.AxisRoot(rows[i], i)
		if err != nil {
			t.Fatal(err)
		}
		dah.RowRoots = append(dah.RowRoots, root)
		col := make([][]byte, 2*k)
		for j := range col {
			col[j] = rows[j][i]
		}
		if root, err = eds.AxisRoot(col, i); err != nil {
			t.Fatal(err)
		}
		dah.ColumnRoots = append(dah.ColumnRoots, root)
	}
	if err := dah.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	return rows, dah
}

func TestGetEDSBadEncoding(t *testing.T) {
	b := square(t, 10, 4)
	k := b.eds.K()
	r, c := k+1, 1
	rows, dah := badlyEncoded(t, b, r, c)
	h := *b.h
	h.DAH = dah
	bad := block{h: &h}
	srv := rowServer(t, rows)
	e := newEnv(t, bad, []host.Host{srv}, nil)
	_, err := e.g.GetEDS(testCtx(t), bad.h)
	var byz *eds.ErrByzantineData
	if !errors.As(err, &byz) {
		t.Fatalf("GetEDS: %v, want *eds.ErrByzantineData", err)
	}
	if errors.Is(err, das.ErrUnavailable) {
		t.Errorf("GetEDS: %v also wraps ErrUnavailable", err)
	}
	if byz.Axis != eds.Col || byz.Index != c {
		t.Errorf("evidence for %v %d, want column %d", byz.Axis, byz.Index, c)
	}
	p, err := eds.NewBadEncodingProof(bytes.Repeat([]byte{7}, eds.HeaderHashSize), bad.h.Height(), byz)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(dah); err != nil {
		t.Errorf("the proof does not hold: %v", err)
	}
	if got := e.blocker.list(); len(got) != 0 {
		t.Errorf("blocked %v, want nobody: the peer served what the header commits to", got)
	}
}

// TestCancelIsNotBlamed cancels requests held in the server and checks
// that the peer is neither blocked nor cooled down.
func TestCancelIsNotBlamed(t *testing.T) {
	b := square(t, 11, 4)
	entered := make(chan struct{}, 16)
	st := storeOf(b)
	st.gate = func(ctx context.Context) error {
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	srv := serve(t, st)
	e := newEnv(t, b, []host.Host{srv}, nil)
	for name, call := range map[string]func(ctx context.Context) error{
		"GetSample": func(ctx context.Context) error { _, err := e.g.GetSample(ctx, b.h, 0, 0); return err },
		"GetEDS":    func(ctx context.Context) error { _, err := e.g.GetEDS(ctx, b.h); return err },
	} {
		ctx, cancel := context.WithCancel(testCtx(t))
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		<-entered
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) || errors.Is(err, das.ErrUnavailable) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
		if !e.offered(b, srv.ID()) {
			t.Errorf("%s: the peer is no longer offered after a cancelled request", name)
		}
	}
	if got := e.blocker.list(); len(got) != 0 {
		t.Errorf("blocked %v, want nobody", got)
	}
}
