package shrex

import (
	"bytes"
	"errors"
	"testing"

	"github.com/datamesh/mesh-node/eds"
)

// FuzzParseSamplesRequest decodes arbitrary bytes as a samples request:
// what decodes names 1 to MaxSamplesPerRequest distinct cells and
// re-encodes to the same bytes; the rest wraps eds.ErrInvalidID.
func FuzzParseSamplesRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(KindSamples, b)
		if err != nil {
			if !errors.Is(err, eds.ErrInvalidID) {
				t.Fatalf("error %v does not wrap eds.ErrInvalidID", err)
			}
			return
		}
		if n := len(r.cells); n == 0 || n > MaxSamplesPerRequest || r.height == 0 {
			t.Fatalf("accepted %v", r)
		}
		again, err := r.marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("%v re-encodes to %x, %v; was %x", r, again, err, b)
		}
	})
}

// fuzzSampleCells are the cells FuzzReadSamples asks the fixture for.
var fuzzSampleCells = []Cell{{1, 2}, {3, 0}, {0, 0}}

// FuzzReadSamples reads arbitrary bytes as the response to a samples
// request for fuzzSampleCells of the fixture: what it accepts is those
// cells, in order.
func FuzzReadSamples(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		fx := getFixture(t)
		smps, err := readSamples(reader(b), fx.dah, 1, fuzzSampleCells)
		if err != nil {
			checkClientErr(t, err)
			var inv *InvalidSamplesError
			if errors.As(err, &inv) && (len(inv.Cells) == 0 || len(inv.Cells) != len(inv.Errs)) {
				t.Fatalf("invalid-samples error without evidence: %v", err)
			}
			return
		}
		if len(smps) != len(fuzzSampleCells) {
			t.Fatalf("%d samples for %d cells", len(smps), len(fuzzSampleCells))
		}
		for i, c := range fuzzSampleCells {
			if !bytes.Equal(smps[i].Share, fx.eds.Share(c.Row, c.Col)) {
				t.Fatalf("accepted a wrong share for (%d, %d)", c.Row, c.Col)
			}
		}
	})
}
