package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/das"
	"github.com/datamesh/mesh-node/eds"
)

// haltedDAS is a halted node's sampler.
type haltedDAS struct{ p *eds.BadEncodingProof }

func (d haltedDAS) Stats() das.Stats {
	return das.Stats{SampledChainHead: 19, NetworkHead: 30, IsRunning: true, BadEncoding: &das.BadEncodingStats{
		Height: d.p.Height, Axis: d.p.Axis.String(), Index: d.p.Index, HeaderHash: fmt.Sprintf("%X", d.p.HeaderHash)}}
}

func (haltedDAS) WaitCatchUp(context.Context) error { return das.ErrBadEncoding }

// heldProofs is a fraud service holding proofs.
type heldProofs []*eds.BadEncodingProof

func (h heldProofs) Get(context.Context) ([]*eds.BadEncodingProof, error) { return h, nil }

func (heldProofs) Subscribe(ctx context.Context) (<-chan *eds.BadEncodingProof, error) {
	return make(chan *eds.BadEncodingProof), nil
}

// das stats and fraud get say why a node halted.
func TestHaltedNodeCommands(t *testing.T) {
	p := &eds.BadEncodingProof{HeaderHash: bytes.Repeat([]byte{0xab}, eds.HeaderHashSize), Height: 20, Axis: eds.Col, Index: 1}
	serve := func(proofs heldProofs) string {
		return serveAPI(t, api.Modules{DAS: api.NewDASModule(haltedDAS{p}, api.ModuleOptions{}), Fraud: api.NewFraudModule(proofs)})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	url := serve(heldProofs{p})
	hash := strings.Repeat("AB", eds.HeaderHashSize)
	out := mustRun(ctx, t, "das", "stats", "--url", url, "--token", "x")
	if got, want := field(t, out, "halted"), "block 20 (header "+hash+") is proven badly encoded (col 1): heights from 20 on are unavailable"; got != want {
		t.Errorf("das stats: halted: %q, want %q", got, want)
	}
	out = mustRun(ctx, t, "fraud", "get", "--url", url, "--token", "x")
	if field(t, out, "height") != "20" || field(t, out, "header_hash") != hash || field(t, out, "axis") != "col" || field(t, out, "index") != "1" {
		t.Errorf("fraud get:\n%s", out)
	}
	out = mustRun(ctx, t, "fraud", "get", "--url", url, "--token", "x", "-o", "json")
	var js []map[string]any
	if err := json.Unmarshal([]byte(out), &js); err != nil || len(js) != 1 || js[0]["proof_type"] != eds.BadEncodingProofType {
		t.Errorf("fraud get -o json: %s (%v)", out, err)
	}
	if out := mustRun(ctx, t, "fraud", "get", "--url", serve(nil), "--token", "x"); out != "no bad-encoding proof\n" {
		t.Errorf("fraud get of none: %q", out)
	}
}
