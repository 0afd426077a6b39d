package shrex_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/p2ptest"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/shrex"
)

// The response header on the wire: its length, then Header{status = 1}.
func status(st shrex.Status) []byte { return []byte{2, 0x08, byte(st)} }

func frame(b []byte) []byte { return append(binary.AppendUvarint(nil, uint64(len(b))), b...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// liar returns a host that answers every request of protocol k with
// respond(request).
func liar(t *testing.T, k shrex.Kind, respond func(req []byte) []byte) host.Host {
	t.Helper()
	h := newHost(t)
	p2ptest.Answer(h, shrex.ProtocolID(netID, k), 64, respond)
	return h
}

func marshalSample(t *testing.T, s *eds.Sample) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleOf(t *testing.T, e *eds.ExtendedDataSquare, r, c int, axis eds.Axis) *eds.Sample {
	t.Helper()
	s, err := e.Sample(r, c, axis)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bytesOf(shares [][]byte) []byte { return bytes.Join(shares, nil) }

func checkFault(t *testing.T, name string, err error) {
	t.Helper()
	t.Logf("%s: %v", name, err)
	if !errors.Is(err, shrex.ErrInvalidResponse) {
		t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
	}
}

func TestLyingSampleServer(t *testing.T) {
	b := square(t, 4, 4)
	const r, c = 1, 6
	honest := marshalSample(t, sampleOf(t, b.eds, r, c, eds.Row))
	badProof := sampleOf(t, b.eds, r, c, eds.Row)
	badProof.Proof.Nodes[0][len(badProof.Proof.Nodes[0])-1] ^= 1
	otherShare := sampleOf(t, b.eds, r, c, eds.Row)
	otherShare.Share = bytes.Clone(b.eds.Share(r, c-1))
	for name, resp := range map[string][]byte{
		"other cell":       cat(status(shrex.StatusOK), frame(marshalSample(t, sampleOf(t, b.eds, c, r, eds.Row)))),
		"other share":      cat(status(shrex.StatusOK), frame(marshalSample(t, otherShare))),
		"bad proof":        cat(status(shrex.StatusOK), frame(marshalSample(t, badProof))),
		"truncated":        cat(status(shrex.StatusOK), frame(honest)[:len(honest)/2]),
		"oversized":        cat(status(shrex.StatusOK), binary.AppendUvarint(nil, 1<<20), make([]byte, 4096)),
		"trailing":         cat(status(shrex.StatusOK), frame(honest), []byte{0}),
		"garbage":          cat(status(shrex.StatusOK), frame(bytes.Repeat([]byte{0xAB}, 600))),
		"no payload":       status(shrex.StatusOK),
		"empty":            nil,
		"bad request":      status(shrex.StatusBadRequest),
		"unknown status":   status(9),
		"header too large": cat([]byte{200}, make([]byte, 200)),
		"no status":        []byte{2, 0x10, 1},
	} {
		srv := liar(t, shrex.KindSample, func([]byte) []byte { return resp })
		_, err := client(t, srv).GetSample(testCtx(t), srv.ID(), b.h, r, c)
		checkFault(t, name, err)
	}
	// A column proof of the right cell is fine.
	srv := liar(t, shrex.KindSample, func([]byte) []byte {
		return cat(status(shrex.StatusOK), frame(marshalSample(t, sampleOf(t, b.eds, r, c, eds.Col))))
	})
	if _, err := client(t, srv).GetSample(testCtx(t), srv.ID(), b.h, r, c); err != nil {
		t.Errorf("column proof: %v", err)
	}
}

func TestLyingRowServer(t *testing.T) {
	b := square(t, 4, 4)
	k := b.eds.K()
	for _, r := range []int{1, 6} {
		half := bytesOf(b.eds.Row(r)[:k])
		changed := bytes.Clone(half)
		changed[len(changed)-1] ^= 1
		for name, resp := range map[string][]byte{
			"changed share": cat(status(shrex.StatusOK), changed),
			"other row":     cat(status(shrex.StatusOK), bytesOf(b.eds.Row(r ^ 1)[:k])),
			"right half":    cat(status(shrex.StatusOK), bytesOf(b.eds.Row(r)[k:])),
			"truncated":     cat(status(shrex.StatusOK), half[:len(half)-1]),
			"trailing":      cat(status(shrex.StatusOK), half, make([]byte, share.ShareSize)),
		} {
			srv := liar(t, shrex.KindRow, func([]byte) []byte { return resp })
			_, err := client(t, srv).GetRow(testCtx(t), srv.ID(), b.h, r)
			checkFault(t, name, err)
		}
	}
}

func TestLyingNamespaceDataServer(t *testing.T) {
	b := square(t, 8, 8)
	// A namespace spread over several rows: the tail padding's rows, or
	// any namespace with more than one.
	var ns share.Namespace
	present, _ := namespaces(t, b)
	for _, p := range present {
		if len(eds.RowsWithNamespace(b.h.DAH, p)) > 1 {
			ns = p
			break
		}
	}
	if ns == (share.Namespace{}) {
		t.Fatal("no namespace spans two rows")
	}
	nd, err := b.eds.NamespaceData(ns)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]byte
	for _, r := range nd {
		m, err := r.Data.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, frame(m))
	}
	dropShare := nd[0].Data
	dropShare.Shares = dropShare.Shares[1:]
	dropped, err := dropShare.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	swapped := append([][]byte{rows[1], rows[0]}, rows[2:]...)
	for name, resp := range map[string][]byte{
		"missing row":     cat(status(shrex.StatusOK), cat(rows[:len(rows)-1]...)),
		"no rows":         status(shrex.StatusOK),
		"swapped rows":    cat(status(shrex.StatusOK), cat(swapped...)),
		"missing share":   cat(status(shrex.StatusOK), frame(dropped), cat(rows[1:]...)),
		"extra row":       cat(status(shrex.StatusOK), cat(rows...), rows[0]),
		"oversized frame": cat(status(shrex.StatusOK), binary.AppendUvarint(nil, uint64(eds.MaxRowNamespaceDataSize))),
	} {
		srv := liar(t, shrex.KindNamespaceData, func([]byte) []byte { return resp })
		_, err := client(t, srv).GetNamespaceData(testCtx(t), srv.ID(), b.h, ns)
		checkFault(t, name, err)
	}
}

func TestLyingEDSServer(t *testing.T) {
	b := square(t, 4, 4)
	ods := bytesOf(b.eds.ODS())
	changed := bytes.Clone(ods)
	changed[5*share.ShareSize+100] ^= 1 // data bytes of share 5, not its namespace
	unordered := bytes.Clone(ods)
	copy(unordered, bytes.Repeat([]byte{0xFE}, share.NamespaceSize)) // share 0 above its row
	for name, resp := range map[string][]byte{
		"changed share": cat(status(shrex.StatusOK), changed),
		"unordered":     cat(status(shrex.StatusOK), unordered),
		"truncated":     cat(status(shrex.StatusOK), ods[:len(ods)-share.ShareSize]),
		"trailing":      cat(status(shrex.StatusOK), ods, []byte{1}),
	} {
		srv := liar(t, shrex.KindEDS, func([]byte) []byte { return resp })
		_, err := client(t, srv).GetEDS(testCtx(t), srv.ID(), b.h)
		checkFault(t, name, err)
		if name == "changed share" {
			var mm *shrex.DataRootMismatchError
			if !errors.As(err, &mm) || !bytes.Equal(mm.Want, b.h.DAH.Hash()) || mm.DAH == nil || bytes.Equal(mm.Got, mm.Want) {
				t.Errorf("changed share: %v, want a *DataRootMismatchError with the evidence", err)
			}
		}
	}
}

// TestLyingEDSServerMidStream: the client checks the square row by row as
// it arrives; a share changed in the middle of a 32-wide square, or one
// whose namespace is out of order there, or a stream cut in the middle, is
// still the peer's fault, the changed share with the evidence.
func TestLyingEDSServerMidStream(t *testing.T) {
	const k = 32
	b := square(t, 7, k)
	ods := bytesOf(b.eds.ODS())
	mid := ((k/2)*k + k/2) * share.ShareSize
	changed := bytes.Clone(ods)
	changed[mid+share.NamespaceSize+9] ^= 1
	unordered := bytes.Clone(ods)
	copy(unordered[mid:], bytes.Repeat([]byte{0xFE}, share.NamespaceSize))
	for name, resp := range map[string][]byte{
		"changed share": cat(status(shrex.StatusOK), changed),
		"unordered":     cat(status(shrex.StatusOK), unordered),
		"cut mid-row":   cat(status(shrex.StatusOK), ods[:mid+share.ShareSize/2]),
	} {
		srv := liar(t, shrex.KindEDS, func([]byte) []byte { return resp })
		_, err := client(t, srv).GetEDS(testCtx(t), srv.ID(), b.h)
		checkFault(t, name, err)
		var mm *shrex.DataRootMismatchError
		if isMM := errors.As(err, &mm); isMM != (name == "changed share") {
			t.Errorf("%s: %v: a *DataRootMismatchError only for the changed share", name, err)
		}
	}
}

// TestBadRequests sends raw requests to an honest server.
func TestBadRequests(t *testing.T) {
	b := square(t, 4, 4)
	srv := serve(t, newStore(b))
	c := newHost(t)
	connect(t, c, srv)
	sampleID := func(h uint64, r, col uint16) []byte {
		return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint64(nil, h), r), col)
	}
	ns := bytes.Repeat([]byte{0}, share.NamespaceSize)
	for _, tc := range []struct {
		name string
		k    shrex.Kind
		req  []byte
		want shrex.Status
	}{
		{"ok", shrex.KindSample, sampleID(4, 1, 1), shrex.StatusOK},
		{"empty", shrex.KindSample, nil, shrex.StatusBadRequest},
		{"short", shrex.KindSample, sampleID(4, 1, 1)[:11], shrex.StatusBadRequest},
		{"long", shrex.KindSample, append(sampleID(4, 1, 1), 0), shrex.StatusBadRequest},
		{"height 0", shrex.KindSample, sampleID(0, 1, 1), shrex.StatusBadRequest},
		{"row out of range", shrex.KindSample, sampleID(4, 8, 1), shrex.StatusBadRequest},
		{"col out of range", shrex.KindSample, sampleID(4, 1, 0xFFFF), shrex.StatusBadRequest},
		{"row protocol, row out of range", shrex.KindRow, sampleID(4, 9, 0)[:10], shrex.StatusBadRequest},
		{"unknown height", shrex.KindRow, sampleID(5, 1, 0)[:10], shrex.StatusNotFound},
		{"eds, long", shrex.KindEDS, sampleID(4, 0, 0)[:10], shrex.StatusBadRequest},
		{"nd, parity namespace", shrex.KindNamespaceData, append(binary.BigEndian.AppendUint64(nil, 4), share.ParitySharesNamespace[:]...), shrex.StatusBadRequest},
		{"nd, invalid namespace", shrex.KindNamespaceData, append(binary.BigEndian.AppendUint64(nil, 4), append([]byte{7}, ns[1:]...)...), shrex.StatusBadRequest},
	} {
		got := rawRequest(t, c, srv, tc.k, tc.name, tc.req)
		if len(got) < 3 || !bytes.Equal(got[:3], status(tc.want)) || tc.want != shrex.StatusOK && len(got) != 3 {
			t.Errorf("%s: response %x, want status %v", tc.name, got[:min(len(got), 8)], tc.want)
		}
	}
}

// rawRequest sends req, as is, on a new stream of protocol k from c to srv
// and returns the whole response.
func rawRequest(t *testing.T, c, srv host.Host, k shrex.Kind, name string, req []byte) []byte {
	t.Helper()
	s, err := c.NewStream(testCtx(t), srv.ID(), shrex.ProtocolID(netID, k))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(req); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	_ = s.Close()
	return got
}
