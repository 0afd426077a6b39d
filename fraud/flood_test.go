package fraud_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// floodMessage returns the i-th message of a flood: garbage, the proof
// naming the wrong header, an honest row of block 5 dressed as a proof, or
// the valid proof, each made distinct by an unknown field (gossipsub would
// drop repeated bytes before the validator).
func (f *chainFixture) floodMessage(t testing.TB, rng *rand.Rand, i int) []byte {
	switch i % 4 {
	case 0:
		b := make([]byte, 1+rng.IntN(4096))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		return b
	case 1:
		return withUnknownField(f.wrongHeader(t), uint64(i))
	case 2:
		return withUnknownField(f.honestRow(t, 5, i%f.squares[5].Width()), uint64(i))
	}
	return withUnknownField(encode(t, f.proof), uint64(i))
}

// One peer floods a node with 1,000 proof messages of every kind. The node
// blocks it and validates at most once per height it names (5 and 12):
// every message after its first lie is refused unread, and a valid proof
// makes the others of its height duplicates. An honest peer's proof still
// halts the node, on the right block.
func TestFloodFromOnePeer(t *testing.T) {
	ctx := p2ptest.Context(t)
	f := newChain(t, 20, 12)
	o := testOptions()
	o.PeerRate, o.PeerBurst = 1e6, 1e6 // let the flood reach the judge
	b := f.newNode(t, ctx, 20, &o)
	a := f.newNode(t, ctx, 20, nil)
	r := newRawPublisher(t, ctx)
	connect(t, ctx, r.node, b.p2p)
	connect(t, ctx, a.p2p, b.p2p)

	rng := rand.New(rand.NewPCG(1, 2))
	msgs := make([][]byte, 1000)
	for i := range msgs {
		msgs[i] = f.floodMessage(t, rng, i)
	}
	// In batches that fit the flooder's outbound queue (32 RPCs), which
	// gossipsub empties no faster than the node reads.
	for i, m := range msgs {
		r.publish(t, ctx, m)
		if (i+1)%16 == 0 || i+1 == len(msgs) {
			waitFor(t, ctx, "the node to judge the batch", func() bool { return b.svc.Stats().Received == uint64(i+1) })
		}
	}
	b.blocker.wait(t, ctx, r.node.Host.ID())
	if err := a.svc.Publish(ctx, f.proof); err != nil {
		t.Fatal(err)
	}
	b.waitHalted(t, ctx, f)
	if p := b.halt.Proof(); string(p.HeaderHash) != string(f.chain[f.bad-1].Hash()) {
		t.Fatal("halted on a proof naming the wrong header")
	}
	st := b.svc.Stats()
	t.Logf("flood: %+v", st)
	if st.Validations > 2 {
		t.Fatalf("%d validations, want at most one per height named", st.Validations)
	}
	if b.blocker.count() != 1 {
		t.Fatalf("blocked %d peers, want the flooder only", b.blocker.count())
	}
}

// BenchmarkJudge measures what one message costs the topic validator, by
// kind, each from a sender not yet blocked but for "blocked sender". Only
// "honest row" reaches Validate; "known invalid" is the same message from
// another sender, which costs a header lookup and a SHA-256 instead.
// "duplicate" is judged by a node that already holds the valid proof,
// the rest by one that holds none.
func BenchmarkJudge(b *testing.B) {
	ctx := p2ptest.Context(b)
	f := newChain(b, 20, 12)
	halted, fresh := f.newNode(b, ctx, 20, nil), f.newNode(b, ctx, 20, nil)
	if err := halted.svc.Publish(ctx, f.proof); err != nil {
		b.Fatal(err)
	}
	far := *f.proof
	far.Height = 20 + fraud.DefaultMaxAhead + 1
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	honest := f.honestRow(b, 5, 0)
	fresh.svc.JudgeGossip(ctx, "liar", garbage)
	fresh.svc.JudgeGossip(ctx, "first", honest) // now known invalid
	cases := []struct {
		name, want string
		n          *node
		msg        func(i int) []byte
		newSender  bool
	}{
		{"oversized", "reject", fresh, constant(make([]byte, fraud.DefaultMaxMessageSize+1)), true},
		{"garbage", "reject", fresh, constant(garbage), true},
		{"blocked sender", "reject", fresh, constant(honest), false},
		{"too far ahead", "ignore", fresh, constant(encode(b, &far)), true},
		{"duplicate", "ignore", halted, constant(f.data), true},
		{"wrong header", "reject", fresh, constant(f.wrongHeader(b)), true},
		{"known invalid", "reject", fresh, constant(honest), true},
		{"honest row", "reject", fresh, func(i int) []byte { return withUnknownField(honest, uint64(i)) }, true},
	}
	for _, c := range cases {
		// Senders made in advance, new for each message but for the
		// blocked one.
		senders := make([]peer.ID, 1<<16)
		for i := range senders {
			senders[i] = peer.ID(fmt.Sprintf("%s-%d", c.name, i))
			if !c.newSender {
				senders[i] = "liar"
			}
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if got := c.n.svc.JudgeGossip(ctx, senders[i%len(senders)], c.msg(i)); got != c.want {
					b.Fatalf("%s: %s, want %s", c.name, got, c.want)
				}
			}
		})
	}
	b.Logf("square width %d; proof with k shares %d bytes, with all %d", f.squares[f.bad].Width(), len(f.data), len(encode(b, f.proof)))
}

func constant(b []byte) func(int) []byte { return func(int) []byte { return b } }
