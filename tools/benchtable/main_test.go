package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunPairsImplementations(t *testing.T) {
	in := `goos: linux
BenchmarkExtendRoots/k=32/impl=ours-2     10   2000000 ns/op  1000 MB/s  2097152 B/op  12 allocs/op
BenchmarkExtendRoots/k=32/impl=ours-2     10   4000000 ns/op  1000 MB/s  2097152 B/op  12 allocs/op
BenchmarkExtendRoots/k=32/impl=ours-2     10   3000000 ns/op  1000 MB/s  2097152 B/op  12 allocs/op
BenchmarkExtendRoots/k=32/impl=rsmt2d-2   10   6000000 ns/op   500 MB/s  9000000 B/op  900 allocs/op
BenchmarkExtendRoots/k=32/impl=floor-2    10   2500000 ns/op  1200 MB/s        0 B/op    0 allocs/op
PASS
`
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	// Median of ours is 3 ms; ratios 3/2.5 and 3/6.
	for _, want := range []string{"BenchmarkExtendRoots/k=32", "3.00", "6.00", "2.50", "1.20x", "0.50x", "2097152", "1.00x"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRunRejectsInputWithoutBenchmarks(t *testing.T) {
	if err := run(strings.NewReader("PASS\n"), &bytes.Buffer{}); err == nil {
		t.Fatal("want an error for input without benchmarks")
	}
}
