package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/state"
)

// The staking and distribution transactions of a proof-of-stake chain.
// Each is refused before anything is signed on a proof-of-authority chain.

const stakingLong = `
Validators are named by their operators' account addresses (mesh1...; the
valoper form meshvaloper1... of the same address is accepted too). On a
proof-of-authority chain (the devnet) every staking transaction is refused
before anything is signed: "this chain is proof of authority".`

func (c *cli) txStakingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staking",
		Short: "Staking transactions of a proof-of-stake chain",
		Long:  "Create and edit validators, delegate, undelegate, redelegate, cancel unbondings and unjail." + stakingLong,
	}
	cmd.AddCommand(c.txCreateValidatorCmd(), c.txEditValidatorCmd(), c.txDelegateCmd("delegate"), c.txDelegateCmd("undelegate"),
		c.txRedelegateCmd(), c.txCancelUnbondingCmd(), c.txUnjailCmd())
	return cmd
}

func (c *cli) txDistributionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "distribution",
		Short: "Reward transactions of a proof-of-stake chain",
	}
	cmd.AddCommand(c.txWithdrawRewardsCmd())
	return cmd
}

// parseValidator reads a validator's operator address given as flag:
// mesh1... or meshvaloper1....
func parseValidator(flag, s string) (tx.Address, error) {
	hrp, data, err := tx.DecodeBech32(s)
	if err != nil {
		return tx.Address{}, fmt.Errorf("%s %q: %w", flag, s, err)
	}
	if hrp != tx.AddressPrefix && hrp != tx.AddressPrefix+"valoper" {
		return tx.Address{}, fmt.Errorf("%s %q: prefix %q, want %q or %svaloper", flag, s, hrp, tx.AddressPrefix, tx.AddressPrefix)
	}
	a, err := tx.AddressFromBytes(data)
	if err != nil {
		return tx.Address{}, fmt.Errorf("%s %q: %w", flag, s, err)
	}
	return a, nil
}

// parseRate reads a commission rate given as flag, a decimal from 0 to 1
// with at most 18 digits after the point, in units of 10^-18.
func parseRate(flag, s string) (uint64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	bad := fmt.Errorf("%s %q: want a decimal from 0 to 1, such as 0.05", flag, s)
	if whole == "" || len(frac) > 18 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, bad
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || w > 1 {
		return 0, bad
	}
	var f uint64
	if frac != "" {
		if f, err = strconv.ParseUint(frac+strings.Repeat("0", 18-len(frac)), 10, 64); err != nil {
			return 0, bad
		}
	}
	r := w*tx.RateOne + f
	if r > tx.RateOne {
		return 0, bad
	}
	return r, nil
}

func (c *cli) txCreateValidatorCmd() *cobra.Command {
	var o txOptions
	var pubkey, rate, maxRate, maxChange, moniker string
	var selfBond uint64
	cmd := &cobra.Command{
		Use:   "create-validator --from NAME --self-bond N [--pubkey BASE64] [--moniker NAME]",
		Short: "Make the key --from the operator of a new validator",
		Long: `Make the account of the key --from the operator of a new validator: its
consensus key is the ed25519 key of the home's validator
(config/priv_validator_key.json, as written by core init), or --pubkey
(base64, 32 bytes); it self-bonds --self-bond tokens (at least the chain's
min_self_bond), with commission --commission-rate, which may never exceed
--commission-max-rate nor change by more than --commission-max-change-rate
a day. The validator enters the active set at the end of the block if its
stake ranks among the top max_validators; its node must then be running
and synced, or it is jailed for downtime. Prints the height and the
transaction hash.` + stakingLong,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			msg, err := c.createValidatorMsg(cmd, pubkey, rate, maxRate, maxChange)
			if err != nil {
				return fmt.Errorf("tx staking create-validator: %w", err)
			}
			msg.SelfBond, msg.Moniker = selfBond, moniker
			return c.runStakingTx(cmd, "staking create-validator", o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.CreateValidator(ctx, msg, cfg)
			})
		},
	}
	addTxFlags(cmd, &o)
	f := cmd.Flags()
	f.Uint64Var(&selfBond, "self-bond", 0, "tokens the operator delegates to its validator (required)")
	f.StringVar(&pubkey, "pubkey", "", "the validator's ed25519 consensus key in base64 (default: the home's config/priv_validator_key.json)")
	f.StringVar(&moniker, "moniker", "", "the validator's name")
	f.StringVar(&rate, "commission-rate", "0.1", "commission rate, a decimal from 0 to 1")
	f.StringVar(&maxRate, "commission-max-rate", "0.2", "highest commission rate the validator may ever set")
	f.StringVar(&maxChange, "commission-max-change-rate", "0.01", "largest change of the commission rate in a day")
	_ = cmd.MarkFlagRequired("self-bond")
	return cmd
}

// createValidatorMsg returns the message's key and rates; the operator is
// the signer.
func (c *cli) createValidatorMsg(cmd *cobra.Command, pubkey, rate, maxRate, maxChange string) (tx.MsgCreateValidator, error) {
	var m tx.MsgCreateValidator
	var err error
	if pubkey != "" {
		if m.PubKey, err = base64.StdEncoding.DecodeString(pubkey); err != nil {
			return m, fmt.Errorf("--pubkey: %w", err)
		}
	} else {
		home, err := c.home(cmd)
		if err != nil {
			return m, err
		}
		conf, err := validator.LoadConfig(home)
		if err != nil {
			return m, fmt.Errorf("%s is not a core home (see mesh-node core init), and there is no --pubkey: %w", home, err)
		}
		pv, err := validator.LoadValidatorKey(conf.PrivValidatorKeyFile())
		if err != nil {
			return m, err
		}
		m.PubKey = pv.PubKey.Bytes()
	}
	if m.Rate, err = parseRate("--commission-rate", rate); err != nil {
		return m, err
	}
	if m.MaxRate, err = parseRate("--commission-max-rate", maxRate); err != nil {
		return m, err
	}
	if m.MaxChangeRate, err = parseRate("--commission-max-change-rate", maxChange); err != nil {
		return m, err
	}
	return m, nil
}

func (c *cli) txEditValidatorCmd() *cobra.Command {
	var o txOptions
	var moniker, rate string
	cmd := &cobra.Command{
		Use:   "edit-validator --from NAME [--moniker NAME] [--commission-rate R]",
		Short: "Change the moniker or commission rate of the validator --from operates",
		Long: `Change the moniker (--moniker) or the commission rate (--commission-rate,
within the validator's maximum and maximum daily change) of the validator
the key --from operates; at least one of them.` + stakingLong,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var mp *string
			var rp *uint64
			if cmd.Flags().Changed("moniker") {
				mp = &moniker
			}
			if cmd.Flags().Changed("commission-rate") {
				r, err := parseRate("--commission-rate", rate)
				if err != nil {
					return fmt.Errorf("tx staking edit-validator: %w", err)
				}
				rp = &r
			}
			if mp == nil && rp == nil {
				return errors.New("tx staking edit-validator: nothing to change: give --moniker or --commission-rate")
			}
			return c.runStakingTx(cmd, "staking edit-validator", o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.EditValidator(ctx, mp, rp, cfg)
			})
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&moniker, "moniker", "", "the validator's new name")
	cmd.Flags().StringVar(&rate, "commission-rate", "", "the new commission rate, a decimal from 0 to 1")
	return cmd
}

// txDelegateCmd is delegate or undelegate.
func (c *cli) txDelegateCmd(verb string) *cobra.Command {
	var o txOptions
	var val string
	var amount uint64
	short, long := "Delegate tokens to a validator", `Delegate --amount tokens of the key --from to the validator --validator.`
	if verb == "undelegate" {
		short, long = "Start unbonding tokens delegated to a validator", `Start unbonding --amount tokens of the key --from's delegation to
--validator: they stop earning rewards at once and return to the account at
the end of the chain's unbonding_time (query staking unbonding shows when);
until then they can be slashed for the validator's misbehaviour, and
cancel-unbonding delegates them back.`
	}
	cmd := &cobra.Command{
		Use:   verb + " --from NAME --validator ADDRESS --amount N",
		Short: short,
		Long:  long + " Prints the height and the transaction hash." + stakingLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := parseValidator("--validator", val)
			if err != nil {
				return fmt.Errorf("tx staking %s: %w", verb, err)
			}
			return c.runStakingTx(cmd, "staking "+verb, o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				if verb == "undelegate" {
					return sc.Undelegate(ctx, v, state.Int(amount), cfg)
				}
				return sc.Delegate(ctx, v, state.Int(amount), cfg)
			})
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&val, "validator", "", "the validator's operator address (required)")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "tokens (required)")
	_ = cmd.MarkFlagRequired("validator")
	_ = cmd.MarkFlagRequired("amount")
	return cmd
}

func (c *cli) txRedelegateCmd() *cobra.Command {
	var o txOptions
	var src, dst string
	var amount uint64
	cmd := &cobra.Command{
		Use:   "redelegate --from NAME --src-validator ADDRESS --dst-validator ADDRESS --amount N",
		Short: "Move delegated tokens from one validator to another",
		Long: `Move --amount tokens of the key --from's delegation from --src-validator to
--dst-validator at once. Until the chain's unbonding_time has passed they
can still be slashed for the source's misbehaviour. Prints the height and
the transaction hash.` + stakingLong,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := parseValidator("--src-validator", src)
			if err != nil {
				return fmt.Errorf("tx staking redelegate: %w", err)
			}
			d, err := parseValidator("--dst-validator", dst)
			if err != nil {
				return fmt.Errorf("tx staking redelegate: %w", err)
			}
			return c.runStakingTx(cmd, "staking redelegate", o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.BeginRedelegate(ctx, s, d, state.Int(amount), cfg)
			})
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&src, "src-validator", "", "the validator the tokens leave (required)")
	cmd.Flags().StringVar(&dst, "dst-validator", "", "the validator they go to (required)")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "tokens (required)")
	for _, f := range []string{"src-validator", "dst-validator", "amount"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (c *cli) txCancelUnbondingCmd() *cobra.Command {
	var o txOptions
	var val string
	var amount uint64
	var height int64
	cmd := &cobra.Command{
		Use:   "cancel-unbonding --from NAME --validator ADDRESS --amount N --height H",
		Short: "Delegate unbonding tokens back to their validator",
		Long: `Delegate --amount tokens of the key --from's unbonding entry from
--validator, the one created at block --height (query staking unbonding
lists them), back to the validator. Prints the height and the transaction
hash.` + stakingLong,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := parseValidator("--validator", val)
			if err != nil {
				return fmt.Errorf("tx staking cancel-unbonding: %w", err)
			}
			if height <= 0 {
				return fmt.Errorf("tx staking cancel-unbonding: --height %d: must be positive", height)
			}
			return c.runStakingTx(cmd, "staking cancel-unbonding", o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.CancelUnbondingDelegation(ctx, v, state.Int(amount), state.Int(height), cfg)
			})
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&val, "validator", "", "the validator's operator address (required)")
	cmd.Flags().Uint64Var(&amount, "amount", 0, "tokens (required)")
	cmd.Flags().Int64Var(&height, "height", 0, "the unbonding entry's creation height (required)")
	for _, f := range []string{"validator", "amount", "height"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (c *cli) txUnjailCmd() *cobra.Command {
	var o txOptions
	cmd := &cobra.Command{
		Use:   "unjail --from NAME",
		Short: "Return a validator jailed for downtime to the candidates",
		Long: `Return the validator the key --from operates, jailed for downtime, to the
candidates for the active set, once its downtime_jail_duration has passed
(a validator jailed for double signing is tombstoned and never returns).
Prints the height and the transaction hash.` + stakingLong,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.runStakingTx(cmd, "staking unjail", o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				return sc.Unjail(ctx, cfg)
			})
		},
	}
	addTxFlags(cmd, &o)
	return cmd
}

func (c *cli) txWithdrawRewardsCmd() *cobra.Command {
	var o txOptions
	var val string
	var commission bool
	cmd := &cobra.Command{
		Use:   "withdraw-rewards --from NAME (--validator ADDRESS | --commission)",
		Short: "Withdraw staking rewards (and a validator's commission)",
		Long: `Pay the key --from its rewards from its delegation to --validator (the
whole tokens; fractions stay for later). With --commission, the key is a
validator's operator: it withdraws its validator's accrued commission and
the rewards of its self-bond, and --validator may be left out. Prints the
height and the transaction hash.` + stakingLong,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v tx.Address
			switch {
			case val != "":
				a, err := parseValidator("--validator", val)
				if err != nil {
					return fmt.Errorf("tx distribution withdraw-rewards: %w", err)
				}
				v = a
			case !commission:
				return errors.New("tx distribution withdraw-rewards: give --validator, or --commission for your own validator")
			}
			return c.runStakingTx(cmd, "distribution withdraw-rewards", o, func(ctx context.Context, sc *state.Client, cfg *state.TxConfig) (*state.TxResponse, error) {
				if !commission {
					return sc.WithdrawDelegatorReward(ctx, v, cfg)
				}
				if val != "" {
					if op, err := sc.AccountAddress(ctx); err != nil || op != v {
						return nil, fmt.Errorf("--commission: --validator %s is not the validator of --from (%s)", v, op)
					}
				}
				return sc.WithdrawValidatorCommission(ctx, cfg)
			})
		},
	}
	addTxFlags(cmd, &o)
	cmd.Flags().StringVar(&val, "validator", "", "the validator's operator address")
	cmd.Flags().BoolVar(&commission, "commission", false, "also withdraw the commission of the validator --from operates")
	return cmd
}

// runStakingTx submits a staking transaction (see submit) and prints its
// result; errors are prefixed with "tx " + name.
func (c *cli) runStakingTx(cmd *cobra.Command, name string, o txOptions, send submitFunc) error {
	res, err := c.submit(cmd, o, send)
	if err != nil {
		return fmt.Errorf("tx %s: %w", name, err)
	}
	return printTxResult(cmd, res)
}
