package main

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"

	"github.com/datamesh/mesh-node/nodebuilder"
)

// mesh-node version prints the version node.Info reports and the Go
// release, in text and JSON.
func TestVersion(t *testing.T) {
	ctx := context.Background()
	out := mustRun(ctx, t, "version")
	if got := field(t, out, "version"); got != nodebuilder.Version {
		t.Errorf("version %q, want %q", got, nodebuilder.Version)
	}
	if got := field(t, out, "go"); got != runtime.Version() {
		t.Errorf("go %q, want %q", got, runtime.Version())
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(mustRun(ctx, t, "version", "-o", "json")), &v); err != nil || v.Version != nodebuilder.Version || v.Go != runtime.Version() {
		t.Fatalf("version -o json: %+v, %v", v, err)
	}
	wantErr(ctx, t, "unknown command", "version", "extra")
}
