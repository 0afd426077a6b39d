package syncer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/syncer"
)

func TestInit(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 10}).Chain(t, 20)
	fork := headertest.NewGenerator(headertest.Options{Seed: 10, Blobs: 3}).Chain(t, 20)
	errDown := errors.New("network down")
	for _, tc := range []struct {
		name    string
		stored  []*header.ExtendedHeader // store content before Init
		trust   syncer.Trust
		offline bool // every exchange call fails
		want    uint64
		wantErr error
	}{
		{name: "by hash", trust: syncer.Trust{Hash: chain[9].Hash()}, want: 10},
		{name: "by hash and height", trust: syncer.Trust{Hash: chain[9].Hash(), Height: 10}, want: 10},
		{name: "hash at another height", trust: syncer.Trust{Hash: chain[9].Hash(), Height: 11}, wantErr: syncer.ErrTrustMismatch},
		{name: "unknown hash", trust: syncer.Trust{Hash: fork[9].Hash()}, wantErr: header.ErrNotFound},
		{name: "by height", trust: syncer.Trust{Height: 7}, want: 7},
		{name: "agreed head", want: 15},
		{name: "offline", offline: true, wantErr: errDown},
		{name: "non-empty store keeps its head", stored: chain[4:8], trust: syncer.Trust{Hash: chain[9].Hash(), Height: 10}, offline: true, want: 8},
		{name: "non-empty store agreeing", stored: chain[4:8], trust: syncer.Trust{Hash: chain[5].Hash(), Height: 6}, offline: true, want: 8},
		{name: "store contradicts trusted height", stored: chain[4:8], trust: syncer.Trust{Hash: fork[5].Hash(), Height: 6}, offline: true, wantErr: syncer.ErrTrustMismatch},
		{name: "store has trusted hash elsewhere", stored: chain[4:8], trust: syncer.Trust{Hash: chain[5].Hash(), Height: 7}, offline: true, wantErr: syncer.ErrTrustMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			net := newNetwork(t, chain, 15, header.VerifyOptions{})
			if tc.offline {
				net.setFault(func(string, uint64) error { return errDown })
			}
			store := headertest.NewMemStore()
			if len(tc.stored) > 0 {
				if err := store.Append(ctx, tc.stored...); err != nil {
					t.Fatal(err)
				}
			}
			got, err := syncer.Init(ctx, store, net, tc.trust, testOptions(t))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Init: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if len(tc.stored) == 0 && store.Height() != 0 {
					t.Fatalf("failed Init stored height %d", store.Height())
				}
				return
			}
			if got.Height() != tc.want || store.Height() != tc.want {
				t.Fatalf("Init returned %d, store at %d, want %d", got.Height(), store.Height(), tc.want)
			}
			if string(got.Hash()) != string(chain[tc.want-1].Hash()) {
				t.Fatalf("Init returned %v, want %v", got, chain[tc.want-1])
			}
		})
	}
}

func TestInitChecksChainID(t *testing.T) {
	ctx := testContext(t)
	chain := headertest.NewGenerator(headertest.Options{Seed: 11}).Chain(t, 3)
	net := newNetwork(t, chain, 3, header.VerifyOptions{})
	opts := testOptions(t)
	opts.ChainID = "another-chain"
	if _, err := syncer.Init(ctx, headertest.NewMemStore(), net, syncer.Trust{}, opts); !errors.Is(err, header.ErrChainIDMismatch) {
		t.Fatalf("Init: %v", err)
	}
}

// oldChain is a chain whose headers are older than the trusting period.
func oldChain(t *testing.T, n int) []*header.ExtendedHeader {
	start := time.Now().Add(-header.DefaultTrustingPeriod - 24*time.Hour)
	return headertest.NewGenerator(headertest.Options{Seed: 12, StartTime: start}).Chain(t, n)
}

func TestInitExpiredTrust(t *testing.T) {
	ctx := testContext(t)
	chain := oldChain(t, 5)
	net := newNetwork(t, chain, 5, header.VerifyOptions{})
	store := headertest.NewMemStore()
	_, err := syncer.Init(ctx, store, net, syncer.Trust{Hash: chain[4].Hash()}, testOptions(t))
	if !errors.Is(err, syncer.ErrTrustExpired) || !errors.Is(err, header.ErrExpiredTrust) {
		t.Fatalf("Init: %v, want ErrTrustExpired", err)
	}
	if store.Height() != 0 {
		t.Fatal("stored an expired header")
	}
}

func TestStartExpiredTrust(t *testing.T) {
	ctx := testContext(t)
	chain := oldChain(t, 5)
	store := headertest.NewMemStore()
	if err := store.Append(ctx, chain...); err != nil {
		t.Fatal(err)
	}
	net := newNetwork(t, chain, 5, header.VerifyOptions{})
	s, err := syncer.New(store, net, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(ctx)
	if !errors.Is(err, syncer.ErrTrustExpired) || !errors.Is(err, header.ErrExpiredTrust) {
		t.Fatalf("Start: %v, want ErrTrustExpired", err)
	}
	var te *syncer.TrustExpiredError
	if !errors.As(err, &te) || te.Height != 5 || !te.Time.Equal(chain[4].Time()) || te.TrustingPeriod != header.DefaultTrustingPeriod {
		t.Fatalf("Start: %#v", te)
	}
	msg := err.Error()
	for _, want := range []string{"syncer: ", "stored head at height 5", chain[4].Time().UTC().Format(time.RFC3339), "336h0m0s", "re-initialise", "header.trusted_hash", "<home>/data"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// Not started: Stop is a no-op.
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStartNeedsInit(t *testing.T) {
	ctx := testContext(t)
	chain := headertest.NewGenerator(headertest.Options{Seed: 13}).Chain(t, 2)
	s, err := syncer.New(headertest.NewMemStore(), newNetwork(t, chain, 2, header.VerifyOptions{}), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); !errors.Is(err, syncer.ErrNotInitialised) {
		t.Fatalf("Start on an empty store: %v", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	chain := headertest.NewGenerator(headertest.Options{Seed: 14}).Chain(t, 1)
	net := newNetwork(t, chain, 1, header.VerifyOptions{})
	for _, opts := range []syncer.Options{
		{BatchSize: header.MaxRangeSize + 1},
		{HeadPollInterval: -1},
		{RetryBackoff: time.Second, MaxRetryBackoff: time.Millisecond},
	} {
		if _, err := syncer.New(headertest.NewMemStore(), net, opts); !errors.Is(err, syncer.ErrInvalidOptions) {
			t.Errorf("New(%+v): %v", opts, err)
		}
	}
	if _, err := syncer.New(nil, net, syncer.Options{}); !errors.Is(err, syncer.ErrInvalidOptions) {
		t.Errorf("New(nil store): %v", err)
	}
}
