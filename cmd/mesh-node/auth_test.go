package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datamesh/mesh-node/api"
	"github.com/datamesh/mesh-node/nodebuilder"
)

func TestAuthAndConfigFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	wantErr(ctx, t, "not initialised", "light", "auth", "read", "--home", home)
	peer := "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
	wantErr(ctx, t, "rpc.port", "light", "init", "--home", home, "--chain-id", "c", "--bootstrap", peer, "--rpc.port", "70000")
	wantErr(ctx, t, "log.level", "light", "init", "--home", home, "--chain-id", "c", "--bootstrap", peer, "--log.level", "das=loud")
	wantErr(ctx, t, "differ", "light", "init", "--home", home, "--chain-id", "c", "--p2p.network", "d", "--bootstrap", peer)
	out := mustRun(ctx, t, "light", "init", "--home", home, "--p2p.network", "c", "--bootstrap", peer,
		"--rpc.port", "0", "--rpc.skip-auth", "--metrics.addr", "127.0.0.1:0", "--log.level", "info,das=debug", "--core.rpc", "http://127.0.0.1:1")
	if !strings.HasPrefix(field(t, out, "account"), "mesh1") {
		t.Fatalf("light init prints no account:\n%s", out)
	}
	conf, err := nodebuilder.LoadConfig(home, nodebuilder.Light)
	if err != nil {
		t.Fatal(err)
	}
	if conf.ChainID != "c" || conf.RPC.Port != 0 || !conf.RPC.SkipAuth || conf.Metrics.Address != "127.0.0.1:0" ||
		conf.Log.Level != "info,das=debug" || conf.Core.RPC != "http://127.0.0.1:1" {
		t.Fatalf("config.toml does not hold the init flags: %+v", conf)
	}
	wantErr(ctx, t, "initialised for", "light", "start", "--home", home, "--p2p.network", "other")

	wantErr(ctx, t, "unknown permission", "light", "auth", "root", "--home", home)
	for _, tc := range []struct {
		perm string
		want []api.Permission
	}{{"read", []api.Permission{api.PermRead}}, {"write", []api.Permission{api.PermRead, api.PermWrite}}, {"admin", api.AllPerms()}} {
		token := strings.TrimSpace(mustRun(ctx, t, "light", "auth", tc.perm, "--home", home, "--ttl", "1h"))
		secret, err := os.ReadFile(filepath.Join(home, nodebuilder.SecretFile))
		if err != nil {
			t.Fatal(err)
		}
		perms, err := api.VerifyToken(secret, token)
		if err != nil || !slices.Equal(perms, tc.want) {
			t.Fatalf("auth %s: token grants %v (%v), want %v", tc.perm, perms, err, tc.want)
		}
	}
}
