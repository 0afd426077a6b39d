package exchange_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
)

// send writes hs as OK messages.
func send(t testing.TB, s network.Stream, hs []*header.ExtendedHeader) {
	for _, h := range hs {
		b, err := h.MarshalBinary()
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := s.Write(responseMsg(exchange.StatusOK, b)); err != nil {
			return
		}
	}
}

// at returns chain's headers at heights [from, from+amount), as far as it
// goes.
func at(chain []*header.ExtendedHeader, from, amount uint64) []*header.ExtendedHeader {
	lo, hi := min(from-1, uint64(len(chain))), min(from-1+amount, uint64(len(chain)))
	return chain[lo:hi]
}

// TestMaliciousServers runs GetVerifiedRange against an honest server and
// a faulty one: the result is right, and the faulty server is blocked
// (except the one that stalls: a timeout is not proof of malice).
func TestMaliciousServers(t *testing.T) {
	c := honest(t)
	otherChain := headertest.NewGenerator(headertest.Options{ChainID: "other-chain", Seed: 3}).Chain(t, 200)
	otherVals := headertest.NewGenerator(headertest.Options{Seed: 99}).Chain(t, 200)
	stalled := make(chan struct{})
	t.Cleanup(func() { close(stalled) })

	for _, tc := range []struct {
		name    string
		handle  func(t *testing.T, s network.Stream, r rawRequest)
		noBlock bool
	}{
		{name: "tampered commit", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			hs := append([]*header.ExtendedHeader{}, at(c, r.from, r.amount)...)
			i := len(hs) / 2
			hs[i] = headertest.Clone(t, hs[i])
			hs[i].Commit.Signatures[0].Signature[0] ^= 1
			send(t, s, hs)
		}},
		{name: "tampered first commit", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			hs := append([]*header.ExtendedHeader{}, at(c, r.from, r.amount)...)
			hs[0] = headertest.Clone(t, hs[0])
			hs[0].Commit.Signatures[1].Signature[5] ^= 1
			send(t, s, hs)
		}},
		{name: "tampered DAH", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			hs := append([]*header.ExtendedHeader{}, at(c, r.from, r.amount)...)
			i := len(hs) - 1
			hs[i] = headertest.Clone(t, hs[i])
			hs[i].DAH.RowRoots[0][40] ^= 1
			send(t, s, hs)
		}},
		{name: "other chain ID", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			send(t, s, at(otherChain, r.from, r.amount))
		}},
		{name: "same chain ID other validators", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			send(t, s, at(otherVals, r.from, r.amount))
		}},
		{name: "outside the range", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			send(t, s, at(c, r.from+1, r.amount))
		}},
		{name: "more than asked", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			send(t, s, at(c, r.from, r.amount+1))
		}},
		{name: "fewer without NOT_FOUND", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			send(t, s, at(c, r.from, r.amount-1))
		}},
		{name: "undecodable header", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			_, _ = s.Write(responseMsg(exchange.StatusOK, []byte("not a header")))
		}},
		{name: "garbage", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			_, _ = s.Write([]byte{3, 0xff, 0xff, 0xff, 0x42})
		}},
		{name: "oversized length prefix", handle: func(t *testing.T, s network.Stream, r rawRequest) {
			_, _ = s.Write(binary.AppendUvarint(nil, 1<<40))
		}},
		{name: "stalls", noBlock: true, handle: func(t *testing.T, s network.Stream, r rawRequest) {
			<-stalled
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			good := serve(t, memStore(t, c[:200]))
			bad := fake(t, func(s network.Stream, r rawRequest) { tc.handle(t, s, r) })
			rec := &recorder{}
			// Parallelism 1 and three chunks: whatever the ranking, both
			// peers are asked.
			cl := newClient(t, newHost(t), []host.Host{good, bad}, exchange.WithBlocker(rec),
				exchange.WithParallelism(1), exchange.WithRequestTimeout(2*time.Second))
			rng, err := cl.GetVerifiedRange(ctx, c[0], 193)
			if err != nil {
				t.Fatal(err)
			}
			checkRange(t, rng, c[1:193])
			blocked := rec.get()
			if _, ok := blocked[good.ID()]; ok {
				t.Errorf("the honest server was blocked: %v", blocked[good.ID()])
			}
			reason, ok := blocked[bad.ID()]
			switch {
			case tc.noBlock && ok:
				t.Errorf("blocked for %v", reason)
			case !tc.noBlock && !ok:
				t.Error("the faulty server was not blocked")
			case ok && !errors.Is(reason, exchange.ErrInvalidResponse):
				t.Errorf("reason %v does not wrap ErrInvalidResponse", reason)
			}
			if ok {
				t.Logf("blocked: %v", reason)
				// Blocked peers are not asked again.
				if _, err := cl.GetVerifiedRange(ctx, c[100], 150); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestMaliciousSingles: a forged head, a header for another hash or
// height, are caught and their sender blocked; the honest answer is used.
func TestMaliciousSingles(t *testing.T) {
	ctx := testCtx(t)
	c := honest(t)
	forged := headertest.Clone(t, c[149])
	forged.Commit.Signatures[0].Signature[0] ^= 1
	good := serve(t, memStore(t, c[:120]))
	bad := fake(t, func(s network.Stream, r rawRequest) {
		switch {
		case r.head:
			send(t, s, []*header.ExtendedHeader{forged})
		default:
			send(t, s, c[10:11])
		}
	})
	rec := &recorder{}
	cl := newClient(t, newHost(t), []host.Host{good, bad}, exchange.WithBlocker(rec))
	head, err := cl.Head(ctx, c[0])
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{head}, c[119:120])
	if _, ok := rec.get()[bad.ID()]; !ok {
		t.Fatal("forged head not punished")
	}

	rec2 := &recorder{}
	bad2 := fake(t, func(s network.Stream, r rawRequest) { send(t, s, c[10:11]) })
	cl2 := newClient(t, newHost(t), []host.Host{good, bad2}, exchange.WithTrustedPeers(bad2.ID()), exchange.WithBlocker(rec2))
	got, err := cl2.GetByHash(ctx, c[50].Hash())
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{got}, c[50:51])
	if _, ok := rec2.get()[bad2.ID()]; !ok {
		t.Fatal("wrong header for a hash not punished")
	}

	rec3 := &recorder{}
	bad3 := fake(t, func(s network.Stream, r rawRequest) { send(t, s, c[10:11]) })
	cl3 := newClient(t, newHost(t), []host.Host{good, bad3}, exchange.WithTrustedPeers(good.ID(), bad3.ID()), exchange.WithBlocker(rec3))
	got, err = cl3.GetByHeight(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, []*header.ExtendedHeader{got}, c[59:60])
	if _, ok := rec3.get()[bad3.ID()]; !ok {
		t.Fatal("wrong height not punished")
	}
}
