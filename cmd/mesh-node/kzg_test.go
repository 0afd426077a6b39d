package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/kzg"
)

// kzg commit prints the versioned hashes kzg.Commit computes for DATA, as
// text or as the method's JSON, and refuses an empty file.
func TestKZGCommitCommand(t *testing.T) {
	url := serveAPI(t, api.Modules{KZG: api.NewKZGModule(api.ModuleOptions{})})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	data := []byte(strings.Repeat("two chunks ", kzg.MaxChunkSize/11+1))
	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := kzg.Commit(data)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, c := range want {
		hashes = append(hashes, blob.Hex32(c.VersionedHash).String())
	}
	if len(hashes) != 2 {
		t.Fatalf("%d bytes make %d chunks, want 2", len(data), len(hashes))
	}
	out := mustRun(ctx, t, "kzg", "commit", "--url", url, "--token", "x", "@"+file)
	if got := field(t, out, "versioned_hashes"); got != strings.Join(hashes, " ") {
		t.Errorf("kzg commit: versioned_hashes %s, want %s", got, strings.Join(hashes, " "))
	}
	out = mustRun(ctx, t, "kzg", "commit", "--url", url, "--token", "x", "-o", "json", "@"+file)
	var r api.KZGCommitments
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Codec != blob.KZGCodec || len(r.Chunks) != 2 ||
		r.Chunks[1].VersionedHash.String() != hashes[1] || kzg.Commitment(r.Chunks[1].Commitment) != want[1].Commitment {
		t.Errorf("kzg commit -o json: %s (%v)", out, err)
	}
	empty := filepath.Join(t.TempDir(), "empty.bin")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantErr(ctx, t, "kzg commit: DATA: "+empty+" is empty", "kzg", "commit", "--url", url, "--token", "x", "@"+empty)
}
