package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// docs/cli.md documents every command and every flag, and every command
// has help text.
func TestDocsCoverCommands(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			return
		}
		if cmd.Short == "" {
			t.Errorf("%s: no Short help", cmd.CommandPath())
		}
		if !strings.Contains(text, "`"+cmd.CommandPath()) {
			t.Errorf("docs/cli.md does not show %q", cmd.CommandPath())
		}
		cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(text, "`--"+f.Name) {
				t.Errorf("docs/cli.md does not document %s --%s", cmd.CommandPath(), f.Name)
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	root := newRootCmd(func(string) string { return "" })
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(text, "`--"+f.Name) {
			t.Errorf("docs/cli.md does not document --%s", f.Name)
		}
	})
	walk(root)
}
