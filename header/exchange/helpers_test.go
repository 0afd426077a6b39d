package exchange_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/datamesh/mesh-node/header"
	"github.com/datamesh/mesh-node/header/exchange"
	"github.com/datamesh/mesh-node/header/headertest"
	"github.com/datamesh/mesh-node/header/store"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
	"github.com/datamesh/mesh-node/internal/p2ptest"
)

const netID = "test-chain" // headertest's default chain ID

// testCtx bounds a test's requests.
func testCtx(t testing.TB) context.Context { return p2ptest.Context(t) }

// chain is the shared honest chain, heights 1..600, built once.
var chain = sync.OnceValues(func() ([]*header.ExtendedHeader, error) {
	g := headertest.NewGenerator(headertest.Options{Seed: 1})
	out := make([]*header.ExtendedHeader, 600)
	for i := range out {
		h, err := g.Next()
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
})

// honest returns the shared chain: honest(t)[h-1] is at height h.
func honest(t testing.TB) []*header.ExtendedHeader {
	t.Helper()
	c, err := chain()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newHost(t testing.TB) host.Host { t.Helper(); return p2ptest.Host(t) }

func connect(t testing.TB, a, b host.Host) { t.Helper(); p2ptest.Connect(t, testCtx(t), a, b) }

// memStore returns a MemStore holding headers.
func memStore(t testing.TB, headers []*header.ExtendedHeader) *headertest.MemStore {
	t.Helper()
	s := headertest.NewMemStore()
	if err := s.Append(context.Background(), headers...); err != nil {
		t.Fatal(err)
	}
	return s
}

// badgerStore returns a Badger header store in a temporary directory
// holding headers.
func badgerStore(t testing.TB, headers []*header.ExtendedHeader) header.Store {
	t.Helper()
	db := badgertest.Open(t)
	s := store.New(db)
	if err := s.Append(context.Background(), headers...); err != nil {
		t.Fatal(err)
	}
	return s
}

// serve starts a header-ex server on a new host, which announces
// header-ex to the peers that connect from then on.
func serve(t testing.TB, s header.Store, opts ...exchange.ServerOption) host.Host {
	t.Helper()
	h := newHost(t)
	srv, err := exchange.NewServer(h, netID, s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, context.Background(), srv)
	p2ptest.WaitAnnounced(t, testCtx(t), h, exchange.ProtocolID(netID))
	return h
}

// recorder is a PeerBlocker that remembers whom it was told to block.
type recorder struct {
	mu      sync.Mutex
	blocked map[peer.ID]error
}

func (r *recorder) BlockPeer(id peer.ID, reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.blocked == nil {
		r.blocked = map[peer.ID]error{}
	}
	r.blocked[id] = reason
}

func (r *recorder) get() map[peer.ID]error {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[peer.ID]error{}
	for k, v := range r.blocked {
		out[k] = v
	}
	return out
}

// newClient starts a client on h after connecting h to servers, so it
// tracks those that speak header-ex from the start (serve and fake wait
// until their hosts announce it).
func newClient(t testing.TB, h host.Host, servers []host.Host, opts ...exchange.ClientOption) *exchange.Client {
	t.Helper()
	for _, s := range servers {
		connect(t, h, s)
	}
	c, err := exchange.NewClient(h, netID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p2ptest.Start(t, context.Background(), c)
	return c
}

func ids(hs ...host.Host) []peer.ID {
	out := make([]peer.ID, len(hs))
	for i, h := range hs {
		out[i] = h.ID()
	}
	return out
}

// checkRange fails t unless got is want.
func checkRange(t testing.TB, got, want []*header.ExtendedHeader) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d headers, want %d", len(got), len(want))
	}
	for i := range got {
		if string(got[i].Hash()) != string(want[i].Hash()) {
			t.Fatalf("header %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// Raw protocol access, for fakes and for checking the server byte by byte.

// rawRequest is a decoded request as a fake server sees it.
type rawRequest struct {
	from, amount uint64
	hash         []byte
	head         bool
}

func encodeRequest(r rawRequest) []byte {
	var b []byte
	if r.head {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	if r.hash != nil {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, r.hash)
	}
	if r.from != 0 || r.amount != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, r.from)
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, r.amount)
	}
	return b
}

// readRawRequest reads and decodes a request leniently (fakes trust the
// client).
func readRawRequest(r *bufio.Reader) (rawRequest, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return rawRequest{}, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return rawRequest{}, err
	}
	var req rawRequest
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			b = b[n:]
			switch num {
			case 1:
				req.from = v
			case 2:
				req.amount = v
			case 4:
				req.head = v != 0
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			b = b[n:]
			req.hash = v
		default:
			return req, io.ErrUnexpectedEOF
		}
	}
	return req, nil
}

func responseMsg(st exchange.Status, body []byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(st))
	if body != nil {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, body)
	}
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// rawResponse is one decoded response message.
type rawResponse struct {
	status exchange.Status
	header *header.ExtendedHeader
}

// ask sends req to p over a raw stream and decodes every response message.
func ask(t testing.TB, h host.Host, p peer.ID, req rawRequest) []rawResponse {
	t.Helper()
	s, err := h.NewStream(testCtx(t), p, exchange.ProtocolID(netID))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := encodeRequest(req)
	if _, err := s.Write(append(binary.AppendUvarint(nil, uint64(len(b))), b...)); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(s)
	var out []rawResponse
	for {
		n, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			t.Fatal(err)
		}
		var r rawResponse
		for len(msg) > 0 {
			num, typ, n := protowire.ConsumeTag(msg)
			msg = msg[n:]
			if num == 1 && typ == protowire.VarintType {
				v, n := protowire.ConsumeVarint(msg)
				msg = msg[n:]
				r.status = exchange.Status(v)
				continue
			}
			v, n := protowire.ConsumeBytes(msg)
			msg = msg[n:]
			if r.header, err = header.UnmarshalExtendedHeader(v); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, r)
	}
}

// fake registers handle as the header-ex handler of a new host: a
// misbehaving server. handle gets each decoded request; the stream is
// closed after it returns.
func fake(t testing.TB, handle func(s network.Stream, req rawRequest)) host.Host {
	t.Helper()
	h := newHost(t)
	h.SetStreamHandler(exchange.ProtocolID(netID), func(s network.Stream) {
		req, err := readRawRequest(bufio.NewReader(s))
		if err != nil {
			_ = s.Reset()
			return
		}
		handle(s, req)
		_ = s.Close()
	})
	p2ptest.WaitAnnounced(t, testCtx(t), h, exchange.ProtocolID(netID))
	return h
}
