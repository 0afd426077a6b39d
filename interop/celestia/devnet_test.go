package celestia_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/celestiaorg/celestia-node/api/rpc/client"
)

// devnetInfo is the part of mesh-node's devnet.json the suite reads.
type devnetInfo struct {
	ChainID string `json:"chain_id"`
	Nodes   map[string]struct {
		RPC   string   `json:"rpc"`
		Token string   `json:"token"`
		P2P   []string `json:"p2p"`
	} `json:"nodes"`
	Accounts map[string]string `json:"accounts"`
}

// modes are the devnet's node modes, in the order they are started.
var modes = []string{"bridge", "full", "light"}

// transports are the two ways celestia-node's client reaches a node.
var transports = []string{"http", "ws"}

// dn is the devnet every test of the package talks to.
var dn devnetInfo

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "interop-celestia-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	stop, err := startDevnet(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: devnet stop:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// startDevnet builds mesh-node from this checkout, runs `mesh-node devnet`
// with free ports in its own process and reads its devnet.json. stop
// interrupts it and waits for it to exit.
func startDevnet(dir string) (stop func() error, err error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "mesh-node")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mesh-node")
	build.Dir = root
	// The main module builds with its own go.mod and checksums.
	build.Env = append(os.Environ(), "GOFLAGS=", "GONOSUMDB=")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build mesh-node: %w\n%s", err, out)
	}

	home := filepath.Join(dir, "devnet")
	cmd := exec.Command(bin, "devnet", "--home", home, "--base-port", "0", "--block-time", "200ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "devnet.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start devnet: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			return err
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			return errors.New("devnet did not exit within a minute of SIGINT; killed")
		}
	}

	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "devnet ready" {
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("devnet output ended before \"devnet ready\": %v", sc.Err())
	}()
	select {
	case err = <-ready:
	case err = <-exited:
		err = fmt.Errorf("devnet exited before it was ready: %v", err)
	case <-time.After(3 * time.Minute):
		err = errors.New("devnet not ready within 3 minutes")
	}
	if err != nil {
		_ = stop()
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%w\ndevnet log:\n%s", err, tail(log, 4000))
	}
	raw, err := os.ReadFile(filepath.Join(home, "devnet.json"))
	if err == nil {
		err = json.Unmarshal(raw, &dn)
	}
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("devnet.json: %w", err)
	}
	return stop, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// newClient returns celestia-node's client connected to the devnet node of
// mode over transport ("http" or "ws"), with the node's admin token.
func newClient(t *testing.T, mode, transport string) *client.Client {
	t.Helper()
	c, err := dialClient(mode, transport)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// dialClient is newClient for code outside a test; the caller closes it.
func dialClient(mode, transport string) (*client.Client, error) {
	n, ok := dn.Nodes[mode]
	if !ok {
		return nil, fmt.Errorf("devnet.json has no %s node", mode)
	}
	addr := n.RPC
	if transport == "ws" {
		addr = "ws://" + strings.TrimPrefix(addr, "http://")
	}
	// go-jsonrpc ties a WebSocket connection's life to this context: it
	// must outlive the dial.
	c, err := client.NewClient(context.Background(), addr, n.Token)
	if err != nil {
		return nil, fmt.Errorf("celestia-node client for %s over %s: %w", mode, transport, err)
	}
	return c, nil
}

// testCtx is a context for one test's calls.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// forEachClient runs f as a subtest for every mode and transport.
func forEachClient(t *testing.T, f func(t *testing.T, mode string, c *client.Client)) {
	for _, mode := range modes {
		for _, tr := range transports {
			t.Run(mode+"/"+tr, func(t *testing.T) {
				f(t, mode, newClient(t, mode, tr))
			})
		}
	}
}
