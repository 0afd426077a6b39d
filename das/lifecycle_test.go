package das_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/header/headertest"
)

func TestNewRejectsBadInput(t *testing.T) {
	nt := newNet(t, 1, headertest.Options{})
	for _, tc := range []struct {
		name string
		h    das.Headers
		g    das.Getter
		opts das.Options
	}{
		{"nil headers", nil, nt.getter, das.Options{}},
		{"nil getter", nt.store, nil, das.Options{}},
		{"negative samples", nt.store, nt.getter, das.Options{SamplesPerHeader: -1}},
		{"negative timeout", nt.store, nt.getter, das.Options{SampleTimeout: -time.Second}},
		{"inverted backoff", nt.store, nt.getter, das.Options{RetryBackoff: time.Hour, MaxRetryBackoff: time.Minute}},
	} {
		if _, err := das.New(tc.h, tc.g, tc.opts); !errors.Is(err, das.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", tc.name, err)
		}
	}
}

func TestStartStopIdempotent(t *testing.T) {
	nt := newNet(t, 10, headertest.Options{})
	d, err := das.New(nt.store, nt.getter, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	waitCatchUp(t, d)
	for range 2 {
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st := d.Stats(); st.IsRunning || st.Concurrency != 0 {
		t.Fatalf("stats after Stop: %+v", st)
	}
	if err := d.Start(ctx); !errors.Is(err, das.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	if err := d.WaitCatchUp(ctx); !errors.Is(err, das.ErrStopped) {
		t.Fatalf("WaitCatchUp after Stop: %v", err)
	}

	d2, _ := das.New(nt.store, nt.getter, testOpts(10))
	if err := d2.Stop(ctx); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := d2.Start(ctx); !errors.Is(err, das.ErrStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
}

// A height whose samples never come holds up only its own job: the other
// workers sample the rest, and Stop cancels the stuck one.
func TestSlowHeightDoesNotBlockOthers(t *testing.T) {
	nt := newNet(t, 64, headertest.Options{})
	nt.getter.set(&nt.getter.block, 5)
	opts := testOpts(11)
	opts.SampleTimeout = time.Hour
	d := start(t, nt, opts)
	// Heights 1..4 and 17..64 (other jobs) are sampled; 5 is stuck, so its
	// job's 6..16 wait behind it.
	eventually(t, d, "other ranges sampled", func(s das.Stats) bool { return s.Sampled == 4+48 })
	st := d.Stats()
	if st.SampledChainHead != 4 || st.Concurrency != 1 || len(st.Workers) != 1 || st.Workers[0].Current != 5 {
		t.Fatalf("stats: %+v", st)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// Headers with no DAH, or one without cells, are unavailable: never
// "available" with no sample, never a panic.
func TestMalformedDAHUnavailable(t *testing.T) {
	nt := newNet(t, 2, headertest.Options{})
	good := *nt.headers[0]
	noDAH := *nt.headers[1]
	noDAH.DAH = nil
	empty := *nt.headers[1]
	empty.RawHeader.Height = 3
	empty.DAH = &eds.DataAvailabilityHeader{}
	hs := sliceHeaders{&good, &noDAH, &empty}
	d, err := das.New(hs, nt.getter, testOpts(12))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Stop(context.Background()) }()
	waitCatchUp(t, d)
	st := d.Stats()
	if st.Sampled != 1 || len(st.Failed) != 2 || st.Failed[2] != 1 || st.Failed[3] != 1 {
		t.Fatalf("stats: %+v", st)
	}
}
