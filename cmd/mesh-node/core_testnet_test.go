//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/internal/freeport"
)

// testnetBlockTime is the block time of the testnets of these tests.
const testnetBlockTime = 200 * time.Millisecond

// A network made by core testnet, its four validators in processes of
// their own: one stopped, it keeps producing blocks; two stopped, it
// halts; both restarted, it resumes without a fork; a fifth node made by
// core init --genesis (the genesis core export-genesis printed) syncs it.
func TestCoreTestnet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "net")
	base, err := freeport.Range(5*validator.TestnetPortStride, false)
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(ctx, t, "core", "testnet", "--validators", "4", "--output", dir, "--chain-id", "testnet-test",
		"--base-port", strconv.Itoa(base), "--block-time", testnetBlockTime.String())
	wantErr(ctx, t, "not empty", "core", "testnet", "--validators", "4", "--output", dir)

	procs := make([]*coreProc, 4)
	clients := make([]*rpchttp.HTTP, 4)
	var peers []string
	for i := range procs {
		home := field(t, out, fmt.Sprintf("validator%d_home", i))
		peers = append(peers, field(t, out, fmt.Sprintf("validator%d_peer", i)))
		procs[i] = startCoreProc(t, home)
		clients[i] = rpcClient(t, strings.Replace(field(t, out, fmt.Sprintf("validator%d_rpc", i)), "tcp://", "http://", 1))
	}
	waitHeights(ctx, t, clients, 3, procs...)

	procs[3].stop(t)
	h := height(ctx, clients[0])
	// Five heights: the stopped validator's turn to propose comes once in four.
	waitHeights(ctx, t, clients[:3], h+5, procs[:3]...)
	t.Logf("one of four stopped: the chain went on from %d to %d", h, h+5)

	procs[2].stop(t)
	halted := max(height(ctx, clients[0]), height(ctx, clients[1]))
	// Quiet for 8 block times: a block whose third precommit was already
	// in flight may still commit, no later one.
	quiet := time.Now().Add(8 * testnetBlockTime)
	for time.Now().Before(quiet) {
		for _, c := range clients[:2] {
			if got := height(ctx, c); got > halted+1 {
				t.Fatalf("with two of four validators stopped the chain went from %d to %d", halted, got)
			}
		}
		pause(ctx, t)
	}

	procs[2], procs[3] = startCoreProc(t, procs[2].home), startCoreProc(t, procs[3].home)
	waitHeights(ctx, t, clients, halted+3, procs...)
	common := height(ctx, clients[0])
	for _, c := range clients[1:] {
		common = min(common, height(ctx, c))
	}
	for _, at := range []int64{halted, common} {
		want := blockHash(ctx, t, clients[0], at)
		for i, c := range clients[1:] {
			if got := blockHash(ctx, t, c, at); got != want {
				t.Fatalf("fork at height %d: validator%d has block %s, validator0 %s", at, i+1, got, want)
			}
		}
	}
	t.Logf("halted at %d with two stopped, resumed to %d with the same blocks on all four", halted, common)

	// A fifth node joins with the exported genesis and syncs the chain.
	genesis := filepath.Join(t.TempDir(), "genesis.json")
	mustRun(ctx, t, "core", "export-genesis", "--home", procs[0].home, "--output", genesis)
	joinHome := t.TempDir()
	wantErr(ctx, t, "needs --peers", "core", "init", "--home", joinHome, "--genesis", genesis)
	jout := mustRun(ctx, t, "core", "init", "--home", joinHome, "--genesis", genesis, "--peers", strings.Join(peers, ","), "--block-time", testnetBlockTime.String())
	if field(t, jout, "chain_id") != "testnet-test" {
		t.Fatalf("core init --genesis printed\n%s", jout)
	}
	joinBase := base + 4*validator.TestnetPortStride
	joiner := startCoreProc(t, joinHome, "--p2p.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", joinBase),
		"--rpc.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", joinBase+1))
	jc := rpcClient(t, fmt.Sprintf("http://127.0.0.1:%d", joinBase+1))
	head := height(ctx, clients[0])
	waitHeights(ctx, t, []*rpchttp.HTTP{jc}, head, append(procs, joiner)...)
	if got, want := blockHash(ctx, t, jc, head), blockHash(ctx, t, clients[0], head); got != want {
		t.Fatalf("the joined node has block %s at height %d, validator0 %s", got, head, want)
	}
	st, err := jc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ValidatorInfo.VotingPower != 0 {
		t.Fatalf("the joined node has voting power %d, want 0 (a full node)", st.ValidatorInfo.VotingPower)
	}
	t.Logf("a fifth node joined and synced to height %d", head)
	for _, p := range append(procs, joiner) {
		p.stop(t)
	}
}

// core testnet refuses bad options and leaves nothing behind.
func TestCoreTestnetRefused(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "net")
	for _, c := range []struct {
		want string
		args []string
	}{
		{"want 1–100", []string{"--validators", "0"}},
		{"want 1–100", []string{"--validators", "101"}},
		{"2 hosts for 3 validators", []string{"--validators", "3", "--hosts", "10.0.0.1,10.0.0.2"}},
		{"not an IP address or DNS name", []string{"--validators", "2", "--hosts", "10.0.0.1,bad_host"}},
		{"not an IP address or DNS name", []string{"--validators", "2", "--hosts", "10.0.0.1,h:26656"}},
		{"base port", []string{"--validators", "2", "--base-port", "65530"}},
		{"must be positive", []string{"--block-time", "0s"}},
		{"--output is required", nil},
	} {
		args := append([]string{"core", "testnet"}, c.args...)
		if c.want != "--output is required" {
			args = append(args, "--output", dir)
		}
		wantErr(ctx, t, c.want, args...)
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Fatalf("refused runs left %v (%v)", entries, err)
	}

	// An empty directory is used; --hosts puts each home on its host.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out := mustRun(ctx, t, "core", "testnet", "--validators", "3", "--output", dir, "--hosts", "10.0.0.1,10.0.0.2,10.0.0.1", "--base-port", "36656")
	for i, want := range []string{"@10.0.0.1:36656", "@10.0.0.2:36656", "@10.0.0.1:36666"} {
		if p := field(t, out, fmt.Sprintf("validator%d_peer", i)); !strings.HasSuffix(p, want) {
			t.Errorf("validator%d_peer %s, want one at %s", i, p, want)
		}
	}
	conf, err := validator.LoadConfig(filepath.Join(dir, "validator2"))
	if err != nil {
		t.Fatal(err)
	}
	if conf.P2P.ListenAddress != "tcp://0.0.0.0:36666" || conf.P2P.ExternalAddress != "10.0.0.1:36666" ||
		strings.Count(conf.P2P.PersistentPeers, "@") != 2 || strings.Contains(conf.P2P.PersistentPeers, field(t, out, "validator2_peer")) {
		t.Fatalf("validator2: p2p laddr %s, external %s, persistent peers %s", conf.P2P.ListenAddress, conf.P2P.ExternalAddress, conf.P2P.PersistentPeers)
	}
	var genesis [][]byte
	for i := range 3 {
		g, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("validator%d", i), "config", "genesis.json"))
		if err != nil {
			t.Fatal(err)
		}
		genesis = append(genesis, g)
	}
	if !bytes.Equal(genesis[0], genesis[1]) || !bytes.Equal(genesis[0], genesis[2]) {
		t.Fatal("the homes have different genesis documents")
	}
	if exported := mustRun(ctx, t, "core", "export-genesis", "--home", filepath.Join(dir, "validator1")); exported != string(genesis[0]) {
		t.Fatalf("export-genesis printed\n%s\nwant\n%s", exported, genesis[0])
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 1 {
		t.Fatalf("the parent directory holds %v (%v), want only the testnet", entries, err)
	}
}

// coreProc is a core start in a process of its own (this test binary
// running the command line: TestMain), in its own process group.
type coreProc struct {
	home   string
	cmd    *exec.Cmd
	exited chan error
	log    string // its standard error
}

// startCoreProc starts core start --home home with args; at cleanup its
// process group is killed if it still runs.
func startCoreProc(t *testing.T, home string, args ...string) *coreProc {
	t.Helper()
	p := &coreProc{home: home, exited: make(chan error, 1), log: filepath.Join(t.TempDir(), "core.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(os.Args[0], append([]string{"core", "start", "--home", home, "--log.level", "error"}, args...)...)
	p.cmd.Env = append(os.Environ(), cliMainEnv+"=1")
	p.cmd.Stderr = logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		err := <-p.exited
		p.exited <- err
	})
	return p
}

// stop interrupts the node and waits for it to exit cleanly.
func (p *coreProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("core start --home %s: %v\n%s", p.home, err, p.logTail())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("core start --home %s did not exit within 30s of SIGINT", p.home)
	}
}

// logTail is the end of the node's standard error.
func (p *coreProc) logTail() []byte {
	b, _ := os.ReadFile(p.log)
	return b[max(0, len(b)-4000):]
}

func rpcClient(t *testing.T, url string) *rpchttp.HTTP {
	t.Helper()
	c, err := rpchttp.New(url, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// height is the node's latest block height, 0 if it does not answer.
func height(ctx context.Context, c *rpchttp.HTTP) int64 {
	st, err := c.Status(ctx)
	if err != nil {
		return 0
	}
	return st.SyncInfo.LatestBlockHeight
}

// waitHeights waits until every client's node has height at least minHeight,
// failing t at ctx's end or if one of procs exits.
func waitHeights(ctx context.Context, t *testing.T, clients []*rpchttp.HTTP, minHeight int64, procs ...*coreProc) {
	t.Helper()
	for {
		done := true
		for _, c := range clients {
			if height(ctx, c) < minHeight {
				done = false
				break
			}
		}
		if done {
			return
		}
		for _, p := range procs {
			select {
			case err := <-p.exited:
				p.exited <- err
				t.Fatalf("core start --home %s exited: %v\n%s", p.home, err, p.logTail())
			default:
			}
		}
		if ctx.Err() != nil {
			var hs []int64
			for _, c := range clients {
				hs = append(hs, height(context.Background(), c))
			}
			t.Fatalf("the nodes did not reach height %d: heights %v", minHeight, hs)
		}
		pause(ctx, t)
	}
}

// pause waits 50 ms or until ctx ends.
func pause(ctx context.Context, t *testing.T) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(50 * time.Millisecond):
	}
}

// blockHash is the hash of the node's block at height.
func blockHash(ctx context.Context, t *testing.T, c *rpchttp.HTTP, at int64) string {
	t.Helper()
	b, err := c.Block(ctx, &at)
	if err != nil {
		t.Fatalf("block %d: %v", at, err)
	}
	return b.BlockID.Hash.String()
}
