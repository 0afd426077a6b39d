package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/validator"
	"github.com/datamesh/mesh-node/state"
	"github.com/datamesh/mesh-node/state/keyring"
)

// The staking and distribution queries of a proof-of-stake chain, asked of
// a core node's RPC (--node) without a key.

func (c *cli) queryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Query a core node for the chain's staking state",
		Long: `Ask a core node (--node) for the staking and distribution state of a
proof-of-stake chain at its last committed block. -o json prints the
answers in the Cosmos SDK's JSON shapes (those of the API's
state.QueryDelegation and friends). On a proof-of-authority chain every
query fails with "this chain is proof of authority".`,
	}
	staking := &cobra.Command{Use: "staking", Short: "Validators, delegations, unbondings and redelegations"}
	staking.AddCommand(c.queryValidatorsCmd(), c.queryValidatorCmd(), c.queryDelegationCmd(), c.queryUnbondingCmd(), c.queryRedelegationsCmd())
	dist := &cobra.Command{Use: "distribution", Short: "Rewards of delegations"}
	dist.AddCommand(c.queryRewardsCmd())
	cmd.AddCommand(staking, dist)
	return cmd
}

// queryOptions are the flags every query shares.
type queryOptions struct {
	node    string
	timeout time.Duration
}

func addQueryFlags(cmd *cobra.Command, o *queryOptions) {
	cmd.Flags().StringVar(&o.node, "node", defaultNode, "core node RPC address")
	cmd.Flags().DurationVar(&o.timeout, "timeout", defaultTxTimeout, "time limit for the query")
	addOutputFlag(cmd)
}

// queryFunc asks sc and prints the text form of its answer to w, or
// returns the answer for -o json.
type queryFunc func(ctx context.Context, sc *state.Client, w io.Writer, asJSON bool) (any, error)

// runQuery runs q with a keyless state.Client of --node and prints its
// answer; errors are prefixed with "query " + name.
func runQuery(cmd *cobra.Command, name string, o queryOptions, q queryFunc) error {
	err := func() error {
		asJSON, err := outputJSON(cmd)
		if err != nil {
			return err
		}
		if o.timeout <= 0 {
			return fmt.Errorf("--timeout %s: must be positive", o.timeout)
		}
		sc, err := state.New(state.Options{RPC: o.node, NoDefaultKey: true, Timeout: o.timeout})
		if err != nil {
			return err
		}
		defer func() { _ = sc.Stop(context.Background()) }() // nothing runs once q returned
		out, err := q(cmd.Context(), sc, cmd.OutOrStdout(), asJSON)
		if err != nil || !asJSON {
			return err
		}
		return writeJSON(cmd.OutOrStdout(), out)
	}()
	if err != nil {
		return fmt.Errorf("query %s: %w", name, err)
	}
	return nil
}

// accountOf reads an account given as flag: a bech32 address, or the name
// of a key of the home's keyring.
func (c *cli) accountOf(cmd *cobra.Command, flag, s string) (tx.Address, error) {
	if a, err := tx.ParseAddress(s); err == nil {
		return a, nil
	}
	if keyring.ValidName(s) != nil {
		return tx.Address{}, fmt.Errorf("%s %q: neither an address nor a key name", flag, s)
	}
	home, err := c.home(cmd)
	if err != nil {
		return tx.Address{}, err
	}
	k, err := validator.Keyring(home).Get(s)
	if err != nil {
		return tx.Address{}, fmt.Errorf("%s %q: not an address, and %w", flag, s, err)
	}
	return k.Address, nil
}

func printValidator(w io.Writer, v tx.ValidatorInfo) {
	jailed := ""
	if v.Jailed {
		jailed = " jailed"
	}
	fmt.Fprintf(w, "%s %s%s tokens=%s power=%d commission=%s moniker=%q\n", v.OperatorAddress, v.Status, jailed, v.Tokens, v.Power,
		v.Commission.CommissionRates.Rate, v.Description.Moniker)
}

func (c *cli) queryValidatorsCmd() *cobra.Command {
	var o queryOptions
	cmd := &cobra.Command{
		Use:   "validators",
		Short: "List every validator",
		Long: `List every validator, by operator address: its status (BOND_STATUS_BONDED
for the active set), tokens, voting power, commission rate and moniker.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuery(cmd, "staking validators", o, func(ctx context.Context, sc *state.Client, w io.Writer, asJSON bool) (any, error) {
				r, err := sc.Validators(ctx)
				if err != nil || asJSON {
					return r, err
				}
				for _, v := range r.Validators {
					printValidator(w, v)
				}
				return nil, nil
			})
		},
	}
	addQueryFlags(cmd, &o)
	return cmd
}

func (c *cli) queryValidatorCmd() *cobra.Command {
	var o queryOptions
	cmd := &cobra.Command{
		Use:   "validator ADDRESS",
		Short: "Show one validator",
		Long:  `Show the validator operated by ADDRESS (mesh1... or meshvaloper1...).`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseValidator("ADDRESS", args[0])
			if err != nil {
				return fmt.Errorf("query staking validator: %w", err)
			}
			return runQuery(cmd, "staking validator", o, func(ctx context.Context, sc *state.Client, w io.Writer, asJSON bool) (any, error) {
				r, err := sc.Validator(ctx, v)
				if err != nil || asJSON {
					return r, err
				}
				printValidator(w, r.Validator)
				return nil, nil
			})
		},
	}
	addQueryFlags(cmd, &o)
	return cmd
}

// delegatorFlags are --delegator and --validator of the pair queries.
type delegatorFlags struct {
	delegator, validator string
}

func addDelegatorFlags(cmd *cobra.Command, d *delegatorFlags, validatorRequired bool) {
	cmd.Flags().StringVar(&d.delegator, "delegator", "", "the delegator: a bech32 address or a key name of the home's keyring (required)")
	_ = cmd.MarkFlagRequired("delegator")
	if validatorRequired {
		cmd.Flags().StringVar(&d.validator, "validator", "", "the validator's operator address (required)")
		_ = cmd.MarkFlagRequired("validator")
	}
}

func (c *cli) pair(cmd *cobra.Command, d delegatorFlags) (del, val tx.Address, err error) {
	if del, err = c.accountOf(cmd, "--delegator", d.delegator); err != nil {
		return
	}
	val, err = parseValidator("--validator", d.validator)
	return
}

func (c *cli) queryDelegationCmd() *cobra.Command {
	var o queryOptions
	var d delegatorFlags
	cmd := &cobra.Command{
		Use:   "delegation --delegator ADDRESS|KEY --validator ADDRESS",
		Short: "Show a delegation",
		Long:  `Show the delegation of --delegator to --validator: its shares and the tokens they stand for.`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			del, val, err := c.pair(cmd, d)
			if err != nil {
				return fmt.Errorf("query staking delegation: %w", err)
			}
			return runQuery(cmd, "staking delegation", o, func(ctx context.Context, sc *state.Client, w io.Writer, asJSON bool) (any, error) {
				r, err := sc.Delegation(ctx, del, val)
				if err != nil || asJSON {
					return r, err
				}
				dr := r.DelegationResponse
				fmt.Fprintf(w, "delegator: %s\nvalidator: %s\nshares: %s\nbalance: %s%s\n", dr.Delegation.DelegatorAddress,
					dr.Delegation.ValidatorAddress, dr.Delegation.Shares, dr.Balance.Amount, dr.Balance.Denom)
				return nil, nil
			})
		},
	}
	addQueryFlags(cmd, &o)
	addDelegatorFlags(cmd, &d, true)
	return cmd
}

func (c *cli) queryUnbondingCmd() *cobra.Command {
	var o queryOptions
	var d delegatorFlags
	cmd := &cobra.Command{
		Use:   "unbonding --delegator ADDRESS|KEY --validator ADDRESS",
		Short: "Show the unbonding entries of a delegation",
		Long: `Show --delegator's unbonding entries from --validator, oldest first: the
height that created each (tx staking cancel-unbonding --height takes it),
when its tokens return, and how many.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			del, val, err := c.pair(cmd, d)
			if err != nil {
				return fmt.Errorf("query staking unbonding: %w", err)
			}
			return runQuery(cmd, "staking unbonding", o, func(ctx context.Context, sc *state.Client, w io.Writer, asJSON bool) (any, error) {
				r, err := sc.Unbonding(ctx, del, val)
				if err != nil || asJSON {
					return r, err
				}
				for _, e := range r.Unbond.Entries {
					fmt.Fprintf(w, "height=%d completion=%s initial=%s balance=%s\n", e.CreationHeight,
						e.CompletionTime.Format(time.RFC3339), e.InitialBalance, e.Balance)
				}
				return nil, nil
			})
		},
	}
	addQueryFlags(cmd, &o)
	addDelegatorFlags(cmd, &d, true)
	return cmd
}

func (c *cli) queryRedelegationsCmd() *cobra.Command {
	var o queryOptions
	var d delegatorFlags
	var src, dst string
	cmd := &cobra.Command{
		Use:   "redelegations --delegator ADDRESS|KEY [--src-validator ADDRESS] [--dst-validator ADDRESS]",
		Short: "Show the redelegations of a delegator",
		Long: `Show --delegator's redelegations still slashable for their source's
misbehaviour, from --src-validator and to --dst-validator when given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			del, err := c.accountOf(cmd, "--delegator", d.delegator)
			if err != nil {
				return fmt.Errorf("query staking redelegations: %w", err)
			}
			var sp, dp *tx.Address
			for _, x := range []struct {
				flag, s string
				out     **tx.Address
			}{{"--src-validator", src, &sp}, {"--dst-validator", dst, &dp}} {
				if x.s == "" {
					continue
				}
				a, err := parseValidator(x.flag, x.s)
				if err != nil {
					return fmt.Errorf("query staking redelegations: %w", err)
				}
				*x.out = &a
			}
			return runQuery(cmd, "staking redelegations", o, func(ctx context.Context, sc *state.Client, w io.Writer, asJSON bool) (any, error) {
				r, err := sc.Redelegations(ctx, del, sp, dp)
				if err != nil || asJSON {
					return r, err
				}
				for _, rd := range r.RedelegationResponses {
					for _, e := range rd.Entries {
						fmt.Fprintf(w, "%s -> %s height=%d completion=%s initial=%s balance=%s\n", rd.Redelegation.ValidatorSrcAddress,
							rd.Redelegation.ValidatorDstAddress, e.RedelegationEntry.CreationHeight,
							e.RedelegationEntry.CompletionTime.Format(time.RFC3339), e.RedelegationEntry.InitialBalance, e.Balance)
					}
				}
				return nil, nil
			})
		},
	}
	addQueryFlags(cmd, &o)
	addDelegatorFlags(cmd, &d, false)
	cmd.Flags().StringVar(&src, "src-validator", "", "only redelegations from this validator")
	cmd.Flags().StringVar(&dst, "dst-validator", "", "only redelegations to this validator")
	return cmd
}

func (c *cli) queryRewardsCmd() *cobra.Command {
	var o queryOptions
	var d delegatorFlags
	cmd := &cobra.Command{
		Use:   "rewards --delegator ADDRESS|KEY --validator ADDRESS",
		Short: "Show the rewards a withdrawal would pay",
		Long: `Show the rewards tx distribution withdraw-rewards would pay --delegator
from --validator now (with 18 decimals; the whole tokens are paid), and the
validator's accrued commission when the delegator is its operator.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			del, val, err := c.pair(cmd, d)
			if err != nil {
				return fmt.Errorf("query distribution rewards: %w", err)
			}
			return runQuery(cmd, "distribution rewards", o, func(ctx context.Context, sc *state.Client, w io.Writer, asJSON bool) (any, error) {
				r, err := sc.DelegationRewards(ctx, del, val)
				if err != nil || asJSON {
					return r, err
				}
				for _, x := range []struct {
					name  string
					coins []tx.DecCoin
				}{{"rewards", r.Rewards}, {"commission", r.Commission}} {
					for _, coin := range x.coins {
						fmt.Fprintf(w, "%s: %s%s\n", x.name, coin.Amount, coin.Denom)
					}
				}
				if len(r.Rewards) == 0 {
					fmt.Fprintln(w, "rewards: 0")
				}
				return nil, nil
			})
		},
	}
	addQueryFlags(cmd, &o)
	addDelegatorFlags(cmd, &d, true)
	return cmd
}
