package evm_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCompiledContracts recompiles testdata/*.sol with solcjs, when it is
// on PATH, and checks the committed bytecode and ABIs against it
// (testdata/build.sh is the command and version).
func TestCompiledContracts(t *testing.T) {
	solcjs, err := exec.LookPath("solcjs")
	if err != nil {
		t.Skip("solcjs not on PATH (npm install solc@0.8.28)")
	}
	version, err := exec.Command(solcjs, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(version, []byte("0.8.28+")) {
		t.Skipf("solcjs %s, the committed files are from 0.8.28", bytes.TrimSpace(version))
	}
	out := t.TempDir()
	cmd := exec.Command(solcjs, "--bin", "--abi", "--optimize", "--optimize-runs", "200", "-o", out, "Token.sol", "Loop.sol")
	cmd.Dir = "testdata"
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("solcjs: %v\n%s", err, b)
	}
	for built, committed := range map[string]string{
		"Token_sol_Token.bin": "Token.bin", "Token_sol_Token.abi": "Token.abi",
		"Loop_sol_Loop.bin": "Loop.bin", "Loop_sol_Loop.abi": "Loop.abi",
	} {
		want, err := os.ReadFile(filepath.Join(out, built))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("testdata", committed))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from solcjs's output (run testdata/build.sh)", committed)
		}
	}
}
