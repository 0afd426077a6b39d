package das_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/header/headertest"
)

// SharesAvailable answers from the DASer's results for heights it
// sampled, without asking the network again, and samples any other header
// on the spot: available when its samples verify, ErrUnavailable when they
// are withheld.
func TestSharesAvailable(t *testing.T) {
	nt := newNet(t, 6, headertest.Options{Blobs: 3})
	opts := testOpts(3)
	opts.SampleTimeout = 300 * time.Millisecond
	d := start(t, nt, opts)
	waitCatchUp(t, d)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// Sampled heights: no request.
	nt.getter.resetCalls()
	for _, h := range nt.headers {
		if err := d.SharesAvailable(ctx, h); err != nil {
			t.Fatalf("height %d: %v", h.Height(), err)
		}
	}
	if calls := nt.getter.resetCalls(); len(calls) != 0 {
		t.Fatalf("answering for sampled heights asked for samples %v", calls)
	}

	// A header the DASer has not sampled (not in its store): sampled now.
	more := nt.gen.Chain(t, 2)
	if err := d.SharesAvailable(ctx, more[0]); err != nil {
		t.Fatalf("unsampled height %d: %v", more[0].Height(), err)
	}
	if nt.getter.callsAt(more[0].Height()) == 0 {
		t.Fatal("the unsampled height was not sampled")
	}
	nt.getter.set(&nt.getter.withhold, more[1].Height())
	if err := d.SharesAvailable(ctx, more[1]); !errors.Is(err, das.ErrUnavailable) {
		t.Fatalf("withheld height %d: %v, want ErrUnavailable", more[1].Height(), err)
	}
}
