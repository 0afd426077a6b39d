package getter_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/shrex"
	"github.com/datamesh/mesh-node/shrex/getter"
	"github.com/datamesh/mesh-node/shrex/peers"
)

const netID = "test-net"

var quiet = slog.New(slog.DiscardHandler)

func testCtx(t testing.TB) context.Context { return p2ptest.Context(t) }

func newHost(t testing.TB) host.Host { t.Helper(); return p2ptest.Host(t) }

// block is a square and its header (only the height and DAH matter).
type block struct {
	eds *eds.ExtendedDataSquare
	h   *header.ExtendedHeader
}

// square returns the block of width k built from seed, at height seed.
func square(t testing.TB, seed uint64, k int) block {
	t.Helper()
	e, dah := edstest.RandomEDS(t, seed, k, k/2)
	return block{eds: e, h: &header.ExtendedHeader{RawHeader: cmttypes.Header{Height: int64(seed)}, DAH: dah}}
}

// memStore is a shrex.Store over a map; gate, when set, is called before
// each read.
type memStore struct {
	squares map[uint64]*eds.ExtendedDataSquare
	gate    func(ctx context.Context) error
}

func (s *memStore) EDS(ctx context.Context, height uint64) (*eds.ExtendedDataSquare, error) {
	if s.gate != nil {
		if err := s.gate(ctx); err != nil {
			return nil, err
		}
	}
	e := s.squares[height]
	if e == nil {
		return nil, fmt.Errorf("height %d: %w", height, shrex.ErrNotFound)
	}
	return e, nil
}

func storeOf(bs ...block) *memStore {
	s := &memStore{squares: map[uint64]*eds.ExtendedDataSquare{}}
	for _, b := range bs {
		s.squares[b.h.Height()] = b.eds
	}
	return s
}

// serve starts a real shrex server over st on a new host.
func serve(t testing.TB, st shrex.Store) host.Host {
	t.Helper()
	h := newHost(t)
	srv, err := shrex.NewServer(h, netID, st, shrex.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return h
}

// The response header on the wire: its length, then Header{status = 1}.
func status(st shrex.Status) []byte { return []byte{2, 0x08, byte(st)} }

func frame(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }

// fake returns a host answering each shrex protocol in answers with
// answers[kind](request), and every other protocol with NOT_FOUND.
func fake(t testing.TB, answers map[shrex.Kind]func(req []byte) []byte) host.Host {
	t.Helper()
	h := newHost(t)
	for _, k := range []shrex.Kind{shrex.KindSample, shrex.KindRow, shrex.KindNamespaceData, shrex.KindEDS} {
		respond := answers[k]
		if respond == nil {
			respond = func([]byte) []byte { return status(shrex.StatusNotFound) }
		}
		p2ptest.Answer(h, shrex.ProtocolID(netID, k), 64, respond)
	}
	return h
}

// rowServer answers row requests with the first half of rows[i], NOT_FOUND
// where rows[i] is nil, and every other request with NOT_FOUND.
func rowServer(t testing.TB, rows [][][]byte) host.Host {
	t.Helper()
	return fake(t, map[shrex.Kind]func([]byte) []byte{
		shrex.KindRow: func(req []byte) []byte {
			id, err := eds.UnmarshalRowID(req)
			if err != nil || int(id.Row) >= len(rows) || rows[id.Row] == nil {
				return status(shrex.StatusNotFound)
			}
			row := rows[id.Row]
			return append(status(shrex.StatusOK), bytes.Join(row[:len(row)/2], nil)...)
		},
	})
}

// recorder is a peers.PeerBlocker that records whom it was told to block.
type recorder struct {
	mu      sync.Mutex
	blocked []peer.ID
}

func (r *recorder) BlockPeer(id peer.ID, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blocked = append(r.blocked, id)
}

func (r *recorder) list() []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.blocked)
}

// env is a getter on its own host with a manager, connected to some
// servers.
type env struct {
	g       *getter.Getter
	m       *peers.Manager
	blocker *recorder
	host    host.Host
}

// newEnv returns a getter whose manager knows announcers as the announcers
// of b's square and fullNodes as its fallback full nodes.
func newEnv(t testing.TB, b block, announcers, fullNodes []host.Host) *env {
	t.Helper()
	h := newHost(t)
	var full []peer.ID
	for _, s := range append(slices.Clone(announcers), fullNodes...) {
		if err := h.Connect(testCtx(t), peer.AddrInfo{ID: s.ID(), Addrs: s.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range fullNodes {
		full = append(full, s.ID())
	}
	rec := &recorder{}
	m, err := peers.New(peers.Options{
		Blocker:   rec,
		FullNodes: func() []peer.ID { return full },
		Rand:      rand.New(rand.NewPCG(1, 2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range announcers {
		m.Announced(b.h.Height(), b.h.DataRoot(), s.ID())
	}
	c, err := shrex.NewClient(h, netID, shrex.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	g, err := getter.New(c, m, getter.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &env{g: g, m: m, blocker: rec, host: h}
}

// offered tells whether the manager offers p for b's square.
func (e *env) offered(b block, p peer.ID) bool {
	return slices.Contains(e.m.Peers(b.h.Height(), b.h.DataRoot(), 100), p)
}

// checkSample fetches the sample at (row, col) of b through the getter and
// fails t unless it holds b's share there.
func (e *env) checkSample(t testing.TB, b block, row, col int) *eds.Sample {
	t.Helper()
	smp, err := e.g.GetSample(testCtx(t), b.h, row, col)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(smp.Share, b.eds.Share(row, col)) {
		t.Fatalf("cell (%d, %d): wrong share", row, col)
	}
	return smp
}

// checkEDS fetches b's square through the getter and fails t unless it is
// b's.
func (e *env) checkEDS(t testing.TB, b block) {
	t.Helper()
	got, err := e.g.GetEDS(testCtx(t), b.h)
	if err != nil {
		t.Fatal(err)
	}
	if !equalSquares(got, b.eds) {
		t.Fatal("the square differs")
	}
}

func rowsOf(e *eds.ExtendedDataSquare) [][][]byte {
	rows := make([][][]byte, e.Width())
	for i := range rows {
		rows[i] = e.Row(i)
	}
	return rows
}

func equalSquares(a, b *eds.ExtendedDataSquare) bool {
	if a.Width() != b.Width() {
		return false
	}
	for i := range a.Width() {
		if !bytes.Equal(bytes.Join(a.Row(i), nil), bytes.Join(b.Row(i), nil)) {
			return false
		}
	}
	return true
}
