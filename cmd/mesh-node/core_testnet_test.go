//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/crypto"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	lightprovider "github.com/cometbft/cometbft/light/provider"
	lighthttp "github.com/cometbft/cometbft/light/provider/http"
	lightdb "github.com/cometbft/cometbft/light/store/db"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/internal/freeport"
)

// testnetBlockTime is the block time of the testnets of these tests.
const testnetBlockTime = 200 * time.Millisecond

// A proof-of-stake network made by core testnet (its default), its four
// validators in processes of their own: one stopped, it keeps producing
// blocks; two stopped, it halts; both restarted, it resumes without a
// fork. A fifth node made by core init --genesis (the genesis core
// export-genesis printed) syncs it, is funded by a transfer and becomes a
// validator with a create-validator transaction: every node's CometBFT
// set lists it, and with an original validator stopped the chain goes on
// only because it signs. A copy of validator3's home (its key, a fresh
// node key and signing state) runs beside it, so the key signs twice:
// the evidence is on chain, validator3 is slashed, jailed and leaves the
// set. Stock CometBFT's light client, trusting block 1 only, verifies
// the headers after each of the two set changes. A bridge following
// validator0 (never stopped), and a full and a light node bootstrapped
// from it, each a process of its own, follow throughout: once started
// and at the end, their heads and the light and full node's sampled
// heads are within two blocks of the chain's, and they hold the chain's
// headers at the halt and at both set changes.
func TestCoreTestnet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "net")
	base, err := freeport.Range(6*validator.TestnetPortStride+daPorts, false)
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
	// validator0 runs throughout: the bridge follows it.
	da := startDANodes(ctx, t, "testnet-test", strings.Replace(field(t, out, "validator0_rpc"), "tcp://", "http://", 1), base+6*validator.TestnetPortStride)
	waitFollowing(ctx, t, clients[0], da)

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

	all := append(append([]*rpchttp.HTTP{}, clients...), jc)
	net := &posNet{t: t, ctx: ctx, chainID: "testnet-test", genesis: genesis}
	joinSet := net.createValidator(procs[0].home, joinHome, jc, all)
	t.Logf("the fifth node is a validator in every node's set from height %d", joinSet)

	// With validator1 stopped, 3 000 of 5 000 power is too little without
	// the fifth validator's votes.
	procs[1].stop(t)
	h = height(ctx, clients[0])
	up := []*rpchttp.HTTP{clients[0], clients[2], clients[3], jc}
	waitHeights(ctx, t, up, h+5, procs[0], procs[2], procs[3], joiner)
	procs[1] = startCoreProc(t, procs[1].home)
	t.Logf("with validator1 stopped the chain went on from %d to %d on the fifth validator's votes", h, h+5)

	// Double signing: validator3's key in a second process.
	copyHome := copyValidatorHome(t, procs[3].home)
	copyBase := base + 5*validator.TestnetPortStride
	double := startCoreProc(t, copyHome, "--p2p.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", copyBase),
		"--rpc.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", copyBase+1))
	slashedSet := net.waitDoubleSign(procs[3].home, field(t, out, "validator3_account"), clients[0], all)
	double.stop(t)
	t.Logf("validator3 signed twice: evidence on chain, slashed, jailed and out of the set from height %d", slashedSet)

	// The light client, trusting block 1, verifies across both changes.
	running := append(append([]*coreProc{}, procs...), joiner)
	waitHeights(ctx, t, all, slashedSet+1, running...)
	net.verifyLight(clients[0], clients[2], map[int64][]string{joinSet: {net.joiner}, slashedSet: {net.joiner}}, net.doubleSigner)
	waitFollowing(ctx, t, clients[0], da, halted, joinSet, slashedSet)
	for _, n := range slices.Backward(da) {
		n.proc.stop(t)
	}
	for _, p := range running {
		p.stop(t)
	}
}

// posNet is the proof-of-stake network of TestCoreTestnet, as its RPC
// clients see it.
type posNet struct {
	t       *testing.T
	ctx     context.Context
	chainID string
	genesis string // genesis.json
	// joiner and doubleSigner are the consensus addresses of the fifth
	// validator and of validator3, once known.
	joiner, doubleSigner string
}

// params are the genesis tx params.
func (n *posNet) params() tx.Params {
	_, g := readGenesis(n.t, n.genesis)
	return g.Params
}

// send signs m with the dev key of home at its account's nonce and
// broadcasts it through c, waiting until it is committed.
func (n *posNet) send(home string, c *rpchttp.HTTP, m func(tx.Address) tx.Msg) {
	n.t.Helper()
	k, err := validator.Keyring(home).Get(validator.DevKeyName)
	if err != nil {
		n.t.Fatal(err)
	}
	nonce := coretest.Account(n.ctx, n.t, c, k.Address).Nonce
	coretest.Broadcast(n.ctx, n.t, c, txtest.SignedTx(n.t, n.chainID, k.Priv, nonce, n.params(), m(k.Address)))
}

// consensusKey is the public key in home's priv_validator_key.json.
func consensusKey(t *testing.T, home string) crypto.PubKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	return k.PubKey
}

// createValidator funds joinHome's dev key from funderHome's and sends
// its create-validator transaction (self-bond 10^9: power 1 000, as each
// genesis validator) through jc, the joined node; it waits until every
// node's CometBFT set holds the new validator and a block's last commit
// carries its signature, and returns the first height of the new set.
func (n *posNet) createValidator(funderHome, joinHome string, jc *rpchttp.HTTP, all []*rpchttp.HTTP) int64 {
	n.t.Helper()
	jKey, err := validator.Keyring(joinHome).Get(validator.DevKeyName)
	if err != nil {
		n.t.Fatal(err)
	}
	n.send(funderHome, jc, func(from tx.Address) tx.Msg { return &tx.MsgSend{From: from, To: jKey.Address, Amount: 2e9} })
	pk := consensusKey(n.t, joinHome)
	n.joiner = pk.Address().String()
	n.send(joinHome, jc, func(op tx.Address) tx.Msg {
		return &tx.MsgCreateValidator{Operator: op, PubKey: pk.Bytes(), SelfBond: 1e9, Rate: 1e17, MaxRate: 2e17, MaxChangeRate: 1e16, Moniker: "joiner"}
	})
	var from int64
	coretest.WaitUntil(n.ctx, n.t, "the fifth validator in every node's set", func() bool {
		for _, c := range all {
			h, powers := n.powers(c)
			if powers[n.joiner] != 1000 || len(powers) != 5 {
				return false
			}
			if from == 0 || h < from {
				from = h
			}
		}
		return true
	})
	// The set holds it from some height at or before from: find the first.
	for from > 1 {
		if p := n.powersAt(all[0], from-1); p[n.joiner] == 0 {
			break
		}
		from--
	}
	coretest.WaitUntil(n.ctx, n.t, "a commit signed by the fifth validator", func() bool {
		top := height(n.ctx, all[0])
		for h := from; h <= top; h++ {
			c, err := all[0].Commit(n.ctx, &h)
			if err != nil {
				return false
			}
			for _, sig := range c.Commit.Signatures {
				if sig.BlockIDFlag == cmttypes.BlockIDFlagCommit && sig.ValidatorAddress.String() == n.joiner {
					return true
				}
			}
		}
		return false
	})
	return from
}

// powers is c's validator set at its latest height: that height and the
// power of each consensus address.
func (n *posNet) powers(c *rpchttp.HTTP) (int64, map[string]int64) {
	res, err := c.Validators(n.ctx, nil, nil, nil)
	if err != nil {
		return 0, nil
	}
	out := map[string]int64{}
	for _, v := range res.Validators {
		out[v.Address.String()] = v.VotingPower
	}
	return res.BlockHeight, out
}

// powersAt is c's validator set at height h.
func (n *posNet) powersAt(c *rpchttp.HTTP, h int64) map[string]int64 {
	n.t.Helper()
	res, err := c.Validators(n.ctx, &h, nil, nil)
	if err != nil {
		n.t.Fatalf("validators at %d: %v", h, err)
	}
	out := map[string]int64{}
	for _, v := range res.Validators {
		out[v.Address.String()] = v.VotingPower
	}
	return out
}

// copyValidatorHome copies home's config (its validator key included) to
// a new home with a node key and signing state of its own, for a second
// process signing with the same key.
func copyValidatorHome(t *testing.T, home string) string {
	t.Helper()
	dst := t.TempDir()
	for _, d := range []string{"config", "data"} {
		if err := os.MkdirAll(filepath.Join(dst, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"config.toml", "genesis.json", "priv_validator_key.json", "blobstream_key.json"} {
		data, err := os.ReadFile(filepath.Join(home, "config", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, "config", f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := validator.LoadConfig(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile()); err != nil {
		t.Fatal(err)
	}
	var k privval.FilePVKey
	data, _ := os.ReadFile(conf.PrivValidatorKeyFile())
	if err := cmtjson.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	privval.NewFilePV(k.PrivKey, conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile()).Save()
	return dst
}

// waitDoubleSign waits until a block holds duplicate-vote evidence
// against the validator of home (operated by account), then until c's
// set no longer holds it and the staking query says it is jailed with
// 5% of its stake slashed; it returns the first height of the set
// without it.
func (n *posNet) waitDoubleSign(home, account string, c *rpchttp.HTTP, all []*rpchttp.HTTP) int64 {
	n.t.Helper()
	n.doubleSigner = consensusKey(n.t, home).Address().String()
	next := height(n.ctx, c)
	var evidenceAt int64
	coretest.WaitUntil(n.ctx, n.t, "duplicate-vote evidence on chain", func() bool {
		for top := height(n.ctx, c); next <= top; next++ {
			h := next
			b, err := c.Block(n.ctx, &h)
			if err != nil {
				return false
			}
			for _, ev := range b.Block.Evidence.Evidence {
				if dv, ok := ev.(*cmttypes.DuplicateVoteEvidence); ok && dv.VoteA.ValidatorAddress.String() == n.doubleSigner {
					evidenceAt = h
					return true
				}
			}
		}
		return false
	})
	var gone int64
	coretest.WaitUntil(n.ctx, n.t, "the double signer out of every node's set", func() bool {
		for _, cl := range all {
			h, powers := n.powers(cl)
			if powers == nil || powers[n.doubleSigner] != 0 {
				return false
			}
			if gone == 0 || h < gone {
				gone = h
			}
		}
		return true
	})
	for gone > evidenceAt {
		if p := n.powersAt(c, gone-1); p[n.doubleSigner] != 0 {
			break
		}
		gone--
	}
	op, err := tx.ParseAddress(account)
	if err != nil {
		n.t.Fatal(err)
	}
	q, _ := json.Marshal(tx.StakingQuery{Validator: &op})
	res, err := c.ABCIQuery(n.ctx, tx.StakingValidatorQueryPath, q)
	if err != nil || res.Response.Code != tx.CodeOK {
		n.t.Fatalf("query validator3: %v %+v", err, res)
	}
	var v tx.QueryValidatorResponse
	if err := json.Unmarshal(res.Response.Value, &v); err != nil {
		n.t.Fatal(err)
	}
	if !v.Validator.Jailed || v.Validator.Tokens != "950000000" || v.Validator.Power != 0 {
		n.t.Fatalf("validator3 after its double sign at %d: jailed %v, tokens %s, power %d; want jailed, 950000000 (5%% slashed), 0",
			evidenceAt, v.Validator.Jailed, v.Validator.Tokens, v.Validator.Power)
	}
	return gone
}

// verifyLight runs CometBFT's light client with primary and a witness,
// trusting block 1 only, and verifies the header at each height of sets:
// its validator set must hold the addresses listed and not absent.
func (n *posNet) verifyLight(primary, witness *rpchttp.HTTP, sets map[int64][]string, absent string) {
	n.t.Helper()
	one := int64(1)
	c1, err := primary.Commit(n.ctx, &one)
	if err != nil {
		n.t.Fatal(err)
	}
	provider := func(c *rpchttp.HTTP) lightprovider.Provider {
		return lighthttp.NewWithClient(n.chainID, c)
	}
	lc, err := light.NewClient(n.ctx, n.chainID, light.TrustOptions{Period: time.Hour, Height: 1, Hash: c1.SignedHeader.Hash()},
		provider(primary), []lightprovider.Provider{provider(witness)}, lightdb.New(dbm.NewMemDB(), n.chainID), light.Logger(cmtlog.NewNopLogger()))
	if err != nil {
		n.t.Fatal(err)
	}
	heights := make([]int64, 0, len(sets))
	for h := range sets {
		heights = append(heights, h)
	}
	slices.Sort(heights)
	for _, h := range heights {
		lb, err := lc.VerifyLightBlockAtHeight(n.ctx, h, time.Now())
		if err != nil {
			n.t.Fatalf("light client: verify height %d: %v", h, err)
		}
		if want, _ := primary.Block(n.ctx, &h); want == nil || !bytes.Equal(lb.Hash(), want.BlockID.Hash) {
			n.t.Fatalf("light client: header %d %X differs from the node's", h, lb.Hash())
		}
		for _, a := range sets[h] {
			if _, v := lb.ValidatorSet.GetByAddress(addrBytes(n.t, a)); v == nil {
				n.t.Fatalf("light client: the set at %d lacks %s", h, a)
			}
		}
		if h == heights[len(heights)-1] {
			if _, v := lb.ValidatorSet.GetByAddress(addrBytes(n.t, absent)); v != nil {
				n.t.Fatalf("light client: the set at %d still holds %s", h, absent)
			}
		}
	}
	n.t.Logf("the light client verified heights %v from a trusted block 1", heights)
}

func addrBytes(t *testing.T, hexAddr string) []byte {
	t.Helper()
	b, err := hex.DecodeString(hexAddr)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
		{"want pos or poa", []string{"--consensus", "pow"}},
		{"applies to --consensus pos only", []string{"--consensus", "poa", "--max-validators", "3"}},
		{"max validators 0", []string{"--max-validators", "0"}},
		{"want whole seconds", []string{"--unbonding-time", "-1s"}},
		{"insufficient", []string{"--balance", "10", "--self-bond", "1000000"}},
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
	// Proof of stake by default, proof of authority on request.
	for consensus, dir := range map[string]string{"": dir, "poa": filepath.Join(t.TempDir(), "poa")} {
		if consensus != "" {
			mustRun(ctx, t, "core", "testnet", "--validators", "2", "--output", dir, "--consensus", consensus)
		}
		doc, g := readGenesis(t, filepath.Join(dir, "validator1", "config", "genesis.json"))
		if g.IsPoS() != (consensus == "") || doc.Validators[1].Power != map[bool]int64{true: validator.DefaultSelfBond / 1e6, false: validator.ValidatorPower}[g.IsPoS()] {
			t.Fatalf("--consensus %q: consensus %q, power %d", consensus, g.Consensus, doc.Validators[1].Power)
		}
	}
}

// coreProc is a mesh-node command (core start, or a bridge, full or
// light node's start) in a process of its own (this test binary running
// the command line: TestMain), in its own process group.
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
	return startProc(t, home, append([]string{"core", "start", "--home", home, "--log.level", "error"}, args...)...)
}

// startProc starts mesh-node args, a command on home, with its standard
// output discarded; at cleanup its process group is killed if it still
// runs.
func startProc(t *testing.T, home string, args ...string) *coreProc {
	t.Helper()
	p := &coreProc{home: home, exited: make(chan error, 1), log: filepath.Join(t.TempDir(), "stderr.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(os.Args[0], args...)
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

// String names the process by its command line, "core start --home H".
func (p *coreProc) String() string { return strings.Join(p.cmd.Args[1:min(4, len(p.cmd.Args))], " ") }

// stop interrupts the process and waits for it to exit cleanly.
func (p *coreProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("%s: %v\n%s", p, err, p.logTail())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit within 30s of SIGINT", p)
	}
}

// failIfExited fails t if the process has exited.
func (p *coreProc) failIfExited(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("%s exited: %v\n%s", p, err, p.logTail())
	default:
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
			p.failIfExited(t)
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
