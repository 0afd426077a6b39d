package staking

import (
	"errors"
	"fmt"
)

// Params are the genesis rules of staking, distribution and slashing. Times
// are in seconds, as block header times are read (unix seconds).
type Params struct {
	// UnbondingTime is how long undelegated and redelegated stake stays
	// slashable before it is released: 21 days by default.
	UnbondingTime int64 `json:"unbonding_time"`
	// MaxValidators is the size of the active set.
	MaxValidators uint32 `json:"max_validators"`
	// MaxEntries bounds the unbonding entries of one delegator-validator
	// pair and the redelegation entries of one delegator-src-dst triple.
	MaxEntries uint32 `json:"max_entries"`
	// MinSelfBond is the least stake a validator's operator must keep
	// delegated to it: CreateValidator refuses less, an operator that
	// undelegates below it jails its validator, and Unjail refuses.
	MinSelfBond uint64 `json:"min_self_bond"`
	// PowerReduction converts tokens to CometBFT voting power:
	// power = tokens / PowerReduction. A validator with power 0 is not in
	// the active set.
	PowerReduction uint64 `json:"power_reduction"`
	// SignedBlocksWindow is the number of recent blocks whose signatures
	// are tracked for each validator.
	SignedBlocksWindow int64 `json:"signed_blocks_window"`
	// MinSignedPerWindow is the fraction of the window a validator must
	// sign; missing more than the rest is downtime.
	MinSignedPerWindow Dec `json:"min_signed_per_window"`
	// DowntimeJailDuration is how long a validator jailed for downtime
	// must wait before Unjail.
	DowntimeJailDuration int64 `json:"downtime_jail_duration"`
	// SlashFractionDoubleSign is burned from the stake bonded at a double
	// sign's height: 5% by default.
	SlashFractionDoubleSign Dec `json:"slash_fraction_double_sign"`
	// SlashFractionDowntime is burned on downtime.
	SlashFractionDowntime Dec `json:"slash_fraction_downtime"`
	// InflationPerBlock is minted at each BeginBlock and distributed
	// with the fees (0 by default).
	InflationPerBlock uint64 `json:"inflation_per_block"`
}

// Limits on parameters, so that state derived from them stays small.
const (
	maxSignedBlocksWindow = 1 << 16
	maxMaxValidators      = 10_000
	maxMaxEntries         = 1_000
	// MaxMonikerLen bounds a validator's moniker in bytes.
	MaxMonikerLen = 70
)

// DefaultParams returns the defaults: 21 days unbonding, 100 validators,
// 7 entries, 1 token minimum self-bond, power reduction 1,000,000, a 100
// block window with half to be signed, 10 minutes downtime jail, 5% for a
// double sign, 0.01% for downtime and no inflation.
func DefaultParams() Params {
	return Params{
		UnbondingTime:           21 * 24 * 3600,
		MaxValidators:           100,
		MaxEntries:              7,
		MinSelfBond:             1,
		PowerReduction:          1_000_000,
		SignedBlocksWindow:      100,
		MinSignedPerWindow:      MustParseDec("0.5"),
		DowntimeJailDuration:    600,
		SlashFractionDoubleSign: MustParseDec("0.05"),
		SlashFractionDowntime:   MustParseDec("0.0001"),
	}
}

// ErrInvalidParams is wrapped by Validate.
var ErrInvalidParams = errors.New("staking: invalid params")

// Validate checks every field's range.
func (p Params) Validate() error {
	one := NewDec(1)
	switch {
	case p.UnbondingTime < 0:
		return fmt.Errorf("%w: negative unbonding time", ErrInvalidParams)
	case p.MaxValidators == 0 || p.MaxValidators > maxMaxValidators:
		return fmt.Errorf("%w: max validators %d not in [1, %d]", ErrInvalidParams, p.MaxValidators, maxMaxValidators)
	case p.MaxEntries == 0 || p.MaxEntries > maxMaxEntries:
		return fmt.Errorf("%w: max entries %d not in [1, %d]", ErrInvalidParams, p.MaxEntries, maxMaxEntries)
	case p.MinSelfBond == 0:
		return fmt.Errorf("%w: min self bond is 0", ErrInvalidParams)
	case p.PowerReduction == 0:
		return fmt.Errorf("%w: power reduction is 0", ErrInvalidParams)
	case p.SignedBlocksWindow <= 0 || p.SignedBlocksWindow > maxSignedBlocksWindow:
		return fmt.Errorf("%w: signed blocks window %d not in [1, %d]", ErrInvalidParams, p.SignedBlocksWindow, maxSignedBlocksWindow)
	case p.MinSignedPerWindow.IsNegative() || p.MinSignedPerWindow.Cmp(one) > 0:
		return fmt.Errorf("%w: min signed per window %s not in [0, 1]", ErrInvalidParams, p.MinSignedPerWindow)
	case p.DowntimeJailDuration < 0:
		return fmt.Errorf("%w: negative downtime jail duration", ErrInvalidParams)
	case p.SlashFractionDoubleSign.IsNegative() || p.SlashFractionDoubleSign.Cmp(one) > 0:
		return fmt.Errorf("%w: double sign slash fraction %s not in [0, 1]", ErrInvalidParams, p.SlashFractionDoubleSign)
	case p.SlashFractionDowntime.IsNegative() || p.SlashFractionDowntime.Cmp(one) > 0:
		return fmt.Errorf("%w: downtime slash fraction %s not in [0, 1]", ErrInvalidParams, p.SlashFractionDowntime)
	}
	return nil
}

// maxMissed is the number of missed blocks in a window above which a
// validator is down: window - round(MinSignedPerWindow * window).
func (p Params) maxMissed() int64 {
	minSigned := p.MinSignedPerWindow.MulInt(uint64(p.SignedBlocksWindow)).Add(NewDecFrac(1, 2)).TruncateInt()
	return p.SignedBlocksWindow - int64(minSigned)
}
