package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// apiCmd is "api": documents of the node's JSON-RPC API.
func (c *cli) apiCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "api", Short: "Describe the node's JSON-RPC API for clients"}
	openrpc := &cobra.Command{
		Use:   "openrpc",
		Short: "Print the OpenRPC document of every JSON-RPC method",
		Long: `openrpc prints the OpenRPC 1.2.6 document (JSON) of every JSON-RPC method a
bridge, full or light node serves, generated from the node's API modules:
each method's parameters, result and JSON Schemas, and the permission its
token needs (x-permission). --output writes it to a file instead of stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := api.OpenRPC(nodebuilder.Version)
			if err != nil {
				return err
			}
			out, err := cmd.Flags().GetString("output")
			if err != nil {
				return fmt.Errorf("read --output: %w", err)
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(doc)
				return err
			}
			if err := os.WriteFile(out, doc, 0o644); err != nil {
				return fmt.Errorf("api openrpc: %w", err)
			}
			return nil
		},
	}
	openrpc.Flags().String("output", "", "write the document to this file (default stdout)")
	cmd.AddCommand(openrpc)
	return cmd
}
