package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
)

// Errors of the staking methods.
var (
	// ErrProofOfAuthority is wrapped by every staking transaction and
	// query on a chain whose genesis is proof of authority (no
	// "consensus": "pos"): it has no staking. Nothing is signed or sent.
	ErrProofOfAuthority = errors.New("state: this chain is proof of authority: it has no staking")
	// ErrNotFound is wrapped when the chain holds no such validator,
	// delegation or unbonding (the application's tx.CodeNotFound), with
	// the application's log.
	ErrNotFound = errors.New("state: staking: not found")
)

// Delegate delegates amount from the selected key (see TxConfig; cfg may
// be nil) to the validator operated by val, and returns once a block
// includes it. A transaction the chain refuses is a *TxError
// (ErrTxFailed); on a proof-of-authority chain the staking methods fail
// with ErrProofOfAuthority before anything is signed.
func (c *Client) Delegate(ctx context.Context, val tx.Address, amount Int, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgDelegate{Delegator: signer, Validator: val, Amount: uint64(amount)}
	})
}

// Undelegate starts unbonding amount of the selected key's stake with val;
// the tokens return to it at the entry's completion time (QueryUnbonding).
func (c *Client) Undelegate(ctx context.Context, val tx.Address, amount Int, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgUndelegate{Delegator: signer, Validator: val, Amount: uint64(amount)}
	})
}

// BeginRedelegate moves amount of the selected key's stake from validator
// src to validator dst at once.
func (c *Client) BeginRedelegate(ctx context.Context, src, dst tx.Address, amount Int, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgBeginRedelegate{Delegator: signer, Src: src, Dst: dst, Amount: uint64(amount)}
	})
}

// CancelUnbondingDelegation delegates amount of the selected key's
// unbonding entry from val made at height back to val.
func (c *Client) CancelUnbondingDelegation(ctx context.Context, val tx.Address, amount, height Int, cfg *TxConfig) (*TxResponse, error) {
	if height > math.MaxInt64 {
		return nil, fmt.Errorf("%w: creation height %d", ErrInvalidTx, height)
	}
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgCancelUnbondingDelegation{Delegator: signer, Validator: val, Amount: uint64(amount), CreationHeight: int64(height)}
	})
}

// CreateValidator makes the selected key's account the operator of a new
// validator: msg's consensus key, self-bond, rates and moniker (its
// Operator is ignored: the signer is the operator). The validator enters
// the active set at the end of the block if its stake ranks among the top
// max_validators.
func (c *Client) CreateValidator(ctx context.Context, msg tx.MsgCreateValidator, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		m := msg
		m.Operator = signer
		return &m
	})
}

// EditValidator changes the selected key's validator: its moniker when
// moniker is not nil, its commission rate (units of 10^-18, tx.RateOne is
// 100%) when rate is not nil.
func (c *Client) EditValidator(ctx context.Context, moniker *string, rate *uint64, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgEditValidator{Operator: signer, Moniker: moniker, Rate: rate}
	})
}

// WithdrawDelegatorReward pays the selected key its rewards from its
// delegation to val.
func (c *Client) WithdrawDelegatorReward(ctx context.Context, val tx.Address, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgWithdrawRewards{Delegator: signer, Validator: val}
	})
}

// WithdrawValidatorCommission pays the selected key, a validator's
// operator, its validator's accrued commission and the rewards of its own
// delegation (its self-bond).
func (c *Client) WithdrawValidatorCommission(ctx context.Context, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgWithdrawRewards{Delegator: signer, Validator: signer, Commission: true}
	})
}

// Unjail returns the selected key's validator, jailed for downtime, to
// the candidates of the active set once its jail time has passed.
func (c *Client) Unjail(ctx context.Context, cfg *TxConfig) (*TxResponse, error) {
	return c.submitStaking(ctx, cfg, func(signer tx.Address) tx.Msg {
		return &tx.MsgUnjail{Operator: signer}
	})
}

// submitStaking submits the staking message build returns for the signer.
// submit refuses it on a proof-of-authority chain.
func (c *Client) submitStaking(ctx context.Context, cfg *TxConfig, build func(signer tx.Address) tx.Msg) (*TxResponse, error) {
	if cfg != nil && cfg.KZG {
		return nil, fmt.Errorf("%w: kzg is an option of PayForBlobs; a staking transaction has no blobs", ErrInvalidTx)
	}
	return c.submit(ctx, cfg, func(signer tx.Address) (tx.Msg, []*share.Blob, error) { return build(signer), nil, nil })
}

// QueryDelegation returns the default key's delegation to val
// (celestia-node's state.QueryDelegation); ErrNotFound if there is none.
func (c *Client) QueryDelegation(ctx context.Context, val tx.Address) (*tx.QueryDelegationResponse, error) {
	del, err := c.defaultAddress()
	if err != nil {
		return nil, err
	}
	return c.Delegation(ctx, del, val)
}

// QueryUnbonding returns the default key's unbonding entries from val,
// oldest first; ErrNotFound if there are none.
func (c *Client) QueryUnbonding(ctx context.Context, val tx.Address) (*tx.QueryUnbondingDelegationResponse, error) {
	del, err := c.defaultAddress()
	if err != nil {
		return nil, err
	}
	return c.Unbonding(ctx, del, val)
}

// QueryRedelegations returns the default key's redelegations from src to
// dst (possibly none).
func (c *Client) QueryRedelegations(ctx context.Context, src, dst tx.Address) (*tx.QueryRedelegationsResponse, error) {
	del, err := c.defaultAddress()
	if err != nil {
		return nil, err
	}
	return c.Redelegations(ctx, del, &src, &dst)
}

// QueryDelegationRewards returns the rewards a withdrawal from val would
// pay the default key now (and, when it operates val, the commission).
func (c *Client) QueryDelegationRewards(ctx context.Context, val tx.Address) (*tx.QueryDelegationRewardsResponse, error) {
	del, err := c.defaultAddress()
	if err != nil {
		return nil, err
	}
	return c.DelegationRewards(ctx, del, val)
}

// Validators returns every validator, by operator address.
func (c *Client) Validators(ctx context.Context) (*tx.QueryValidatorsResponse, error) {
	return queryStaking[tx.QueryValidatorsResponse](ctx, c, tx.StakingValidatorsQueryPath, tx.StakingQuery{})
}

// Validator returns the validator operated by val; ErrNotFound if there is
// none.
func (c *Client) Validator(ctx context.Context, val tx.Address) (*tx.QueryValidatorResponse, error) {
	return queryStaking[tx.QueryValidatorResponse](ctx, c, tx.StakingValidatorQueryPath, tx.StakingQuery{Validator: &val})
}

// Delegation returns del's delegation to val; ErrNotFound if there is
// none.
func (c *Client) Delegation(ctx context.Context, del, val tx.Address) (*tx.QueryDelegationResponse, error) {
	r, err := queryStaking[tx.QueryDelegationResponse](ctx, c, tx.StakingDelegationQueryPath, tx.StakingQuery{Delegator: &del, Validator: &val})
	if err == nil && r.DelegationResponse == nil {
		return nil, fmt.Errorf("state: query delegation of %s to %s: empty answer", del, val)
	}
	return r, err
}

// Delegations returns every delegation of del.
func (c *Client) Delegations(ctx context.Context, del tx.Address) (*tx.QueryDelegatorDelegationsResponse, error) {
	return queryStaking[tx.QueryDelegatorDelegationsResponse](ctx, c, tx.StakingDelegationsQueryPath, tx.StakingQuery{Delegator: &del})
}

// Unbonding returns del's unbonding entries from val, oldest first;
// ErrNotFound if there are none.
func (c *Client) Unbonding(ctx context.Context, del, val tx.Address) (*tx.QueryUnbondingDelegationResponse, error) {
	return queryStaking[tx.QueryUnbondingDelegationResponse](ctx, c, tx.StakingUnbondingQueryPath, tx.StakingQuery{Delegator: &del, Validator: &val})
}

// Redelegations returns del's redelegations, from src and to dst when they
// are not nil.
func (c *Client) Redelegations(ctx context.Context, del tx.Address, src, dst *tx.Address) (*tx.QueryRedelegationsResponse, error) {
	return queryStaking[tx.QueryRedelegationsResponse](ctx, c, tx.StakingRedelegationsQueryPath, tx.StakingQuery{Delegator: &del, Src: src, Dst: dst})
}

// DelegationRewards returns the rewards a withdrawal from val would pay
// del now (and, when del operates val, the commission).
func (c *Client) DelegationRewards(ctx context.Context, del, val tx.Address) (*tx.QueryDelegationRewardsResponse, error) {
	return queryStaking[tx.QueryDelegationRewardsResponse](ctx, c, tx.DistributionRewardsQueryPath, tx.StakingQuery{Delegator: &del, Validator: &val})
}

// queryStaking asks the application path with q and decodes its JSON
// answer: ErrProofOfAuthority on a proof-of-authority chain, ErrNotFound
// for tx.CodeNotFound. The answer is nil exactly when the error is not.
func queryStaking[T any](ctx context.Context, c *Client, path string, q tx.StakingQuery) (*T, error) {
	ctx, end, chain, err := c.beginChain(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	if !chain.pos {
		return nil, fmt.Errorf("%w (query %s)", ErrProofOfAuthority, path)
	}
	var data []byte
	if path != tx.StakingValidatorsQueryPath {
		if data, err = json.Marshal(q); err != nil {
			return nil, fmt.Errorf("state: query %s: %w", path, err)
		}
	}
	res, err := c.rpc.ABCIQuery(ctx, path, data)
	if err != nil {
		return nil, fmt.Errorf("state: query %s: %w", path, err)
	}
	switch res.Response.Code {
	case tx.CodeOK:
	case tx.CodeNotFound:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, res.Response.Log)
	default:
		return nil, fmt.Errorf("state: query %s: code %d: %s", path, res.Response.Code, res.Response.Log)
	}
	out := new(T)
	if err := json.Unmarshal(res.Response.Value, out); err != nil {
		return nil, fmt.Errorf("state: query %s: decode answer: %w", path, err)
	}
	return out, nil
}
