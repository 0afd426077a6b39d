// Command benchtable reads `go test -bench -benchmem` output on stdin and
// prints, for every benchmark family with `/impl=` variants, the median time
// of each implementation side by side, the ratio of `impl=ours` to each other
// implementation, and ours' allocation per operation. For a family named
// with k=N (an original square width) it also prints ours' bytes allocated
// per operation over the size of the extended square, (2N)²·512 bytes.
//
//	go test -run '^$' -bench BenchmarkExtendRoots -benchmem -count 3 ./eds | go run ./tools/benchtable
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// line matches "BenchmarkX/k=32/impl=ours-2   5   123 ns/op   456 MB/s   789 B/op   10 allocs/op".
var line = regexp.MustCompile(`^(Benchmark\S+?)/impl=([\w.]+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// squareWidth finds the original square width in a family name.
var squareWidth = regexp.MustCompile(`(?:^|/)k=(\d+)(?:/|$)`)

// shareSize is the size of a share, for the EDS size of a k=N family.
const shareSize = 512

type samples struct{ nsPerOp, bytesPerOp, allocsPerOp []float64 }

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	results := map[string]map[string]*samples{} // family -> impl -> samples
	var families []string
	implSet := map[string]bool{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		family, impl, metrics := m[1], m[2], strings.Fields(m[3])
		if results[family] == nil {
			results[family] = map[string]*samples{}
			families = append(families, family)
		}
		s := results[family][impl]
		if s == nil {
			s = &samples{}
			results[family][impl] = s
		}
		implSet[impl] = true
		for i := 0; i+1 < len(metrics); i += 2 {
			v, err := strconv.ParseFloat(metrics[i], 64)
			if err != nil {
				continue
			}
			switch metrics[i+1] {
			case "ns/op":
				s.nsPerOp = append(s.nsPerOp, v)
			case "B/op":
				s.bytesPerOp = append(s.bytesPerOp, v)
			case "allocs/op":
				s.allocsPerOp = append(s.allocsPerOp, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(families) == 0 {
		return fmt.Errorf("no benchmarks with /impl= variants on input")
	}
	var others []string
	for impl := range implSet {
		if impl != "ours" {
			others = append(others, impl)
		}
	}
	sort.Strings(others)
	impls := append([]string{"ours"}, others...)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{"benchmark"}
	for _, impl := range impls {
		header = append(header, impl+" ms")
	}
	for _, o := range others {
		header = append(header, "ours/"+o)
	}
	header = append(header, "ours B/op", "ours allocs/op", "B/op ÷ EDS")
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, f := range families {
		row := []string{f}
		ours := median(get(results[f], "ours").nsPerOp)
		for _, impl := range impls {
			row = append(row, fmtMs(median(get(results[f], impl).nsPerOp)))
		}
		for _, o := range others {
			row = append(row, fmtRatio(ours, median(get(results[f], o).nsPerOp)))
		}
		s := get(results[f], "ours")
		row = append(row, fmtNum(median(s.bytesPerOp)), fmtNum(median(s.allocsPerOp)))
		ratio := "-"
		if m := squareWidth.FindStringSubmatch(f); m != nil {
			k, _ := strconv.ParseFloat(m[1], 64)
			ratio = fmtRatio(median(s.bytesPerOp), 4*k*k*shareSize)
		}
		row = append(row, ratio)
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(out, "(medians over -count runs; a ratio below 1 means ours is faster)")
	return err
}

func get(m map[string]*samples, impl string) *samples {
	if s, ok := m[impl]; ok {
		return s
	}
	return &samples{}
}

// median returns the median of v, or -1 when v is empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return -1
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtMs(ns float64) string {
	if ns < 0 {
		return "-"
	}
	return strconv.FormatFloat(ns/1e6, 'f', 2, 64)
}

func fmtRatio(a, b float64) string {
	if a < 0 || b <= 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64) + "x"
}

func fmtNum(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
