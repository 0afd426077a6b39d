package celestia_test

import (
	"encoding/json"
	"strings"
	"testing"

	sdkmath "cosmossdk.io/math"
	"github.com/celestiaorg/celestia-node/api/rpc/client"
	sdk "github.com/cosmos/cosmos-sdk/types"
	distributiontypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// poaError is what mesh-node answers every staking method with on a
// proof-of-authority chain, which the devnet is.
const poaError = "this chain is proof of authority"

// TestStateStaking calls the state module's staking methods through
// celestia-node's client. The devnet is proof of authority, so every one
// answers mesh-node's error, and that the answer is this error (rather than
// a parameter decoding error) shows that the node took the client's
// encoding: validators as sdk.ValAddress (celestiavaloper1…), amounts and
// heights as math.Int strings, TxConfig. The answers' success shapes need a
// proof-of-stake network (mesh-node core testnet), which this suite does not
// start: TestStakingAnswerShapes decodes samples of them.
func TestStateStaking(t *testing.T) {
	val := sdk.ValAddress(accAddress(t, dn.Accounts["dev"]))
	other := sdk.ValAddress(accAddress(t, dn.Accounts["bridge"]))
	amount := sdkmath.NewInt(1000)
	forEachClient(t, func(t *testing.T, mode string, c *client.Client) {
		ctx := testCtx(t)
		calls := map[string]func() error{
			"Delegate": func() error { _, err := c.State.Delegate(ctx, val, amount, txConfig()); return err },
			"Undelegate": func() error {
				_, err := c.State.Undelegate(ctx, val, amount, txConfig())
				return err
			},
			"BeginRedelegate": func() error {
				_, err := c.State.BeginRedelegate(ctx, val, other, amount, txConfig())
				return err
			},
			"CancelUnbondingDelegation": func() error {
				_, err := c.State.CancelUnbondingDelegation(ctx, val, amount, sdkmath.NewInt(5), txConfig())
				return err
			},
			"WithdrawDelegatorReward": func() error {
				_, err := c.State.WithdrawDelegatorReward(ctx, val, txConfig())
				return err
			},
			"QueryDelegationRewards": func() error { _, err := c.State.QueryDelegationRewards(ctx, val); return err },
			"QueryDelegation":        func() error { _, err := c.State.QueryDelegation(ctx, val); return err },
			"QueryUnbonding":         func() error { _, err := c.State.QueryUnbonding(ctx, val); return err },
			"QueryRedelegations": func() error {
				_, err := c.State.QueryRedelegations(ctx, val, other)
				return err
			},
		}
		for name, call := range calls {
			if err := call(); err == nil || !strings.Contains(err.Error(), poaError) {
				t.Errorf("%s: %v, want mesh-node's %q", name, err, poaError)
			}
		}
	})
}

// Answers of mesh-node's staking queries on a proof-of-stake network, as
// core/app writes them, with the amounts api's TestStateStakingOverRPC
// reaches.
const (
	delegationAnswer = `{"delegation_response":{"delegation":{"delegator_address":"mesh1pqzs8zlatpvztgjpq2wdwlwzt6nyh7q8kqx7r7",` +
		`"validator_address":"mesh159t8x6klc7tujw2ugwgqhcltjey0du9wcx4d4u","shares":"190000000.000000000000000000"},` +
		`"balance":{"denom":"umesh","amount":"190000000"}}}`
	unbondingAnswer = `{"unbond":{"delegator_address":"mesh1pqzs8zlatpvztgjpq2wdwlwzt6nyh7q8kqx7r7",` +
		`"validator_address":"mesh159t8x6klc7tujw2ugwgqhcltjey0du9wcx4d4u","entries":[{"creation_height":7,` +
		`"completion_time":"2026-12-06T12:42:13Z","initial_balance":"100000000","balance":"60000000"}]}}`
	redelegationsAnswer = `{"redelegation_responses":[{"redelegation":{"delegator_address":"mesh1pqzs8zlatpvztgjpq2wdwlwzt6nyh7q8kqx7r7",` +
		`"validator_src_address":"mesh159t8x6klc7tujw2ugwgqhcltjey0du9wcx4d4u","validator_dst_address":"mesh18fu2jf03fsaucegwc33lkjlle22w42mcduvkdl",` +
		`"entries":[{"creation_height":9,"completion_time":"2026-12-06T12:42:14Z","initial_balance":"50000000","shares_dst":"50000000.000000000000000000"}]},` +
		`"entries":[{"redelegation_entry":{"creation_height":9,"completion_time":"2026-12-06T12:42:14Z","initial_balance":"50000000",` +
		`"shares_dst":"50000000.000000000000000000"},"balance":"50000000"}]}]}`
	rewardsAnswer = `{"rewards":[{"denom":"umesh","amount":"12.500000000000000000"}],"commission":[{"denom":"umesh","amount":"3.000000000000000000"}]}`
)

// TestStakingAnswerShapes decodes mesh-node's staking answers into the
// Cosmos SDK types celestia-node's client returns, with encoding/json as
// go-jsonrpc does, and checks the values arrive.
func TestStakingAnswerShapes(t *testing.T) {
	var d stakingtypes.QueryDelegationResponse
	if err := json.Unmarshal([]byte(delegationAnswer), &d); err != nil || d.DelegationResponse == nil ||
		!d.DelegationResponse.Balance.Amount.Equal(sdkmath.NewInt(190000000)) ||
		!d.DelegationResponse.Delegation.Shares.Equal(sdkmath.LegacyNewDec(190000000)) {
		t.Fatalf("QueryDelegationResponse: %+v %v", d, err)
	}
	var u stakingtypes.QueryUnbondingDelegationResponse
	if err := json.Unmarshal([]byte(unbondingAnswer), &u); err != nil || len(u.Unbond.Entries) != 1 ||
		u.Unbond.Entries[0].CreationHeight != 7 || u.Unbond.Entries[0].CompletionTime.IsZero() ||
		!u.Unbond.Entries[0].Balance.Equal(sdkmath.NewInt(60000000)) {
		t.Fatalf("QueryUnbondingDelegationResponse: %+v %v", u, err)
	}
	var r stakingtypes.QueryRedelegationsResponse
	if err := json.Unmarshal([]byte(redelegationsAnswer), &r); err != nil || len(r.RedelegationResponses) != 1 ||
		len(r.RedelegationResponses[0].Entries) != 1 || !r.RedelegationResponses[0].Entries[0].Balance.Equal(sdkmath.NewInt(50000000)) ||
		!r.RedelegationResponses[0].Entries[0].RedelegationEntry.SharesDst.Equal(sdkmath.LegacyNewDec(50000000)) {
		t.Fatalf("QueryRedelegationsResponse: %+v %v", r, err)
	}
	var rw distributiontypes.QueryDelegationRewardsResponse
	if err := json.Unmarshal([]byte(rewardsAnswer), &rw); err != nil || len(rw.Rewards) != 1 ||
		!rw.Rewards[0].Amount.Equal(sdkmath.LegacyMustNewDecFromStr("12.5")) {
		t.Fatalf("QueryDelegationRewardsResponse: %+v %v", rw, err)
	}
}
