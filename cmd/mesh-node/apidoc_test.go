package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestAPIOpenRPC(t *testing.T) {
	root := newRootCmd(func(string) string { return "" })
	var stdout bytes.Buffer
	root.SetOut(&stdout)
	root.SetArgs([]string{"api", "openrpc"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenRPC string           `json:"openrpc"`
		Methods []map[string]any `json:"methods"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.OpenRPC != "1.2.6" || len(doc.Methods) == 0 {
		t.Fatalf("stdout: %v %q %d methods", err, doc.OpenRPC, len(doc.Methods))
	}
	file := filepath.Join(t.TempDir(), "openrpc.json")
	root = newRootCmd(func(string) string { return "" })
	root.SetArgs([]string{"api", "openrpc", "--output", file})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || !bytes.Equal(b, stdout.Bytes()) {
		t.Fatalf("--output wrote other bytes than stdout (%v)", err)
	}
}
