package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/secp256k1"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
	"github.com/datamesh/mesh-node/internal/badgerdb/badgertest"
)

const posGenesisTime = 1_800_000_000

// posEnv is an application of a proof-of-stake chain driven block by block
// with the invariants checked after each: n validators operated by
// accounts op0…, each self-bonded with 1e9 (power 1000 at a power
// reduction of 1e6), commission 10%.
type posEnv struct {
	t      testing.TB
	dir    string
	db     *badger.DB
	app    *App
	params tx.Params
	keys   []secp256k1.PrivKey
	addrs  []tx.Address
	cons   []ed25519.PrivKey
	nonces map[tx.Address]uint64
	height int64
	time   int64
	absent map[string]bool // consensus addresses whose votes are absent
	misb   []abci.Misbehavior
	// checkHash makes block check the app hash against one from scratch
	// and the stored state (checkAppHash).
	checkHash bool
}

func posGenesis(t testing.TB, validators, accounts int, mutate func(*staking.Params)) (*Genesis, []secp256k1.PrivKey, []tx.Address, []ed25519.PrivKey) {
	p := DefaultStakingParams()
	p.UnbondingTime = 5
	p.SignedBlocksWindow = 10
	p.MaxValidators = 4
	p.MinSelfBond = 1e6
	p.DowntimeJailDuration = 20
	p.SlashFractionDowntime = staking.MustParseDec("0.01")
	if mutate != nil {
		mutate(&p)
	}
	g := &Genesis{ChainID: testChainID, Params: tx.DefaultParams(), Consensus: ConsensusPoS, Staking: &StakingGenesis{Params: p}}
	var keys []secp256k1.PrivKey
	var addrs []tx.Address
	var cons []ed25519.PrivKey
	for i := range accounts {
		k, a := txtest.Key(t, fmt.Sprint("op", i))
		keys, addrs = append(keys, k), append(addrs, a)
		g.Accounts = append(g.Accounts, GenesisAccount{Address: a, Balance: 1e12})
		if i < validators {
			c := ed25519.GenPrivKeyFromSecret([]byte(fmt.Sprint("cons", i)))
			cons = append(cons, c)
			g.Staking.Validators = append(g.Staking.Validators, GenesisStakeValidator{Operator: a, PubKey: c.PubKey().Bytes(), SelfBond: 1e9,
				Moniker: fmt.Sprint("v", i), CommissionRate: staking.MustParseDec("0.1"), CommissionMaxRate: staking.MustParseDec("0.5"),
				CommissionMaxChangeRate: staking.MustParseDec("0.1")})
		}
	}
	return g, keys, addrs, cons
}

func newPoSEnv(t testing.TB, validators, accounts int, mutate func(*staking.Params)) *posEnv {
	t.Helper()
	g, keys, addrs, cons := posGenesis(t, validators, accounts, mutate)
	e := &posEnv{t: t, dir: t.TempDir(), params: g.Params, keys: keys, addrs: addrs, cons: cons,
		nonces: map[tx.Address]uint64{}, time: posGenesisTime, absent: map[string]bool{}}
	gb, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	e.open()
	res, err := e.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChainID, AppStateBytes: gb,
		InitialHeight: 1, Time: time.Unix(posGenesisTime, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Validators) != min(validators, 4) {
		t.Fatalf("InitChain returned %d validators", len(res.Validators))
	}
	for _, v := range res.Validators {
		if v.Power != 1000 {
			t.Fatalf("genesis validator power %d, want 1000 (1e9 / 1e6)", v.Power)
		}
	}
	return e
}

func (e *posEnv) open() {
	e.db = badgertest.OpenAt(e.t, e.dir)
	e.t.Cleanup(func() { _ = e.db.Close() })
	var err error
	if e.app, err = New(e.db, nil, WithInvariantChecks()); err != nil {
		e.t.Fatal(err)
	}
}

// sign signs m by account i at its next nonce.
func (e *posEnv) sign(i int, m tx.Msg) []byte {
	e.t.Helper()
	a := e.addrs[i]
	raw, err := tx.SignTx(tx.Body{ChainID: testChainID, Nonce: e.nonces[a], Fee: tx.Fee{GasLimit: e.params.FixedGas, GasPrice: e.params.MinGasPrice}, Msg: m}, e.keys[i])
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// votes are the last commit: every validator of the committed set, absent
// ones marked.
func (e *posEnv) votes() []abci.VoteInfo {
	var out []abci.VoteInfo
	for _, v := range e.app.state.Validators() {
		addr := ed25519.PubKey(v.PubKey).Address()
		flag := cmtproto.BlockIDFlagCommit
		if e.absent[string(addr)] {
			flag = cmtproto.BlockIDFlagAbsent
		}
		out = append(out, abci.VoteInfo{Validator: abci.Validator{Address: addr, Power: v.Power}, BlockIdFlag: flag})
	}
	return out
}

// block finalizes and commits txs dt seconds after the last block; each
// executed tx advances its signer's nonce.
func (e *posEnv) block(dt int64, txs ...[]byte) *abci.ResponseFinalizeBlock {
	e.t.Helper()
	e.height++
	e.time += dt
	drt, err := DataRootTx(txs, e.params.MaxSquareSize)
	if err != nil {
		e.t.Fatal(err)
	}
	req := &abci.RequestFinalizeBlock{Txs: append(append([][]byte{}, txs...), drt), Height: e.height, Time: time.Unix(e.time, 0),
		DecidedLastCommit: abci.CommitInfo{Votes: e.votes()}, Misbehavior: e.misb}
	e.misb = nil
	res, err := e.app.FinalizeBlock(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, r := range res.TxResults[:len(txs)] {
		if r.Code == tx.CodeOK {
			t, _, _ := DecodeTx(txs[i])
			s, _ := t.Signer()
			e.nonces[s]++
		}
	}
	if _, err := e.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		e.t.Fatal(err)
	}
	if e.checkHash {
		checkAppHash(e.t, e.app, e.db)
	}
	return res
}

// mustBlock is block with every transaction required to succeed.
func (e *posEnv) mustBlock(dt int64, txs ...[]byte) *abci.ResponseFinalizeBlock {
	e.t.Helper()
	res := e.block(dt, txs...)
	for i, r := range res.TxResults[:len(txs)] {
		if r.Code != tx.CodeOK {
			e.t.Fatalf("height %d tx %d: code %d %s", e.height, i, r.Code, r.Log)
		}
	}
	return res
}

func (e *posEnv) balance(i int) uint64 { return e.app.state.Account(e.addrs[i]).Balance }

func (e *posEnv) query(path string, q tx.StakingQuery, out any) uint32 {
	e.t.Helper()
	data, _ := json.Marshal(q)
	res, err := e.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data})
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Code == tx.CodeOK {
		if err := json.Unmarshal(res.Value, out); err != nil {
			e.t.Fatal(err)
		}
	}
	return res.Code
}

func power(res *abci.ResponseFinalizeBlock, pk []byte) (int64, bool) {
	for _, u := range res.ValidatorUpdates {
		if bytes.Equal(u.PubKey.GetEd25519(), pk) {
			return u.Power, true
		}
	}
	return 0, false
}

func TestPoSGenesisIsChoiceAndPoAUnchanged(t *testing.T) {
	// A proof-of-authority genesis encodes without the new fields, so
	// existing genesis files and their app hashes are unchanged.
	_, a := txtest.Key(t, "alice")
	poa, err := json.Marshal(&Genesis{ChainID: "c", Authority: a, Params: tx.DefaultParams()})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(poa, []byte("consensus")) || bytes.Contains(poa, []byte("staking")) {
		t.Fatalf("PoA genesis encodes staking fields: %s", poa)
	}
	cfg, _ := json.Marshal(NewState(&Genesis{ChainID: "c", Authority: a, Params: tx.DefaultParams()}).Config)
	if bytes.Contains(cfg, []byte("consensus")) || bytes.Contains(cfg, []byte("supply")) {
		t.Fatalf("PoA config encodes staking fields: %s", cfg)
	}

	g, _, _, _ := posGenesis(t, 2, 2, nil)
	for name, mutate := range map[string]func(*Genesis){
		"unknown consensus":     func(g *Genesis) { g.Consensus = "pow" },
		"pos without staking":   func(g *Genesis) { g.Staking = nil },
		"poa with staking":      func(g *Genesis) { g.Consensus = "" },
		"self-bond over funds":  func(g *Genesis) { g.Staking.Validators[0].SelfBond = 2e12 },
		"self-bond below min":   func(g *Genesis) { g.Staking.Validators[0].SelfBond = 1 },
		"no power":              func(g *Genesis) { g.Staking.Params.PowerReduction = 1e10 },
		"poa validators on pos": func(g *Genesis) { g.Validators = []GenesisValidator{{PubKey: make([]byte, 32), Power: 1}} },
	} {
		b, _ := json.Marshal(g)
		var c Genesis
		_ = json.Unmarshal(b, &c)
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidGenesis) {
			t.Errorf("%s: %v", name, err)
		}
	}
	set, err := g.GenesisValidatorSet()
	if err != nil || len(set) != 2 || set[0].Power != 1000 {
		t.Fatalf("genesis set %+v, %v", set, err)
	}
}

func TestPoSRefusesAuthorityUpdatesAndPoARefusesStaking(t *testing.T) {
	e := newPoSEnv(t, 2, 3, nil)
	upd := e.sign(0, &tx.MsgUpdateValidator{PubKey: make([]byte, 32), Power: 5})
	if res := e.block(1, upd); res.TxResults[0].Code != tx.CodeUnauthorized {
		t.Fatalf("MsgUpdateValidator on PoS: %+v", res.TxResults[0])
	}
	p := newTestEnv(t, nil)
	del := txtest.SignedTx(t, testChainID, p.alice, 0, p.params, &tx.MsgDelegate{Delegator: p.aliceA, Validator: p.bobA, Amount: 1})
	if res := p.checkTx(del); res.Code != tx.CodeInvalidMsg || !bytes.Contains([]byte(res.Log), []byte("proof of authority")) {
		t.Fatalf("MsgDelegate on PoA: %+v", res)
	}
}

// TestPoSDelegationFeesRewardsUnbonding: a delegation changes the
// validator's power; fees are paid to validators and delegators (not
// burned); the delegator's rewards are its share less commission; an
// undelegation returns exactly at the first block at or after its
// completion time.
func TestPoSDelegationFeesRewardsUnbonding(t *testing.T) {
	e := newPoSEnv(t, 4, 6, nil)
	e.mustBlock(1)
	val0 := e.addrs[0]
	pk0 := e.cons[0].PubKey().Bytes()
	res := e.mustBlock(1, e.sign(4, &tx.MsgDelegate{Delegator: e.addrs[4], Validator: val0, Amount: 1e9}))
	if pw, ok := power(res, pk0); !ok || pw != 2000 {
		t.Fatalf("after delegating 1e9: updates %+v", res.ValidatorUpdates)
	}
	if e.app.state.ValidatorPower(pk0) != 2000 {
		t.Fatal("the app's validator set does not follow staking")
	}
	// Withdraw once to start from zero, then let one block pay a known
	// fee: validator 0 holds 2000 of 5000 power.
	e.mustBlock(1, e.sign(4, &tx.MsgWithdrawRewards{Delegator: e.addrs[4], Validator: val0}))
	before := e.balance(4)
	fee := e.params.FixedGas * e.params.MinGasPrice
	sends := [][]byte{}
	for i := range 10 {
		sends = append(sends, txtest.SignedTx(t, testChainID, e.keys[5], e.nonces[e.addrs[5]]+uint64(i), e.params,
			&tx.MsgSend{From: e.addrs[5], To: e.addrs[5], Amount: 1}))
	}
	e.mustBlock(1, sends...) // fees collected
	if e.app.state.Fees() != 10*fee {
		t.Fatalf("fees collected %d, want %d", e.app.state.Fees(), 10*fee)
	}
	e.mustBlock(1) // distributed
	var rw tx.QueryDelegationRewardsResponse
	if code := e.query(tx.DistributionRewardsQueryPath, tx.StakingQuery{Delegator: &e.addrs[4], Validator: &val0}, &rw); code != 0 {
		t.Fatalf("rewards query code %d", code)
	}
	// The two blocks distributed the fees of the withdrawal and of the
	// sends. The delegator holds half of validator 0's stake; the
	// validator gets 2/5 of the fees, 10% of which is commission.
	want := staking.NewDec(11 * fee).MulInt(2).QuoInt(5).Mul(staking.MustParseDec("0.9")).QuoInt(2)
	if rw.Rewards[0].Amount != want.String() {
		t.Fatalf("rewards %s, want %s", rw.Rewards[0].Amount, want)
	}
	e.mustBlock(1, e.sign(4, &tx.MsgWithdrawRewards{Delegator: e.addrs[4], Validator: val0}))
	if got := e.balance(4) - before + fee; got != want.TruncateInt() {
		t.Fatalf("withdrew %d, want %d", got, want.TruncateInt())
	}

	// Undelegate: unbonding time 5 s, blocks 1 s apart.
	e.mustBlock(1, e.sign(4, &tx.MsgUndelegate{Delegator: e.addrs[4], Validator: val0, Amount: 4e8}))
	completion := e.time + 5
	var ub tx.QueryUnbondingDelegationResponse
	if code := e.query(tx.StakingUnbondingQueryPath, tx.StakingQuery{Delegator: &e.addrs[4], Validator: &val0}, &ub); code != 0 ||
		len(ub.Unbond.Entries) != 1 || ub.Unbond.Entries[0].CompletionTime.Unix() != completion || ub.Unbond.Entries[0].Balance != "400000000" {
		t.Fatalf("unbonding %+v (code %d)", ub, code)
	}
	held := e.balance(4)
	for e.time+1 < completion {
		e.mustBlock(1)
		if e.balance(4) != held {
			t.Fatalf("tokens returned at %d, before completion %d", e.time, completion)
		}
	}
	e.mustBlock(1)
	if e.time != completion || e.balance(4) != held+4e8 {
		t.Fatalf("at %d (completion %d): balance %d, want %d", e.time, completion, e.balance(4), held+4e8)
	}
	if code := e.query(tx.StakingUnbondingQueryPath, tx.StakingQuery{Delegator: &e.addrs[4], Validator: &val0}, &ub); code != tx.CodeNotFound {
		t.Fatalf("unbonding still there: code %d", code)
	}
}

// TestPoSMisbehaviourSlashesAndRemoves feeds FinalizeBlock a synthetic
// duplicate vote: the validator is slashed 5%, tombstoned and removed
// from the set.
func TestPoSMisbehaviourSlashesAndRemoves(t *testing.T) {
	e := newPoSEnv(t, 4, 4, nil)
	e.mustBlock(1)
	addr := e.cons[2].PubKey().Address()
	e.misb = []abci.Misbehavior{{Type: abci.MisbehaviorType_DUPLICATE_VOTE, Validator: abci.Validator{Address: addr, Power: 1000},
		Height: 1, Time: time.Unix(e.time, 0), TotalVotingPower: 4000}}
	res := e.mustBlock(1)
	if pw, ok := power(res, e.cons[2].PubKey().Bytes()); !ok || pw != 0 {
		t.Fatalf("updates %+v, want validator 2 removed", res.ValidatorUpdates)
	}
	var v tx.QueryValidatorResponse
	e.query(tx.StakingValidatorQueryPath, tx.StakingQuery{Validator: &e.addrs[2]}, &v)
	if !v.Validator.Jailed || v.Validator.Tokens != "950000000" {
		t.Fatalf("validator after double sign: %+v", v.Validator)
	}
	si, _ := e.app.state.Staking().SigningInfo(staking.ConsAddress(addr))
	if !si.Tombstoned {
		t.Fatal("not tombstoned")
	}
	if err := e.app.state.Staking().Unjail(e.addrs[2]); err == nil {
		t.Fatal("a tombstoned validator unjailed")
	}
}

// TestPoSDowntimeJailsAndUnjail: a validator absent from the commits past
// half the window is jailed and slashed; after the jail time MsgUnjail
// brings it back.
func TestPoSDowntimeJailsAndUnjail(t *testing.T) {
	e := newPoSEnv(t, 4, 4, nil)
	pk := e.cons[3].PubKey()
	e.absent[string(pk.Address())] = true
	var jailedAt int64
	for range 30 {
		res := e.mustBlock(1)
		if pw, ok := power(res, pk.Bytes()); ok && pw == 0 {
			jailedAt = e.time
			break
		}
	}
	if jailedAt == 0 {
		t.Fatal("never jailed")
	}
	v, _ := e.app.state.Staking().Validator(e.addrs[3])
	if !v.Jailed || v.Tokens != 1e9-1e7 {
		t.Fatalf("after downtime: %+v", v)
	}
	delete(e.absent, string(pk.Address()))
	if res := e.block(1, e.sign(3, &tx.MsgUnjail{Operator: e.addrs[3]})); res.TxResults[0].Code == tx.CodeOK {
		t.Fatal("unjailed before the jail time")
	}
	for e.time < jailedAt+20 {
		e.mustBlock(1)
	}
	res := e.mustBlock(1, e.sign(3, &tx.MsgUnjail{Operator: e.addrs[3]}))
	if pw, ok := power(res, pk.Bytes()); !ok || pw != 990 {
		t.Fatalf("after unjail: updates %+v", res.ValidatorUpdates)
	}
}

// TestPoSRestartKeepsState: the staking state is persisted (by diff) and
// reloaded with the same app hash, and the chain goes on.
func TestPoSRestartKeepsState(t *testing.T) {
	e := newPoSEnv(t, 3, 5, nil)
	e.mustBlock(1, e.sign(4, &tx.MsgDelegate{Delegator: e.addrs[4], Validator: e.addrs[1], Amount: 5e8}))
	e.mustBlock(1, e.sign(4, &tx.MsgUndelegate{Delegator: e.addrs[4], Validator: e.addrs[1], Amount: 1e8}),
		e.sign(3, &tx.MsgCreateValidator{Operator: e.addrs[3], PubKey: bytes.Repeat([]byte{9}, 32), SelfBond: 3e9, Rate: 1e17, MaxRate: 1e17}))
	e.mustBlock(1)
	hash := e.app.appHash
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	e.open()
	if !bytes.Equal(e.app.appHash, hash) {
		t.Fatal("app hash changed across restart")
	}
	h, err := e.app.state.Hash()
	if err != nil || !bytes.Equal(h, hash) {
		t.Fatalf("reloaded state hashes to %X, committed %X (%v)", h, hash, err)
	}
	if e.app.state.ValidatorPower(bytes.Repeat([]byte{9}, 32)) != 3000 {
		t.Fatal("the created validator is not in the set after restart")
	}
	for range 8 {
		e.mustBlock(1)
	}
}

// TestPoSRandomTransactions sends thousands of random staking
// transactions through CheckTx and FinalizeBlock over hundreds of blocks,
// with validators dropping out of the commits, and checks the invariants
// after every block (WithInvariantChecks), the app hash against the one
// from scratch and the stored state (checkHash), restarting now and then.
func TestPoSRandomTransactions(t *testing.T) {
	e := newPoSEnv(t, 4, 16, func(p *staking.Params) { p.MaxValidators = 5; p.InflationPerBlock = 1000 })
	e.checkHash = true
	r := rand.New(rand.NewPCG(19, 1))
	acct := func() int { return r.IntN(len(e.addrs)) }
	amount := func() uint64 { return 1 + r.Uint64N(3e8) }
	rate := func() uint64 { return r.Uint64N(2e17) }
	var executed, total int
	for b := 0; b < 250; b++ {
		var txs [][]byte
		used := map[int]bool{}
		for range 12 {
			i := acct()
			if used[i] {
				continue // one transaction per account and block keeps nonces simple
			}
			used[i] = true
			j, k := acct(), acct()
			var m tx.Msg
			switch x := r.IntN(100); {
			case x < 5:
				pk := make([]byte, 32)
				for b := range pk {
					pk[b] = byte(r.Uint32())
				}
				m = &tx.MsgCreateValidator{Operator: e.addrs[i], PubKey: pk, SelfBond: 1e6 + amount(), Rate: rate(), MaxRate: 2e17, MaxChangeRate: 1e16}
			case x < 35:
				m = &tx.MsgDelegate{Delegator: e.addrs[i], Validator: e.addrs[j], Amount: amount()}
			case x < 55:
				m = &tx.MsgUndelegate{Delegator: e.addrs[i], Validator: e.addrs[j], Amount: amount()}
			case x < 70:
				m = &tx.MsgBeginRedelegate{Delegator: e.addrs[i], Src: e.addrs[j], Dst: e.addrs[k], Amount: amount()}
			case x < 82:
				m = &tx.MsgWithdrawRewards{Delegator: e.addrs[i], Validator: e.addrs[j], Commission: i == j}
			case x < 88:
				m = &tx.MsgUnjail{Operator: e.addrs[i]}
			case x < 93:
				rt := rate()
				m = &tx.MsgEditValidator{Operator: e.addrs[i], Rate: &rt}
			default:
				m = &tx.MsgCancelUnbondingDelegation{Delegator: e.addrs[i], Validator: e.addrs[j], Amount: amount(), CreationHeight: 1 + r.Int64N(e.height+1)}
			}
			if err := m.ValidateBasic(); err != nil {
				continue
			}
			raw := e.sign(i, m)
			if _, err := e.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw}); err != nil {
				t.Fatal(err)
			}
			txs = append(txs, raw)
		}
		// Validators 0 and 1 miss blocks now and then.
		for v := range 2 {
			e.absent[string(e.cons[v].PubKey().Address())] = r.IntN(3) == 0
		}
		res := e.block(1+r.Int64N(2), txs...)
		if b%80 == 79 { // restart: the tree is built again from the store
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
			e.open()
		}
		for _, tr := range res.TxResults[:len(txs)] {
			total++
			if tr.Code == tx.CodeOK {
				executed++
			}
		}
	}
	if total < 2000 || executed < total/5 {
		t.Fatalf("%d transactions, %d executed: too few to mean anything", total, executed)
	}
	t.Logf("%d staking transactions over %d blocks, %d executed", total, e.height, executed)
}

// BenchmarkFinalizeBlockPoS measures a block of a proof-of-stake chain
// (FinalizeBlock and Commit, with the staking BeginBlock, EndBlock, the
// clone of the staking state, the app hash and the Badger write) with 4
// validators and 100, 1,000 or 10,000 delegators each, and 4 sends per
// block: the distribution is lazy (F1), so BeginBlock and EndBlock do not
// loop over delegators; the clone shares what the block does not change
// and the app hash's tree is updated from the changed entries, so the
// time should not grow with the number of delegators.
func BenchmarkFinalizeBlockPoS(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("delegators=%d", n), func(b *testing.B) {
			e := newPoSEnv(b, 4, 4+4*n, nil)
			e.app.checkInvariants = false
			// The delegations, saved in batches that fit a Badger
			// transaction.
			for from := 4; from < len(e.addrs); from += 2000 {
				d := NewDelta(e.app.state)
				sk := d.stakeState()
				for j := from; j < min(from+2000, len(e.addrs)); j++ {
					if err := sk.Delegate(deltaBank{d}, e.addrs[j], e.addrs[j%4], 1e6+uint64(j)); err != nil {
						b.Fatal(err)
					}
				}
				st := d.apply()
				hash, err := st.Hash()
				if err != nil {
					b.Fatal(err)
				}
				if err := e.app.store.Save(st, d, 0, hash); err != nil {
					b.Fatal(err)
				}
				st.settle()
				e.app.state, e.app.appHash, e.app.check = st, hash, NewDelta(st)
			}
			b.ReportAllocs()
			for b.Loop() {
				var txs [][]byte
				for i := range 4 {
					txs = append(txs, e.sign(i, &tx.MsgSend{From: e.addrs[i], To: e.addrs[4+i], Amount: 1}))
				}
				e.mustBlock(1, txs...)
			}
		})
	}
}

// TestPoSValsetFollowsStake: Blobstream's attested valsets follow the
// staking active set's powers.
func TestPoSValsetFollowsStake(t *testing.T) {
	g, keys, addrs, cons := posGenesis(t, 2, 3, nil)
	g.Params.DataCommitmentWindow = 10
	for i, c := range cons {
		var evm [20]byte
		evm[0], evm[19] = 0xEE, byte(i+1)
		g.EVMAddresses = append(g.EVMAddresses, GenesisEVMAddress{PubKey: c.PubKey().Bytes(), EVMAddress: evm})
	}
	st, err := NewGenesisState(g, posGenesisTime)
	if err != nil {
		t.Fatal(err)
	}
	first, ok := st.ValsetAt(1)
	if !ok || len(first.Validators) != 2 || first.Validators[0].Power != 1000 {
		t.Fatalf("genesis valset %+v", first)
	}
	d := NewDelta(st)
	if err := beginStake(d, &abci.RequestFinalizeBlock{Height: 1, Time: time.Unix(posGenesisTime+1, 0)}); err != nil {
		t.Fatal(err)
	}
	raw := txtest.SignedTx(t, testChainID, keys[2], 0, g.Params, &tx.MsgDelegate{Delegator: addrs[2], Validator: addrs[1], Amount: 2e9})
	if _, err := Execute(d, raw); err != nil {
		t.Fatal(err)
	}
	endStake(d)
	next := d.apply()
	if err := next.endBlock(1, nil, nil, d.bsDirty); err != nil {
		t.Fatal(err)
	}
	vs, ok := next.ValsetAt(next.Nonces().Latest)
	if !ok || vs.Nonce != 2 || vs.Validators[0].Power != 3000 || !bytes.Equal(vs.Validators[0].PubKey, cons[1].PubKey().Bytes()) {
		t.Fatalf("valset after the delegation: %+v", vs)
	}
	if err := next.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
