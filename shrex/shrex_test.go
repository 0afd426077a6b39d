package shrex_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
)

func TestProtocolID(t *testing.T) {
	for k, want := range map[shrex.Kind]string{
		shrex.KindSample:        "/datamesh/mocha/shrex/v0.1.0/sample",
		shrex.KindRow:           "/datamesh/mocha/shrex/v0.1.0/row",
		shrex.KindNamespaceData: "/datamesh/mocha/shrex/v0.1.0/nd",
		shrex.KindEDS:           "/datamesh/mocha/shrex/v0.1.0/eds",
	} {
		if got := string(shrex.ProtocolID("mocha", k)); got != want {
			t.Errorf("%v: %s, want %s", k, got, want)
		}
	}
}

// namespaces returns the namespaces of the ODS of b (present), and one
// inside the range of a row that holds no share (absent), and one above
// every data namespace (outside all ranges but the padding's).
func namespaces(t *testing.T, b block) (present []share.Namespace, absent share.Namespace) {
	t.Helper()
	seen := map[share.Namespace]bool{}
	for _, s := range b.eds.ODS() {
		ns, err := share.NamespaceFromBytes(s[:share.NamespaceSize])
		if err != nil {
			t.Fatal(err)
		}
		if !seen[ns] {
			seen[ns] = true
			present = append(present, ns)
		}
	}
	// The namespace just above the first one: inside the first row's range
	// unless the first row holds a single namespace, absent either way.
	absent = present[0]
	absent[share.NamespaceSize-1]++
	if seen[absent] {
		absent[share.NamespaceSize-2]++
	}
	return present, absent
}

func TestRoundTrip(t *testing.T) {
	for _, k := range []int{1, 4, 32} {
		b := square(t, uint64(k), k)
		srv := serve(t, newStore(b))
		c := client(t, srv)
		ctx := testCtx(t)
		w := b.eds.Width()
		rng := rand.New(rand.NewPCG(uint64(k), 1))

		// Samples: every cell of a small square, 64 random ones otherwise.
		var cells [][2]int
		for r := range w {
			for col := range w {
				cells = append(cells, [2]int{r, col})
			}
		}
		if k > 4 {
			rng.Shuffle(len(cells), func(i, j int) { cells[i], cells[j] = cells[j], cells[i] })
			cells = cells[:64]
		}
		for _, rc := range cells {
			smp, err := c.GetSample(ctx, srv.ID(), b.h, rc[0], rc[1])
			if err != nil {
				t.Fatalf("k=%d sample %v: %v", k, rc, err)
			}
			if !bytes.Equal(smp.Share, b.eds.Share(rc[0], rc[1])) {
				t.Fatalf("k=%d sample %v: wrong share", k, rc)
			}
		}

		// Rows: every one, parity rows included.
		for r := range w {
			if k > 4 && r%5 != 0 && r != w-1 {
				continue
			}
			row, err := c.GetRow(ctx, srv.ID(), b.h, r)
			if err != nil {
				t.Fatalf("k=%d row %d: %v", k, r, err)
			}
			want := b.eds.Row(r)
			if len(row) != w {
				t.Fatalf("k=%d row %d: %d shares", k, r, len(row))
			}
			for j := range row {
				if !bytes.Equal(row[j], want[j]) {
					t.Fatalf("k=%d row %d: share %d differs", k, r, j)
				}
			}
		}

		// Namespace data: present and absent namespaces.
		present, absent := namespaces(t, b)
		if len(present) > 8 {
			present = append(present[:4], present[len(present)-4:]...)
		}
		for _, ns := range append(present, absent) {
			nd, err := c.GetNamespaceData(ctx, srv.ID(), b.h, ns)
			if err != nil {
				t.Fatalf("k=%d nd %v: %v", k, ns, err)
			}
			want, err := b.eds.NamespaceData(ns)
			if err != nil {
				t.Fatal(err)
			}
			got, exp := nd.Flatten(), want.Flatten()
			if len(got) != len(exp) || len(nd) != len(want) {
				t.Fatalf("k=%d nd %v: %d shares in %d rows, want %d in %d", k, ns, len(got), len(nd), len(exp), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], exp[i]) {
					t.Fatalf("k=%d nd %v: share %d differs", k, ns, i)
				}
			}
			if ns == absent && len(got) != 0 {
				t.Fatalf("k=%d: absent namespace has %d shares", k, len(got))
			}
		}

		checkEDS(t, c, srv.ID(), b)
	}
}

func checkEDS(t *testing.T, c *shrex.Client, p peer.ID, b block) {
	t.Helper()
	e, err := c.GetEDS(testCtx(t), p, b.h)
	if err != nil {
		t.Fatalf("k=%d eds: %v", b.eds.K(), err)
	}
	sameSquare(t, e, b.eds)
}

func TestRoundTripEDS128(t *testing.T) {
	if testing.Short() {
		t.Skip("a 128-wide square")
	}
	b := square(t, 128, 128)
	srv := serve(t, newStore(b))
	c := client(t, srv)
	e, err := c.GetEDS(testCtx(t), srv.ID(), b.h)
	if err != nil {
		t.Fatal(err)
	}
	sameSquare(t, e, b.eds)
}

func sameSquare(t *testing.T, got, want *eds.ExtendedDataSquare) {
	t.Helper()
	if got.Width() != want.Width() {
		t.Fatalf("width %d, want %d", got.Width(), want.Width())
	}
	for r := range want.Width() {
		for c := range want.Width() {
			if !bytes.Equal(got.Share(r, c), want.Share(r, c)) {
				t.Fatalf("share (%d, %d) differs", r, c)
			}
		}
	}
}

// TestNamespaceOutsideSquare: a namespace no row may hold gives an empty
// result without a request, even from a peer that holds nothing.
func TestNamespaceOutsideSquare(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore())
	c := client(t, srv)
	ns, err := share.NewV0Namespace([]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	nd, err := c.GetNamespaceData(testCtx(t), srv.ID(), b.h, ns)
	if err != nil || len(nd) != 0 {
		t.Fatalf("got %d rows, %v", len(nd), err)
	}
	if _, err := c.GetNamespaceData(testCtx(t), srv.ID(), b.h, share.ParitySharesNamespace); !errors.Is(err, eds.ErrInvalidID) {
		t.Fatalf("parity namespace: %v, want eds.ErrInvalidID", err)
	}
}

func TestNotFound(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore())
	c := client(t, srv)
	ctx := testCtx(t)
	present, _ := namespaces(t, b)
	for name, get := range map[string]func() error{
		"sample": func() error { _, err := c.GetSample(ctx, srv.ID(), b.h, 1, 2); return err },
		"row":    func() error { _, err := c.GetRow(ctx, srv.ID(), b.h, 3); return err },
		"nd":     func() error { _, err := c.GetNamespaceData(ctx, srv.ID(), b.h, present[0]); return err },
		"eds":    func() error { _, err := c.GetEDS(ctx, srv.ID(), b.h); return err },
	} {
		if err := get(); !errors.Is(err, shrex.ErrNotFound) || errors.Is(err, shrex.ErrInvalidResponse) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

// TestNotFoundPredicate: a store with its own sentinel, recognised through
// WithNotFound.
func TestNotFoundPredicate(t *testing.T) {
	errMissing := errors.New("missing")
	st := storeFunc(func(context.Context, uint64) (*eds.ExtendedDataSquare, error) { return nil, errMissing })
	b := square(t, 4, 4)
	for _, withPred := range []bool{false, true} {
		var opts []shrex.ServerOption
		if withPred {
			opts = append(opts, shrex.WithNotFound(func(err error) bool { return errors.Is(err, errMissing) }))
		}
		srv := serve(t, st, opts...)
		c := client(t, srv)
		_, err := c.GetSample(testCtx(t), srv.ID(), b.h, 0, 0)
		want := shrex.ErrInternal
		if withPred {
			want = shrex.ErrNotFound
		}
		if !errors.Is(err, want) {
			t.Errorf("predicate %v: %v, want %v", withPred, err, want)
		}
	}
}

type storeFunc func(context.Context, uint64) (*eds.ExtendedDataSquare, error)

func (f storeFunc) EDS(ctx context.Context, h uint64) (*eds.ExtendedDataSquare, error) {
	return f(ctx, h)
}

func TestClientOutOfRange(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore(b))
	c := client(t, srv)
	ctx := testCtx(t)
	for _, rc := range [][2]int{{-1, 0}, {0, 8}, {8, 0}, {1 << 20, 0}} {
		if _, err := c.GetSample(ctx, srv.ID(), b.h, rc[0], rc[1]); !errors.Is(err, eds.ErrOutOfRange) || errors.Is(err, shrex.ErrInvalidResponse) {
			t.Errorf("sample %v: %v, want eds.ErrOutOfRange", rc, err)
		}
	}
	for _, r := range []int{-1, 8} {
		if _, err := c.GetRow(ctx, srv.ID(), b.h, r); !errors.Is(err, eds.ErrOutOfRange) {
			t.Errorf("row %d: %v, want eds.ErrOutOfRange", r, err)
		}
	}
	if _, err := c.GetEDS(ctx, srv.ID(), nil); err == nil {
		t.Error("nil header accepted")
	}
}
