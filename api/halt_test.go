package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/share"
)

var _ api.Halt = (*fraud.Halt)(nil)

// proofOf is a bad-encoding proof of the block of h naming (axis, index),
// with the real samples of that axis of sq (a proof as it travels; the
// modules do not validate it: the fraud service did).
func proofOf(t *testing.T, h *header.ExtendedHeader, sq *eds.ExtendedDataSquare, axis eds.Axis, index int) *eds.BadEncodingProof {
	t.Helper()
	p := &eds.BadEncodingProof{HeaderHash: h.Hash(), Height: h.Height(), Axis: axis, Index: index, Shares: make([]*eds.Sample, sq.Width())}
	for j := range sq.K() {
		r, c := index, j
		if axis == eds.Col {
			r, c = j, index
		}
		s, err := sq.Sample(r, c, eds.Row)
		if err != nil {
			t.Fatal(err)
		}
		p.Shares[j] = s
	}
	return p
}

// checkHaltErr fails unless err is the halt's error naming p.
func checkHaltErr(t *testing.T, what string, err error, p *eds.BadEncodingProof) {
	t.Helper()
	want := fmt.Sprintf("fraud: halted: block %d (header %X) is proven badly encoded (%s %d)", p.Height, p.HeaderHash, p.Axis, p.Index)
	var he *fraud.HaltError
	if !errors.Is(err, fraud.ErrHalted) || !errors.As(err, &he) || err.Error() != want {
		t.Errorf("%s: %v; want %q", what, err, want)
	}
}

// countingGetter counts the getter's calls per height.
type countingGetter struct {
	squareGetter
	mu    sync.Mutex
	calls map[uint64]int
}

func (g *countingGetter) count(h *header.ExtendedHeader) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls[h.Height()]++
}

func (g *countingGetter) callsFrom(height uint64) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for h, c := range g.calls {
		if h >= height {
			n += c
		}
	}
	return n
}

func (g *countingGetter) GetSample(ctx context.Context, h *header.ExtendedHeader, row, col int) (*eds.Sample, error) {
	g.count(h)
	return g.squareGetter.GetSample(ctx, h, row, col)
}

func (g *countingGetter) GetRow(ctx context.Context, h *header.ExtendedHeader, row int) ([][]byte, error) {
	g.count(h)
	return g.squareGetter.GetRow(ctx, h, row)
}

func (g *countingGetter) GetNamespaceData(ctx context.Context, h *header.ExtendedHeader, ns share.Namespace) (eds.NamespaceData, error) {
	g.count(h)
	return g.squareGetter.GetNamespaceData(ctx, h, ns)
}

func (g *countingGetter) GetEDS(ctx context.Context, h *header.ExtendedHeader) (*eds.ExtendedDataSquare, error) {
	g.count(h)
	return g.squareGetter.GetEDS(ctx, h)
}

// The share module refuses the heights from the proven block on, naming
// the proof, before it fetches anything; lower heights are served.
func TestShareModuleHalted(t *testing.T) {
	ctx := readCtx(testCtx(t))
	c := newChain(t, 3, 21)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, c.headers...); err != nil {
		t.Fatal(err)
	}
	g := &countingGetter{squareGetter: squareGetter{c}, calls: map[uint64]int{}}
	s, err := api.NewShares(api.ShareOptions{Headers: newHeaders(t, store, nil), Getter: g})
	if err != nil {
		t.Fatal(err)
	}
	halt := &fraud.Halt{}
	m := api.NewShareModule(s, api.ModuleOptions{Halt: halt})
	ns := blobNamespace(t, c.square(1))
	calls := map[string]func(height uint64) error{
		"SharesAvailable": func(h uint64) error { return m.SharesAvailable(ctx, h) },
		"GetShare":        func(h uint64) error { _, err := m.GetShare(ctx, h, 0, 0); return err },
		"GetSamples": func(h uint64) error {
			_, err := m.GetSamples(ctx, h, []api.SampleCoords{{Row: 0, Col: 0}})
			return err
		},
		"GetEDS":           func(h uint64) error { _, err := m.GetEDS(ctx, h); return err },
		"GetRow":           func(h uint64) error { _, err := m.GetRow(ctx, h, 0); return err },
		"GetNamespaceData": func(h uint64) error { _, err := m.GetNamespaceData(ctx, h, ns); return err },
		"GetRange":         func(h uint64) error { _, err := m.GetRange(ctx, h, 0, 1); return err },
	}
	for name, call := range calls {
		if err := call(3); err != nil {
			t.Errorf("%s before the halt: %v", name, err)
		}
	}
	p := proofOf(t, c.at(2), c.square(2), eds.Row, 1)
	halt.Set(p)
	before := g.callsFrom(2)
	for name, call := range calls {
		for _, h := range []uint64{2, 3} {
			checkHaltErr(t, fmt.Sprintf("%s(%d)", name, h), call(h), p)
		}
		if err := call(1); err != nil {
			t.Errorf("%s(1), below the proof: %v", name, err)
		}
	}
	if n := g.callsFrom(2); n != before {
		t.Errorf("%d getter calls at the refused heights", n-before)
	}
	// The permission check comes first.
	if err := m.SharesAvailable(testCtx(t), 3); err == nil || !strings.HasPrefix(err.Error(), "missing permission") {
		t.Errorf("SharesAvailable without permission: %v", err)
	}
}

// haltBlob is the blob service of halt tests: a GetByCommitment at a set
// height, and a subscription the test feeds.
type haltBlob struct {
	fakeBlob
	at     uint64
	feed   chan *blob.SubscriptionResponse
	subCtx chan context.Context
}

func (f *haltBlob) GetByCommitment(context.Context, blob.Commitment) (*blob.CommitmentResult, error) {
	return &blob.CommitmentResult{Height: f.at}, nil
}

func (f *haltBlob) Subscribe(ctx context.Context, _ share.Namespace, _ uint64) (<-chan *blob.SubscriptionResponse, error) {
	f.subCtx <- ctx
	return f.feed, nil
}

func TestBlobModuleHalted(t *testing.T) {
	ctx := api.WithPerms(testCtx(t), api.PermsFor(api.PermWrite))
	c := newChain(t, 3, 22)
	svc := &haltBlob{at: 2, feed: make(chan *blob.SubscriptionResponse), subCtx: make(chan context.Context, 1)}
	halt := &fraud.Halt{}
	m := api.NewBlobModule(svc, api.ModuleOptions{Halt: halt})
	ns := exampleNamespace(t)
	b, err := blob.New(ns, []byte("halt"))
	if err != nil {
		t.Fatal(err)
	}

	// A subscription running when the node halts ends before the first
	// refused height, and stops the service's.
	sub, err := m.SubscribeFrom(ctx, ns, 1)
	if err != nil {
		t.Fatal(err)
	}
	inner := <-svc.subCtx
	svc.feed <- &blob.SubscriptionResponse{Height: 1}
	if r := <-sub; r == nil || r.Height != 1 {
		t.Fatalf("first response: %+v", r)
	}
	p := proofOf(t, c.at(2), c.square(2), eds.Col, 5)
	halt.Set(p)
	if r, ok := <-sub; ok {
		t.Fatalf("response %+v after the halt", r)
	}
	<-inner.Done()

	calls := map[string]func(height uint64) error{
		"Get":                func(h uint64) error { _, err := m.Get(ctx, h, ns, b.Commitment); return err },
		"GetAll":             func(h uint64) error { _, err := m.GetAll(ctx, h, []share.Namespace{ns}); return err },
		"GetProof":           func(h uint64) error { _, err := m.GetProof(ctx, h, ns, b.Commitment); return err },
		"GetCommitmentProof": func(h uint64) error { _, err := m.GetCommitmentProof(ctx, h, ns, b.Commitment); return err },
		"Included":           func(h uint64) error { _, err := m.Included(ctx, h, ns, &blob.Proof{}, b.Commitment); return err },
		"GetKZG":             func(h uint64) error { _, err := m.GetKZG(ctx, h, ns, b.Commitment); return err },
		"OpenKZG":            func(h uint64) error { _, err := m.OpenKZG(ctx, h, ns, b.Commitment, 0, blob.Hex32{}); return err },
		"GetKZGCells":        func(h uint64) error { _, err := m.GetKZGCells(ctx, h, ns, b.Commitment, 0, []uint64{0}); return err },
	}
	for name, call := range calls {
		checkHaltErr(t, name+"(2)", call(2), p)
		checkHaltErr(t, name+"(3)", call(3), p)
		if err := call(1); errors.Is(err, fraud.ErrHalted) {
			t.Errorf("%s(1), below the proof: %v", name, err)
		}
	}
	_, err = m.Submit(ctx, []*blob.Blob{b}, nil)
	checkHaltErr(t, "Submit", err, p)
	_, err = m.GetByCommitment(ctx, b.Commitment)
	checkHaltErr(t, "GetByCommitment of a blob at 2", err, p)
	svc.at = 1
	if r, err := m.GetByCommitment(ctx, b.Commitment); err != nil || r.Height != 1 {
		t.Errorf("GetByCommitment of a blob at 1: %+v, %v", r, err)
	}
	_, err = m.Subscribe(ctx, ns)
	checkHaltErr(t, "Subscribe", err, p)
	_, err = m.SubscribeFrom(ctx, ns, 2)
	checkHaltErr(t, "SubscribeFrom(2)", err, p)

	// From below the block, the heights below it come, then the end.
	sub, err = m.SubscribeFrom(ctx, ns, 1)
	if err != nil {
		t.Fatal(err)
	}
	inner = <-svc.subCtx
	svc.feed <- &blob.SubscriptionResponse{Height: 1}
	if r := <-sub; r == nil || r.Height != 1 {
		t.Fatalf("response below the proof: %+v", r)
	}
	// The stream may end as soon as the next height is the proven block's,
	// before the service sends it: then it cancels the service's context.
	select {
	case svc.feed <- &blob.SubscriptionResponse{Height: 2}:
	case <-inner.Done():
	}
	if r, ok := <-sub; ok {
		t.Fatalf("response %+v at the proven block", r)
	}
	<-inner.Done()
}

// waitDAS's WaitCatchUp waits until the node halts, then reports the bad
// encoding as the DASer does.
type waitDAS struct {
	fakeDAS
	halt *fraud.Halt
}

func (f *waitDAS) WaitCatchUp(ctx context.Context) error {
	select {
	case <-f.halt.Halted():
		return fmt.Errorf("%w: block 2", das.ErrBadEncoding)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestDASAndStateModulesHalted(t *testing.T) {
	ctx := api.WithPerms(testCtx(t), api.PermsFor(api.PermWrite))
	c := newChain(t, 2, 23)
	halt := &fraud.Halt{}
	dm := api.NewDASModule(&waitDAS{halt: halt}, api.ModuleOptions{Halt: halt})
	st := &fakeState{addr: [20]byte{7}}
	sm := api.NewStateModule(st, api.ModuleOptions{Halt: halt})
	if _, err := sm.Balance(ctx); err != nil {
		t.Fatalf("Balance before the halt: %v", err)
	}
	p := proofOf(t, c.at(2), c.square(2), eds.Row, 0)
	waited := make(chan error, 1)
	go func() { waited <- dm.WaitCatchUp(ctx) }()
	halt.Set(p)
	checkHaltErr(t, "WaitCatchUp while halting", <-waited, p)
	checkHaltErr(t, "WaitCatchUp once halted", dm.WaitCatchUp(ctx), p)
	if s, err := dm.SamplingStats(ctx); err != nil || s.NetworkHead != 10 {
		t.Errorf("SamplingStats: %+v, %v", s, err)
	}

	if a, err := sm.AccountAddress(ctx); err != nil || a != st.addr {
		t.Errorf("AccountAddress: %v, %v", a, err)
	}
	_, err := sm.Balance(ctx)
	checkHaltErr(t, "Balance", err, p)
	_, err = sm.BalanceForAddress(ctx, api.AccountRef{1})
	checkHaltErr(t, "BalanceForAddress", err, p)
	_, err = sm.Transfer(ctx, api.AccountRef{1}, 5, nil)
	checkHaltErr(t, "Transfer", err, p)
	sb, err := share.NewBlob(exampleNamespace(t), []byte("x"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sm.SubmitPayForBlob(ctx, []*api.PayForBlobBlob{{Blob: sb}}, nil)
	checkHaltErr(t, "SubmitPayForBlob", err, p)
	// The genesis's parameters do not depend on the chain's data.
	if got, err := sm.Params(ctx); err != nil || got != tx.DefaultParams() {
		t.Errorf("Params once halted: %+v, %v", got, err)
	}
}

// A nil *fraud.Halt in the options never halts.
func TestNilHaltNeverHalts(t *testing.T) {
	ctx := api.WithPerms(testCtx(t), api.PermsFor(api.PermWrite))
	var h *fraud.Halt
	sm := api.NewStateModule(&fakeState{}, api.ModuleOptions{Halt: h})
	if _, err := sm.Balance(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.NewDASModule(&fakeDAS{}, api.ModuleOptions{Halt: h}).WaitCatchUp(ctx); err != nil {
		t.Fatal(err)
	}
}

// fakeFraud serves set proofs and a subscription the test feeds.
type fakeFraud struct {
	proofs []*eds.BadEncodingProof
	feed   chan *eds.BadEncodingProof
}

func (f *fakeFraud) Get(context.Context) ([]*eds.BadEncodingProof, error) { return f.proofs, nil }

func (f *fakeFraud) Subscribe(ctx context.Context) (<-chan *eds.BadEncodingProof, error) {
	return f.feed, nil
}

// A halted node's server: header-free modules that stop refuse with the
// proof's error over the wire; node, das.SamplingStats and fraud answer;
// fraud.Get and fraud.Subscribe speak celestia-node's JSON.
func TestHaltedServer(t *testing.T) {
	c := newChain(t, 2, 24)
	p := proofOf(t, c.at(2), c.square(2), eds.Col, 2)
	halt := &fraud.Halt{}
	halt.Set(p)
	ff := &fakeFraud{proofs: []*eds.BadEncodingProof{p}, feed: make(chan *eds.BadEncodingProof)}
	node, err := api.NewNodeModule(api.NodeOptions{Type: api.NodeLight, Version: "v0.2.2", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	opts := api.ModuleOptions{Halt: halt}
	srv := api.StartServer(t, api.ServerOptions{Secret: testSecret}, api.Modules{
		Blob:  api.NewBlobModule(&fakeBlob{}, opts),
		DAS:   api.NewDASModule(&fakeDAS{}, opts),
		State: api.NewStateModule(&fakeState{}, opts),
		Node:  node,
		Fraud: api.NewFraudModule(ff),
	})
	ctx := testCtx(t)
	url := "http://" + srv.Addr()
	want := fmt.Sprintf("fraud: halted: block 2 (header %X) is proven badly encoded (col 2)", p.HeaderHash)
	admin, read := token(t, api.PermsFor(api.PermAdmin)), token(t, api.PermsFor(api.PermRead))
	for _, call := range []struct{ method, params string }{
		{"blob.Submit", `[[{"namespace":"` + exampleNS + `","data":"aGVsbG8=","share_version":0}],null]`},
		{"blob.GetAll", `[2,["` + exampleNS + `"]]`},
		{"state.Transfer", `["mesh1pqzs8zlatpvztgjpq2wdwlwzt6nyh7q8kqx7r7","1000",null]`},
		{"state.Delegate", `["mesh1pqzs8zlatpvztgjpq2wdwlwzt6nyh7q8kqx7r7","1000",null]`},
		{"state.QueryDelegation", `["mesh1pqzs8zlatpvztgjpq2wdwlwzt6nyh7q8kqx7r7"]`},
		{"das.WaitCatchUp", `[]`},
	} {
		r := callHTTP(t, url, admin, call.method, json.RawMessage(call.params))
		if r.Error == nil || r.Error.Message != want {
			t.Errorf("%s: %+v %s; want %q", call.method, r.Error, r.Result, want)
		}
	}
	for _, method := range []string{"node.Ready", "das.SamplingStats", "state.AccountAddress"} {
		if r := callHTTP(t, url, admin, method, json.RawMessage(`[]`)); r.Error != nil {
			t.Errorf("%s: %+v", method, r.Error)
		}
	}

	// fraud.Get: celestia-node's shape, read permission.
	data, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := callHTTP(t, url, read, "fraud.Get", json.RawMessage(`["badencodingv0.1"]`))
	wantJSON := `[{"proof_type":"badencodingv0.1","data":"` + base64.StdEncoding.EncodeToString(data) + `"}]`
	if r.Error != nil || string(r.Result) != wantJSON {
		t.Errorf("fraud.Get: %+v %.200s", r.Error, r.Result)
	}
	r = callHTTP(t, url, read, "fraud.Get", json.RawMessage(`["badencoding"]`))
	if r.Error == nil || r.Error.Message != `api: fraud: unknown proof type "badencoding" (the one type is "badencodingv0.1")` {
		t.Errorf("fraud.Get of an unknown type: %+v", r.Error)
	}
	ff.proofs = nil
	if r := callHTTP(t, url, read, "fraud.Get", json.RawMessage(`["badencodingv0.1"]`)); r.Error != nil || string(r.Result) != `[]` {
		t.Errorf("fraud.Get of none: %+v %s", r.Error, r.Result)
	}

	// The Go client decodes the proof back; Subscribe streams new ones.
	cl := newClient(t, "ws://"+srv.Addr(), read)
	ff.proofs = []*eds.BadEncodingProof{p}
	got, err := cl.Fraud.Get(ctx, eds.BadEncodingProofType)
	if err != nil || len(got) != 1 {
		t.Fatalf("client Fraud.Get: %v, %v", got, err)
	}
	if b, err := got[0].Proof.MarshalBinary(); err != nil || string(b) != string(data) {
		t.Errorf("client Fraud.Get: the proof differs (%v)", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sub, err := cl.Fraud.Subscribe(sctx, eds.BadEncodingProofType)
	if err != nil {
		t.Fatal(err)
	}
	ff.feed <- p
	select {
	case fp := <-sub:
		if fp == nil || fp.Proof == nil || fp.Proof.Height != 2 || fp.Proof.Axis != eds.Col || fp.Proof.Index != 2 {
			t.Errorf("subscribed proof: %+v", fp)
		}
	case <-sctx.Done():
		t.Fatal("no proof from fraud.Subscribe")
	}
}

func TestFraudProofJSONRejects(t *testing.T) {
	for _, in := range []string{
		`{"proof_type":"badencodingv0.2","data":""}`,
		`{"proof_type":"badencodingv0.1","data":"AAEC"}`,
		`[]`,
	} {
		var fp api.FraudProof
		if err := json.Unmarshal([]byte(in), &fp); err == nil {
			t.Errorf("%s: decoded", in)
		}
	}
	if _, err := json.Marshal(api.FraudProof{}); err == nil {
		t.Error("an empty proof encoded")
	}
}
