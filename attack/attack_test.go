//go:build attack

// The attacks of docs/security.md, run as an outsider would against a
// devnet in its own process on loopback: `make attack`. Each test starts a
// fresh devnet in a temporary home and stops it (SIGINT, then its exit is
// awaited), so nothing outlives the run. They are slow and heavy (minutes,
// and up to a few GB of memory for the GetEDS flood), so they are not part
// of `make test`; the unit tests of each defence are.
package attack_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the mesh-node binary built from this checkout by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mesh-attack-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "mesh-node")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mesh-node")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build mesh-node: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// devnet is a `mesh-node devnet` process.
type devnet struct {
	home string
	log  string // its standard error
	cmd  *exec.Cmd
	info struct {
		Nodes map[string]struct {
			RPC   string   `json:"rpc"`
			Token string   `json:"token"`
			P2P   []string `json:"p2p"`
			Home  string   `json:"home"`
		} `json:"nodes"`
	}
	exited chan error
}

// startDevnet runs a devnet on home (a new temporary one if empty) with
// free ports, waits for "devnet ready" and reads devnet.json; it is stopped
// at cleanup.
func startDevnet(t *testing.T, home string, args ...string) *devnet {
	t.Helper()
	d, err := launch(t, home, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(t) })
	return d
}

// launch starts a devnet and returns once it is ready or has failed.
func launch(t *testing.T, home string, args ...string) (*devnet, error) {
	t.Helper()
	if home == "" {
		home = filepath.Join(t.TempDir(), "devnet")
	}
	d := &devnet{home: home, log: filepath.Join(t.TempDir(), "devnet.log"), exited: make(chan error, 1)}
	logf, err := os.Create(d.log)
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, append([]string{"devnet", "--home", home, "--base-port", "0", "--block-time", "200ms", "--log.level", "info"}, args...)...)
	d.cmd.Stderr = logf
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { d.exited <- d.cmd.Wait(); logf.Close() }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "devnet ready" {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case err := <-d.exited:
		d.exited <- err
		return nil, fmt.Errorf("devnet exited before it was ready: %v\n%s", err, d.tail())
	case <-time.After(3 * time.Minute):
		d.stop(t)
		return nil, fmt.Errorf("devnet not ready in 3 minutes\n%s", d.tail())
	}
	b, err := os.ReadFile(filepath.Join(home, "devnet.json"))
	if err == nil {
		err = json.Unmarshal(b, &d.info)
	}
	if err != nil {
		d.stop(t)
		return nil, fmt.Errorf("devnet.json: %w", err)
	}
	return d, nil
}

// stop interrupts the devnet and waits for it to exit (once).
func (d *devnet) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-d.exited:
		d.exited <- err
	case <-time.After(time.Minute):
		_ = d.cmd.Process.Kill()
		t.Errorf("devnet did not stop within a minute of SIGINT; killed")
	}
}

// tail returns the end of the devnet's log.
func (d *devnet) tail() string {
	b, _ := os.ReadFile(d.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// rss returns the devnet process's resident memory in bytes.
func (d *devnet) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// peakRSS samples the devnet's RSS every 50 ms until ctx ends and returns
// the highest value.
func (d *devnet) peakRSS(ctx context.Context) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if r, err := d.rss(); err == nil && r > peak {
				peak = r
			}
			select {
			case <-ctx.Done():
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// rpcResult is a JSON-RPC response.
type rpcResult struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call posts one JSON-RPC call to the node of mode and decodes the answer.
func (d *devnet) call(ctx context.Context, mode, method string, params ...any) (rpcResult, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return rpcResult{}, err
	}
	return d.post(ctx, mode, d.info.Nodes[mode].Token, body)
}

// post posts a raw body with token and decodes the JSON-RPC answer.
func (d *devnet) post(ctx context.Context, mode, token string, body []byte) (rpcResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.info.Nodes[mode].RPC, bytes.NewReader(body))
	if err != nil {
		return rpcResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rpcResult{}, err
	}
	defer resp.Body.Close()
	var r rpcResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return rpcResult{}, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return r, nil
}

// height returns the node's local head height.
func (d *devnet) height(ctx context.Context, mode string) (uint64, error) {
	r, err := d.call(ctx, mode, "header.LocalHead")
	if err != nil {
		return 0, err
	}
	if r.Error != nil {
		return 0, errors.New(r.Error.Message)
	}
	var h struct {
		Header struct {
			Height string `json:"height"`
		} `json:"header"`
	}
	if err := json.Unmarshal(r.Result, &h); err != nil {
		return 0, err
	}
	return strconv.ParseUint(h.Header.Height, 10, 64)
}

// parallel runs f(i) for i in [0, n) concurrently and waits.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); f(i) }()
	}
	wg.Wait()
}
