package das_test

import (
	"sync"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/header/headertest"
)

// headerTimes records das.Metrics' observations.
type headerTimes struct {
	mu sync.Mutex
	d  []time.Duration
}

func (m *headerTimes) ObserveHeader(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.d = append(m.d, d)
}

// TestMetricsObserveAvailableHeaders checks that the DASer times each
// header it finds available, once, and not those it finds unavailable.
func TestMetricsObserveAvailableHeaders(t *testing.T) {
	nt := newNet(t, 30, headertest.Options{})
	nt.getter.set(&nt.getter.withhold, 7, 21)
	opts := testOpts(3)
	opts.SampleTimeout = 300 * time.Millisecond
	m := &headerTimes{}
	opts.Metrics = m
	d := start(t, nt, opts)
	waitCatchUp(t, d)

	st := d.Stats()
	if st.Sampled != 28 || st.Unavailable != 2 {
		t.Fatalf("stats: %+v", st)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.d) != 28 {
		t.Fatalf("%d headers timed, want the 28 available", len(m.d))
	}
	for i, d := range m.d {
		if d <= 0 || d >= opts.SampleTimeout {
			t.Errorf("observation %d: %v, want within (0, %v)", i, d, opts.SampleTimeout)
		}
	}
}
