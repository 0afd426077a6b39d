package validator

import (
	"fmt"

	"github.com/cometbft/cometbft/crypto"

	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
)

// DefaultSelfBond is the stake each genesis validator bonds when
// StakeOptions.SelfBond is 0: voting power 1,000 at core/staking's
// default power reduction (10^6 tokens a unit of power).
const DefaultSelfBond = 1_000_000_000

// The commission of the genesis validators Init and Testnet write: 10%,
// at most 20%, changed by at most 1 percentage point a day.
var (
	GenesisCommissionRate          = staking.MustParseDec("0.1")
	GenesisCommissionMaxRate       = staking.MustParseDec("0.2")
	GenesisCommissionMaxChangeRate = staking.MustParseDec("0.01")
)

// StakeOptions choose how a new chain's validator set is made, for Init
// and Testnet.
type StakeOptions struct {
	// Consensus is app.ConsensusPoA (also when empty: each validator with
	// ValidatorPower, the dev key of the first home the authority) or
	// app.ConsensusPoS (each validator's dev key its operator, bonding
	// SelfBond from its genesis balance).
	Consensus string
	// Staking are the staking params of a proof-of-stake chain; nil means
	// NetworkStakingParams().
	Staking *staking.Params
	// SelfBond is each genesis validator's self-bond on a proof-of-stake
	// chain; 0 means DefaultSelfBond. The dev account must hold it.
	SelfBond uint64
}

// NetworkStakingParams returns the staking params of the networks Init
// and Testnet make unless told otherwise: core/staking's defaults (100
// validators, a 100-block signed_blocks_window of which half must be
// signed, 5% slashed for a double sign) but a minute of unbonding and a
// minute of downtime jail, which suit a local or test network, not a
// public one (core/staking.DefaultParams: 21 days, 10 minutes).
func NetworkStakingParams() staking.Params {
	p := staking.DefaultParams()
	p.UnbondingTime = 60
	p.DowntimeJailDuration = 60
	return p
}

// check checks the consensus choice and, on proof of stake, the params.
func (s StakeOptions) check() error {
	switch s.Consensus {
	case "", app.ConsensusPoA:
		return nil
	case app.ConsensusPoS:
		if s.Staking != nil {
			if err := s.Staking.Validate(); err != nil {
				return fmt.Errorf("validator: %w", err)
			}
		}
		return nil
	}
	return fmt.Errorf("validator: consensus %q: want %q or %q", s.Consensus, app.ConsensusPoS, app.ConsensusPoA)
}

// stakeValidator is a genesis validator to write: its name, consensus
// key and dev account.
type stakeValidator struct {
	name string
	pub  crypto.PubKey
	dev  tx.Address
}

// apply makes g's validator set from vals: nothing to do on proof of
// authority (GenesisDoc gives each ValidatorPower); on proof of stake g
// becomes a staking genesis in which each of vals is a validator
// operated by its dev account, self-bonding SelfBond at the genesis
// commission.
func (s StakeOptions) apply(g *app.Genesis, vals []stakeValidator) {
	if s.Consensus != app.ConsensusPoS {
		return
	}
	params := NetworkStakingParams()
	if s.Staking != nil {
		params = *s.Staking
	}
	bond := s.SelfBond
	if bond == 0 {
		bond = DefaultSelfBond
	}
	g.Consensus = app.ConsensusPoS
	g.Staking = &app.StakingGenesis{Params: params}
	for _, v := range vals {
		g.Staking.Validators = append(g.Staking.Validators, app.GenesisStakeValidator{Operator: v.dev, PubKey: v.pub.Bytes(),
			SelfBond: bond, Moniker: v.name, CommissionRate: GenesisCommissionRate, CommissionMaxRate: GenesisCommissionMaxRate,
			CommissionMaxChangeRate: GenesisCommissionMaxChangeRate})
	}
}
