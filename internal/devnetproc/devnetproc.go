// Package devnetproc runs `mesh-node devnet`, built from this checkout, in a
// process of its own, for test suites that drive it from outside: the
// interop modules (interop/ethereum, interop/kubo), which link
// third-party clients the main module must not depend on. It is test
// support: it builds with the go command on PATH.
package devnetproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Info is the part of mesh-node's devnet.json the suites read.
type Info struct {
	ChainID string          `json:"chain_id"`
	Nodes   map[string]Node `json:"nodes"`
	// Accounts are the funded keys by name, as bech32 addresses.
	Accounts map[string]string `json:"accounts"`
}

// Node is how to reach one devnet node.
type Node struct {
	RPC   string   `json:"rpc"`
	Token string   `json:"token"`
	P2P   []string `json:"p2p"`
	// Gateway is the dataset gateway's URL (bridge and full nodes).
	Gateway string `json:"gateway,omitempty"`
}

// Devnet is a running `mesh-node devnet`.
type Devnet struct {
	Info Info
	// Bin is the mesh-node binary the devnet runs, for CLI commands.
	Bin string
	// Log is the file the devnet's standard error goes to.
	Log string
	// Home is the devnet's home (--home), holding devnet.json.
	Home   string
	cmd    *exec.Cmd
	exited chan error
}

// Timeouts of Start and Stop.
const (
	readyTimeout = 3 * time.Minute
	stopTimeout  = time.Minute
)

// Start builds mesh-node from the module at root (the repository's root
// directory) into dir, runs `mesh-node devnet` with a home in dir, free
// ports and 200 ms blocks, and returns once it prints "devnet ready", with
// its devnet.json read. extra are more `mesh-node devnet` flags, after
// those (a later --block-time wins). On error nothing is left running; the
// error carries the tail of the devnet's log.
func Start(root, dir string, extra ...string) (*Devnet, error) {
	bin := filepath.Join(dir, "mesh-node")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mesh-node")
	build.Dir = root
	// The main module builds with its own go.mod and checksums, whatever
	// the calling suite's environment says.
	build.Env = append(os.Environ(), "GOFLAGS=", "GONOSUMDB=")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("devnetproc: build mesh-node: %w\n%s", err, out)
	}

	home := filepath.Join(dir, "devnet")
	d := &Devnet{Bin: bin, Log: filepath.Join(dir, "devnet.log"), Home: home, exited: make(chan error, 1)}
	args := append([]string{"devnet", "--home", home, "--base-port", "0", "--block-time", "200ms"}, extra...)
	d.cmd = exec.Command(bin, args...)
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(d.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d.cmd.Stderr = logf
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("devnetproc: start devnet: %w", err)
	}
	go func() { d.exited <- d.cmd.Wait() }()

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
	case err = <-d.exited:
		err = fmt.Errorf("devnet exited before it was ready: %v", err)
	case <-time.After(readyTimeout):
		err = fmt.Errorf("devnet not ready within %v", readyTimeout)
	}
	if err == nil {
		var raw []byte
		if raw, err = os.ReadFile(filepath.Join(home, "devnet.json")); err == nil {
			err = json.Unmarshal(raw, &d.Info)
		}
		if err != nil {
			err = fmt.Errorf("devnet.json: %w", err)
		}
	}
	if err != nil {
		_ = d.Stop()
		log, _ := os.ReadFile(d.Log)
		return nil, fmt.Errorf("devnetproc: %w\ndevnet log:\n%s", err, tail(log, 4000))
	}
	return d, nil
}

// Stop interrupts the devnet and waits for it to exit; it kills it if it
// has not exited a minute after the interrupt.
func (d *Devnet) Stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-d.exited:
		return err
	case <-time.After(stopTimeout):
		_ = d.cmd.Process.Kill()
		return errors.New("devnetproc: devnet did not exit within a minute of SIGINT; killed")
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Run is Start for a test: it builds from the module at root, runs the
// devnet in a temporary directory of t, stops it when t ends (an error
// stopping it fails t), and fails t if the devnet does not start. extra
// are passed to Start.
func Run(t testing.TB, root string, extra ...string) *Devnet {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(abs, t.TempDir(), extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("devnet stop: %v", err)
		}
	})
	return d
}
