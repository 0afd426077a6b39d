package headertest_test

import (
	"testing"

	"github.com/datamesh/mesh-node/header/headertest"
)

func TestGeneratorRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]headertest.Options{
		"negative validators": {Validators: -1},
		"empty change":        {Changes: map[int64]headertest.ValidatorChange{3: {}}},
		"negative start":      {StartHeight: -5},
		"change at the start": {StartHeight: 3, Changes: map[int64]headertest.ValidatorChange{3: {Add: 1}}},
	} {
		if _, err := headertest.NewGenerator(opts).Next(); err == nil {
			t.Errorf("%s: generated a header", name)
		}
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	opts := headertest.Options{Seed: 3, StartTime: headertest.NewGenerator(headertest.Options{}).Chain(t, 1)[0].Time()}
	a := headertest.NewGenerator(opts).Chain(t, 3)
	b := headertest.NewGenerator(opts).Chain(t, 3)
	for i := range a {
		if string(a[i].Hash()) != string(b[i].Hash()) {
			t.Fatalf("height %d differs between two generators with the same options", i+1)
		}
	}
}
