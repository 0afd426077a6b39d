package nodebuilder

import (
	"strings"
	"testing"
)

func TestKBLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"Name:\tmesh-node\nVmRSS:\t  200 kB\nRssAnon:\t  123456 kB\nRssFile:\t 1 kB\n", 123456 * 1024, true},
		{"RssAnon: 0 kB\n", 0, true},
		{"Name:\tx\nVmRSS:\t200 kB\n", 0, false}, // no line: not Linux
		{"RssAnon:\t12 MB\n", 0, false},          // unknown unit
		{"RssAnon:\t-5 kB\n", 0, false},          // not a count
		{"RssAnon:\t99999999999999999999999 kB\n", 0, false},
		{"RssAnon:\n", 0, false},
	} {
		got, ok := kBLine(strings.NewReader(c.in), "RssAnon:")
		if got != c.want || ok != c.ok {
			t.Errorf("kBLine(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
