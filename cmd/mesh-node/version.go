package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// versionInfo is what mesh-node version prints.
type versionInfo struct {
	// Version is the node's version, the one node.Info reports.
	Version string `json:"version"`
	// Go is the Go release the binary was built with.
	Go string `json:"go"`
	// Commit is the VCS revision the binary was built from, with
	// "-dirty" when the tree had changes; empty when the build did not
	// record it (go run, go test, a build outside a checkout).
	Commit string `json:"commit,omitempty"`
	// CommitTime is the revision's commit time (RFC 3339), when recorded.
	CommitTime string `json:"commit_time,omitempty"`
}

// buildVersion reads the version, the Go release and, from the build
// information the Go toolchain embeds, the VCS revision.
func buildVersion() versionInfo {
	v := versionInfo{Version: nodebuilder.Version, Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && v.Commit != "" {
		v.Commit += "-dirty"
	}
	return v
}

func (c *cli) versionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the Go release and the commit mesh-node was built from",
		Long: `Print mesh-node's version (the one node.Info reports), the Go release it
was built with and, when the build recorded it, the commit it was built from
("-dirty" when the tree had changes) and that commit's time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			var text strings.Builder
			fmt.Fprintf(&text, "version: %s\ngo: %s\n", v.Version, v.Go)
			if v.Commit != "" {
				fmt.Fprintf(&text, "commit: %s\n", v.Commit)
			}
			if v.CommitTime != "" {
				fmt.Fprintf(&text, "commit_time: %s\n", v.CommitTime)
			}
			return printResult(cmd, v, text.String())
		},
	}
	addOutputFlag(cmd)
	return cmd
}
