package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRollupNew scaffolds a rollup of each VM with the mesh-node module
// replaced by this checkout, vets (and so builds) it, and runs its
// end-to-end test against a devnet of the mesh-node built from here.
func TestRollupNew(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three modules and runs devnets")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mesh-node")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mesh-node")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build mesh-node: %v\n%s", err, out)
	}
	// Offline: the scaffold's go.sum is this checkout's, its modules are
	// in the module cache.
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "MESH_NODE="+bin)
	for _, vm := range []string{"kv", "wasm", "evm"} {
		t.Run(vm, func(t *testing.T) {
			dir := filepath.Join(tmp, vm)
			out, err := run(ctx, nil, "rollup", "new", "demo", "--vm", vm, "--dir", dir, "--replace", root, "--namespace", "0102030405")
			if err != nil {
				t.Fatalf("rollup new: %v\n%s", err, out)
			}
			files := []string{"go.mod", "go.sum", "cmd/demo/main.go", "executor.go", "genesis.go", "README.md", "Makefile", "e2e_test.go"}
			if vm == "wasm" {
				files = append(files, "cmd/demo/wasm.go", "contracts/README.md", "contracts/token.wasm", "contracts/token.wat")
			}
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("scaffold: %v", err)
				}
			}
			for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "-timeout", "4m", "./..."}} {
				cmd := exec.CommandContext(ctx, "go", args...)
				cmd.Dir, cmd.Env = dir, env
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("go %s in the %s scaffold: %v\n%s", strings.Join(args, " "), vm, err, out)
				}
			}
		})
	}
}

// TestRollupNewRefuses checks the arguments rollup new rejects.
func TestRollupNewRefuses(t *testing.T) {
	ctx := context.Background()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want string
		args []string
	}{
		{"is not empty", []string{"demo", "--vm", "kv", "--dir", full}},
		{`name "Demo"`, []string{"Demo", "--vm", "kv", "--dir", t.TempDir()}},
		{`name "a/b"`, []string{"a/b", "--vm", "kv", "--dir", t.TempDir()}},
		{`name "1x"`, []string{"1x", "--vm", "kv", "--dir", t.TempDir()}},
		{`--vm "move": want kv, wasm or evm`, []string{"demo", "--vm", "move", "--dir", t.TempDir()}},
		{"--vm is required", []string{"demo", "--dir", t.TempDir()}},
		{"--namespace", []string{"demo", "--vm", "kv", "--namespace", "zz", "--dir", t.TempDir()}},
		{"--replace", []string{"demo", "--vm", "kv", "--replace", t.TempDir(), "--dir", t.TempDir()}},
	} {
		_, err := run(ctx, nil, append([]string{"rollup", "new"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rollup new %v: %v, want %q", c.args, err, c.want)
		}
	}
	// An empty directory is fine; the scaffold is gofmt-clean Go.
	dir := t.TempDir()
	if _, err := run(ctx, nil, "rollup", "new", "demo", "--vm", "kv", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mod), "module example.com/demo\n") || strings.Contains(string(mod), "replace") {
		t.Fatalf("go.mod without --replace:\n%s", mod)
	}
}

// TestRollupNewWasmContracts checks that a wasm scaffold carries the
// example token of execution/wasm/testdata, compiled and its source, and
// that the other VMs' carry no contracts.
func TestRollupNewWasmContracts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := run(ctx, nil, "rollup", "new", "demo", "--vm", "wasm", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"token.wasm", "token.wat"} {
		want, err := os.ReadFile(filepath.Join("..", "..", "execution", "wasm", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "contracts", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("contracts/%s differs from execution/wasm/testdata/%s", f, f)
		}
	}
	kv := t.TempDir()
	if _, err := run(ctx, nil, "rollup", "new", "demo", "--vm", "kv", "--dir", kv); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"contracts", filepath.Join("cmd", "demo", "wasm.go")} {
		if _, err := os.Stat(filepath.Join(kv, f)); err == nil {
			t.Errorf("the kv scaffold has %s", f)
		}
	}
}
