package fraud_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/dgraph-io/badger/v4"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/internal/badgerdb"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

const chainID = "fraud-test"

// chainFixture is a chain whose block bad commits (its validators signed
// the data root) to a badly encoded square, and a valid proof of it.
type chainFixture struct {
	chain   []*header.ExtendedHeader // chain[i] is at height i+1
	squares map[uint64]*eds.ExtendedDataSquare
	bad     uint64
	proof   *eds.BadEncodingProof // every share of column 1 proven
	data    []byte                // the proof with k shares, as Publish sends it
}

// newChain builds n headers with the block at height bad badly encoded:
// one share of Q2 (row k, column 1) is changed and its row encoded again,
// so every row matches its root and column 1 does not decode to its own.
// The chain is the same on every run (a fixed seed and start time), so the
// fuzz seeds built from it are stable.
func newChain(t testing.TB, n int, bad uint64) *chainFixture {
	t.Helper()
	f := &chainFixture{squares: map[uint64]*eds.ExtendedDataSquare{}, bad: bad}
	var cells [][][]byte
	var dah *eds.DataAvailabilityHeader
	g := headertest.NewGenerator(headertest.Options{
		ChainID: chainID, Seed: 14, Blobs: 4, MaxBlobSize: 3000,
		StartTime: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		OnSquare: func(h int64, e *eds.ExtendedDataSquare) {
			f.squares[uint64(h)] = e
			if uint64(h) == bad {
				cells, dah = corruptParity(t, e)
			}
		},
		Byzantine: func(h int64, txs cmttypes.Txs) cmttypes.Txs {
			if uint64(h) == bad {
				drt, err := header.DataRootTx{SquareSize: uint32(dah.SquareSize()), DataRoot: dah.Hash()}.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				txs[len(txs)-1] = drt
			}
			return txs
		},
	})
	f.chain = g.Chain(t, n)
	byz := *f.chain[bad-1]
	byz.DAH = dah
	f.chain[bad-1] = &byz

	var flat [][]byte
	for _, row := range cells {
		flat = append(flat, row...)
	}
	_, err := eds.Repair(dah, flat)
	var evidence *eds.ErrByzantineData
	if !errors.As(err, &evidence) {
		t.Fatalf("repairing the bad square: %v, want byzantine data", err)
	}
	if f.proof, err = eds.NewBadEncodingProof(byz.Hash(), bad, evidence); err != nil {
		t.Fatal(err)
	}
	if err := f.proof.Validate(dah); err != nil {
		t.Fatalf("the fixture's proof does not validate: %v", err)
	}
	// The form Publish sends: the first k proven shares.
	half := *f.proof
	half.Shares = make([]*eds.Sample, len(f.proof.Shares))
	for i, kept := 0, 0; kept < len(half.Shares)/2; i++ {
		if s := f.proof.Shares[i]; s != nil {
			half.Shares[i] = s
			kept++
		}
	}
	f.data = encode(t, &half)
	return f
}

// corruptParity returns the cells of e, row by row, with cell (k, 1)
// changed and row k encoded again from its first half, and their DAH.
func corruptParity(t testing.TB, e *eds.ExtendedDataSquare) ([][][]byte, *eds.DataAvailabilityHeader) {
	t.Helper()
	w, k := e.Width(), e.K()
	rows := make([][][]byte, w)
	for r := range rows {
		for _, cell := range e.Row(r) {
			rows[r] = append(rows[r], append([]byte(nil), cell...))
		}
	}
	rows[k][1][len(rows[k][1])-1] ^= 0xA5
	ext, err := eds.ExtendAxis(rows[k][:k])
	if err != nil {
		t.Fatal(err)
	}
	rows[k] = ext
	dah := &eds.DataAvailabilityHeader{RowRoots: make([][]byte, w), ColumnRoots: make([][]byte, w)}
	for i := range w {
		col := make([][]byte, w)
		for r := range w {
			col[r] = rows[r][i]
		}
		if dah.RowRoots[i], err = eds.AxisRoot(rows[i], i); err != nil {
			t.Fatal(err)
		}
		if dah.ColumnRoots[i], err = eds.AxisRoot(col, i); err != nil {
			t.Fatal(err)
		}
	}
	return rows, dah
}

func encode(t testing.TB, p *eds.BadEncodingProof) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withUnknownField returns data with a varint field the proof's schema
// does not have, set to n: other bytes, the same proof.
func withUnknownField(data []byte, n uint64) []byte {
	b := protowire.AppendTag(append([]byte(nil), data...), 99, protowire.VarintType)
	return protowire.AppendVarint(b, n)
}

// wrongHeader returns the fixture's proof naming the header below the bad
// block: Validate against the bad block's DAH still passes.
func (f *chainFixture) wrongHeader(t testing.TB) []byte {
	p := *f.proof
	p.HeaderHash = f.chain[f.bad-2].Hash()
	return encode(t, &p)
}

// honestRow dresses row idx of the honest block at height as a proof of
// bad encoding: every share proven, against the right header.
func (f *chainFixture) honestRow(t testing.TB, height uint64, idx int) []byte {
	t.Helper()
	e := f.squares[height]
	p := &eds.BadEncodingProof{HeaderHash: f.chain[height-1].Hash(), Height: height, Axis: eds.Row, Index: idx, Shares: make([]*eds.Sample, e.Width())}
	for c := range p.Shares {
		s, err := e.Sample(idx, c, eds.Col)
		if err != nil {
			t.Fatal(err)
		}
		p.Shares[c] = s
	}
	return encode(t, p)
}

// blocker records the peers a Service blocks.
type blocker struct {
	mu      sync.Mutex
	blocked map[peer.ID]error
	changed chan struct{}
}

func newBlocker() *blocker {
	return &blocker{blocked: map[peer.ID]error{}, changed: make(chan struct{})}
}

func (b *blocker) BlockPeer(id peer.ID, reason error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.blocked[id]; !ok {
		b.blocked[id] = reason
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *blocker) reason(id peer.ID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.blocked[id]
}

func (b *blocker) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.blocked)
}

// wait returns the reason id was blocked for, once it is.
func (b *blocker) wait(t testing.TB, ctx context.Context, id peer.ID) error {
	t.Helper()
	for {
		b.mu.Lock()
		err, ch := b.blocked[id], b.changed
		b.mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("%s was never blocked: %v", id, ctx.Err())
		}
	}
}

// node is a loopback host with gossipsub, a header store holding a prefix
// of the fixture's chain, a Badger database and a fraud Service.
type node struct {
	p2p     *p2ptest.Node
	headers *headertest.MemStore
	halt    *fraud.Halt
	blocker *blocker
	dir     string
	db      *badger.DB
	svc     *fraud.Service
	fetch   fraud.HeaderFetcher // Deps.Fetch; nil for none
	noMesh  bool                // Deps.Mesh nil: mesh peers are not asked
}

// testOptions are quick to act: held proofs are released within 10 ms.
func testOptions() fraud.Options {
	return fraud.Options{PollInterval: 10 * time.Millisecond, ResyncInterval: -1}
}

// newNode returns a started node whose store holds the first height
// headers of the chain, with opts (testOptions if nil).
func (f *chainFixture) newNode(t testing.TB, ctx context.Context, height int, opts *fraud.Options) *node {
	t.Helper()
	o := testOptions()
	if opts != nil {
		o = *opts
	}
	return startNode(t, ctx, f.chain[:height], o, nil)
}

// newNodeFrom returns a started node whose store holds the chain from
// height base to the top, as a node that started from a trusted header at
// base holds it, and that fetches headers below base through fetch (none
// if nil).
func (f *chainFixture) newNodeFrom(t testing.TB, ctx context.Context, base uint64, o fraud.Options, fetch fraud.HeaderFetcher) *node {
	t.Helper()
	return startNode(t, ctx, f.chain[base-1:], o, fetch)
}

func startNode(t testing.TB, ctx context.Context, headers []*header.ExtendedHeader, o fraud.Options, fetch fraud.HeaderFetcher) *node {
	t.Helper()
	return startNodeMesh(t, ctx, headers, o, fetch, true)
}

// startNodeMesh is startNode; mesh false leaves Deps.Mesh nil, for a test
// of what comes to a node that does not ask its mesh peers.
func startNodeMesh(t testing.TB, ctx context.Context, headers []*header.ExtendedHeader, o fraud.Options, fetch fraud.HeaderFetcher, mesh bool) *node {
	t.Helper()
	n := &node{p2p: p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...), headers: headertest.NewMemStore(), dir: t.TempDir(), fetch: fetch, noMesh: !mesh}
	if len(headers) > 0 {
		if err := n.headers.Append(ctx, headers...); err != nil {
			t.Fatal(err)
		}
	}
	n.open(t, ctx, n.p2p.PubSub, o)
	return n
}

// holder returns a started node that stores the whole chain and holds the
// proof, published while it had no peers, and announces fraud sync.
func (f *chainFixture) holder(t testing.TB, ctx context.Context) *node {
	t.Helper()
	a := f.newNode(t, ctx, len(f.chain), nil)
	if err := a.svc.Publish(ctx, f.proof); err != nil {
		t.Fatal(err)
	}
	p2ptest.WaitAnnounced(t, ctx, a.p2p.Host, fraud.ProtocolID(chainID))
	return a
}

// open opens the node's database and starts a new Service with a new Halt
// on it; both are closed when the test ends, if not before.
func (n *node) open(t testing.TB, ctx context.Context, ps *pubsub.PubSub, o fraud.Options) {
	t.Helper()
	db, err := badgerdb.Open(badgerdb.Options(n.dir))
	if err != nil {
		t.Fatal(err)
	}
	n.db, n.halt, n.blocker = db, &fraud.Halt{}, newBlocker()
	t.Cleanup(func() { _ = db.Close() })
	deps := fraud.Deps{
		Network: chainID, Host: n.p2p.Host, PubSub: ps, Headers: n.headers,
		Blocker: n.blocker, DB: db, Halt: n.halt, Fetch: n.fetch, Mesh: n.p2p,
	}
	if n.noMesh {
		deps.Mesh = nil
	}
	n.svc, err = fraud.New(deps, o)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, ctx, n.svc)
}

// restart stops the node's Service, closes its database and starts a new
// Service with opts on the same database, on a new host with no peers.
func (n *node) restart(t testing.TB, ctx context.Context, o fraud.Options) {
	t.Helper()
	if err := n.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.db.Close(); err != nil {
		t.Fatal(err)
	}
	n.p2p = p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...)
	n.open(t, ctx, n.p2p.PubSub, o)
}

func (n *node) id() peer.ID { return n.p2p.Host.ID() }

// waitHalted fails the test unless n halts on the fixture's proof before
// ctx ends.
func (n *node) waitHalted(t testing.TB, ctx context.Context, f *chainFixture) {
	t.Helper()
	select {
	case <-n.halt.Halted():
	case <-ctx.Done():
		t.Fatalf("node never halted: %v (stats %+v)", ctx.Err(), n.svc.Stats())
	}
	if p := n.halt.Proof(); p.Height != f.bad || p.Axis != f.proof.Axis || p.Index != f.proof.Index {
		t.Fatalf("halted on height %d %s %d, want %d %s %d", p.Height, p.Axis, p.Index, f.bad, f.proof.Axis, f.proof.Index)
	}
}

// waitFor polls cond every few milliseconds until it holds.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// connect connects a to b and waits until each knows the other is
// subscribed to the topic.
func connect(t testing.TB, ctx context.Context, a, b *p2ptest.Node) {
	t.Helper()
	p2ptest.Connect(t, ctx, a.Host, b.Host)
	topic := fraud.TopicID(chainID)
	p2ptest.WaitPeer(t, ctx, func() []peer.ID { return a.PubSub.ListPeers(topic) }, b.Host.ID(), 5*time.Millisecond)
	p2ptest.WaitPeer(t, ctx, func() []peer.ID { return b.PubSub.ListPeers(topic) }, a.Host.ID(), 5*time.Millisecond)
}

// rawPublisher is a peer on the topic without a Service: it publishes
// whatever it is given.
type rawPublisher struct {
	node  *p2ptest.Node
	topic *pubsub.Topic
}

func newRawPublisher(t testing.TB, ctx context.Context) *rawPublisher {
	t.Helper()
	n := p2ptest.NewNode(t, ctx, p2ptest.NodeOptions()...)
	tp, err := n.PubSub.Join(fraud.TopicID(chainID))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tp.Subscribe() // so that peers count it as subscribed
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Cancel)
	return &rawPublisher{node: n, topic: tp}
}

func (r *rawPublisher) publish(t testing.TB, ctx context.Context, data []byte) {
	t.Helper()
	if err := r.topic.Publish(ctx, data); err != nil {
		t.Fatal(err)
	}
}
