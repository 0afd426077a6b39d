package getter_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/shrex"
)

var testCoords = []das.Coord{{Row: 0, Col: 0}, {Row: 3, Col: 5}, {Row: 7, Col: 7}, {Row: 5, Col: 2}}

func checkSamples(t *testing.T, b block, coords []das.Coord, smps []*eds.Sample) {
	t.Helper()
	if len(smps) != len(coords) {
		t.Fatalf("%d samples for %d cells", len(smps), len(coords))
	}
	for i, c := range coords {
		if !bytes.Equal(smps[i].Share, b.eds.Share(c.Row, c.Col)) {
			t.Fatalf("sample %d (%d, %d): wrong share", i, c.Row, c.Col)
		}
		if err := smps[i].Verify(b.h.DAH, c.Row, c.Col); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGetSamplesBatched(t *testing.T) {
	b := square(t, 1, 4)
	srv := serve(t, storeOf(b))
	e := newEnv(t, b, []host.Host{srv}, nil)
	smps, err := e.g.GetSamples(testCtx(t), b.h, testCoords)
	if err != nil {
		t.Fatal(err)
	}
	checkSamples(t, b, testCoords, smps)
	// More cells than one request carries: split in several.
	all := make([]das.Coord, 0, 64)
	for i := range 64 {
		all = append(all, das.Coord{Row: i / 8, Col: i % 8})
	}
	big := square(t, 9, 8) // width 16: 256 cells
	srv2 := serve(t, storeOf(big))
	e2 := newEnv(t, big, []host.Host{srv2}, nil)
	many := slices.Concat(all, []das.Coord{{Row: 15, Col: 15}, {Row: 8, Col: 9}})
	smps, err = e2.g.GetSamples(testCtx(t), big.h, many)
	if err != nil {
		t.Fatal(err)
	}
	checkSamples(t, big, many, smps)
	for _, bad := range [][]das.Coord{{{Row: 8, Col: 0}}, {{Row: 1, Col: 1}, {Row: 1, Col: 1}}} {
		if _, err := e.g.GetSamples(testCtx(t), b.h, bad); !errors.Is(err, eds.ErrOutOfRange) && !errors.Is(err, eds.ErrInvalidID) {
			t.Errorf("%v: %v, want the caller's error", bad, err)
		}
	}
}

// TestGetSamplesFallsBackToSingle: a peer without the samples protocol is
// asked cell by cell and not blamed; a liar among such peers is blocked.
func TestGetSamplesFallsBackToSingle(t *testing.T) {
	b := square(t, 3, 4)
	old := fake(t, map[shrex.Kind]func([]byte) []byte{shrex.KindSample: sampleAnswer(t, b.eds, false)})
	e := newEnv(t, b, []host.Host{old}, nil)
	smps, err := e.g.GetSamples(testCtx(t), b.h, testCoords)
	if err != nil {
		t.Fatal(err)
	}
	checkSamples(t, b, testCoords, smps)
	if got := e.blocker.list(); len(got) != 0 || !e.offered(b, old.ID()) {
		t.Fatalf("blocked %v, offered %v: the older peer was blamed", got, e.offered(b, old.ID()))
	}

	liar := fake(t, map[shrex.Kind]func([]byte) []byte{shrex.KindSample: sampleAnswer(t, b.eds, true)})
	honest := serve(t, storeOf(b))
	e = newEnv(t, b, []host.Host{liar}, []host.Host{honest})
	smps, err = e.g.GetSamples(testCtx(t), b.h, testCoords)
	if err != nil {
		t.Fatal(err)
	}
	checkSamples(t, b, testCoords, smps)
	if got := e.blocker.list(); !slices.Equal(got, []peer.ID{liar.ID()}) {
		t.Errorf("blocked %v, want the liar %v", got, liar.ID())
	}
}

// TestGetSamplesBlocksBatchLiar: a peer answering a samples request with a
// sample that does not verify is blocked, and the next peer serves.
func TestGetSamplesBlocksBatchLiar(t *testing.T) {
	b := square(t, 5, 4)
	liar := newHost(t)
	p2ptest.Answer(liar, shrex.ProtocolID(netID, shrex.KindSamples), 512, func([]byte) []byte {
		var out []byte
		for i, c := range testCoords {
			s, err := b.eds.Sample(c.Row, c.Col, eds.Row)
			if err != nil {
				t.Error(err)
			}
			if i == 1 {
				s.Share[200] ^= 1
			}
			m, err := s.MarshalBinary()
			if err != nil {
				t.Error(err)
			}
			out = append(out, frame(m)...)
		}
		return append(status(shrex.StatusOK), out...)
	})
	honest := serve(t, storeOf(b))
	e := newEnv(t, b, []host.Host{liar}, []host.Host{honest})
	smps, err := e.g.GetSamples(testCtx(t), b.h, testCoords)
	if err != nil {
		t.Fatal(err)
	}
	checkSamples(t, b, testCoords, smps)
	if got := e.blocker.list(); !slices.Equal(got, []peer.ID{liar.ID()}) {
		t.Errorf("blocked %v, want the liar %v", got, liar.ID())
	}
}
