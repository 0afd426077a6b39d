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
	privateFiles()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmdFor(&cli{getenv: os.Getenv, setMemoryLimit: debug.SetMemoryLimit}).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
