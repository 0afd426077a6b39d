package shrex

// White-box tests of the decoders of peer bytes, on both sides, fuzzed.
// Seeds: testdata/fuzz, written by TestWriteFuzzSeeds.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/internal/fuzzcorpus"
	"github.com/datamesh/mesh-node/share"
)

// fixture is the 2×2 square the client-side targets decode responses
// about, and the namespaces they ask for: two present, one absent inside
// the first row's range, and the tail padding's.
type fixture struct {
	eds *eds.ExtendedDataSquare
	dah *eds.DataAvailabilityHeader
	nss []share.Namespace
}

var theFixture = sync.OnceValues(func() (*fixture, error) {
	ns := func(id byte) share.Namespace {
		n, err := share.NewV0Namespace([]byte{id, 0, 0})
		if err != nil {
			panic(err)
		}
		return n
	}
	mk := func(n share.Namespace, fill byte) []byte {
		s := bytes.Repeat([]byte{fill}, share.ShareSize)
		copy(s, n[:])
		return s
	}
	a, c, absent := ns(1), ns(3), ns(2)
	ods := [][]byte{mk(a, 0xA0), mk(c, 0xA1), mk(c, 0xA2), share.TailPaddingShare()}
	e, err := eds.Extend(ods)
	if err != nil {
		return nil, err
	}
	dah, err := eds.NewDAH(e)
	if err != nil {
		return nil, err
	}
	return &fixture{eds: e, dah: dah, nss: []share.Namespace{a, c, absent, share.TailPaddingNamespace}}, nil
})

func getFixture(t testing.TB) *fixture {
	t.Helper()
	f, err := theFixture()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkClientErr fails t unless err is one a read function may return for
// bytes from a reader that cannot fail.
func checkClientErr(t *testing.T, err error) {
	t.Helper()
	for _, want := range []error{ErrInvalidResponse, ErrNotFound, ErrRateLimited, ErrInternal} {
		if errors.Is(err, want) {
			return
		}
	}
	t.Fatalf("error %v wraps none of the client's sentinels", err)
}

func reader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// FuzzParseRequest decodes arbitrary bytes as a request of any protocol;
// what decodes must re-encode to the same bytes.
func FuzzParseRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		r, err := parseRequest(Kind(kind%5), b)
		if err != nil {
			if !errors.Is(err, eds.ErrInvalidID) {
				t.Fatalf("error %v does not wrap eds.ErrInvalidID", err)
			}
			return
		}
		again, err := r.marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("%v re-encodes to %x, %v; was %x", r, again, err, b)
		}
	})
}

// FuzzReadHeader reads arbitrary bytes as a response header.
func FuzzReadHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := readHeader(reader(b))
		if err != nil {
			checkClientErr(t, err)
			return
		}
		if st < StatusOK || st > StatusInternal {
			t.Fatalf("status %v accepted", st)
		}
	})
}

// FuzzReadSample reads arbitrary bytes as the response to a sample of the
// fixture's cell at (cell/4%4, cell%4): what it accepts is that cell.
func FuzzReadSample(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, cell byte) {
		fx := getFixture(t)
		r, c := int(cell/4%4), int(cell%4)
		smp, err := readSample(reader(b), fx.dah, r, c)
		if err != nil {
			checkClientErr(t, err)
			return
		}
		if !bytes.Equal(smp.Share, fx.eds.Share(r, c)) {
			t.Fatalf("accepted a wrong share for (%d, %d)", r, c)
		}
	})
}

// FuzzReadRow reads arbitrary bytes as the response for row row%4 of the
// fixture: what it accepts is that row.
func FuzzReadRow(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, row byte) {
		fx := getFixture(t)
		r := int(row % 4)
		got, err := readRow(reader(b), fx.dah, r)
		if err != nil {
			checkClientErr(t, err)
			return
		}
		for j, s := range fx.eds.Row(r) {
			if !bytes.Equal(got[j], s) {
				t.Fatalf("accepted a wrong row %d", r)
			}
		}
	})
}

// FuzzReadNamespaceData reads arbitrary bytes as the response for the
// fixture's namespace which%4: what it accepts has exactly its shares.
func FuzzReadNamespaceData(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, which byte) {
		fx := getFixture(t)
		ns := fx.nss[which%4]
		nd, err := readNamespaceData(reader(b), fx.dah, ns)
		if err != nil {
			checkClientErr(t, err)
			return
		}
		want, err := fx.eds.NamespaceData(ns)
		if err != nil {
			t.Fatal(err)
		}
		got, exp := nd.Flatten(), want.Flatten()
		if len(got) != len(exp) {
			t.Fatalf("accepted %d shares of %v, want %d", len(got), ns, len(exp))
		}
		for i := range got {
			if !bytes.Equal(got[i], exp[i]) {
				t.Fatalf("accepted a wrong share %d of %v", i, ns)
			}
		}
	})
}

// FuzzReadEDS reads arbitrary bytes as the response for the fixture's
// square: what it accepts is that square.
func FuzzReadEDS(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		fx := getFixture(t)
		e, err := readEDS(reader(b), fx.dah, 1)
		if err != nil {
			checkClientErr(t, err)
			var mm *DataRootMismatchError
			if errors.As(err, &mm) && (mm.DAH == nil || bytes.Equal(mm.Got, mm.Want)) {
				t.Fatalf("mismatch error without evidence: %v", err)
			}
			return
		}
		for i, s := range fx.eds.ODS() {
			if !bytes.Equal(e.ODS()[i], s) {
				t.Fatalf("accepted a wrong square")
			}
		}
	})
}

// TestWriteFuzzSeeds regenerates the seed corpora when
// SHREX_WRITE_FUZZ_SEEDS=1; otherwise it checks they are current.
func TestWriteFuzzSeeds(t *testing.T) {
	fx := getFixture(t)
	var seeds []seed
	add := func(target, name string, args ...any) {
		seeds = append(seeds, seed{target, name, args})
	}
	id := func(r request) []byte {
		b, err := r.marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := appendHeader(nil, StatusOK)
	add("FuzzParseRequest", "sample", byte(KindSample), id(request{kind: KindSample, height: 7, row: 3, col: 1}))
	add("FuzzParseRequest", "row", byte(KindRow), id(request{kind: KindRow, height: 1 << 40, row: 255}))
	add("FuzzParseRequest", "nd", byte(KindNamespaceData), id(request{kind: KindNamespaceData, height: 2, ns: fx.nss[0]}))
	add("FuzzParseRequest", "eds", byte(KindEDS), id(request{kind: KindEDS, height: 9}))
	add("FuzzParseRequest", "height_zero", byte(KindEDS), make([]byte, 8))
	add("FuzzParseRequest", "nd_parity", byte(KindNamespaceData), append(binary.BigEndian.AppendUint64(nil, 1), share.ParitySharesNamespace[:]...))
	add("FuzzParseRequest", "wrong_size", byte(KindSample), id(request{kind: KindRow, height: 7, row: 3}))

	for _, st := range []Status{StatusOK, StatusNotFound, StatusRateLimited, StatusBadRequest, StatusInternal} {
		add("FuzzReadHeader", st.String(), appendHeader(nil, st))
	}
	add("FuzzReadHeader", "unknown_field", []byte{4, 0x10, 1, 0x08, 1})
	add("FuzzReadHeader", "repeated", []byte{4, 0x08, 1, 0x08, 1})
	add("FuzzReadHeader", "oversized", []byte{0xFF})

	smp, err := fx.eds.Sample(1, 2, eds.Row)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := smp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	add("FuzzReadSample", "ok", appendFrame(bytes.Clone(ok), sb), byte(1*4+2))
	add("FuzzReadSample", "other_cell", appendFrame(bytes.Clone(ok), sb), byte(2*4+1))
	add("FuzzReadSample", "not_found", appendHeader(nil, StatusNotFound), byte(0))
	add("FuzzReadSample", "huge_frame", binary.AppendUvarint(bytes.Clone(ok), 1<<62), byte(0))

	for _, r := range []int{0, 3} {
		half := bytes.Join(fx.eds.Row(r)[:2], nil)
		add("FuzzReadRow", "ok_"+string(rune('0'+r)), append(bytes.Clone(ok), half...), byte(r))
	}
	add("FuzzReadRow", "short", append(bytes.Clone(ok), 1, 2, 3), byte(0))

	for i, ns := range fx.nss {
		nd, err := fx.eds.NamespaceData(ns)
		if err != nil {
			t.Fatal(err)
		}
		b := bytes.Clone(ok)
		for _, row := range nd {
			m, err := row.Data.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			b = appendFrame(b, m)
		}
		add("FuzzReadNamespaceData", "ok_"+string(rune('0'+i)), b, byte(i))
	}
	add("FuzzReadNamespaceData", "rate_limited", appendHeader(nil, StatusRateLimited), byte(0))

	add("FuzzParseSamplesRequest", "one", id(request{kind: KindSamples, height: 7, cells: []Cell{{3, 1}}}))
	add("FuzzParseSamplesRequest", "three", id(request{kind: KindSamples, height: 1 << 40, cells: []Cell{{0, 0}, {255, 3}, {3, 255}}}))
	add("FuzzParseSamplesRequest", "zero", binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint64(nil, 7), 0))
	add("FuzzParseSamplesRequest", "duplicate", append(id(request{kind: KindSamples, height: 7, cells: []Cell{{3, 1}, {2, 2}}})[:14], 0, 3, 0, 1))
	add("FuzzParseSamplesRequest", "count_too_high", binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint64(nil, 7), 65))
	var frames [][]byte
	for _, c := range fuzzSampleCells {
		s, err := fx.eds.Sample(c.Row, c.Col, eds.Row)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, appendFrame(nil, b))
	}
	add("FuzzReadSamples", "ok", append(bytes.Clone(ok), bytes.Join(frames, nil)...))
	add("FuzzReadSamples", "swapped", append(bytes.Clone(ok), bytes.Join([][]byte{frames[1], frames[0], frames[2]}, nil)...))
	add("FuzzReadSamples", "short", append(bytes.Clone(ok), bytes.Join(frames[:2], nil)...))
	add("FuzzReadSamples", "not_found", appendHeader(nil, StatusNotFound))

	ods := bytes.Join(fx.eds.ODS(), nil)
	add("FuzzReadEDS", "ok", append(bytes.Clone(ok), ods...))
	bad := append(bytes.Clone(ok), ods...)
	bad[len(bad)-1] ^= 1
	add("FuzzReadEDS", "mismatch", bad)
	add("FuzzReadEDS", "internal", appendHeader(nil, StatusInternal))

	fs := make([]fuzzcorpus.Seed, len(seeds))
	for i, s := range seeds {
		fs[i] = fuzzcorpus.Seed{Target: s.target, Name: s.name, Args: s.args}
	}
	if os.Getenv("SHREX_WRITE_FUZZ_SEEDS") == "1" {
		fuzzcorpus.Write(t, fs, true)
		return
	}
	fuzzcorpus.Check(t, fs, "SHREX_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./shrex")
}

type seed struct {
	target, name string
	args         []any
}

func TestStatusString(t *testing.T) {
	for st, want := range map[Status]string{StatusOK: "OK", StatusRateLimited: "RATE_LIMITED", StatusInternal: "INTERNAL", 9: "Status(9)"} {
		if got := st.String(); got != want {
			t.Errorf("%d: %q, want %q", uint8(st), got, want)
		}
	}
	if KindNamespaceData.String() != "nd" || Kind(0).String() != "Kind(0)" {
		t.Error("Kind.String")
	}
}

func TestNamespaceDataIDRoundTrip(t *testing.T) {
	fx := getFixture(t)
	id := NamespaceDataID{Height: 5, Namespace: fx.nss[1]}
	b, err := id.MarshalBinary()
	if err != nil || len(b) != NamespaceDataIDSize {
		t.Fatalf("%x, %v", b, err)
	}
	got, err := UnmarshalNamespaceDataID(b)
	if err != nil || got != id {
		t.Fatalf("%+v, %v", got, err)
	}
	for _, bad := range []NamespaceDataID{{Height: 0, Namespace: fx.nss[0]}, {Height: 1, Namespace: share.ParitySharesNamespace}} {
		if _, err := bad.MarshalBinary(); !errors.Is(err, eds.ErrInvalidID) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestLimits checks the size limits derived from the header hold the
// largest honest messages: a sample at the deepest leaf and the namespace
// data of a namespace filling a whole row.
func TestLimits(t *testing.T) {
	for _, k := range []int{1, 2, 8, 64, eds.MaxSquareSize} {
		if sampleLimit(k) > eds.MaxSampleSize || rowNamespaceDataLimit(k) > eds.MaxRowNamespaceDataSize {
			t.Errorf("k=%d: limits above eds's", k)
		}
	}
	for _, k := range []int{1, 2, 8, 32} {
		n, err := share.NewV0Namespace([]byte{9})
		if err != nil {
			t.Fatal(err)
		}
		ods := make([][]byte, k*k)
		for i := range ods {
			ods[i] = bytes.Repeat([]byte{byte(i)}, share.ShareSize)
			copy(ods[i], n[:])
		}
		e, err := eds.Extend(ods)
		if err != nil {
			t.Fatal(err)
		}
		w := e.Width()
		smp, err := e.Sample(w-1, w-1, eds.Row)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := smp.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(sb) > sampleLimit(k) {
			t.Errorf("k=%d: sample of %d bytes, limit %d", k, len(sb), sampleLimit(k))
		}
		rd, err := e.RowNamespaceData(n, 0)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := rd.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(rb) > rowNamespaceDataLimit(k) {
			t.Errorf("k=%d: row namespace data of %d bytes, limit %d", k, len(rb), rowNamespaceDataLimit(k))
		}
	}
}
