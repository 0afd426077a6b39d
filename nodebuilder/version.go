package nodebuilder

import "runtime/debug"

// Version is this build's version, which node.Info reports as its
// api_version. A release build sets it when linking:
//
//	go build -ldflags "-X github.com/datamesh/mesh-node/nodebuilder.Version=v0.7.0" ./cmd/mesh-node
//
// Left unset, it is the main module's version that the Go toolchain
// recorded in the binary (the tag, or a pseudo-version naming the commit,
// when built in a git checkout), else "(devel)" (as in tests). It is set
// once, before main runs, and only read afterwards.
var Version string

func init() {
	if Version == "" {
		Version = moduleVersion()
	}
}

// moduleVersion returns the main module's version from the build
// information, "(devel)" when there is none.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
