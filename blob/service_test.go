package blob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

func sameBlob(t *testing.T, got, want *blob.Blob) {
	t.Helper()
	if got.Namespace != want.Namespace || !bytes.Equal(got.Data, want.Data) || got.ShareVersion != want.ShareVersion ||
		!bytes.Equal(got.Commitment, want.Commitment) || got.Index != want.Index || !bytes.Equal(got.Signer, want.Signer) {
		t.Fatalf("blob differs:\n got ns %s index %d commitment %X len %d\nwant ns %s index %d commitment %X len %d",
			got.Namespace, got.Index, got.Commitment, len(got.Data), want.Namespace, want.Index, want.Commitment, len(want.Data))
	}
}

func TestGetRoundTrip(t *testing.T) {
	f := newFixture(t, 3, 3)
	ctx := ctxT(t)
	multiRow := 0
	for height := uint64(1); height <= 3; height++ {
		e := f.getter.squares[height]
		if height == customHeight && e.K() < 8 {
			t.Fatalf("custom square has k = %d, want at least 8", e.K())
		}
		want := f.expected(t, height)
		if len(want) == 0 {
			t.Fatalf("height %d: square holds no blobs", height)
		}
		for _, w := range want {
			got, err := f.svc.Get(ctx, height, w.Namespace, w.Commitment)
			if err != nil {
				t.Fatalf("height %d: Get: %v", height, err)
			}
			sameBlob(t, got, w)
			// The index points at the blob's first share in the square.
			row, col := w.Index/e.Width(), w.Index%e.Width()
			sb, _ := got.ShareBlob()
			if first := sb.Shares()[0]; !bytes.Equal(e.Share(row, col), first) {
				t.Fatalf("height %d: share at index %d is not the blob's first share", height, w.Index)
			}
			if col+sb.SharesNeeded() > e.K() {
				multiRow++
			}
		}
	}
	if multiRow == 0 {
		t.Fatal("no blob spans several rows; the fixture does not test what it should")
	}
}

func TestGetAll(t *testing.T) {
	f := newFixture(t, 2, 2)
	ctx := ctxT(t)
	want := f.expected(t, customHeight)
	if len(want) != 3 {
		t.Fatalf("custom square holds %d blobs, want 3", len(want))
	}
	// Asked in reverse order, with a duplicate and an absent namespace:
	// grouped in the order asked (nsB's, then nsA's), each blob once.
	absent := mustNS("absent")
	got, err := f.svc.GetAll(ctx, customHeight, []share.Namespace{nsB, absent, nsA, nsB})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("GetAll returned %d blobs, want %d", len(got), len(want))
	}
	var ordered []*blob.Blob
	for _, ns := range []share.Namespace{nsB, nsA} {
		for _, b := range want {
			if b.Namespace == ns {
				ordered = append(ordered, b)
			}
		}
	}
	for i := range ordered {
		sameBlob(t, got[i], ordered[i])
	}
	nA := 0
	for _, b := range got {
		if b.Namespace == nsA {
			nA++
		}
	}
	if nA != 2 {
		t.Fatalf("%d blobs of nsA, want 2", nA)
	}

	none, err := f.svc.GetAll(ctx, customHeight, []share.Namespace{absent})
	if err != nil {
		t.Fatal(err)
	}
	if none == nil || len(none) != 0 {
		t.Fatalf("GetAll of an absent namespace = %#v, want an empty non-nil slice", none)
	}
	// An absent namespace at a height whose rows do not even cover it.
	if none, err = f.svc.GetAll(ctx, 1, []share.Namespace{absent}); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("GetAll at height 1 = %v, %v", none, err)
	}

	if _, err := f.svc.GetAll(ctx, customHeight, []share.Namespace{share.TxNamespace}); !errors.Is(err, share.ErrInvalidNamespace) {
		t.Fatalf("GetAll of a reserved namespace: %v, want ErrInvalidNamespace", err)
	}
	if _, err := f.svc.GetAll(ctx, 99, []share.Namespace{nsA}); err == nil {
		t.Fatal("GetAll at a height without header succeeded")
	}
}

func TestGetNotFound(t *testing.T) {
	f := newFixture(t, 2, 2)
	ctx := ctxT(t)
	want := f.expected(t, customHeight)[0]
	wrong := bytes.Clone(want.Commitment)
	wrong[0] ^= 1
	for name, call := range map[string]func() error{
		"wrong commitment": func() error { _, err := f.svc.Get(ctx, customHeight, want.Namespace, wrong); return err },
		"other namespace":  func() error { _, err := f.svc.Get(ctx, customHeight, mustNS("absent"), want.Commitment); return err },
		"other height":     func() error { _, err := f.svc.Get(ctx, 1, want.Namespace, want.Commitment); return err },
		"proof":            func() error { _, err := f.svc.GetProof(ctx, customHeight, want.Namespace, wrong); return err },
	} {
		err := call()
		if !errors.Is(err, blob.ErrBlobNotFound) || err.Error() != "blob: not found" {
			t.Errorf("%s: %v, want ErrBlobNotFound", name, err)
		}
	}
}

func TestProofs(t *testing.T) {
	f := newFixture(t, 2, 2)
	ctx := ctxT(t)
	e := f.getter.squares[customHeight]
	blobs := f.expected(t, customHeight)
	for _, b := range blobs {
		p, err := f.svc.GetProof(ctx, customHeight, b.Namespace, b.Commitment)
		if err != nil {
			t.Fatal(err)
		}
		sb, _ := b.ShareBlob()
		col := b.Index % e.Width()
		wantRows := (col + sb.SharesNeeded() + e.K() - 1) / e.K()
		if len(*p) != wantRows {
			t.Fatalf("proof of a blob at %d of %d shares has %d rows, want %d", b.Index, sb.SharesNeeded(), len(*p), wantRows)
		}
		ok, err := f.svc.Included(ctx, customHeight, b.Namespace, p, b.Commitment)
		if err != nil || !ok {
			t.Fatalf("Included = %v, %v; want true", ok, err)
		}
	}

	// The multi-row blob of nsA, its proof tampered in several ways.
	var big *blob.Blob
	for _, b := range blobs {
		if b.Namespace == nsA && len(b.Data) == 5000 {
			big = b
		}
	}
	p, err := f.svc.GetProof(ctx, customHeight, big.Namespace, big.Commitment)
	if err != nil {
		t.Fatal(err)
	}
	if len(*p) < 2 {
		t.Fatalf("the 5000-byte blob spans %d rows in a k = %d square", len(*p), e.K())
	}
	clone := func() *blob.Proof {
		q := make(blob.Proof, len(*p))
		for i, rp := range *p {
			c := *rp
			c.Nodes = make([][]byte, len(rp.Nodes))
			for j, n := range rp.Nodes {
				c.Nodes[j] = bytes.Clone(n)
			}
			q[i] = &c
		}
		return &q
	}
	tampered := map[string]func(q *blob.Proof){
		"node flipped": func(q *blob.Proof) {
			for _, rp := range *q {
				if len(rp.Nodes) > 0 {
					rp.Nodes[0][len(rp.Nodes[0])-1] ^= 1
					return
				}
			}
			t.Fatal("no proof node to tamper with")
		},
		"range shifted": func(q *blob.Proof) { (*q)[0].Start++ },
		"row dropped":   func(q *blob.Proof) { *q = (*q)[1:] },
		"rows swapped":  func(q *blob.Proof) { (*q)[0], (*q)[1] = (*q)[1], (*q)[0] },
	}
	for name, tamper := range tampered {
		q := clone()
		tamper(q)
		ok, err := f.svc.Included(ctx, customHeight, big.Namespace, q, big.Commitment)
		if err != nil || ok {
			t.Errorf("%s: Included = %v, %v; want false, nil", name, ok, err)
		}
	}
	// The proof of one blob does not prove another.
	var other *blob.Blob
	for _, b := range blobs {
		if b.Namespace == nsA && b != big {
			other = b
		}
	}
	if ok, err := f.svc.Included(ctx, customHeight, nsA, p, other.Commitment); err != nil || ok {
		t.Errorf("Included for another commitment = %v, %v; want false, nil", ok, err)
	}
	wrong := bytes.Clone(big.Commitment)
	wrong[3] ^= 0x80
	if ok, err := f.svc.Included(ctx, customHeight, nsA, p, wrong); err != nil || ok {
		t.Errorf("Included for an absent commitment = %v, %v; want false, nil", ok, err)
	}
	// Malformed proofs are errors.
	for name, q := range map[string]*blob.Proof{"nil": nil, "empty": {}, "nil entry": {nil}} {
		if _, err := f.svc.Included(ctx, customHeight, nsA, q, big.Commitment); !errors.Is(err, blob.ErrInvalidProof) {
			t.Errorf("%s proof: %v, want ErrInvalidProof", name, err)
		}
	}
	q := clone()
	for _, rp := range *q {
		if len(rp.Nodes) > 0 {
			rp.Nodes[0] = rp.Nodes[0][:5]
			break
		}
	}
	if _, err := f.svc.Included(ctx, customHeight, nsA, q, big.Commitment); !errors.Is(err, blob.ErrInvalidProof) {
		t.Errorf("truncated node: %v, want ErrInvalidProof", err)
	}
}

// fakeSubmitter records what it is asked to submit.
type fakeSubmitter struct {
	got  []*share.Blob
	cfg  *state.TxConfig
	resp *state.TxResponse
	err  error
}

func (s *fakeSubmitter) SubmitPayForBlob(ctx context.Context, blobs []*share.Blob, cfg *state.TxConfig) (*state.TxResponse, error) {
	s.got, s.cfg = blobs, cfg
	return s.resp, s.err
}

// newSubmitService returns a fixture and a service over it that submits
// through a fakeSubmitter answering height 42.
func newSubmitService(t *testing.T) (*fixture, *blob.Service, *fakeSubmitter) {
	t.Helper()
	f := newFixture(t, 2, 2)
	sub := &fakeSubmitter{resp: &state.TxResponse{Height: 42, TxHash: "AB"}}
	svc, err := blob.NewService(blob.Options{Headers: f.store, Getter: f.getter, Submitter: sub})
	if err != nil {
		t.Fatal(err)
	}
	return f, svc, sub
}

func TestSubmit(t *testing.T) {
	ctx := ctxT(t)
	f, svc, sub := newSubmitService(t)
	b1, _ := blob.New(nsA, []byte("one"))
	b2, _ := blob.New(nsB, pattern(2000, 9))
	cfg := &state.TxConfig{GasPrice: 0.002, IsGasPriceSet: true}
	h, err := svc.Submit(ctx, []*blob.Blob{b1, b2}, cfg)
	if err != nil || h != 42 {
		t.Fatalf("Submit = %d, %v; want 42", h, err)
	}
	if len(sub.got) != 2 || sub.cfg != cfg {
		t.Fatalf("submitter got %d blobs, cfg %p", len(sub.got), sub.cfg)
	}
	for i, b := range []*blob.Blob{b1, b2} {
		c, _ := sub.got[i].Commitment()
		if sub.got[i].Namespace() != b.Namespace || !bytes.Equal(sub.got[i].Data(), b.Data) || !bytes.Equal(c, b.Commitment) {
			t.Fatalf("submitted blob %d differs", i)
		}
	}

	bad := &blob.Blob{Namespace: share.TxNamespace, Data: []byte("x")}
	mismatched := &blob.Blob{Namespace: nsA, Data: []byte("x"), Commitment: b1.Commitment}
	for name, blobs := range map[string][]*blob.Blob{"none": nil, "nil": {nil}, "reserved namespace": {b1, bad}, "commitment": {mismatched}} {
		sub.got = nil
		if _, err := svc.Submit(ctx, blobs, nil); !errors.Is(err, blob.ErrInvalidBlob) || sub.got != nil {
			t.Errorf("%s: %v (submitted %d), want ErrInvalidBlob and nothing sent", name, err, len(sub.got))
		}
	}

	sub.err = errors.New("rpc down")
	if _, err := svc.Submit(ctx, []*blob.Blob{b1}, nil); !errors.Is(err, sub.err) {
		t.Fatalf("Submit with a failing submitter: %v", err)
	}
	// The state client's refusal of an oversized blob comes back as it is
	// worded, matching blob.ErrBlobTooLarge.
	sub.err = fmt.Errorf("%w: blob 0 is 2001 bytes, the chain's max_blob_size is 2000", state.ErrBlobTooLarge)
	if _, err := svc.Submit(ctx, []*blob.Blob{b1}, nil); !errors.Is(err, blob.ErrBlobTooLarge) || err.Error() != sub.err.Error() {
		t.Fatalf("Submit of an oversized blob: %v, want %v", err, sub.err)
	}
	sub.err, sub.resp = nil, &state.TxResponse{Height: 5, Code: 11, RawLog: "out of gas"}
	if _, err := svc.Submit(ctx, []*blob.Blob{b1}, nil); err == nil {
		t.Fatal("Submit of a failed transaction succeeded")
	}
	if _, err := f.svc.Submit(ctx, []*blob.Blob{b1}, nil); !errors.Is(err, blob.ErrSubmitUnavailable) {
		t.Fatalf("Submit without a submitter: %v", err)
	}
}

func TestSubscribe(t *testing.T) {
	f := newFixture(t, 6, 1)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	ch, err := f.svc.Subscribe(ctx, nsA, customHeight)
	if err != nil {
		t.Fatal(err)
	}
	// Headers arrive after the subscription starts.
	f.store.append(t, f.headers[1:]...)
	for height := uint64(customHeight); height <= 6; height++ {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed before height %d", height)
			}
			if r.Height != height {
				t.Fatalf("response for height %d, want %d", r.Height, height)
			}
			if r.Blobs == nil {
				t.Fatalf("height %d: nil Blobs", height)
			}
			if r.Header == nil || r.Header.Height != int64(height) || !bytes.Equal(r.Header.Hash(), f.headers[height-1].Hash()) {
				t.Fatalf("height %d: header %v, want the stored header's", height, r.Header)
			}
			wantN := 0
			if height == customHeight {
				wantN = 2
			}
			if len(r.Blobs) != wantN {
				t.Fatalf("height %d: %d blobs, want %d", height, len(r.Blobs), wantN)
			}
			for _, b := range r.Blobs {
				if b.Namespace != nsA {
					t.Fatalf("blob of namespace %s", b.Namespace)
				}
			}
		case <-ctx.Done():
			t.Fatalf("no response for height %d", height)
		}
	}
	cancel()
	for range ch { // drains and ends: the channel closes on cancel
	}

	// From 0: the height after the head (6).
	ctx2 := ctxT(t)
	ch2, err := f.svc.Subscribe(ctx2, nsB, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch2:
		t.Fatalf("response for height %d before any new header", r.Height)
	default:
	}
	if _, err := f.svc.Subscribe(ctx2, share.PayForBlobNamespace, 1); !errors.Is(err, share.ErrInvalidNamespace) {
		t.Fatalf("Subscribe to a reserved namespace: %v", err)
	}
}

// countingGetter counts the namespace reads of a subscription's producer.
type countingGetter struct {
	*testGetter
	reads atomic.Int64
}

func (g *countingGetter) GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	g.reads.Add(1)
	return g.testGetter.GetNamespaceData(ctx, h, ns)
}

// subscribeThrough subscribes to nsA from height 1, until ctx ends, with a
// service over f's headers that reads through g.
func subscribeThrough(ctx context.Context, t *testing.T, f *fixture, g blob.Getter) <-chan *blob.SubscriptionResponse {
	t.Helper()
	svc, err := blob.NewService(blob.Options{Headers: f.store, Getter: g})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := svc.Subscribe(ctx, nsA, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestSubscribeSlowConsumer(t *testing.T) {
	// A consumer that reads slowly holds the producer back: the producer
	// never gets more than the buffer (and the one response it is
	// waiting to send) ahead, and the consumer still sees every height.
	f := newFixture(t, 40, 40)
	g := &countingGetter{testGetter: f.getter}
	ch := subscribeThrough(ctxT(t), t, f, g)
	if cap(ch) == 0 || cap(ch) > 16 {
		t.Fatalf("subscription buffer of %d, want a few", cap(ch))
	}
	for height := uint64(1); height <= 40; height++ {
		if ahead := g.reads.Load() - int64(height-1); ahead > int64(cap(ch))+1 {
			t.Fatalf("producer %d heights ahead of a consumer at height %d; buffer %d", ahead, height, cap(ch))
		}
		r := <-ch
		if r == nil || r.Height != height {
			t.Fatalf("got %+v, want height %d", r, height)
		}
	}
}

func TestNewServiceRejectsMissingDeps(t *testing.T) {
	if _, err := blob.NewService(blob.Options{}); err == nil {
		t.Fatal("NewService without Headers and Getter succeeded")
	}
	f := newFixture(t, 2, 2)
	if _, err := f.svc.GetByCommitment(ctxT(t), make([]byte, 32)); !errors.Is(err, blob.ErrNoIndex) {
		t.Fatalf("GetByCommitment without an index: %v", err)
	}
}

// flakyGetter fails the first failures namespace reads, as a light node's
// shrex getter does under load (a peer timed out, none free), then serves.
type flakyGetter struct {
	*testGetter
	failures atomic.Int64
}

func (g *flakyGetter) GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	if g.failures.Add(-1) >= 0 {
		return nil, errors.New("flaky getter: no peer answered")
	}
	return g.testGetter.GetNamespaceData(ctx, h, ns)
}

// TestSubscribeSurvivesFailedReads: reads that fail for a while delay a
// subscription and do not end it (go-jsonrpc could only close the channel,
// telling the client nothing); every height still arrives, in order.
func TestSubscribeSurvivesFailedReads(t *testing.T) {
	f := newFixture(t, 6, 6)
	g := &flakyGetter{testGetter: f.getter}
	g.failures.Store(4)
	ctx := ctxT(t)
	ch := subscribeThrough(ctx, t, f, g)
	for height := uint64(1); height <= 6; height++ {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("subscription ended at height %d after failed reads", height)
			}
			if r.Height != height {
				t.Fatalf("response for height %d, want %d", r.Height, height)
			}
		case <-ctx.Done():
			t.Fatalf("no response for height %d", height)
		}
	}
	if n := g.failures.Load(); n >= 0 {
		t.Fatalf("%d injected failures left unused", n+1)
	}
}

// TestSubmitDecodedBlobChanged checks that a blob decoded from JSON and
// changed afterwards (data in place, data replaced, namespace, signer) is
// submitted as it now is, with its data's commitment, never the one the
// decoding computed; and that the commitment the decoding filled in is
// still checked against the changed data.
func TestSubmitDecodedBlobChanged(t *testing.T) {
	ctx := ctxT(t)
	_, svc, sub := newSubmitService(t)
	orig, err := blob.New(nsA, pattern(3000, 4))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	orig.Index = 5 // read from a square: decoded without the kept share.Blob
	encIndexed, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(b *blob.Blob)
	}{
		{"unchanged", func(*blob.Blob) {}},
		{"data in place", func(b *blob.Blob) { b.Data[0] ^= 0xff }},
		{"data's last byte", func(b *blob.Blob) { b.Data[len(b.Data)-1] ^= 1 }},
		{"data replaced", func(b *blob.Blob) { b.Data = pattern(3000, 5) }},
		{"data shortened", func(b *blob.Blob) { b.Data = b.Data[:100] }},
		{"namespace", func(b *blob.Blob) { b.Namespace = nsB }},
		{"share version and signer", func(b *blob.Blob) {
			b.ShareVersion, b.Signer = share.ShareVersionOne, bytes.Repeat([]byte{1}, share.SignerSize)
		}},
	} {
		for name, enc := range map[string][]byte{tc.name: enc, tc.name + ", indexed": encIndexed} {
			t.Run(name, func(t *testing.T) {
				var b blob.Blob
				if err := json.Unmarshal(enc, &b); err != nil {
					t.Fatal(err)
				}
				decoded := slices.Clone(b.Commitment)
				tc.change(&b)
				want, err := blob.FromShare(b.Namespace, b.Data, b.ShareVersion, b.Signer)
				if err != nil {
					t.Fatal(err)
				}
				changed := !bytes.Equal(want.Commitment, decoded)
				if tc.name != "unchanged" && !changed {
					t.Fatal("the change left the commitment as it was")
				}
				// With the decoded commitment still set, a changed blob is refused.
				sub.got = nil
				_, err = svc.Submit(ctx, []*blob.Blob{&b}, nil)
				if changed != errors.Is(err, blob.ErrInvalidBlob) {
					t.Fatalf("Submit with the decoded commitment: %v", err)
				}
				// Without it, the blob goes as it is now, with its commitment.
				b.Commitment = nil
				if _, err := svc.Submit(ctx, []*blob.Blob{&b}, nil); err != nil {
					t.Fatal(err)
				}
				got := sub.got[0]
				c, err := got.Commitment()
				if err != nil || !bytes.Equal(c, want.Commitment) || !bytes.Equal(got.Data(), b.Data) ||
					got.Namespace() != b.Namespace || got.ShareVersion() != b.ShareVersion || !bytes.Equal(got.Signer(), b.Signer) {
					t.Fatalf("submitted commitment %X, want %X (%v)", c, want.Commitment, err)
				}
			})
		}
	}
}
