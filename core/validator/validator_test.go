package validator_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/validator"
)

// loopbackConfig reads home's config with P2P and RPC on free loopback
// ports, or RPC on rpcAddr when it is not empty.
func loopbackConfig(t *testing.T, home, rpcAddr string) *cfg.Config {
	t.Helper()
	conf, err := validator.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	conf.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", coretest.FreePort(t))
	if rpcAddr == "" {
		rpcAddr = fmt.Sprintf("127.0.0.1:%d", coretest.FreePort(t))
	}
	conf.RPC.ListenAddress = "tcp://" + rpcAddr
	return conf
}

func client(t *testing.T, n *validator.Node) *rpchttp.HTTP {
	t.Helper()
	c, err := rpchttp.New(n.RPCURL(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Init puts the dev key it funds in the home's keyring; a second Init is
// refused with ErrInitialised, and bad options before anything is written.
func TestInit(t *testing.T) {
	home := t.TempDir()
	opts := validator.InitOptions{ChainID: "init-lib", Moniker: "m", BlockTime: time.Second, DevBalance: 5}
	dev, err := validator.Init(home, opts)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := validator.Keyring(home).Get(validator.DevKeyName); err != nil || k.Address != dev {
		t.Fatalf("dev key %+v (%v), Init returned %s", k, err, dev)
	}
	if _, err := validator.Init(home, opts); !errors.Is(err, validator.ErrInitialised) {
		t.Fatalf("second Init: %v, want ErrInitialised", err)
	}
	for name, o := range map[string]validator.InitOptions{
		"zero block time": {ChainID: "c", Moniker: "m"},
		"no moniker":      {ChainID: "c", BlockTime: time.Second},
	} {
		empty := t.TempDir()
		if _, err := validator.Init(empty, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
			t.Errorf("%s: the refused Init wrote %v (%v)", name, entries, err)
		}
	}
}

// Stop closes every database exactly once, also after a failed start, so
// the home starts again and the chain resumes; a second node on a running
// home is refused.
func TestStartStopRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	if _, err := validator.Init(home, validator.InitOptions{ChainID: "restart-lib", Moniker: "r", BlockTime: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	n, err := validator.Start(loopbackConfig(t, home, ""), validator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	coretest.WaitHeight(ctx, t, client(t, n), 3)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := validator.Start(loopbackConfig(t, home, busy.Addr().String()), validator.Options{}); err == nil ||
		!strings.Contains(err.Error(), "start CometBFT node") {
		t.Fatalf("Start with the RPC port in use: %v", err)
	}

	n, err = validator.Start(loopbackConfig(t, home, ""), validator.Options{})
	if err != nil {
		t.Fatalf("Start after a failed start: %v", err)
	}
	defer n.Stop()
	c := client(t, n)
	if h := coretest.Height(ctx, t, c); h < 3 {
		t.Fatalf("the restarted node is at height %d, it had committed 3", h)
	}
	coretest.WaitHeight(ctx, t, c, 5)
	if _, err := validator.Start(loopbackConfig(t, home, ""), validator.Options{}); err == nil ||
		!strings.Contains(err.Error(), "open application database") {
		t.Fatalf("a second node on a running home: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}
