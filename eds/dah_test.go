package eds_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/eds/edstest"
	"github.com/datamesh/mesh-node/nmt"
	"google.golang.org/protobuf/encoding/protowire"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Spec section 7: the header of the 1×1 tail-padding square.
func TestMinDAHKnownAnswer(t *testing.T) {
	d := eds.MinDAH()
	const tailNs = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffFE"
	const parity = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	root0 := unhex(t, strings.ToLower(tailNs+tailNs)+"1b9958e4d30e60f7e8dd45ef903d06c87136545ab029cda50896a8885d547714")
	root1 := unhex(t, parity+parity+"98a279eae81c131f17eb04477269bd13887842598db63e4d11349ed00340b2f7")
	want := [][]byte{root0, root1}
	if !slices.EqualFunc(d.RowRoots, want, bytes.Equal) || !slices.EqualFunc(d.ColumnRoots, want, bytes.Equal) {
		t.Fatalf("roots\nrows %x\ncols %x", d.RowRoots, d.ColumnRoots)
	}
	wantHash := unhex(t, "3d96b7d238e7e0456f6af8e7cdf0a67bd6cf9c2089ecb559c659dcaa1f880353")
	if !bytes.Equal(d.Hash(), wantHash) {
		t.Fatalf("hash %x", d.Hash())
	}
	// The hash of an equal literal header (not cached) is the same.
	lit := &eds.DataAvailabilityHeader{RowRoots: want, ColumnRoots: want}
	if !bytes.Equal(lit.Hash(), wantHash) || !lit.Equals(d) || d.SquareSize() != 1 {
		t.Fatal("literal header differs")
	}
	if err := d.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	// Hash returns a copy.
	h := d.Hash()
	h[0] ^= 0xFF
	if !bytes.Equal(d.Hash(), wantHash) {
		t.Fatal("Hash returned its cache")
	}
}

func testDAH(tb testing.TB, k int) *eds.DataAvailabilityHeader {
	tb.Helper()
	_, d := edstest.RandomEDS(tb, uint64(k), k, k)
	return d
}

func roots(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
	}
	return out
}

func TestValidateBasic(t *testing.T) {
	ok := roots(4, nmt.NodeSize)
	tests := []struct {
		name string
		dah  *eds.DataAvailabilityHeader
		msg  string // empty: valid
	}{
		{"nil", nil, "nil header"},
		{"valid", &eds.DataAvailabilityHeader{RowRoots: ok, ColumnRoots: ok}, ""},
		{"max", &eds.DataAvailabilityHeader{RowRoots: roots(1024, 90), ColumnRoots: roots(1024, 90)}, ""},
		{"no rows", &eds.DataAvailabilityHeader{ColumnRoots: ok}, "0 row roots"},
		{"one root", &eds.DataAvailabilityHeader{RowRoots: roots(1, 90), ColumnRoots: roots(1, 90)}, "1 row roots"},
		{"too many", &eds.DataAvailabilityHeader{RowRoots: roots(1026, 90), ColumnRoots: roots(1026, 90)}, "1026 row roots"},
		{"too many columns", &eds.DataAvailabilityHeader{RowRoots: ok, ColumnRoots: roots(2048, 90)}, "2048 column roots"},
		{"unequal", &eds.DataAvailabilityHeader{RowRoots: ok, ColumnRoots: roots(2, 90)}, "4 row roots but 2 column roots"},
		{"short row root", &eds.DataAvailabilityHeader{RowRoots: [][]byte{ok[0], make([]byte, 89), ok[2], ok[3]}, ColumnRoots: ok}, "row root 1 has 89 bytes"},
		{"long column root", &eds.DataAvailabilityHeader{RowRoots: ok, ColumnRoots: [][]byte{ok[0], ok[1], ok[2], make([]byte, 91)}}, "column root 3 has 91 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.dah.ValidateBasic()
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, eds.ErrInvalidDAH) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want ErrInvalidDAH mentioning %q", err, tt.msg)
			}
		})
	}
}

func TestEquals(t *testing.T) {
	a, b := testDAH(t, 4), testDAH(t, 4)
	if !a.Equals(b) || !b.Equals(a) {
		t.Fatal("equal headers differ")
	}
	c := testDAH(t, 2)
	if a.Equals(c) {
		t.Fatal("different sizes are equal")
	}
	var nilDAH *eds.DataAvailabilityHeader
	if a.Equals(nil) || !nilDAH.Equals(nil) {
		t.Fatal("nil handling")
	}
	m := &eds.DataAvailabilityHeader{RowRoots: a.RowRoots, ColumnRoots: cloneShares(a.ColumnRoots)}
	m.ColumnRoots[3][50] ^= 1
	if a.Equals(m) {
		t.Fatal("a changed root is equal")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, d := range []*eds.DataAvailabilityHeader{eds.MinDAH(), testDAH(t, 2), testDAH(t, 16)} {
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > eds.MaxDAHEncodedSize {
			t.Fatalf("%d bytes exceed MaxDAHEncodedSize", len(b))
		}
		got, err := eds.UnmarshalDAH(b)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equals(d) || !bytes.Equal(got.Hash(), d.Hash()) {
			t.Fatal("round trip changed the header")
		}
		// The decoded header does not alias the input.
		b[5] ^= 0xFF
		if !got.Equals(d) {
			t.Fatal("decoded header aliases its input")
		}
	}
}

// The encoding is the one of the protobuf message in spec section 7: every
// row root as field 1, then every column root as field 2.
func TestMarshalWireFormat(t *testing.T) {
	d := eds.MinDAH()
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, r := range d.RowRoots {
		want = append(want, 0x0a, 90)
		want = append(want, r...)
	}
	for _, c := range d.ColumnRoots {
		want = append(want, 0x12, 90)
		want = append(want, c...)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding\n%x\nwant\n%x", b, want)
	}
	if _, err := (&eds.DataAvailabilityHeader{}).MarshalBinary(); !errors.Is(err, eds.ErrInvalidDAH) {
		t.Fatalf("marshalled an invalid header: %v", err)
	}
}

func appendRoot(b []byte, field protowire.Number, root []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, root)
}

func TestUnmarshalDAH(t *testing.T) {
	min := eds.MinDAH()
	valid, err := min.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	root := min.RowRoots[0]

	var manyRows []byte
	for i := 0; i < 1025; i++ {
		manyRows = appendRoot(manyRows, 1, root)
	}
	// Interleaved fields and unknown fields are accepted.
	var interleaved []byte
	interleaved = protowire.AppendTag(interleaved, 7, protowire.VarintType)
	interleaved = protowire.AppendVarint(interleaved, 300)
	interleaved = appendRoot(interleaved, 2, min.ColumnRoots[0])
	interleaved = appendRoot(interleaved, 1, min.RowRoots[0])
	interleaved = appendRoot(interleaved, 2, min.ColumnRoots[1])
	interleaved = protowire.AppendTag(interleaved, 9, protowire.BytesType)
	interleaved = protowire.AppendBytes(interleaved, []byte("ignored"))
	interleaved = appendRoot(interleaved, 1, min.RowRoots[1])

	tests := []struct {
		name string
		data []byte
		msg  string // empty: valid and equal to MinDAH
	}{
		{"valid", valid, ""},
		{"interleaved and unknown fields", interleaved, ""},
		{"empty", nil, "0 row roots"},
		{"truncated", valid[:len(valid)-1], "column_roots"},
		{"bad tag", []byte{0x80}, "tag"},
		{"wire type", append(protowire.AppendTag(nil, 1, protowire.VarintType), 1), "wire type"},
		{"short root", appendRoot(nil, 1, root[:89]), "row_roots entry 0 has 89 bytes"},
		{"long root", appendRoot(append([]byte(nil), valid...), 2, append(root, 0)), "column_roots entry 2 has 91 bytes"},
		{"too many rows", manyRows, "more than 1024 row_roots"},
		{"unequal", appendRoot(appendRoot(append([]byte(nil), valid...), 1, root), 1, root), "4 row roots but 2 column roots"},
		{"one column", valid[:len(valid)-92], "1 column roots"},
		{"bad unknown field", []byte{0x1a, 0x05, 0x00}, "field 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := eds.UnmarshalDAH(tt.data)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !d.Equals(min) || !bytes.Equal(d.Hash(), min.Hash()) {
					t.Fatal("decoded another header")
				}
				return
			}
			if d != nil || !errors.Is(err, eds.ErrInvalidDAH) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got (%v, %v), want ErrInvalidDAH mentioning %q", d, err, tt.msg)
			}
		})
	}
}

func TestNewDAHNil(t *testing.T) {
	if d, err := eds.NewDAH(nil); d != nil || !errors.Is(err, eds.ErrInvalidDAH) {
		t.Fatalf("got (%v, %v)", d, err)
	}
}
