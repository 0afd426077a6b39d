package syncer

import (
	"errors"
	"fmt"
	"testing"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
)

func TestPlanNext(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 1}).Chain(t, 12)
	at := func(h uint64) *header.ExtendedHeader { return chain[h-1] }
	for _, tc := range []struct {
		head, target, batch uint64 // target 0: none
		to                  uint64
		ok                  bool
	}{
		{head: 3, target: 0, batch: 4},
		{head: 3, target: 3, batch: 4},
		{head: 5, target: 3, batch: 4},
		{head: 3, target: 4, batch: 4, to: 4, ok: true},
		{head: 3, target: 12, batch: 4, to: 7, ok: true},
		{head: 3, target: 7, batch: 4, to: 7, ok: true},
		{head: 1, target: 12, batch: 1, to: 2, ok: true},
	} {
		p := plan{batch: tc.batch, head: at(tc.head)}
		if tc.target != 0 {
			p.target = at(tc.target)
		}
		to, ok := p.next()
		if to != tc.to || ok != tc.ok {
			t.Errorf("%+v: next = %d, %v", tc, to, ok)
		}
		if want := tc.target != 0 && tc.head >= tc.target; p.synced() != want {
			t.Errorf("%+v: synced = %v", tc, p.synced())
		}
	}
}

func TestPlanRaiseAndAppended(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 2}).Chain(t, 10)
	// Same keys, other blocks: a fork the same validators signed.
	fork := headertest.NewGenerator(headertest.Options{Seed: 2, Blobs: 3}).Chain(t, 10)

	p := plan{batch: 4, head: chain[0]}
	if raised, err := p.raise(chain[5], false); !raised || err != nil {
		t.Fatalf("raise to unverified 6: %v %v", raised, err)
	}
	if raised, err := p.raise(chain[3], true); raised || err != nil {
		t.Fatalf("raise to lower 4: %v %v", raised, err)
	}
	// A verified header replaces an unverified target at its height.
	if raised, err := p.raise(fork[5], true); !raised || err != nil || p.target != fork[5] || !p.verified {
		t.Fatalf("verified replaces unverified: %v %v", raised, err)
	}
	if _, err := p.raise(chain[5], true); !errors.Is(err, ErrFork) {
		t.Fatalf("two verified heads at one height: %v", err)
	}
	if raised, err := p.raise(chain[5], false); raised || err != nil || p.target != fork[5] {
		t.Fatalf("unverified does not replace verified: %v %v", raised, err)
	}
	// Appending the real chain through the (fork) target: ErrFork.
	if err := p.appended(chain[1:4]); err != nil || p.head != chain[3] {
		t.Fatalf("appended 2..4: %v", err)
	}
	if err := p.appended(chain[4:8]); !errors.Is(err, ErrFork) {
		t.Fatalf("appended through a forked verified target: %v", err)
	}
	if p.head != chain[7] || p.target != chain[7] {
		t.Fatalf("head %v target %v, want both at 8", p.head, p.target)
	}

	// Through an unverified wrong target: not a fork.
	p = plan{batch: 4, head: chain[0]}
	p.raise(fork[2], false)
	if err := p.appended(chain[1:4]); !errors.Is(err, errTargetNotOnChain) || errors.Is(err, ErrFork) {
		t.Fatalf("unverified target off the chain: %v", err)
	}
	// Through the right target: the head becomes the target.
	p = plan{batch: 4, head: chain[0]}
	p.raise(chain[2], true)
	if err := p.appended(chain[1:4]); err != nil || p.target != chain[3] || !p.synced() {
		t.Fatalf("through the target: %v, target %v", err, p.target)
	}
	// Below the target: the target stays.
	p.raise(chain[9], true)
	if err := p.appended(chain[4:6]); err != nil || p.target != chain[9] {
		t.Fatalf("below the target: %v, target %v", err, p.target)
	}
}

func TestPlanTrim(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 3}).Chain(t, 10)
	fork := headertest.NewGenerator(headertest.Options{Seed: 3, Blobs: 3}).Chain(t, 10)
	fetched := chain[3:8] // 4..8 fetched above 3
	for _, tc := range []struct {
		head    *header.ExtendedHeader
		want    int // first height kept; 0: none
		wantErr error
	}{
		{head: chain[2], want: 4},
		{head: chain[4], want: 6},
		{head: chain[7]},
		{head: chain[9]},
		{head: fork[4], wantErr: ErrFork},
	} {
		p := plan{batch: 8, head: tc.head}
		got, err := p.trim(chain[2], fetched)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("head %d: err %v, want %v", tc.head.Height(), err, tc.wantErr)
			continue
		}
		switch {
		case tc.wantErr != nil:
		case tc.want == 0 && len(got) != 0:
			t.Errorf("head %d: kept %d headers", tc.head.Height(), len(got))
		case tc.want != 0 && (len(got) == 0 || got[0].Height() != uint64(tc.want) || got[len(got)-1].Height() != 8):
			t.Errorf("head %d: kept %v", tc.head.Height(), got)
		}
	}
}

func TestPlaceOf(t *testing.T) {
	for _, tc := range []struct {
		head, h uint64
		want    place
	}{
		{10, 1, placeKnown}, {10, 10, placeKnown}, {10, 11, placeAdjacent}, {10, 12, placeFar}, {0, 1, placeAdjacent},
	} {
		if got := placeOf(tc.head, tc.h); got != tc.want {
			t.Errorf("placeOf(%d, %d) = %v, want %v", tc.head, tc.h, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want verdict
	}{
		{nil, verdictAccept},
		{fmt.Errorf("x: %w", header.ErrNotEnoughTrust), verdictIgnore},
		{fmt.Errorf("x: %w", header.ErrFromFuture), verdictIgnore},
		{fmt.Errorf("x: %w", header.ErrExpiredTrust), verdictIgnore},
		{fmt.Errorf("x: %w", header.ErrInvalidCommit), verdictReject},
		{fmt.Errorf("x: %w", header.ErrValidatorSetMismatch), verdictReject},
		{fmt.Errorf("x: %w", header.ErrNotAdjacent), verdictReject},
		{fmt.Errorf("x: %w", header.ErrNonIncreasingHeight), verdictReject},
		{fmt.Errorf("x: %w", header.ErrChainIDMismatch), verdictReject},
	} {
		if got := judge(tc.err); got != tc.want {
			t.Errorf("judge(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !fatal(header.ErrExpiredTrust) || !fatal(ErrFork) || fatal(header.ErrNotFound) || fatal(errTargetNotOnChain) {
		t.Error("fatal")
	}
}
