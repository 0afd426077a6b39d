package das_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/datamesh/mesh-node/das"
)

func TestCoordinatesDistinctInRangeAndSpread(t *testing.T) {
	r := rand.New(newPCG(42))
	const width, n, draws = 64, 16, 20000
	rows, cols := make([]int, width), make([]int, width)
	quadrants := make([]int, 4)
	for range draws {
		cs := das.Coordinates(r, width, n)
		if len(cs) != n {
			t.Fatalf("%d coordinates, want %d", len(cs), n)
		}
		seen := map[das.Coord]bool{}
		for _, c := range cs {
			if c.Row < 0 || c.Row >= width || c.Col < 0 || c.Col >= width {
				t.Fatalf("%v outside a %d-wide square", c, width)
			}
			if seen[c] {
				t.Fatalf("%v drawn twice in %v", c, cs)
			}
			seen[c] = true
			rows[c.Row]++
			cols[c.Col]++
			quadrants[2*(c.Row/(width/2))+c.Col/(width/2)]++
		}
	}
	// Every row and column gets its share within 10% (expected 5000,
	// standard deviation about 70), every quadrant (parity included)
	// within 2%; a chi-square over rows stays below its 99.9th percentile
	// for 63 degrees of freedom (about 103).
	want := float64(draws*n) / width
	chi := 0.0
	for i := range width {
		for _, got := range []int{rows[i], cols[i]} {
			if math.Abs(float64(got)-want) > 0.1*want {
				t.Fatalf("row/column %d drawn %d times, want about %.0f", i, got, want)
			}
		}
		chi += (float64(rows[i]) - want) * (float64(rows[i]) - want) / want
	}
	if chi > 103 {
		t.Fatalf("chi-square over rows %.1f: not uniform", chi)
	}
	for q, got := range quadrants {
		if w := float64(draws*n) / 4; math.Abs(float64(got)-w) > 0.02*w {
			t.Fatalf("quadrant %d drawn %d times, want about %.0f", q, got, w)
		}
	}
}

func TestCoordinatesSmallSquareTakesAll(t *testing.T) {
	cs := das.Coordinates(rand.New(newPCG(1)), 4, 16)
	if len(cs) != 16 {
		t.Fatalf("%d coordinates of a 4×4 square, want all 16", len(cs))
	}
	seen := map[das.Coord]bool{}
	for _, c := range cs {
		seen[c] = true
	}
	if len(seen) != 16 {
		t.Fatalf("repeats in %v", cs)
	}
	if das.Coordinates(rand.New(newPCG(1)), 0, 16) != nil || das.Coordinates(rand.New(newPCG(1)), 4, 0) != nil {
		t.Fatal("want nil for an empty square or no samples")
	}
}

func TestConfidence(t *testing.T) {
	bound := func(s int) float64 { return 1 - math.Pow(0.75, float64(s)) }
	for _, tc := range []struct {
		k, s int
		want float64 // -1: between the bound and 1
	}{
		{k: 0, s: 16, want: 0},
		{k: 4, s: 0, want: 0},
		{k: 1, s: 1, want: 1},             // 4 cells, all must be withheld: one sample decides
		{k: 2, s: 8, want: 1},             // 16 cells, 9 withheld: 8 samples cannot all miss
		{k: 2, s: 7, want: 1 - 1.0/11440}, // C(7,7)/C(16,7)
		{k: 32, s: 16, want: -1},
		{k: 128, s: 16, want: -1},
		{k: 512, s: 100, want: -1},
	} {
		got := das.Confidence(tc.k, tc.s)
		switch {
		case tc.want >= 0 && math.Abs(got-tc.want) > 1e-12:
			t.Errorf("Confidence(%d, %d) = %v, want %v", tc.k, tc.s, got, tc.want)
		case tc.want < 0 && (got < bound(tc.s) || got >= 1):
			t.Errorf("Confidence(%d, %d) = %v, want in [%v, 1)", tc.k, tc.s, got, bound(tc.s))
		}
	}
	if c := das.Confidence(128, das.DefaultSamplesPerHeader); c < 0.99 {
		t.Errorf("default confidence %v below 0.99", c)
	}
}
