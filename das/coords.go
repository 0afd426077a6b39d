package das

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
)

// Coord is a cell of an extended data square.
type Coord struct{ Row, Col int }

// Coordinates returns n distinct cells drawn uniformly from a width×width
// extended square (width = 2k), or all width² cells in row-major order when
// n ≥ width². The cells of a partial draw are in the order drawn. It
// returns nil for a non-positive width or n.
func Coordinates(r *rand.Rand, width, n int) []Coord {
	if width <= 0 || n <= 0 {
		return nil
	}
	cells := width * width
	if n >= cells {
		out := make([]Coord, 0, cells)
		for i := range cells {
			out = append(out, Coord{i / width, i % width})
		}
		return out
	}
	// Rejection of repeats: n is a few dozen at most while cells is at
	// least 4n here, so repeats are rare.
	seen := make(map[int]bool, n)
	out := make([]Coord, 0, n)
	for len(out) < n {
		i := r.IntN(cells)
		if seen[i] {
			continue
		}
		seen[i] = true
		out = append(out, Coord{i / width, i % width})
	}
	return out
}

// Confidence is the probability that a block is available given that
// samples distinct cells drawn uniformly from its 2k×2k extended square
// all verified.
//
// To make a square unrecoverable a producer must withhold at least (k+1)²
// of its N = 4k² cells, more than a quarter. For such a square, the chance
// that s distinct uniform samples all miss the withheld cells is
//
//	∏_{i<s} (N - (k+1)² - i) / (N - i)  ≤  (3/4)^s
//
// and Confidence returns one minus it: at least the classic bound
// 1-(3/4)^s (0.990 for 16 samples), exactly 1 once the samples cannot all
// miss (a small square sampled whole). It assumes the coordinates are
// secret and uniform (crypto/rand), the header's DAH is the one the
// validators committed to, and the producer answers the same to everyone
// (selective disclosure to chosen light nodes needs many of them). It
// returns 0 for k < 1 or samples < 1.
func Confidence(k, samples int) float64 {
	if k < 1 || samples < 1 {
		return 0
	}
	n := 4 * k * k
	avail := n - (k+1)*(k+1)
	miss := 1.0
	for i := range min(samples, n) {
		if avail-i <= 0 {
			return 1
		}
		miss *= float64(avail-i) / float64(n-i)
	}
	return 1 - miss
}

// cryptoSource is a math/rand/v2 Source reading crypto/rand.
type cryptoSource struct{}

func (cryptoSource) Uint64() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails (Go ≥ 1.24 crashes instead)
	return binary.LittleEndian.Uint64(b[:])
}
