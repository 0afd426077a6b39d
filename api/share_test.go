package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/share"
)

// shareFixture is a node of 3 heights with a getter over their squares.
type shareFixture struct {
	c      *chain
	shares *api.Shares
}

func newShareFixture(t *testing.T, avail api.Availability) shareFixture {
	t.Helper()
	c := newChain(t, 3, 21)
	store := headertest.NewMemStore()
	if err := store.Append(context.Background(), c.headers...); err != nil {
		t.Fatal(err)
	}
	s, err := api.NewShares(api.ShareOptions{Headers: newHeaders(t, store, nil), Getter: squareGetter{c}, Availability: avail})
	if err != nil {
		t.Fatal(err)
	}
	return shareFixture{c: c, shares: s}
}

// jsonFields decodes v's JSON into a map of its fields.
func jsonFields(t *testing.T, v any) map[string]json.RawMessage {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return m
}

// b64 returns b as a JSON base64 string.
func b64(b []byte) string { return `"` + base64.StdEncoding.EncodeToString(b) + `"` }

func TestGetShare(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	sq := f.c.square(2)
	w := sq.Width()
	for _, rc := range [][2]int{{0, 0}, {1, w - 1}, {w - 1, w - 1}} {
		got, err := f.shares.GetShare(ctx, 2, rc[0], rc[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, sq.Share(rc[0], rc[1])) {
			t.Fatalf("share %v differs", rc)
		}
		js, _ := json.Marshal(got)
		if string(js) != b64(sq.Share(rc[0], rc[1])) {
			t.Fatalf("share JSON %s", js)
		}
	}
	for _, rc := range [][2]int{{-1, 0}, {0, w}, {w, 0}, {0, -5}} {
		if _, err := f.shares.GetShare(ctx, 2, rc[0], rc[1]); !errors.Is(err, api.ErrOutOfBounds) {
			t.Errorf("cell %v: %v", rc, err)
		}
	}
	if _, err := f.shares.GetShare(ctx, 9, 0, 0); !errors.Is(err, api.ErrHeightFromFuture) {
		t.Fatalf("future height: %v", err)
	}
}

func TestShareJSON(t *testing.T) {
	s := api.Share(bytes.Repeat([]byte{7}, share.ShareSize))
	js, _ := json.Marshal(s)
	var back api.Share
	if err := json.Unmarshal(js, &back); err != nil || !bytes.Equal(back, s) {
		t.Fatalf("round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(b64([]byte{1, 2, 3})), &back); !errors.Is(err, api.ErrInvalidShareJSON) {
		t.Fatalf("short share: %v", err)
	}
}

func TestGetSamples(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	h := f.c.at(3)
	sq := f.c.square(3)
	w := sq.Width()
	coords := []api.SampleCoords{{Row: 0, Col: 1}, {Row: w - 1, Col: 0}, {Row: 1, Col: w - 1}}
	got, err := f.shares.GetSamples(ctx, 3, coords)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(coords) {
		t.Fatalf("%d samples", len(got))
	}
	for i, c := range coords {
		s := eds.Sample(got[i])
		if err := s.Verify(h.DAH, c.Row, c.Col); err != nil {
			t.Fatalf("sample %v: %v", c, err)
		}
		// JSON: celestia-node's shwap Sample.
		m := jsonFields(t, got[i])
		if len(m) != 3 || string(m["share"]) != b64(sq.Share(c.Row, c.Col)) || string(m["proof_type"]) != "0" {
			t.Fatalf("sample JSON fields %v", m)
		}
		var proof map[string]json.RawMessage
		if err := json.Unmarshal(m["proof"], &proof); err != nil {
			t.Fatal(err)
		}
		// celestiaorg/nmt's keys, each left out when zero or empty.
		for _, k := range []string{"end", "nodes", "is_max_namespace_ignored"} {
			if _, ok := proof[k]; !ok {
				t.Errorf("proof lacks %q: %s", k, m["proof"])
			}
		}
		if _, ok := proof["leaf_hash"]; ok {
			t.Errorf("inclusion proof has a leaf_hash: %s", m["proof"])
		}
		start, ok := proof["start"]
		switch {
		case c.Col == 0 && ok:
			t.Errorf("proof from column 0 has a start: %s", m["proof"])
		case c.Col != 0 && string(start) != strings.TrimSpace(string(mustJSON(t, c.Col))):
			t.Errorf("row proof start %s, want column %d", start, c.Col)
		}
		// Round trip, then verify again.
		var back api.Sample
		if err := json.Unmarshal(mustJSON(t, got[i]), &back); err != nil {
			t.Fatal(err)
		}
		bs := eds.Sample(back)
		if err := bs.Verify(h.DAH, c.Row, c.Col); err != nil {
			t.Fatalf("decoded sample %v: %v", c, err)
		}
	}
	// The coordinates JSON.
	if js := string(mustJSON(t, api.SampleCoords{Row: 2, Col: 5})); js != `{"row":2,"col":5}` {
		t.Fatalf("coords JSON %s", js)
	}

	if _, err := f.shares.GetSamples(ctx, 3, []api.SampleCoords{{Row: 0, Col: w}}); !errors.Is(err, api.ErrOutOfBounds) {
		t.Fatalf("out of range: %v", err)
	}
	if _, err := f.shares.GetSamples(ctx, 3, nil); err == nil {
		t.Fatal("no coordinates accepted")
	}
	if _, err := f.shares.GetSamples(ctx, 3, make([]api.SampleCoords, api.MaxSamplesPerCall+1)); err == nil ||
		!strings.Contains(err.Error(), "at most 1024 per call") {
		t.Fatalf("%d coordinates: %v", api.MaxSamplesPerCall+1, err)
	}
	// Heights resolve as GetByHeight's.
	if _, err := f.shares.GetSamples(ctx, 0, coords); !errors.Is(err, api.ErrHeightZero) {
		t.Fatalf("height 0: %v", err)
	}
	if _, err := f.shares.GetSamples(ctx, 9, coords); !errors.Is(err, api.ErrHeightFromFuture) {
		t.Fatalf("future height: %v", err)
	}
	for _, bad := range []string{`{"share":` + b64(make([]byte, 512)) + `,"proof":{"start":0,"end":1},"proof_type":2}`, `{"proof_type":0}`} {
		var s api.Sample
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestGetEDS(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	sq := f.c.square(1)
	got, err := f.shares.GetEDS(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := jsonFields(t, got)
	if len(m) != 2 || string(m["codec"]) != `"Leopard"` {
		t.Fatalf("EDS JSON fields %v", m)
	}
	var cells []string
	if err := json.Unmarshal(m["data_square"], &cells); err != nil {
		t.Fatal(err)
	}
	w := sq.Width()
	if len(cells) != w*w {
		t.Fatalf("%d cells, want %d", len(cells), w*w)
	}
	for i, cell := range cells {
		if `"`+cell+`"` != b64(sq.Share(i/w, i%w)) {
			t.Fatalf("cell %d differs", i)
		}
	}
	var back api.ExtendedDataSquare
	if err := json.Unmarshal(mustJSON(t, got), &back); err != nil {
		t.Fatal(err)
	}
	roots, _ := back.Square.RowRoots()
	want, _ := sq.RowRoots()
	if len(roots) != len(want) || !bytes.Equal(roots[0], want[0]) || !bytes.Equal(roots[w-1], want[w-1]) {
		t.Fatal("decoded square has other roots")
	}
}

func TestExtendedDataSquareJSONRejects(t *testing.T) {
	sq, err := eds.Extend(edstest.RandomODS(3, 4, 2))
	if err != nil {
		t.Fatal(err)
	}
	js := mustJSON(t, api.ExtendedDataSquare{Square: sq})
	var j struct {
		DataSquare [][]byte `json:"data_square"`
		Codec      string   `json:"codec"`
	}
	if err := json.Unmarshal(js, &j); err != nil {
		t.Fatal(err)
	}
	enc := func() []byte { return mustJSON(t, j) }
	var e api.ExtendedDataSquare
	if err := json.Unmarshal(enc(), &e); err != nil || e.Square.Width() != 8 {
		t.Fatalf("round trip: %v", err)
	}
	// A parity share that is not the encoding.
	j.DataSquare[63] = bytes.Clone(j.DataSquare[63])
	j.DataSquare[63][100] ^= 1
	if err := json.Unmarshal(enc(), &e); !errors.Is(err, api.ErrInvalidShareJSON) {
		t.Fatalf("tampered parity: %v", err)
	}
	j.DataSquare[63][100] ^= 1
	j.Codec = "RSGF8"
	if err := json.Unmarshal(enc(), &e); !errors.Is(err, api.ErrInvalidShareJSON) {
		t.Fatalf("codec: %v", err)
	}
	j.Codec = "Leopard"
	j.DataSquare = j.DataSquare[:63]
	if err := json.Unmarshal(enc(), &e); !errors.Is(err, api.ErrInvalidShareJSON) {
		t.Fatalf("63 cells: %v", err)
	}
	j.DataSquare = j.DataSquare[:9] // 3×3: odd width
	if err := json.Unmarshal(enc(), &e); !errors.Is(err, api.ErrInvalidShareJSON) {
		t.Fatalf("9 cells: %v", err)
	}
	if err := json.Unmarshal([]byte(`null`), &e); err != nil || e.Square != nil {
		t.Fatalf("null: %v", err)
	}
}

func TestGetRow(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	sq := f.c.square(2)
	w := sq.Width()
	for _, r := range []int{0, w - 1} {
		row, err := f.shares.GetRow(ctx, 2, r)
		if err != nil {
			t.Fatal(err)
		}
		if row.Side != api.RowLeft || len(row.Shares) != w/2 {
			t.Fatalf("row %d: side %s, %d shares", r, row.Side, len(row.Shares))
		}
		for i, s := range row.Shares {
			if !bytes.Equal(s, sq.Share(r, i)) {
				t.Fatalf("row %d share %d differs", r, i)
			}
		}
		m := jsonFields(t, row)
		if len(m) != 2 || string(m["side"]) != `"LEFT"` {
			t.Fatalf("row JSON %v", m)
		}
		var shares []json.RawMessage
		if err := json.Unmarshal(m["shares"], &shares); err != nil || len(shares) != w/2 || string(shares[0]) != b64(sq.Share(r, 0)) {
			t.Fatalf("row shares JSON: %v", err)
		}
		var back api.Row
		if err := json.Unmarshal(mustJSON(t, row), &back); err != nil || back.Side != api.RowLeft || len(back.Shares) != w/2 {
			t.Fatalf("round trip: %+v, %v", back.Side, err)
		}
	}
	for _, r := range []int{-1, w} {
		if _, err := f.shares.GetRow(ctx, 2, r); !errors.Is(err, api.ErrOutOfBounds) {
			t.Errorf("row %d: %v", r, err)
		}
	}
	var back api.Row
	if err := json.Unmarshal([]byte(`{"shares":[],"side":"UP"}`), &back); !errors.Is(err, api.ErrInvalidShareJSON) {
		t.Fatalf("bad side: %v", err)
	}
}

// blobNamespace returns the namespace of the first blob share of sq.
func blobNamespace(t *testing.T, sq *eds.ExtendedDataSquare) share.Namespace {
	t.Helper()
	for _, s := range sq.ODS() {
		ns, err := share.NamespaceFromBytes(s[:share.NamespaceSize])
		if err == nil && !ns.IsReserved() {
			return ns
		}
	}
	t.Fatal("no blob in the square")
	return share.Namespace{}
}

func TestGetNamespaceData(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	h := f.c.at(2)
	sq := f.c.square(2)
	ns := blobNamespace(t, sq)
	nd, err := f.shares.GetNamespaceData(ctx, 2, ns)
	if err != nil {
		t.Fatal(err)
	}
	rows := eds.RowsWithNamespace(h.DAH, ns)
	if len(nd) != len(rows) || len(nd) == 0 {
		t.Fatalf("%d rows, want %d", len(nd), len(rows))
	}
	if len(nd.Flatten()) == 0 {
		t.Fatal("no shares of the blob's namespace")
	}

	// JSON: an array of {"shares", "proof"}; decoded, with the rows
	// RowsWithNamespace names, it verifies.
	js := mustJSON(t, nd)
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	for i, r := range raw {
		if _, ok := r["shares"]; !ok || len(r) != 2 {
			t.Fatalf("row %d JSON fields %v", i, r)
		}
		if _, ok := r["proof"]; !ok {
			t.Fatalf("row %d lacks a proof", i)
		}
	}
	var back api.NamespaceData
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	verify := make(eds.NamespaceData, len(back))
	for i, r := range back {
		verify[i] = eds.NamespaceRow{Row: rows[i], Data: eds.RowNamespaceData(r)}
	}
	if err := verify.Verify(h.DAH, ns); err != nil {
		t.Fatalf("decoded namespace data: %v", err)
	}

	// A namespace absent from the square: absence proofs or no rows.
	absent := ns
	absent[share.NamespaceSize-1] ^= 0x01
	if _, err := f.shares.GetNamespaceData(ctx, 2, absent); err != nil {
		t.Fatalf("absent namespace: %v", err)
	}
	if _, err := f.shares.GetNamespaceData(ctx, 2, share.ParitySharesNamespace); !errors.Is(err, share.ErrInvalidNamespace) {
		t.Fatalf("parity namespace: %v", err)
	}
}

// availability is an api.Availability that answers err.
type availability struct{ err error }

func (a availability) SharesAvailable(context.Context, *header.ExtendedHeader) error { return a.err }

func TestSharesAvailable(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	if err := f.shares.SharesAvailable(ctx, 3); err != nil {
		t.Fatalf("via GetEDS: %v", err)
	}
	errGone := errors.New("gone")
	f = newShareFixture(t, availability{errGone})
	if err := f.shares.SharesAvailable(ctx, 3); !errors.Is(err, errGone) {
		t.Fatalf("availability error: %v", err)
	}
	if err := f.shares.SharesAvailable(ctx, 0); !errors.Is(err, api.ErrHeightZero) {
		t.Fatalf("height 0: %v", err)
	}
	if _, err := api.NewShares(api.ShareOptions{}); err == nil {
		t.Fatal("no dependencies accepted")
	}
}

func TestShareModulePermissions(t *testing.T) {
	ctx := testCtx(t)
	f := newShareFixture(t, nil)
	m := api.NewShareModule(f.shares, api.ModuleOptions{})
	ns := blobNamespace(t, f.c.square(1))
	calls := map[string]func(context.Context) error{
		"SharesAvailable": func(ctx context.Context) error { return m.SharesAvailable(ctx, 1) },
		"GetShare":        func(ctx context.Context) error { _, err := m.GetShare(ctx, 1, 0, 0); return err },
		"GetSamples": func(ctx context.Context) error {
			_, err := m.GetSamples(ctx, 1, []api.SampleCoords{{Row: 0, Col: 0}})
			return err
		},
		"GetEDS":           func(ctx context.Context) error { _, err := m.GetEDS(ctx, 1); return err },
		"GetRow":           func(ctx context.Context) error { _, err := m.GetRow(ctx, 1, 0); return err },
		"GetNamespaceData": func(ctx context.Context) error { _, err := m.GetNamespaceData(ctx, 1, ns); return err },
		"GetRange":         func(ctx context.Context) error { _, err := m.GetRange(ctx, 1, 0, 1); return err },
	}
	for name, call := range calls {
		err := call(ctx)
		if err == nil || err.Error() != "missing permission to invoke '"+name+"' (need 'read')" {
			t.Errorf("%s without permission: %v", name, err)
		}
		if err := call(readCtx(ctx)); err != nil {
			t.Errorf("%s with read: %v", name, err)
		}
	}
}

// failingGetter fails GetSample for one cell.
type failingGetter struct {
	squareGetter
	row, col int
	err      error
}

func (g failingGetter) GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	if row == g.row && col == g.col {
		return nil, g.err
	}
	return g.squareGetter.GetSample(ctx, h, row, col)
}

func TestGetSamplesFailure(t *testing.T) {
	ctx := testCtx(t)
	c := newChain(t, 1, 41)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	errUnavailable := errors.New("unavailable")
	s, err := api.NewShares(api.ShareOptions{Headers: newHeaders(t, store, nil),
		Getter: failingGetter{squareGetter: squareGetter{c}, row: 1, col: 2, err: errUnavailable}})
	if err != nil {
		t.Fatal(err)
	}
	var coords []api.SampleCoords
	w := c.square(1).Width()
	for r := range w {
		for col := range w {
			coords = append(coords, api.SampleCoords{Row: r, Col: col})
		}
	}
	_, err = s.GetSamples(ctx, 1, coords)
	if !errors.Is(err, errUnavailable) || !strings.Contains(err.Error(), "sample (1, 2)") {
		t.Fatalf("got %v", err)
	}
	got, err := s.GetSamples(ctx, 1, coords[:len(coords)/2])
	if err == nil || got != nil {
		t.Fatalf("a half containing (1, 2): %v", err)
	}
	got, err = s.GetSamples(ctx, 1, coords[len(coords)/2:])
	if err != nil || len(got) != len(coords)-len(coords)/2 {
		t.Fatalf("the other half: %v", err)
	}
	for i, smp := range got {
		c := coords[len(coords)/2+i]
		es := eds.Sample(smp)
		if err := es.Verify(c0(t, store).DAH, c.Row, c.Col); err != nil {
			t.Fatalf("sample %v out of order or wrong: %v", c, err)
		}
	}
}

// c0 returns the store's head.
func c0(t *testing.T, s header.Store) *header.ExtendedHeader {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
