package nodebuilder

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datamesh/mesh-node/eds"
	"github.com/datamesh/mesh-node/fraud"
)

func TestHaltCollector(t *testing.T) {
	var h fraud.Halt
	reg := prometheus.NewRegistry()
	if err := reg.Register(haltCollector(&h)); err != nil {
		t.Fatal(err)
	}
	gauges := func() map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			out[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
		return out
	}
	if g := gauges(); g["meshnode_halted"] != 0 || g["meshnode_halt_height"] != 0 || len(g) != 2 {
		t.Fatalf("before a proof: %v", g)
	}
	h.Set(&eds.BadEncodingProof{HeaderHash: make([]byte, eds.HeaderHashSize), Height: 20})
	if g := gauges(); g["meshnode_halted"] != 1 || g["meshnode_halt_height"] != 20 {
		t.Fatalf("after a proof: %v", g)
	}
}
