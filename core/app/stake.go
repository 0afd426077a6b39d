package app

import (
	"errors"
	"fmt"
	"math/big"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
)

// Proof of stake: the application's side of core/staking. The staking
// state is part of State (and of the app hash, under "k/"); a block runs on
// a clone of it (Delta.stakeState), as the mempool's view does from its
// first staking transaction. Liquid balances stay the application's
// accounts, which staking reaches through a Bank.

// IsPoS reports whether the chain is proof of stake.
func (s *State) IsPoS() bool { return s.stake != nil }

// Staking returns the staking state of a proof-of-stake chain (nil on a
// proof-of-authority one), for reading only: the caller must not change
// it.
func (s *State) Staking() *staking.State { return s.stake }

// Fees returns the fees the last block's transactions paid on a
// proof-of-stake chain, which the next block distributes.
func (s *State) Fees() uint64 { return s.fees }

// stakeEntries returns stake.Entries(), computed once per State.
func (s *State) stakeEntries() []staking.KV {
	if s.stakeKV == nil && s.stake != nil {
		s.stakeKV = s.stake.Entries()
	}
	return s.stakeKV
}

// loadStake rebuilds the staking state from the entries Store.Load read
// (s.stakeKV, in key order) on a proof-of-stake chain.
func (s *State) loadStake() error {
	if s.Config.Consensus != ConsensusPoS {
		if len(s.stakeKV) > 0 {
			return errors.New("staking entries on a proof-of-authority chain")
		}
		return nil
	}
	sk, err := staking.Load(s.stakeKV)
	if err != nil {
		return err
	}
	s.stake = sk
	return nil
}

// mapBank is staking's Bank over a map of accounts (genesis).
type mapBank map[tx.Address]Account

func (b mapBank) Sub(a tx.Address, amount uint64) error {
	acc := b[a]
	if acc.Balance < amount {
		return fmt.Errorf("%w: account %s has %d, needs %d", tx.ErrInsufficientFunds, a, acc.Balance, amount)
	}
	acc.Balance -= amount
	b[a] = acc
	return nil
}

func (b mapBank) Add(a tx.Address, amount uint64) {
	acc := b[a]
	acc.Balance += amount
	b[a] = acc
}

// deltaBank is staking's Bank over a Delta's accounts.
type deltaBank struct{ d *Delta }

func (b deltaBank) Sub(a tx.Address, amount uint64) error {
	acc := b.d.Account(a)
	if acc.Balance < amount {
		return fmt.Errorf("%w: account %s has %d, needs %d", tx.ErrInsufficientFunds, a, acc.Balance, amount)
	}
	acc.Balance -= amount
	b.d.setAccount(a, acc)
	return nil
}

func (b deltaBank) Add(a tx.Address, amount uint64) {
	acc := b.d.Account(a)
	acc.Balance += amount // cannot overflow: the supply fits a uint64
	b.d.setAccount(a, acc)
}

// stakeState returns d's staking state to change: a clone of the base's,
// made on first use. nil on a proof-of-authority chain.
func (d *Delta) stakeState() *staking.State {
	if d.stake == nil && d.base.stake != nil {
		d.stake = d.base.stake.Clone()
	}
	return d.stake
}

// checkConsensusMsg refuses a staking message on a proof-of-authority
// chain and MsgUpdateValidator on a proof-of-stake one.
func checkConsensusMsg(d *Delta, m tx.Msg) error {
	pos := d.base.stake != nil
	_, isUpd := m.(*tx.MsgUpdateValidator)
	switch {
	case tx.IsStakingMsg(m) && !pos:
		return fmt.Errorf("%w: %T: this chain is proof of authority (genesis consensus %q); staking messages need %q",
			tx.ErrInvalidMsg, m, ConsensusPoA, ConsensusPoS)
	case isUpd && pos:
		return fmt.Errorf("%w: this chain is proof of stake: the validator set follows stake, MsgUpdateValidator is refused", tx.ErrUnauthorized)
	}
	return nil
}

func rate(x uint64) staking.Dec { return staking.NewDecFrac(x, tx.RateOne) }

// execStaking runs a staking message signed by signer on d's staking
// state, with d's accounts as the bank. On error it changes nothing
// (core/staking's operations check before they change).
func execStaking(d *Delta, m tx.Msg) error {
	sk, bank := d.stakeState(), deltaBank{d}
	var err error
	switch m := m.(type) {
	case *tx.MsgCreateValidator:
		err = sk.CreateValidator(bank, staking.CreateValidatorMsg{Operator: m.Operator, ConsPubKey: m.PubKey, Moniker: m.Moniker,
			SelfBond: m.SelfBond, Rate: rate(m.Rate), MaxRate: rate(m.MaxRate), MaxChangeRate: rate(m.MaxChangeRate)})
	case *tx.MsgEditValidator:
		em := staking.EditValidatorMsg{Operator: m.Operator, Moniker: m.Moniker}
		if m.Rate != nil {
			r := rate(*m.Rate)
			em.Rate = &r
		}
		err = sk.EditValidator(em)
	case *tx.MsgDelegate:
		err = sk.Delegate(bank, m.Delegator, m.Validator, m.Amount)
	case *tx.MsgUndelegate:
		_, err = sk.Undelegate(bank, m.Delegator, m.Validator, m.Amount)
	case *tx.MsgBeginRedelegate:
		_, err = sk.Redelegate(bank, m.Delegator, m.Src, m.Dst, m.Amount)
	case *tx.MsgWithdrawRewards:
		if m.Commission {
			// Check both before paying either, so a failure changes nothing.
			if _, ok := sk.Validator(m.Validator); !ok {
				return fmt.Errorf("app: staking: %w: validator %s", staking.ErrNotFound, m.Validator)
			}
			if _, ok := sk.Delegation(m.Delegator, m.Validator); ok {
				if _, err = sk.WithdrawRewards(bank, m.Delegator, m.Validator); err != nil {
					break
				}
			}
			_, err = sk.WithdrawCommission(bank, m.Validator)
		} else {
			_, err = sk.WithdrawRewards(bank, m.Delegator, m.Validator)
		}
	case *tx.MsgUnjail:
		err = sk.Unjail(m.Operator)
	case *tx.MsgCancelUnbondingDelegation:
		err = sk.CancelUnbonding(bank, m.Delegator, m.Validator, m.Amount, m.CreationHeight)
	default:
		return fmt.Errorf("app: %T is not a staking message", m)
	}
	if err != nil {
		return fmt.Errorf("app: staking: %w", err)
	}
	return nil
}

// beginStake starts a block on a proof-of-stake chain: the fees of the
// last block, the last commit's votes and the misbehaviour evidence go to
// staking's BeginBlock.
func beginStake(d *Delta, req *abci.RequestFinalizeBlock) error {
	in := staking.BeginBlockInput{Height: req.Height, Time: req.Time.Unix(), Fees: d.base.fees}
	// Addresses of another length than 20 bytes cannot name a validator.
	for _, v := range req.DecidedLastCommit.Votes {
		if len(v.Validator.Address) != len(staking.ConsAddress{}) {
			continue
		}
		in.Votes = append(in.Votes, staking.Vote{Address: staking.ConsAddress(v.Validator.Address), Power: v.Validator.Power,
			Signed: v.BlockIdFlag != cmtproto.BlockIDFlagAbsent})
	}
	for _, m := range req.Misbehavior {
		if len(m.Validator.Address) != len(staking.ConsAddress{}) {
			continue
		}
		in.Evidence = append(in.Evidence, staking.Evidence{Address: staking.ConsAddress(m.Validator.Address), Height: m.Height, Power: m.Validator.Power})
	}
	if err := d.stakeState().BeginBlock(deltaBank{d}, in); err != nil {
		return fmt.Errorf("app: staking begin block %d: %w", req.Height, err)
	}
	d.feesPaid = true
	return nil
}

// endStake ends a block on a proof-of-stake chain: staking's EndBlock,
// whose updates become CometBFT's validator updates and d's validator set.
func endStake(d *Delta) []abci.ValidatorUpdate {
	var out []abci.ValidatorUpdate
	for _, u := range d.stakeState().EndBlock(deltaBank{d}) {
		d.setValidator(u.PubKey, u.Power)
		out = append(out, abci.Ed25519ValidatorUpdate(u.PubKey, u.Power))
	}
	return out
}

// CheckInvariants checks a proof-of-stake state's staking invariants
// (staking.State.Invariants) with the supply: every account's balance
// plus the fees waiting for distribution plus staking's pools and burned
// tokens equal the genesis supply plus the minted tokens. It is O(accounts)
// and meant for tests (WithInvariantChecks). nil on a proof-of-authority
// chain.
func (s *State) CheckInvariants() error {
	if s.stake == nil {
		return nil
	}
	liquid := new(big.Int).SetUint64(s.fees)
	for _, a := range s.accounts.All() {
		liquid.Add(liquid, new(big.Int).SetUint64(a.Balance))
	}
	supply, carry := s.Config.Supply+s.stake.Pools().Minted, s.Config.Supply+s.stake.Pools().Minted < s.Config.Supply
	if !liquid.IsUint64() || carry {
		return fmt.Errorf("app: liquid %s or supply overflows", liquid)
	}
	if err := s.stake.Invariants(liquid.Uint64(), supply); err != nil {
		return fmt.Errorf("app: height %d: %w", s.stake.Height(), err)
	}
	return nil
}

// WithInvariantChecks makes FinalizeBlock check State.CheckInvariants
// after every block of a proof-of-stake chain and fail (halting the node)
// if they are broken. It costs O(accounts) a block: for tests.
func WithInvariantChecks() Option {
	return func(a *App) error {
		a.checkInvariants = true
		return nil
	}
}

// CheckInvariants checks the committed state's invariants
// (State.CheckInvariants): nil on a proof-of-authority chain or before
// InitChain. For tests that run the application inside CometBFT.
func (a *App) CheckInvariants() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state == nil {
		return nil
	}
	return a.state.CheckInvariants()
}
