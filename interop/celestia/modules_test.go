package celestia_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/celestiaorg/celestia-node/api/rpc/client"
	"github.com/celestiaorg/celestia-node/api/rpc/perms"
	"github.com/celestiaorg/celestia-node/nodebuilder/node"
	"github.com/celestiaorg/celestia-node/state"
	libshare "github.com/celestiaorg/go-square/v4/share"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/bech32"
	"github.com/filecoin-project/go-jsonrpc/auth"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func TestDASModule(t *testing.T) {
	p := postedBlobs(t)
	for _, mode := range []string{"full", "light"} {
		for _, tr := range transports {
			t.Run(mode+"/"+tr, func(t *testing.T) {
				ctx := testCtx(t)
				c := newClient(t, mode, tr)
				if err := c.DAS.WaitCatchUp(ctx); err != nil {
					t.Fatalf("WaitCatchUp: %v", err)
				}
				stats, err := c.DAS.SamplingStats(ctx)
				if err != nil {
					t.Fatalf("SamplingStats: %v", err)
				}
				if !stats.IsRunning || stats.NetworkHead < p.height || stats.SampledChainHead < p.height {
					t.Fatalf("SamplingStats after WaitCatchUp past %d: %+v", p.height, stats)
				}
			})
		}
	}
}

func TestNodeModule(t *testing.T) {
	want := map[string]node.Type{"bridge": node.Bridge, "light": node.Light}
	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		info, err := c.Node.Info(ctx)
		if mode == "full" {
			// celestia-node v0.32 knows only bridge and light nodes; a full
			// node says "Full", which its client cannot decode (docs/api.md).
			if err == nil || !strings.Contains(err.Error(), "Full") {
				t.Fatalf("full node's Info through v0.32.1's client = %+v, %v; want a decode error naming \"Full\"", info, err)
			}
		} else if err != nil {
			t.Fatalf("Info: %v", err)
		} else if info.Type != want[mode] || info.APIVersion == "" {
			t.Fatalf("Info = %+v, want type %v and an api_version", info, want[mode])
		}
		ready, err := c.Node.Ready(ctx)
		if err != nil || !ready {
			t.Fatalf("Ready = %v, %v", ready, err)
		}
		tok, err := c.Node.AuthNew(ctx, []auth.Permission{"read"})
		if err != nil {
			t.Fatalf("AuthNew: %v", err)
		}
		got, err := c.Node.AuthVerify(ctx, string(tok))
		if err != nil || !slices.Equal(got, []auth.Permission{"read"}) {
			t.Fatalf("AuthVerify(read token) = %v, %v", got, err)
		}
		tok, err = c.Node.AuthNewWithExpiry(ctx, perms.ReadWritePerms, time.Hour)
		if err != nil {
			t.Fatalf("AuthNewWithExpiry: %v", err)
		}
		got, err = c.Node.AuthVerify(ctx, string(tok))
		if err != nil || !slices.Equal(got, perms.ReadWritePerms) {
			t.Fatalf("AuthVerify(read-write token) = %v, %v", got, err)
		}
		// A read token reads and cannot write, through the same client.
		n := dn.Nodes[mode]
		rc, err := client.NewClient(ctx, n.RPC, string(tok))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, err := rc.Header.LocalHead(ctx); err != nil {
			t.Fatalf("LocalHead with a read-write token: %v", err)
		}
		if _, err := rc.Node.Info(ctx); err == nil || !strings.Contains(err.Error(), "missing permission") {
			t.Fatalf("node.Info with a read-write token: %v, want a missing permission error", err)
		}
		if err := c.Node.LogLevelSet(ctx, "das", "debug"); err != nil {
			t.Fatalf("LogLevelSet: %v", err)
		}
		if err := c.Node.LogLevelSet(ctx, "das", "error"); err != nil {
			t.Fatalf("LogLevelSet: %v", err)
		}
		if err := c.Node.LogLevelSet(ctx, "das", "loud"); err == nil {
			t.Fatal("LogLevelSet(\"loud\") accepted")
		}
	})
}

func TestP2PModule(t *testing.T) {
	ids := map[string]peer.AddrInfo{}
	for _, mode := range modes {
		info, err := newClient(t, mode, "http").P2P.Info(testCtx(t))
		if err != nil {
			t.Fatalf("%s: Info: %v", mode, err)
		}
		ids[mode] = info
	}
	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		self, err := c.P2P.Info(ctx)
		if err != nil || self.ID != ids[mode].ID || len(self.Addrs) == 0 {
			t.Fatalf("Info = %v, %v", self, err)
		}
		other := ids["bridge"]
		if mode == "bridge" {
			other = ids["full"]
		}
		if err := c.P2P.Connect(ctx, other); err != nil {
			t.Fatalf("Connect(%s): %v", other.ID, err)
		}
		peers, err := c.P2P.Peers(ctx)
		if err != nil || !slices.Contains(peers, other.ID) {
			t.Fatalf("Peers = %v, %v; want %s among them", peers, err, other.ID)
		}
		pi, err := c.P2P.PeerInfo(ctx, other.ID)
		if err != nil || pi.ID != other.ID || len(pi.Addrs) == 0 {
			t.Fatalf("PeerInfo = %v, %v", pi, err)
		}
		conn, err := c.P2P.Connectedness(ctx, other.ID)
		if err != nil || conn != network.Connected {
			t.Fatalf("Connectedness = %v, %v", conn, err)
		}
		net, err := c.P2P.Network(ctx)
		if err != nil || string(net) != dn.ChainID {
			t.Fatalf("Network = %q, %v", net, err)
		}
		if _, err := c.P2P.NATStatus(ctx); err != nil {
			t.Fatalf("NATStatus: %v", err)
		}
		if err := c.P2P.Protect(ctx, other.ID, "interop"); err != nil {
			t.Fatalf("Protect: %v", err)
		}
		if ok, err := c.P2P.IsProtected(ctx, other.ID, "interop"); err != nil || !ok {
			t.Fatalf("IsProtected after Protect = %v, %v", ok, err)
		}
		if _, err := c.P2P.Unprotect(ctx, other.ID, "interop"); err != nil {
			t.Fatalf("Unprotect: %v", err)
		}
		if ok, err := c.P2P.IsProtected(ctx, other.ID, "interop"); err != nil || ok {
			t.Fatalf("IsProtected after Unprotect = %v, %v", ok, err)
		}
		rtt, err := c.P2P.Ping(ctx, other.ID)
		if err != nil || rtt <= 0 {
			t.Fatalf("Ping = %v, %v", rtt, err)
		}
		bw, err := c.P2P.BandwidthStats(ctx)
		if err != nil || bw.TotalIn == 0 || bw.TotalOut == 0 {
			t.Fatalf("BandwidthStats = %+v, %v", bw, err)
		}
		if _, err := c.P2P.BandwidthForPeer(ctx, other.ID); err != nil {
			t.Fatalf("BandwidthForPeer: %v", err)
		}
		if _, err := c.P2P.BandwidthForProtocol(ctx, "/ipfs/ping/1.0.0"); err != nil {
			t.Fatalf("BandwidthForProtocol: %v", err)
		}
		if _, err := c.P2P.ResourceState(ctx); err != nil {
			t.Fatalf("ResourceState: %v", err)
		}
		topics, err := c.P2P.PubSubTopics(ctx)
		if err != nil || len(topics) == 0 {
			t.Fatalf("PubSubTopics = %v, %v", topics, err)
		}
		if _, err := c.P2P.PubSubPeers(ctx, topics[0]); err != nil {
			t.Fatalf("PubSubPeers(%s): %v", topics[0], err)
		}
		cs, err := c.P2P.ConnectionState(ctx, other.ID)
		if err != nil || len(cs) == 0 {
			t.Fatalf("ConnectionState = %v, %v", cs, err)
		}

		// Block a peer the node does not otherwise need: the light node
		// (the bridge and full node keep their own links to each other).
		if mode != "light" {
			victim := ids["light"].ID
			if err := c.P2P.BlockPeer(ctx, victim); err != nil {
				t.Fatalf("BlockPeer: %v", err)
			}
			blocked, err := c.P2P.ListBlockedPeers(ctx)
			if err != nil || !slices.Contains(blocked, victim) {
				t.Fatalf("ListBlockedPeers = %v, %v", blocked, err)
			}
			if err := c.P2P.UnblockPeer(ctx, victim); err != nil {
				t.Fatalf("UnblockPeer: %v", err)
			}
			blocked, err = c.P2P.ListBlockedPeers(ctx)
			if err != nil || slices.Contains(blocked, victim) {
				t.Fatalf("ListBlockedPeers after Unblock = %v, %v", blocked, err)
			}
			if err := c.P2P.ClosePeer(ctx, victim); err != nil {
				t.Fatalf("ClosePeer: %v", err)
			}
		}
	})
}

// TestStateModule drives the state module. celestia-node's client decodes
// and encodes addresses through the Cosmos SDK's process-wide bech32 prefix,
// which celestia-app seals to "celestia": it cannot decode our mesh1…
// answer to AccountAddress (a documented design difference), and it names
// accounts as celestia1…, which the node takes as the same 20 bytes.
func TestStateModule(t *testing.T) {
	devAddr := accAddress(t, dn.Accounts["dev"])
	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		if addr, err := c.State.AccountAddress(ctx); err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Fatalf("AccountAddress through celestia-node's client = %v, %v; want its bech32 prefix error", addr, err)
		}
		bal, err := c.State.Balance(ctx)
		if err != nil || !bal.Amount.IsPositive() || bal.Denom == "" {
			t.Fatalf("Balance = %v, %v", bal, err)
		}
		own, err := c.State.BalanceForAddress(ctx, state.Address{Address: accAddress(t, dn.Accounts[mode])})
		if err != nil || !own.Equal(*bal) {
			t.Fatalf("BalanceForAddress(own) = %v, %v; Balance said %v", own, err, bal)
		}
		before, err := c.State.BalanceForAddress(ctx, state.Address{Address: devAddr})
		if err != nil {
			t.Fatalf("BalanceForAddress(dev): %v", err)
		}
		resp, err := c.State.Transfer(ctx, devAddr, sdkmath.NewInt(1000), txConfig())
		if err != nil || resp.Code != 0 || resp.Height == 0 || resp.TxHash == "" {
			t.Fatalf("Transfer = %+v, %v", resp, err)
		}
		after, err := c.State.BalanceForAddress(ctx, state.Address{Address: devAddr})
		if err != nil {
			t.Fatalf("BalanceForAddress(dev): %v", err)
		}
		// Subtests run one after another, so the increase is this transfer.
		if !after.Amount.Sub(before.Amount).Equal(sdkmath.NewInt(1000)) {
			t.Fatalf("dev balance %v -> %v after a transfer of 1000", before.Amount, after.Amount)
		}
		ns, err := libshare.NewV0Namespace([]byte("pfb-" + mode))
		if err != nil {
			t.Fatal(err)
		}
		b, err := libshare.NewV0Blob(ns, []byte("through state.SubmitPayForBlob"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err = c.State.SubmitPayForBlob(ctx, []*libshare.Blob{b}, txConfig())
		if err != nil || resp.Code != 0 || resp.Height == 0 {
			t.Fatalf("SubmitPayForBlob = %+v, %v", resp, err)
		}
	})
}

// accAddress is the account of a mesh1… address, whatever the SDK's prefix.
func accAddress(t *testing.T, bech string) sdk.AccAddress {
	t.Helper()
	hrp, b, err := bech32.DecodeAndConvert(bech)
	if err != nil || hrp != "mesh" || len(b) != 20 {
		t.Fatalf("devnet account %q: %q, %d bytes, %v", bech, hrp, len(b), err)
	}
	return sdk.AccAddress(b)
}
