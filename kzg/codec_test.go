package kzg_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/datamesh/mesh-node/kzg"
)

func randomBytes(rng *rand.Rand, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

func mustEncode(t testing.TB, data []byte) *kzg.Blob {
	t.Helper()
	b, err := kzg.EncodeChunk(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkFieldElements fails t unless byte 0 of every field element of b is
// below 0x40, which keeps the element below the BLS12-381 modulus.
func checkFieldElements(t *testing.T, b *kzg.Blob) {
	t.Helper()
	for i := 0; i < kzg.BlobSize; i += 32 {
		if b[i] >= 0x40 {
			t.Fatalf("field element %d starts with %#x", i/32, b[i])
		}
	}
}

// referenceEncode encodes data the way the published description puts it,
// as a sequence of reads and writes: per round, four times (a 6-bit byte,
// then 31 bytes of input), the first round's first element starting with
// the version and the 3-byte length, and the single bytes read after the
// first three 31-byte reads spread over the 6-bit bytes.
func referenceEncode(data []byte) *kzg.Blob {
	stream := append([]byte{0, byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data))}, data...)
	pos := 0
	read := func() byte {
		if pos >= len(stream) {
			return 0
		}
		pos++
		return stream[pos-1]
	}
	var b kzg.Blob
	w := 0
	for range 1024 {
		var six [4]byte
		var at [4]int
		var one [3]byte
		for e := range 4 {
			at[e] = w
			w++
			for range 31 {
				b[w] = read()
				w++
			}
			if e < 3 {
				one[e] = read()
			}
		}
		x, y, z := one[0], one[1], one[2]
		six[0] = x & 0b0011_1111
		six[1] = (x&0b1100_0000)>>2 | y&0b0000_1111
		six[2] = z & 0b0011_1111
		six[3] = (z&0b1100_0000)>>2 | (y&0b1111_0000)>>4
		for e := range 4 {
			b[at[e]] = six[e]
		}
	}
	return &b
}

func TestSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 27, 28, 123, 124, 127, 250, 251, kzg.MaxChunkSize - 1, kzg.MaxChunkSize} {
		data := randomBytes(rng, n)
		b := mustEncode(t, data)
		checkFieldElements(t, b)
		if want := referenceEncode(data); *b != *want {
			t.Fatalf("%d bytes: encoding differs from the reference", n)
		}
		if b[1] != 0 || int(b[2])<<16|int(b[3])<<8|int(b[4]) != n {
			t.Fatalf("%d bytes: header % x", n, b[1:5])
		}
		got, err := kzg.DecodeChunk(b)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got == nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: round trip differs", n)
		}
	}
	if *mustEncode(t, nil) != (kzg.Blob{}) {
		t.Fatal("zero bytes do not encode to the zero blob")
	}
	if _, err := kzg.EncodeChunk(make([]byte, kzg.MaxChunkSize+1)); !errors.Is(err, kzg.ErrChunkTooLarge) {
		t.Fatalf("%d bytes: %v", kzg.MaxChunkSize+1, err)
	}
}

func TestConstants(t *testing.T) {
	if kzg.BlobSize != 131072 || kzg.MaxChunkSize != 130044 {
		t.Fatal(kzg.BlobSize, kzg.MaxChunkSize)
	}
}

// TestKnownAnswer checks bytes worked out by hand from the published
// description.
func TestKnownAnswer(t *testing.T) {
	// 128 bytes: i+1 everywhere but the three bytes that fill byte 0 of
	// the first round's elements, data[27], data[59] and data[91].
	data := make([]byte, 128)
	for i := range data {
		data[i] = byte(i + 1)
	}
	data[27], data[59], data[91] = 0xc5, 0xa7, 0x9e
	b := mustEncode(t, data)
	want := map[int]byte{
		0: 0x05,                   // low 6 bits of x = 0xc5
		1: 0x00,                   // version
		2: 0x00, 3: 0x00, 4: 0x80, // length 128
		5: 0x01, 31: 27, // data[0], data[26]
		32: 0x37,       // top 2 bits of x (11) over low 4 bits of y = 0xa7 (0111)
		33: 29, 63: 59, // data[28], data[58]
		64: 0x1e, // low 6 bits of z = 0x9e
		65: 61,
		96: 0x2a,         // top 2 bits of z (10) over top 4 bits of y (1010)
		97: 93, 127: 123, // data[92], data[122]
		// The second round: data[123..127] in the low bytes of element 4.
		128: 0x00, 129: 124, 133: 128, 134: 0x00, 160: 0x00,
	}
	for i, v := range want {
		if b[i] != v {
			t.Errorf("byte %d = %#02x, want %#02x", i, b[i], v)
		}
	}
	if !bytes.Equal(b[134:], make([]byte, kzg.BlobSize-134)) {
		t.Error("non-zero bytes after the data")
	}

	// A full chunk of 0xff: every byte 0 is 0x3f, every other byte 0xff
	// but the header, 00 01 fb fc (130,044).
	b = mustEncode(t, bytes.Repeat([]byte{0xff}, kzg.MaxChunkSize))
	for i := range kzg.BlobSize {
		want := byte(0xff)
		switch {
		case i%32 == 0:
			want = 0x3f
		case i >= 1 && i <= 4:
			want = []byte{0x00, 0x01, 0xfb, 0xfc}[i-1]
		}
		if b[i] != want {
			t.Fatalf("full chunk: byte %d = %#02x, want %#02x", i, b[i], want)
		}
	}
}

func TestRandomRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 4844))
	for range 200 {
		n := rng.IntN(kzg.MaxChunkSize + 1)
		if rng.IntN(2) == 0 {
			n = rng.IntN(600)
		}
		data := randomBytes(rng, n)
		b := mustEncode(t, data)
		checkFieldElements(t, b)
		got, err := kzg.DecodeChunk(b)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: round trip: %v", n, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := mustEncode(t, randomBytes(rng, 300)) // three rounds
	cases := []struct {
		name   string
		edit   func(b *kzg.Blob)
		target error
	}{
		{"version 1", func(b *kzg.Blob) { b[1] = 1 }, kzg.ErrVersion},
		{"length 130045", func(b *kzg.Blob) { b[2], b[3], b[4] = 0x01, 0xfb, 0xfd }, kzg.ErrLength},
		{"length 0xffffff", func(b *kzg.Blob) { b[2], b[3], b[4] = 0xff, 0xff, 0xff }, kzg.ErrLength},
		{"first element top bit", func(b *kzg.Blob) { b[0] |= 0x80 }, kzg.ErrFieldElement},
		{"first element second bit", func(b *kzg.Blob) { b[0] |= 0x40 }, kzg.ErrFieldElement},
		{"data element top bits", func(b *kzg.Blob) { b[64] |= 0xc0 }, kzg.ErrFieldElement},
		{"empty element top bits", func(b *kzg.Blob) { b[kzg.BlobSize-32] = 0x40 }, kzg.ErrFieldElement},
		{"byte after the data", func(b *kzg.Blob) { b[2*128+(300+4-254)+1] = 1 }, kzg.ErrTrailingData},
		{"6-bit piece after the data", func(b *kzg.Blob) { b[2*128+96] = 1 }, kzg.ErrTrailingData},
		{"round after the data", func(b *kzg.Blob) { b[3*128+5] = 1 }, kzg.ErrTrailingData},
		{"last byte", func(b *kzg.Blob) { b[kzg.BlobSize-1] = 1 }, kzg.ErrTrailingData},
		{"shorter length", func(b *kzg.Blob) { b[4]-- }, kzg.ErrTrailingData},
	}
	for _, c := range cases {
		b := *base
		c.edit(&b)
		_, err := kzg.DecodeChunk(&b)
		if !errors.Is(err, c.target) || !errors.Is(err, kzg.ErrMalformed) {
			t.Errorf("%s: %v, want %v", c.name, err, c.target)
		}
	}
	if _, err := kzg.DecodeChunk(nil); !errors.Is(err, kzg.ErrMalformed) {
		t.Errorf("nil: %v", err)
	}
	// Length 0 with non-zero 6-bit pieces or data is not the zero blob.
	for _, i := range []int{0, 5, 31, 32, 96, 127, 128} {
		var b kzg.Blob
		b[i] = 1
		if _, err := kzg.DecodeChunk(&b); !errors.Is(err, kzg.ErrTrailingData) {
			t.Errorf("zero length, byte %d set: %v", i, err)
		}
	}
}

func TestChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := kzg.MaxChunkSize
	for _, c := range []struct{ n, blobs int }{{0, 1}, {1, 1}, {127, 1}, {m, 1}, {m + 1, 2}, {2 * m, 2}, {2*m + 5, 3}} {
		data := randomBytes(rng, c.n)
		blobs, err := kzg.Chunks(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(blobs) != c.blobs {
			t.Fatalf("%d bytes: %d blobs, want %d", c.n, len(blobs), c.blobs)
		}
		for i, b := range blobs {
			piece := data[i*m : min(len(data), (i+1)*m)]
			if *b != *mustEncode(t, piece) {
				t.Fatalf("%d bytes: blob %d is not the encoding of its piece", c.n, i)
			}
		}
		got, err := kzg.Join(blobs)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: join: %v", c.n, err)
		}
	}
}

func TestJoinRejects(t *testing.T) {
	full := mustEncode(t, make([]byte, kzg.MaxChunkSize))
	short := mustEncode(t, []byte{1, 2, 3})
	empty := mustEncode(t, nil)
	bad := *short
	bad[1] = 7
	for name, blobs := range map[string][]*kzg.Blob{
		"none":             nil,
		"short then full":  {short, full},
		"full then empty":  {full, empty},
		"malformed":        {full, &bad},
		"nil":              {nil},
		"short then short": {short, short},
	} {
		if _, err := kzg.Join(blobs); !errors.Is(err, kzg.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := kzg.Join([]*kzg.Blob{full, &bad}); !errors.Is(err, kzg.ErrVersion) {
		t.Errorf("malformed: %v", err)
	}
}

func BenchmarkEncodeChunk(b *testing.B) {
	data := randomBytes(rand.New(rand.NewPCG(7, 8)), kzg.MaxChunkSize)
	b.SetBytes(kzg.MaxChunkSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kzg.EncodeChunk(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeChunk(b *testing.B) {
	blob := mustEncode(b, randomBytes(rand.New(rand.NewPCG(7, 8)), kzg.MaxChunkSize))
	b.SetBytes(kzg.MaxChunkSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kzg.DecodeChunk(blob); err != nil {
			b.Fatal(err)
		}
	}
}
