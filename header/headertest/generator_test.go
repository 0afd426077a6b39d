package headertest_test

import (
	"errors"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/header"
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

func TestGeneratorAbsentSigners(t *testing.T) {
	// 3 of 4 equal validators sign: more than 2/3.
	chain := headertest.NewGenerator(headertest.Options{Absent: 1}).Chain(t, 3)
	for _, h := range chain {
		if err := h.Validate(); err != nil {
			t.Fatal(err)
		}
		if h.Commit.Signatures[3].BlockIDFlag != cmttypes.BlockIDFlagAbsent {
			t.Fatal("the last validator signed")
		}
	}
	// 2 of 4: the generator refuses to produce what does not validate.
	if _, err := headertest.NewGenerator(headertest.Options{Absent: 2}).Next(); !errors.Is(err, header.ErrInvalidCommit) {
		t.Fatalf("half the power signing: %v", err)
	}
}
