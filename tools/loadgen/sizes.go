package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// maxBlobBytes bounds any size a distribution may give; the chain's own
// max_blob_size (state.Params) is checked against Max before a run.
const maxBlobBytes = 64 << 20

// SizeDist draws blob sizes in bytes.
type SizeDist interface {
	// Draw returns a size in [Min(), Max()].
	Draw(r *rand.Rand) int
	Min() int
	Max() int
	// Mean is the expected size.
	Mean() float64
}

type fixedSize int

func (f fixedSize) Draw(*rand.Rand) int { return int(f) }
func (f fixedSize) Min() int            { return int(f) }
func (f fixedSize) Max() int            { return int(f) }
func (f fixedSize) Mean() float64       { return float64(f) }

type uniformSize struct{ lo, hi int }

func (u uniformSize) Draw(r *rand.Rand) int { return u.lo + r.IntN(u.hi-u.lo+1) }
func (u uniformSize) Min() int              { return u.lo }
func (u uniformSize) Max() int              { return u.hi }
func (u uniformSize) Mean() float64         { return float64(u.lo+u.hi) / 2 }

type weightedSize struct {
	sizes   []int
	weights []int // cumulative
}

func (w weightedSize) Draw(r *rand.Rand) int {
	x := r.IntN(w.weights[len(w.weights)-1])
	for i, c := range w.weights {
		if x < c {
			return w.sizes[i]
		}
	}
	return w.sizes[len(w.sizes)-1] // unreachable: x < the last cumulative weight
}

func (w weightedSize) Min() int {
	m := w.sizes[0]
	for _, s := range w.sizes {
		m = min(m, s)
	}
	return m
}

func (w weightedSize) Max() int {
	m := w.sizes[0]
	for _, s := range w.sizes {
		m = max(m, s)
	}
	return m
}

func (w weightedSize) Mean() float64 {
	var sum float64
	prev := 0
	for i, c := range w.weights {
		sum += float64(w.sizes[i]) * float64(c-prev)
		prev = c
	}
	return sum / float64(w.weights[len(w.weights)-1])
}

// parseSizes parses a --sizes value:
//
//	fixed:SIZE                 every blob SIZE bytes
//	uniform:MIN-MAX            uniform over [MIN, MAX]
//	list:SIZE@W,SIZE@W,...     SIZE with integer weight W (W defaults to 1)
//
// SIZE is a number of bytes with an optional suffix K (KiB) or M (MiB),
// from 1 byte to 64 MiB.
func parseSizes(s string) (SizeDist, error) {
	kind, arg, ok := strings.Cut(s, ":")
	if !ok || arg == "" {
		return nil, fmt.Errorf("loadgen: --sizes %q: want fixed:SIZE, uniform:MIN-MAX or list:SIZE@W[,SIZE@W]", s)
	}
	switch kind {
	case "fixed":
		n, err := parseSize(arg)
		if err != nil {
			return nil, fmt.Errorf("loadgen: --sizes %q: %w", s, err)
		}
		return fixedSize(n), nil
	case "uniform":
		a, b, ok := strings.Cut(arg, "-")
		if !ok {
			return nil, fmt.Errorf("loadgen: --sizes %q: want uniform:MIN-MAX", s)
		}
		lo, err := parseSize(a)
		if err != nil {
			return nil, fmt.Errorf("loadgen: --sizes %q: %w", s, err)
		}
		hi, err := parseSize(b)
		if err != nil {
			return nil, fmt.Errorf("loadgen: --sizes %q: %w", s, err)
		}
		if lo > hi {
			return nil, fmt.Errorf("loadgen: --sizes %q: MIN above MAX", s)
		}
		return uniformSize{lo, hi}, nil
	case "list":
		var w weightedSize
		total := 0
		for _, item := range strings.Split(arg, ",") {
			sz, wt, hasW := strings.Cut(item, "@")
			n, err := parseSize(sz)
			if err != nil {
				return nil, fmt.Errorf("loadgen: --sizes %q: %w", s, err)
			}
			weight := 1
			if hasW {
				if weight, err = strconv.Atoi(wt); err != nil || weight < 1 || weight > 1_000_000 {
					return nil, fmt.Errorf("loadgen: --sizes %q: weight %q: must be an integer 1 to 1000000", s, wt)
				}
			}
			total += weight
			w.sizes, w.weights = append(w.sizes, n), append(w.weights, total)
		}
		if len(w.sizes) > 1024 {
			return nil, fmt.Errorf("loadgen: --sizes %q: more than 1024 sizes", s)
		}
		return w, nil
	}
	return nil, fmt.Errorf("loadgen: --sizes %q: unknown kind %q (fixed, uniform, list)", s, kind)
}

// parseSize parses a size: bytes, or K (KiB) or M (MiB) with a decimal
// number ("1.5M").
func parseSize(s string) (int, error) {
	mult := 1.0
	num := s
	switch {
	case strings.HasSuffix(s, "K"):
		mult, num = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, num = 1<<20, strings.TrimSuffix(s, "M")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f != f {
		return 0, fmt.Errorf("size %q: not a number", s)
	}
	n := f * mult
	if n < 1 || n > maxBlobBytes {
		return 0, fmt.Errorf("size %q: must be 1 byte to 64M", s)
	}
	return int(n), nil
}
