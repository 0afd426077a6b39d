package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/execution/wasm"
	"github.com/datamesh/mesh-node/rollup/node"
)

// rollupTemplates are the files of a scaffolded rollup module.
//
//go:embed rollupnew/*.tmpl
var rollupTemplates embed.FS

// rollupNameRE is a rollup's name: a Go package name that is also a path
// element and a binary's name.
var rollupNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)

// rollupTemplateData is what the templates see.
type rollupTemplateData struct {
	Name, VM, Namespace, Module, GoVersion, MeshVersion, Replace string
}

type rollupNewOptions struct {
	vm, namespace, dir, module, replace string
}

func (c *cli) rollupNewCmd() *cobra.Command {
	var o rollupNewOptions
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Scaffold a rollup: a Go module with its node, executor, genesis and end-to-end test",
		Long: `Write a Go module for a rollup named NAME (lower-case letters and digits,
starting with a letter) into --dir (default ./NAME), which must not exist
or be empty:

  go.mod             module --module (default example.com/NAME), requiring
                     github.com/datamesh/mesh-node (replaced by --replace DIR
                     when given: a mesh-node checkout)
  cmd/NAME/main.go   the node's commands: init, start, tx, query (over
                     mesh-node's rollup/node); wasm also key, and tx --key
                     signs deploys and calls (cmd/NAME/wasm.go)
  executor.go        the executor: kv a state machine over
                     execution/statemachine to put the rollup's logic in,
                     wasm the contract VM, evm go-ethereum's EVM
  genesis.go         the genesis defaults (chain ID NAME, --namespace)
  README.md          how to run it on a devnet
  Makefile           build, test
  contracts/         wasm: the example token, token.wasm and its source
                     token.wat, with how it was built
  e2e_test.go        runs mesh-node devnet ($MESH_NODE or mesh-node on
                     PATH), the node, a transaction and a query (wasm:
                     deploys the token, transfers, queries balances)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := rollupNew(args[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote the %s rollup %s in %s\n", o.vm, args[0], dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.vm, "vm", "", "executor: kv, wasm or evm (required)")
	f.StringVar(&o.namespace, "namespace", "", "namespace, hex: 29 bytes or a version-0 ID of at most 10 bytes (default derived from the chain ID)")
	f.StringVar(&o.dir, "dir", "", "directory to write (default ./NAME)")
	f.StringVar(&o.module, "module", "", "module path (default example.com/NAME)")
	f.StringVar(&o.replace, "replace", "", "a mesh-node checkout to replace the mesh-node module with")
	return cmd
}

// rollupNew writes the module and returns its directory.
func rollupNew(name string, o rollupNewOptions) (string, error) {
	if !rollupNameRE.MatchString(name) {
		return "", fmt.Errorf("rollup new: name %q: want lower-case letters and digits, starting with a letter, at most 32", name)
	}
	switch o.vm {
	case "kv", "wasm", "evm":
	case "":
		return "", errors.New("rollup new: --vm is required: kv, wasm or evm")
	default:
		return "", fmt.Errorf("rollup new: --vm %q: want kv, wasm or evm", o.vm)
	}
	if o.namespace != "" {
		if _, err := node.ParseNamespace(o.namespace, name); err != nil {
			return "", fmt.Errorf("rollup new: %w", err)
		}
	}
	d := rollupTemplateData{Name: name, VM: o.vm, Namespace: o.namespace, Module: o.module,
		GoVersion: strings.TrimPrefix(goVersion(), "go"), MeshVersion: "v0.0.0-00010101000000-000000000000"}
	if d.Module == "" {
		d.Module = "example.com/" + name
	}
	if strings.ContainsAny(d.Module, " \t\n\"`\\") {
		return "", fmt.Errorf("rollup new: --module %q: not a module path", d.Module)
	}
	var goSum []byte
	if o.replace != "" {
		abs, err := filepath.Abs(o.replace)
		if err != nil {
			return "", fmt.Errorf("rollup new: --replace: %w", err)
		}
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return "", fmt.Errorf("rollup new: --replace %s: not a module: %w", o.replace, err)
		}
		d.Replace = abs
		// The checkout's checksums are those of the modules it requires,
		// so the scaffold builds without asking the checksum database.
		sum, err := os.ReadFile(filepath.Join(abs, "go.sum"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("rollup new: --replace: %w", err)
		}
		goSum = sum
	}
	dir := o.dir
	if dir == "" {
		dir = name
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return "", fmt.Errorf("rollup new: %s exists and is not empty", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("rollup new: %w", err)
	}
	files := map[string]string{
		"go.mod":                   "go.mod.tmpl",
		"genesis.go":               "genesis.go.tmpl",
		"executor.go":              "executor_" + o.vm + ".go.tmpl",
		"cmd/" + name + "/main.go": "main.go.tmpl",
		"README.md":                "README.md.tmpl",
		"Makefile":                 "Makefile.tmpl",
		"e2e_test.go":              "e2e_test.go.tmpl",
	}
	if o.vm == "wasm" {
		files["cmd/"+name+"/wasm.go"] = "wasm_cli.go.tmpl"
		files["contracts/README.md"] = "contracts_README.md.tmpl"
	}
	out := make(map[string][]byte, len(files))
	for path, tmpl := range files {
		t, err := template.ParseFS(rollupTemplates, "rollupnew/"+tmpl)
		if err != nil {
			return "", fmt.Errorf("rollup new: template %s: %w", tmpl, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return "", fmt.Errorf("rollup new: template %s: %w", tmpl, err)
		}
		src := b.Bytes()
		if strings.HasSuffix(path, ".go") {
			if src, err = format.Source(src); err != nil {
				return "", fmt.Errorf("rollup new: %s: %w", path, err)
			}
		}
		out[path] = src
	}
	if goSum != nil {
		out["go.sum"] = goSum
	}
	if o.vm == "wasm" {
		// The example token, compiled and its source, for the rollup to
		// deploy, change and rebuild as its own.
		for _, f := range []string{"token.wasm", "token.wat"} {
			b, err := fs.ReadFile(wasm.Examples, "testdata/"+f)
			if err != nil {
				return "", fmt.Errorf("rollup new: %w", err)
			}
			out["contracts/"+f] = b
		}
	}
	for path, b := range out {
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("rollup new: %w", err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", fmt.Errorf("rollup new: %w", err)
		}
	}
	return dir, nil
}

// goVersion is the go directive of the scaffolded module: the version
// of the Go that built mesh-node, which mesh-node's go.mod allows.
func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.GoVersion, "go1.") {
		v := bi.GoVersion
		if i := strings.IndexAny(v, " -"); i >= 0 {
			v = v[:i]
		}
		return v
	}
	return "go1.26.8"
}
