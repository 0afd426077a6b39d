package fraud

import (
	"testing"

	"github.com/datamesh/mesh-node/eds"
)

// compact keeps the first k shares a proof proves and leaves the proof it
// is given alone.
func TestCompact(t *testing.T) {
	p := &eds.BadEncodingProof{Height: 3, Shares: make([]*eds.Sample, 8)}
	for _, i := range []int{1, 2, 4, 5, 6, 7} {
		p.Shares[i] = &eds.Sample{Share: []byte{byte(i)}}
	}
	c := compact(p)
	var kept []int
	for i, s := range c.Shares {
		if s != nil {
			kept = append(kept, i)
		}
	}
	if len(kept) != 4 || kept[0] != 1 || kept[3] != 5 || c.Height != 3 {
		t.Fatalf("kept shares %v of height %d, want [1 2 4 5] of 3", kept, c.Height)
	}
	if p.Shares[6] == nil || p.Shares[7] == nil {
		t.Fatal("compact modified its argument")
	}
	p.Shares[6], p.Shares[7] = nil, nil
	if compact(p) != p {
		t.Fatal("a proof with k shares was copied")
	}
}
