package fraud_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/fraud"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

// headerMap is a header store of a few headers, for squares wider than a
// chain fixture is worth building.
type headerMap map[uint64]*header.ExtendedHeader

func (m headerMap) GetByHeight(_ context.Context, h uint64) (*header.ExtendedHeader, error) {
	if eh, ok := m[h]; ok {
		return eh, nil
	}
	return nil, header.ErrNotFound
}

func (m headerMap) Height() uint64 { return uint64(len(m)) }

func (m headerMap) Tail(ctx context.Context) (*header.ExtendedHeader, error) {
	return m.GetByHeight(ctx, 1)
}

// BenchmarkJudgeWide measures the judging of proofs of k×k squares, sizes
// as a network sees them: a proof with k shares naming the wrong header
// (decoding and a header lookup), an honest row dressed as a proof (the
// full Validate, which fails) and the valid proof (Validate, then storing
// in memory and halting, on a new Service each time).
func BenchmarkJudgeWide(b *testing.B) {
	ctx := p2ptest.Context(b)
	f := newChain(b, 2, 2) // two real header bodies to carry wide DAHs
	n := p2ptest.NewNode(b, ctx, p2ptest.NodeOptions()...)
	for _, k := range []int{32, 128} {
		honest, err := eds.Extend(edstest.RandomODS(uint64(k), k, 0))
		if err != nil {
			b.Fatal(err)
		}
		cells, badDAH := corruptParity(b, honest)
		honestDAH, err := eds.NewDAH(honest)
		if err != nil {
			b.Fatal(err)
		}
		bad, good := *f.chain[0], *f.chain[1]
		bad.DAH, good.DAH = badDAH, honestDAH
		headers := headerMap{1: &bad, 2: &good}

		var flat [][]byte
		for _, row := range cells {
			flat = append(flat, row...)
		}
		_, err = eds.Repair(badDAH, flat)
		var byz *eds.ErrByzantineData
		if !errors.As(err, &byz) {
			b.Fatalf("k=%d: %v", k, err)
		}
		p, err := eds.NewBadEncodingProof(bad.Hash(), 1, byz)
		if err != nil {
			b.Fatal(err)
		}
		valid := encode(b, p)
		wrong := *p
		wrong.HeaderHash = good.Hash()
		row := &eds.BadEncodingProof{HeaderHash: good.Hash(), Height: 2, Axis: eds.Row, Shares: make([]*eds.Sample, 2*k)}
		for c := range k { // the form with k shares
			if row.Shares[c], err = honest.Sample(0, c, eds.Col); err != nil {
				b.Fatal(err)
			}
		}
		dressed := encode(b, row)

		newService := func() *fraud.Service {
			s, err := fraud.New(fraud.Deps{Network: chainID, Host: n.Host, PubSub: n.PubSub, Headers: headers, Halt: &fraud.Halt{}},
				fraud.Options{PeerRate: 1e9, PeerBurst: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}
		s := newService()
		b.Logf("k=%d: the valid proof has %d bytes (%d shares), the honest row %d", k, len(valid), countShares(p), len(dressed))
		for _, c := range []struct {
			name, want string
			msg        func(i int) []byte
			distinct   bool // each message other bytes, so no result is remembered
		}{
			{"wrong header", "reject", func(int) []byte { return encode(b, &wrong) }, false},
			{"honest row", "reject", func(i int) []byte { return withUnknownField(dressed, uint64(i)) }, true},
		} {
			msgs := make([][]byte, 64)
			for i := range msgs {
				msgs[i] = c.msg(i)
			}
			b.Run(fmt.Sprintf("k=%d/%s", k, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					from := peer.ID(fmt.Sprintf("%d-%s-%d", k, c.name, i))
					m := msgs[i%len(msgs)]
					if c.distinct && i >= len(msgs) {
						m = withUnknownField(m, uint64(i))
					}
					if got := s.JudgeGossip(ctx, from, m); got != c.want {
						b.Fatalf("%s: %s, want %s", c.name, got, c.want)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("k=%d/valid", k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				s := newService()
				b.StartTimer()
				if got := s.JudgeGossip(ctx, "honest", valid); got != "accept" {
					b.Fatalf("valid proof: %s", got)
				}
			}
		})
	}
}

func countShares(p *eds.BadEncodingProof) int {
	n := 0
	for _, s := range p.Shares {
		if s != nil {
			n++
		}
	}
	return n
}
