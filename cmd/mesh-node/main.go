// Command mesh-node is the DataMesh node binary: core, bridge, full and
// light nodes, a file keyring and transactions; see docs/cli.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	if err := lazyFree(); err != nil {
		fmt.Fprintln(os.Stderr, "mesh-node: running without GODEBUG=madvdontneed=0:", err)
	}
	os.Exit(runMain(&cli{getenv: os.Getenv, setMemoryLimit: debug.SetMemoryLimit}))
}

// runMain runs the command line with c and returns the process's exit code.
func runMain(c *cli) int {
	privateFiles()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmdFor(c).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}
