package kzg_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/datamesh/mesh-node/kzg"
)

// inChild runs the calling test alone in a fresh process (so that no other
// test has loaded the setup) and reports whether this is that process.
func inChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv("KZG_LAZY_CHILD") == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KZG_LAZY_CHILD="+t.Name())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	return false
}

// What needs no setup does not load it: the codec, and a batch with
// nothing in it (every block without KZG commitments is one).
func TestSetupLoadedLazily(t *testing.T) {
	if !inChild(t) {
		return
	}
	if kzg.SetupLoaded() {
		t.Fatal("setup loaded before any KZG operation")
	}
	if _, err := kzg.Chunks([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := kzg.VerifyBlobProofBatch(nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if kzg.SetupLoaded() {
		t.Fatal("the codec or an empty batch loaded the setup")
	}
	blob, err := kzg.EncodeChunk([]byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kzg.BlobToCommitment(blob); err != nil {
		t.Fatal(err)
	}
	if !kzg.SetupLoaded() {
		t.Fatal("SetupLoaded is false after a commitment")
	}
}
