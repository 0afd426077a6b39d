package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// homeEnv overrides the default home directory.
const homeEnv = "MESH_HOME"

// defaultHomeName returns the home directory of a mode under the user's
// home: ~/.mesh-node-<mode>.
func defaultHomeName(mode string) string { return ".mesh-node-" + mode }

// cli holds what the commands share: how to read the environment. It is
// built per invocation, so tests run commands side by side.
type cli struct {
	getenv func(string) string
	// setMemoryLimit sets the Go runtime's soft memory limit
	// (debug.SetMemoryLimit in main); nil leaves it alone, as tests that
	// run commands in their own process do.
	setMemoryLimit func(int64) int64
	// afterPartRecorded, if not nil, is called by dataset put after it
	// recorded a part it posted in its journal, with the part's index:
	// tests stop a put there as a kill would.
	afterPartRecorded func(index int)
	// beforePartSubmit and afterPartSubmit, if not nil, are called by
	// dataset put with a part's index after it recorded the part pending
	// and before its blob.Submit, and after the Submit returned and before
	// it recorded the part done: an error stops the put there, unrecorded,
	// as a kill would.
	beforePartSubmit, afterPartSubmit func(index int) error
	// afterPartFetched, if not nil, is called by dataset get after it
	// fetched a part from the node and cached it, with the part's index:
	// tests stop a get there as a kill would.
	afterPartFetched func(index int)
}

// newRootCmd builds the command tree for tests. getenv reads the
// environment.
func newRootCmd(getenv func(string) string) *cobra.Command {
	return newRootCmdFor(&cli{getenv: getenv})
}

// newRootCmdFor builds the command tree over c.
func newRootCmdFor(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "mesh-node",
		Short: "DataMesh node: core validator, bridge, full and light nodes, devnet, API client",
		Long: `mesh-node runs a DataMesh node: core (a CometBFT validator with the DataMesh
application), bridge (follows a core node, stores and serves its extended
headers and squares over libp2p), full (syncs headers, fetches, verifies,
stores and serves every square) or light (syncs headers and samples every
block). Bridge, full and light nodes serve a JSON-RPC API, which the blob,
header, das, share and dataset commands call. devnet runs all four in one process;
rollup run runs a rollup node (kv, wasm or evm) against a node's API; rollup new
scaffolds a rollup module.
It also keeps a file keyring and submits transactions to a core node.

The home directory is --home, else $MESH_HOME, else ~/.mesh-node-<mode>
(~/.mesh-node-core for core, keys and tx; ~/.mesh-node-bridge,
~/.mesh-node-full and ~/.mesh-node-light for those modes).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("home", "", "home directory (default $MESH_HOME, else ~/.mesh-node-<mode>)")
	root.AddCommand(c.coreCmd(), c.keysCmd(), c.txCmd(), c.queryCmd())
	root.AddCommand(c.nodeCmds()...)
	root.AddCommand(c.blobCmd(), c.headerCmd(), c.dasCmd(), c.shareCmd(), c.fraudCmd(), c.kzgCmd(), c.datasetCmd(), c.apiCmd(), c.devnetCmd(), c.rollupCmd(), c.versionCmd())
	return root
}

// home returns the home directory of the core mode (used by core, keys and
// tx): --home, else $MESH_HOME, else ~/.mesh-node-core.
func (c *cli) home(cmd *cobra.Command) (string, error) { return c.homeOf(cmd, "core") }

// homeOf returns the home directory of a mode: --home, else $MESH_HOME, else
// ~/.mesh-node-<mode>.
func (c *cli) homeOf(cmd *cobra.Command, mode string) (string, error) {
	h, err := cmd.Flags().GetString("home")
	if err != nil {
		return "", fmt.Errorf("read --home: %w", err)
	}
	if h == "" {
		h = c.getenv(homeEnv)
	}
	if h == "" {
		u, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the user's home directory (set --home or $%s): %w", homeEnv, err)
		}
		h = filepath.Join(u, defaultHomeName(mode))
	}
	return filepath.Abs(h)
}

// addOutputFlag adds --output text|json.
func addOutputFlag(cmd *cobra.Command) {
	cmd.Flags().StringP("output", "o", "text", "output format: text or json")
}

// outputJSON reports whether --output is json, and rejects other values
// than text and json.
func outputJSON(cmd *cobra.Command) (bool, error) {
	o, err := cmd.Flags().GetString("output")
	if err != nil {
		return false, fmt.Errorf("read --output: %w", err)
	}
	switch o {
	case "text":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, fmt.Errorf("--output %q: want text or json", o)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// homeCmd is a command without arguments that runs run with the home of
// mode (see homeOf).
func (c *cli) homeCmd(mode, use, short, long string, run func(cmd *cobra.Command, home string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := c.homeOf(cmd, mode)
			if err != nil {
				return err
			}
			return run(cmd, home)
		},
	}
}
