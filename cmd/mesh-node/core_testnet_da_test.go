//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/api/client"
	"github.com/datamesh/mesh-node/nodebuilder"
)

// daPorts is the number of ports startDANodes uses from its base: libp2p
// (TCP), API and, for bridge and full, dataset gateway, per node.
const daPorts = 8

// daNode is a bridge, full or light node of TestCoreTestnet, in a process
// of its own, and its API client.
type daNode struct {
	mode nodebuilder.Mode
	proc *coreProc
	api  *client.Client
}

// startDANodes initialises and starts, each in a process of its own, a
// bridge following the core node at coreRPC and a full and a light node
// bootstrapped from the bridge; they listen on loopback ports base to
// base+daPorts-1. They run until they are stopped or the test ends.
func startDANodes(ctx context.Context, t *testing.T, chainID, coreRPC string, base int) []*daNode {
	t.Helper()
	var bootstrap string
	var nodes []*daNode
	for i, mode := range devnetModes {
		home := t.TempDir()
		p2pPort, rpcPort, gatewayPort := base+3*i, base+3*i+1, base+3*i+2
		args := []string{string(mode), "init", "--home", home, "--chain-id", chainID, "--log.level", "error",
			"--p2p.listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p2pPort), "--rpc.port", strconv.Itoa(rpcPort)}
		if mode == nodebuilder.Bridge {
			args = append(args, "--core.rpc", coreRPC)
		} else {
			args = append(args, "--bootstrap", bootstrap)
		}
		if mode != nodebuilder.Light {
			args = append(args, "--dataset.gateway-addr", fmt.Sprintf("127.0.0.1:%d", gatewayPort))
		}
		out := mustRun(ctx, t, args...)
		if mode == nodebuilder.Bridge {
			bootstrap = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p2pPort, field(t, out, "peer_id"))
		}
		token := strings.TrimSpace(mustRun(ctx, t, string(mode), "auth", "read", "--home", home))
		c, err := client.New(ctx, fmt.Sprintf("http://127.0.0.1:%d", rpcPort), token)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		nodes = append(nodes, &daNode{mode: mode, proc: startProc(t, home, string(mode), "start", "--home", home), api: c})
	}
	return nodes
}

// waitFollowing waits until each node's local head is within 2 blocks of
// c's latest height and the sampled chain head of the light and full node
// too, polling, and checks that every node's header at each of heights
// is c's block there. It fails t at ctx's end or if a node's process
// exits.
func waitFollowing(ctx context.Context, t *testing.T, c *rpchttp.HTTP, nodes []*daNode, heights ...int64) {
	t.Helper()
	var status string
	for {
		head := height(ctx, c)
		status = fmt.Sprintf("chain head %d;", head)
		done := head > 0
		for _, n := range nodes {
			n.proc.failIfExited(t)
			var local, sampled uint64
			if h, err := n.api.Header.LocalHead(ctx); err == nil {
				local = h.Height()
			}
			if n.mode != nodebuilder.Bridge {
				if st, err := n.api.DAS.SamplingStats(ctx); err == nil {
					sampled = st.SampledChainHead
				}
				status += fmt.Sprintf(" %s local head %d, sampled %d;", n.mode, local, sampled)
			} else {
				status += fmt.Sprintf(" %s local head %d;", n.mode, local)
			}
			if int64(local) < head-2 || (n.mode != nodebuilder.Bridge && int64(sampled) < head-2) {
				done = false
			}
		}
		if done {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the bridge, full and light node do not follow the network: %s", status)
		}
		pause(ctx, t)
	}
	for _, n := range nodes {
		for _, at := range heights {
			h, err := n.api.Header.GetByHeight(ctx, uint64(at))
			if err != nil {
				t.Fatalf("%s node: header %d: %v", n.mode, at, err)
			}
			b, err := c.Block(ctx, &at)
			if err != nil {
				t.Fatalf("block %d: %v", at, err)
			}
			if !bytes.Equal(h.Hash(), b.BlockID.Hash) {
				t.Fatalf("%s node: header %d is %X, the chain's block %s", n.mode, at, h.Hash(), b.BlockID.Hash)
			}
		}
	}
	t.Logf("the bridge, full and light node follow: %s", status)
}
