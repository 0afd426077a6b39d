package app

import (
	"os"
	"os/exec"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datamesh/mesh-node/kzg"
)

// A chain whose blocks carry no KZG commitments never loads the trusted
// setup (seconds of start-up, more under the race detector): CheckTx,
// PrepareProposal, ProcessProposal and FinalizeBlock of PayForBlobs and
// transfers without KZG leave it unloaded. Run alone in a fresh process,
// so that no other test has loaded it.
func TestNoKZGNoSetup(t *testing.T) {
	if os.Getenv("APP_LAZY_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNoKZGNoSetup$", "-test.count=1")
		cmd.Env = append(os.Environ(), "APP_LAZY_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return
	}
	e := newTestEnv(t, nil)
	pfb := e.pfb(e.alice, 0, 1, randomData(1000, 1))
	send := e.send(e.bob, 0, e.carolA, 5)
	for _, raw := range [][]byte{pfb, send} {
		if res := e.checkTx(raw); res.Code != 0 {
			t.Fatalf("CheckTx: %d %s", res.Code, res.Log)
		}
	}
	proposal := e.prepare(pfb, send)
	if st := e.process(proposal); st != abci.ResponseProcessProposal_ACCEPT {
		t.Fatalf("ProcessProposal: %v", st)
	}
	e.block(pfb, send)
	if kzg.SetupLoaded() {
		t.Fatal("a chain without KZG commitments loaded the trusted setup")
	}
}
