//go:build ckzg && cgo

package ethereum_test

import (
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/crypto/kzg4844"
)

// TestPrecompileAcceptsOpeningsCKZG runs checkOpenings with kzg4844, and so
// the precompile, on the C backend (c-kzg-4844 over blst): commitments and
// openings from mesh-node's kzg package checked by an implementation that
// shares no code with it. The backend is a process-wide switch in
// go-ethereum; this test sets it back to Go when it ends and must not run
// in parallel with the others.
func TestPrecompileAcceptsOpeningsCKZG(t *testing.T) {
	if err := kzg4844.UseCKZG(true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := kzg4844.UseCKZG(false); err != nil {
			t.Error(err)
		}
	})
	checkOpenings(t, rand.New(rand.NewPCG(15, 7594)))
}
