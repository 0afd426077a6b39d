package app_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/secp256k1"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/datamesh/mesh-node/core/coretest"
	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
)

// posClient sends transactions and queries to a proof-of-stake network.
type posClient struct {
	t      *testing.T
	ctx    context.Context
	c      *rpchttp.HTTP
	p      tx.Params
	nonces map[tx.Address]uint64
}

func (pc *posClient) send(key secp256k1.PrivKey, m tx.Msg) int64 {
	pc.t.Helper()
	a := tx.Address(key.PubKey().Address())
	raw := txtest.SignedTx(pc.t, "mesh-pos", key, pc.nonces[a], pc.p, m)
	h := coretest.Broadcast(pc.ctx, pc.t, pc.c, raw)
	pc.nonces[a]++
	return h
}

// query answers path with q at the latest height, returning the height.
func (pc *posClient) query(path string, q tx.StakingQuery, out any) int64 {
	pc.t.Helper()
	data, _ := json.Marshal(q)
	res, err := pc.c.ABCIQuery(pc.ctx, path, data)
	if err != nil || res.Response.Code != tx.CodeOK {
		pc.t.Fatalf("query %s: %v %+v", path, err, res)
	}
	if err := json.Unmarshal(res.Response.Value, out); err != nil {
		pc.t.Fatal(err)
	}
	return res.Response.Height
}

// powers returns CometBFT's validator set at the latest height by
// address.
func (pc *posClient) powers() map[string]int64 {
	pc.t.Helper()
	res, err := pc.c.Validators(pc.ctx, nil, nil, nil)
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	for _, v := range res.Validators {
		out[v.Address.String()] = v.VotingPower
	}
	return out
}

func (pc *posClient) waitPower(what, addr string, want int64) {
	pc.t.Helper()
	coretest.WaitUntil(pc.ctx, pc.t, what, func() bool { return pc.powers()[addr] == want })
}

func decOf(t *testing.T, s string) staking.Dec {
	t.Helper()
	d, err := staking.ParseDec(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPoSNetwork runs four in-process CometBFT validators of a
// proof-of-stake chain (and a full node), with the staking invariants
// checked after every block on each node:
//   - a delegation changes the validator's power in CometBFT's set;
//   - an undelegation returns its tokens at the first block at or after
//     its completion time (5 s of unbonding), not before;
//   - rewards accrue to a delegator by stake less commission: between two
//     heights its rewards grow by 9 × stake/tokens times the commission's
//     growth, at 10% commission;
//   - a fresh consensus key of a full node becomes a validator through
//     MsgCreateValidator and the node signs blocks;
//   - a stopped validator is jailed and slashed for downtime, and its
//     operator's MsgUnjail, after the jail time, brings it back.
func TestPoSNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five CometBFT nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	params := coretest.StakingParams()
	params.MaxValidators = 5
	params.InflationPerBlock = 1_000_000
	vals, g := coretest.StartPoSNetwork(t, "mesh-pos", params, 1e9, 4, "dave", "frank")
	full := coretest.NewValidator(t)
	var peers []string
	for _, v := range vals {
		peers = append(peers, v.P2PAddr())
	}
	full.Config.P2P.PersistentPeers = strings.Join(peers, ",")
	doc, err := os.ReadFile(vals[0].Config.GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full.Config.GenesisFile(), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	full.Start(coretest.CheckInvariants(t))
	pc := &posClient{t: t, ctx: ctx, c: vals[1].Client(), p: g.Params, nonces: map[tx.Address]uint64{}}
	coretest.WaitHeight(ctx, t, pc.c, 2)
	addrOf := func(v *coretest.Validator) string {
		pk, _ := v.PV.GetPubKey()
		return pk.Address().String()
	}
	for _, v := range vals {
		if pw := pc.powers()[addrOf(v)]; pw != 1000 {
			t.Fatalf("genesis power %d, want 1000", pw)
		}
	}

	// Delegation → power.
	dave, daveA := coretest.Key(t, "dave")
	_, op0 := coretest.OperatorKey(t, 0)
	pc.send(dave, &tx.MsgDelegate{Delegator: daveA, Validator: op0, Amount: 1e9})
	pc.waitPower("validator 0 at power 2000", addrOf(vals[0]), 2000)

	// Undelegation returns exactly at the end of the unbonding period.
	h := pc.send(dave, &tx.MsgUndelegate{Delegator: daveA, Validator: op0, Amount: 4e8})
	b, err := pc.c.Block(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	completion := b.Block.Time.Unix() + params.UnbondingTime
	held := coretest.Account(ctx, t, pc.c, daveA).Balance
	type obs struct {
		height  int64
		balance uint64
	}
	var seen []obs
	var doneAt int64
	coretest.WaitUntil(ctx, t, "the unbonding to complete", func() bool {
		res, err := pc.c.ABCIQuery(ctx, tx.AccountQueryPath, []byte(daveA.String()))
		if err != nil || res.Response.Code != 0 {
			return false
		}
		var acc tx.AccountInfo
		if json.Unmarshal(res.Response.Value, &acc) != nil {
			return false
		}
		seen = append(seen, obs{res.Response.Height, acc.Balance})
		return acc.Balance != held
	})
	// The first block at or after completion.
	for x := h + 1; ; x++ {
		coretest.WaitHeight(ctx, t, pc.c, x)
		bx, err := pc.c.Block(ctx, &x)
		if err != nil {
			t.Fatal(err)
		}
		if bx.Block.Time.Unix() >= completion {
			doneAt = x
			break
		}
	}
	for _, o := range seen {
		want := held
		if o.height >= doneAt {
			want = held + 4e8
		}
		if o.balance != want {
			t.Fatalf("at height %d dave holds %d, want %d (completion at %d, block %d)", o.height, o.balance, want, completion, doneAt)
		}
	}
	if last := seen[len(seen)-1]; last.height < doneAt {
		t.Fatalf("tokens returned at %d, before block %d", last.height, doneAt)
	}

	// Rewards: dave (6e8 of validator 0's 1.6e9) against the operator's
	// commission, over the same heights.
	sample := func() (staking.Dec, staking.Dec) {
		for {
			var rw, cm tx.QueryDelegationRewardsResponse
			h1 := pc.query(tx.DistributionRewardsQueryPath, tx.StakingQuery{Delegator: &daveA, Validator: &op0}, &rw)
			h2 := pc.query(tx.DistributionRewardsQueryPath, tx.StakingQuery{Delegator: &op0, Validator: &op0}, &cm)
			if h1 == h2 {
				return decOf(t, rw.Rewards[0].Amount), decOf(t, cm.Commission[0].Amount)
			}
		}
	}
	r1, c1 := sample()
	coretest.WaitHeight(ctx, t, pc.c, coretest.Height(ctx, t, pc.c)+4)
	r2, c2 := sample()
	dr, dc := r2.Sub(r1), c2.Sub(c1)
	if dc.IsZero() {
		t.Fatal("no commission accrued")
	}
	// Δrewards = 0.9 × share × 6/16, Δcommission = 0.1 × share.
	ratio := dr.Quo(dc)
	if want := staking.MustParseDec("3.375"); ratio.Sub(want).Cmp(staking.MustParseDec("0.000001")) > 0 || want.Sub(ratio).Cmp(staking.MustParseDec("0.000001")) > 0 {
		t.Fatalf("rewards grew %s, commission %s: ratio %s, want 3.375", dr, dc, ratio)
	}
	before := coretest.Account(ctx, t, pc.c, daveA).Balance
	pc.send(dave, &tx.MsgWithdrawRewards{Delegator: daveA, Validator: op0})
	fee := g.Params.FixedGas * g.Params.MinGasPrice
	if got := coretest.Account(ctx, t, pc.c, daveA).Balance + fee - before; got < r2.TruncateInt() {
		t.Fatalf("withdrew %d, less than the %s accrued earlier", got, r2)
	}

	// A full node's key becomes a validator's.
	frank, frankA := coretest.Key(t, "frank")
	fullPK, err := full.PV.GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	pc.send(frank, &tx.MsgCreateValidator{Operator: frankA, PubKey: fullPK.Bytes(), SelfBond: 15e8, Rate: 5e16, MaxRate: 1e17, MaxChangeRate: 1e16, Moniker: "frank"})
	pc.waitPower("the new validator in CometBFT's set", addrOf(full), 1500)
	coretest.WaitUntil(ctx, t, "the new validator to sign a commit", func() bool {
		hh := coretest.Height(ctx, t, pc.c)
		c, err := pc.c.Commit(ctx, &hh)
		if err != nil {
			return false
		}
		for _, s := range c.Commit.Signatures {
			if s.ValidatorAddress.String() == addrOf(full) && s.Signature != nil {
				return true
			}
		}
		return false
	})

	// Downtime: stop validator 3 until it is jailed, restart it, unjail.
	vals[3].Stop()
	op3Key, op3 := coretest.OperatorKey(t, 3)
	coretest.WaitUntil(ctx, t, "validator 3 to be jailed", func() bool { _, in := pc.powers()[addrOf(vals[3])]; return !in })
	var v3 tx.QueryValidatorResponse
	pc.query(tx.StakingValidatorQueryPath, tx.StakingQuery{Validator: &op3}, &v3)
	if !v3.Validator.Jailed || v3.Validator.Tokens != "990000000" {
		t.Fatalf("validator 3 after downtime: %+v", v3.Validator)
	}
	vals[3].Start(coretest.CheckInvariants(t))
	jailedAt := time.Now()
	coretest.WaitUntil(ctx, t, "the jail time to pass", func() bool {
		return time.Since(jailedAt) > time.Duration(params.DowntimeJailDuration+1)*time.Second
	})
	pc.send(op3Key, &tx.MsgUnjail{Operator: op3})
	pc.waitPower("validator 3 back in the set", addrOf(vals[3]), 990)
}
