package kzg

import (
	"errors"
	"fmt"
)

const (
	// BlobSize is the size of an EIP-4844 blob: 4,096 field elements of
	// 32 bytes.
	BlobSize = fieldElements * fieldElementSize
	// MaxChunkSize is the most data one blob holds: 1,024 rounds of 127
	// bytes, less the 4-byte header.
	MaxChunkSize = rounds*roundData - headerSize

	// EncodingVersion is the version of the OP Stack blob encoding this
	// package writes and reads, held in byte 1 of a blob.
	EncodingVersion = 0
)

const (
	fieldElements    = 4096
	fieldElementSize = 32
	roundData        = 4*31 + 3 // bytes carried by a round of 4 field elements
	roundSize        = 4 * fieldElementSize
	rounds           = fieldElements / 4
	headerSize       = 4 // version and 24-bit length
)

// Blob is an EIP-4844 blob: 4,096 big-endian field elements of 32 bytes.
type Blob [BlobSize]byte

var (
	// ErrChunkTooLarge is wrapped by EncodeChunk for data over
	// MaxChunkSize bytes.
	ErrChunkTooLarge = errors.New("chunk larger than a blob holds")
	// ErrMalformed is wrapped by every error of DecodeChunk and Join.
	ErrMalformed = errors.New("malformed blob")
	// ErrVersion is wrapped by DecodeChunk for a blob whose byte 1 is not
	// EncodingVersion.
	ErrVersion = fmt.Errorf("%w: unknown encoding version", ErrMalformed)
	// ErrLength is wrapped by DecodeChunk for an encoded length over
	// MaxChunkSize.
	ErrLength = fmt.Errorf("%w: length over %d bytes", ErrMalformed, MaxChunkSize)
	// ErrFieldElement is wrapped by DecodeChunk for a field element whose
	// byte 0 has either of its top two bits set.
	ErrFieldElement = fmt.Errorf("%w: field element out of range", ErrMalformed)
	// ErrTrailingData is wrapped by DecodeChunk for a non-zero byte past
	// the encoded data.
	ErrTrailingData = fmt.Errorf("%w: non-zero bytes past the data", ErrMalformed)
	// ErrChunking is wrapped by Join for a list of blobs Chunks would not
	// have made: none, or a chunk other than the last not full, or an
	// empty last chunk after others.
	ErrChunking = fmt.Errorf("%w: not a chunking of one blob", ErrMalformed)
)

// EncodeChunk returns the blob encoding data, which must be at most
// MaxChunkSize bytes (else the error wraps ErrChunkTooLarge). The blob is
// newly allocated; data is not retained.
func EncodeChunk(data []byte) (*Blob, error) {
	if len(data) > MaxChunkSize {
		return nil, fmt.Errorf("kzg: %w: %d bytes, at most %d", ErrChunkTooLarge, len(data), MaxChunkSize)
	}
	n := len(data)
	header := [headerSize]byte{EncodingVersion, byte(n >> 16), byte(n >> 8), byte(n)}
	b := new(Blob)
	var in [roundData]byte
	used := (headerSize + n + roundData - 1) / roundData
	for r := range used {
		// in is the round's slice of header || data, zero past the end.
		start := r*roundData - headerSize
		if r == 0 {
			copy(in[:], header[:])
			copy(in[headerSize:], data)
		} else {
			in = [roundData]byte{}
			copy(in[:], data[start:])
		}
		spreadRound((*[roundSize]byte)(b[r*roundSize:]), &in)
	}
	return b, nil
}

// spreadRound writes the 127 bytes of in into the 4 field elements of fe.
func spreadRound(fe *[roundSize]byte, in *[roundData]byte) {
	copy(fe[1:32], in[0:31])
	copy(fe[33:64], in[32:63])
	copy(fe[65:96], in[64:95])
	copy(fe[97:128], in[96:127])
	x, y, z := in[31], in[63], in[95]
	fe[0] = x & 0x3f
	fe[32] = x>>6<<4 | y&0x0f
	fe[64] = z & 0x3f
	fe[96] = z>>6<<4 | y>>4
}

// gatherRound is the inverse of spreadRound; the top two bits of each
// field element's byte 0 must be clear.
func gatherRound(in *[roundData]byte, fe *[roundSize]byte) {
	copy(in[0:31], fe[1:32])
	copy(in[32:63], fe[33:64])
	copy(in[64:95], fe[65:96])
	copy(in[96:127], fe[97:128])
	in[31] = fe[0] | fe[32]>>4<<6
	in[63] = fe[32]&0x0f | fe[96]<<4
	in[95] = fe[64] | fe[96]>>4<<6
}

// DecodeChunk returns the data b encodes, in a new slice the caller owns
// (empty, not nil, for zero bytes). It accepts exactly the blobs EncodeChunk
// makes; otherwise the error wraps ErrMalformed and one of ErrVersion,
// ErrLength, ErrFieldElement and ErrTrailingData (see the package doc). A nil
// b is malformed.
func DecodeChunk(b *Blob) ([]byte, error) {
	data, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("kzg: %w", err)
	}
	return data, nil
}

// decode is DecodeChunk without the prefix on its errors.
func decode(b *Blob) ([]byte, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil blob", ErrMalformed)
	}
	if b[1] != EncodingVersion {
		return nil, fmt.Errorf("%w: %d", ErrVersion, b[1])
	}
	n := int(b[2])<<16 | int(b[3])<<8 | int(b[4])
	if n > MaxChunkSize {
		return nil, fmt.Errorf("%w: %d", ErrLength, n)
	}
	for i := 0; i < BlobSize; i += fieldElementSize {
		if b[i]&0xc0 != 0 {
			return nil, fmt.Errorf("%w: element %d starts with %#02x", ErrFieldElement, i/fieldElementSize, b[i])
		}
	}
	total := headerSize + n // bytes of header || data
	used := (total + roundData - 1) / roundData
	out := make([]byte, n)
	var in [roundData]byte
	for r := range used {
		gatherRound(&in, (*[roundSize]byte)(b[r*roundSize:]))
		start := r * roundData // offset of in in header || data
		lo := max(headerSize-start, 0)
		hi := min(total-start, roundData)
		copy(out[start+lo-headerSize:], in[lo:hi])
		if i := nonZero(in[hi:]); i >= 0 {
			return nil, fmt.Errorf("%w: data byte %d", ErrTrailingData, start+hi+i-headerSize)
		}
	}
	if i := nonZero(b[used*roundSize:]); i >= 0 {
		return nil, fmt.Errorf("%w: blob byte %d", ErrTrailingData, used*roundSize+i)
	}
	return out, nil
}

// nonZero returns the index of the first non-zero byte of p, or -1.
func nonZero(p []byte) int {
	for i, c := range p {
		if c != 0 {
			return i
		}
	}
	return -1
}

// Chunks cuts data into pieces of MaxChunkSize bytes, the last one shorter,
// and returns their blobs in order: ChunkCount(len(data)) of them. Empty
// data is one blob encoding zero bytes, so the list is never empty. The
// blobs are newly allocated. The error is that of EncodeChunk, which cannot
// fail on these pieces; it is there for limits to come.
func Chunks(data []byte) ([]*Blob, error) {
	blobs := make([]*Blob, 0, ChunkCount(len(data)))
	err := eachChunk(data, func(_ int, b *Blob) error {
		blobs = append(blobs, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return blobs, nil
}

// ChunkCount returns the number of blobs Chunks makes for size bytes:
// ceil(size / MaxChunkSize), and 1 for a size of 0 (or less).
func ChunkCount(size int) int {
	if size <= 0 {
		return 1
	}
	return (size-1)/MaxChunkSize + 1
}

// eachChunk calls f with the index and blob of each chunk of data, in the
// order Chunks returns them, one blob at a time: f may keep the blob. It
// stops at the first error, of EncodeChunk or of f, and returns it.
func eachChunk(data []byte, f func(i int, b *Blob) error) error {
	for i := 0; ; i++ {
		piece := data[:min(len(data), MaxChunkSize)]
		b, err := EncodeChunk(piece)
		if err != nil {
			return err
		}
		if err := f(i, b); err != nil {
			return err
		}
		data = data[len(piece):]
		if len(data) == 0 {
			return nil
		}
	}
}

// Join returns the data blobs encode, the inverse of Chunks, in a new slice
// the caller owns. It accepts only the lists Chunks makes: at least one
// blob, every blob but the last holding MaxChunkSize bytes, and the last
// holding at least one byte unless it is the only one. Otherwise the error
// wraps ErrMalformed, and ErrChunking or DecodeChunk's error with the index
// of the blob.
func Join(blobs []*Blob) ([]byte, error) {
	if len(blobs) == 0 {
		return nil, fmt.Errorf("kzg: %w: no blobs", ErrChunking)
	}
	out := make([]byte, 0, len(blobs)*MaxChunkSize)
	for i, b := range blobs {
		piece, err := decode(b)
		if err != nil {
			return nil, fmt.Errorf("kzg: blob %d: %w", i, err)
		}
		last := i == len(blobs)-1
		if !last && len(piece) != MaxChunkSize || last && i > 0 && len(piece) == 0 {
			return nil, fmt.Errorf("kzg: %w: blob %d of %d holds %d bytes", ErrChunking, i, len(blobs), len(piece))
		}
		out = append(out, piece...)
	}
	return out, nil
}
