package tx

import "time"

// ABCI query paths of a proof-of-stake chain's staking and distribution
// state (core/app answers them in JSON at the last committed height; a
// proof-of-authority chain answers CodeNotFound). The data of every path
// but StakingValidatorsQueryPath is a StakingQuery in JSON. The answers
// have the JSON shapes of Cosmos SDK's staking and distribution query
// responses, which celestia-node's state module returns (QueryDelegation,
// QueryUnbonding, QueryRedelegations, QueryDelegationRewards): bech32
// addresses, amounts and decimals as strings, times in RFC 3339.
const (
	// StakingValidatorsQueryPath: no data; answer QueryValidatorsResponse.
	StakingValidatorsQueryPath = "/staking/validators"
	// StakingValidatorQueryPath: Validator set; answer
	// QueryValidatorResponse.
	StakingValidatorQueryPath = "/staking/validator"
	// StakingDelegationQueryPath: Delegator and Validator; answer
	// QueryDelegationResponse.
	StakingDelegationQueryPath = "/staking/delegation"
	// StakingDelegationsQueryPath: Delegator; answer
	// QueryDelegatorDelegationsResponse.
	StakingDelegationsQueryPath = "/staking/delegations"
	// StakingUnbondingQueryPath: Delegator and Validator; answer
	// QueryUnbondingDelegationResponse.
	StakingUnbondingQueryPath = "/staking/unbonding"
	// StakingRedelegationsQueryPath: Delegator, optional Src and Dst;
	// answer QueryRedelegationsResponse.
	StakingRedelegationsQueryPath = "/staking/redelegations"
	// DistributionRewardsQueryPath: Delegator and Validator; answer
	// QueryDelegationRewardsResponse.
	DistributionRewardsQueryPath = "/distribution/rewards"
)

// Denom is the chain's base unit in query answers (celestia-node's state
// module reports balances in it).
const Denom = "umesh"

// StakingQuery is the data of the staking query paths.
type StakingQuery struct {
	Delegator *Address `json:"delegator,omitempty"`
	Validator *Address `json:"validator,omitempty"`
	Src       *Address `json:"src_validator,omitempty"`
	Dst       *Address `json:"dst_validator,omitempty"`
}

// Coin is an amount of Denom (Cosmos sdk.Coin: the amount a decimal
// string); DecCoin one with 18 decimals (sdk.DecCoin).
type Coin struct {
	Denom  string `json:"denom"`
	Amount string `json:"amount"`
}

// DecCoin is an amount with 18 decimals.
type DecCoin struct {
	Denom  string `json:"denom"`
	Amount string `json:"amount"`
}

// CommissionRates are a validator's commission rates (decimals).
type CommissionRates struct {
	Rate          string `json:"rate"`
	MaxRate       string `json:"max_rate"`
	MaxChangeRate string `json:"max_change_rate"`
}

// ValidatorCommission is a validator's commission and when its rate last
// changed.
type ValidatorCommission struct {
	CommissionRates CommissionRates `json:"commission_rates"`
	UpdateTime      time.Time       `json:"update_time"`
}

// ValidatorDescription holds a validator's moniker.
type ValidatorDescription struct {
	Moniker string `json:"moniker,omitempty"`
}

// ValidatorInfo is a validator (Cosmos staking Validator). ConsensusPubKey
// is the ed25519 key (base64 in JSON); Status is BOND_STATUS_BONDED,
// _UNBONDING or _UNBONDED; Power its CometBFT voting power (0 outside the
// active set).
type ValidatorInfo struct {
	OperatorAddress string               `json:"operator_address"`
	ConsensusPubKey []byte               `json:"consensus_pubkey"`
	Jailed          bool                 `json:"jailed,omitempty"`
	Status          string               `json:"status"`
	Tokens          string               `json:"tokens"`
	DelegatorShares string               `json:"delegator_shares"`
	Description     ValidatorDescription `json:"description"`
	UnbondingHeight int64                `json:"unbonding_height,omitempty"`
	UnbondingTime   time.Time            `json:"unbonding_time"`
	Commission      ValidatorCommission  `json:"commission"`
	Power           int64                `json:"power"`
}

// QueryValidatorsResponse answers StakingValidatorsQueryPath: every
// validator, by operator address.
type QueryValidatorsResponse struct {
	Validators []ValidatorInfo `json:"validators"`
}

// QueryValidatorResponse answers StakingValidatorQueryPath.
type QueryValidatorResponse struct {
	Validator ValidatorInfo `json:"validator"`
}

// DelegationInfo is a delegation's shares (Cosmos staking Delegation).
type DelegationInfo struct {
	DelegatorAddress string `json:"delegator_address,omitempty"`
	ValidatorAddress string `json:"validator_address,omitempty"`
	Shares           string `json:"shares"`
}

// DelegationResponse is a delegation with the tokens its shares stand
// for.
type DelegationResponse struct {
	Delegation DelegationInfo `json:"delegation"`
	Balance    Coin           `json:"balance"`
}

// QueryDelegationResponse answers StakingDelegationQueryPath.
type QueryDelegationResponse struct {
	DelegationResponse *DelegationResponse `json:"delegation_response,omitempty"`
}

// QueryDelegatorDelegationsResponse answers StakingDelegationsQueryPath.
type QueryDelegatorDelegationsResponse struct {
	DelegationResponses []DelegationResponse `json:"delegation_responses"`
}

// UnbondingDelegationEntry is one undelegation waiting for its
// completion time; Balance is InitialBalance less slashes.
type UnbondingDelegationEntry struct {
	CreationHeight int64     `json:"creation_height,omitempty"`
	CompletionTime time.Time `json:"completion_time"`
	InitialBalance string    `json:"initial_balance"`
	Balance        string    `json:"balance"`
}

// UnbondingDelegation is a delegator's unbonding entries from one
// validator, oldest first.
type UnbondingDelegation struct {
	DelegatorAddress string                     `json:"delegator_address,omitempty"`
	ValidatorAddress string                     `json:"validator_address,omitempty"`
	Entries          []UnbondingDelegationEntry `json:"entries"`
}

// QueryUnbondingDelegationResponse answers StakingUnbondingQueryPath.
type QueryUnbondingDelegationResponse struct {
	Unbond UnbondingDelegation `json:"unbond"`
}

// RedelegationEntry is one redelegation, slashable for the source's
// infractions until its completion time.
type RedelegationEntry struct {
	CreationHeight int64     `json:"creation_height,omitempty"`
	CompletionTime time.Time `json:"completion_time"`
	InitialBalance string    `json:"initial_balance"`
	SharesDst      string    `json:"shares_dst"`
}

// Redelegation is a delegator's redelegations from one validator to
// another.
type Redelegation struct {
	DelegatorAddress    string              `json:"delegator_address,omitempty"`
	ValidatorSrcAddress string              `json:"validator_src_address,omitempty"`
	ValidatorDstAddress string              `json:"validator_dst_address,omitempty"`
	Entries             []RedelegationEntry `json:"entries"`
}

// RedelegationEntryResponse is an entry with the tokens its destination
// shares stand for now.
type RedelegationEntryResponse struct {
	RedelegationEntry RedelegationEntry `json:"redelegation_entry"`
	Balance           string            `json:"balance"`
}

// RedelegationResponse is a redelegation with its entries' balances.
type RedelegationResponse struct {
	Redelegation Redelegation                `json:"redelegation"`
	Entries      []RedelegationEntryResponse `json:"entries"`
}

// QueryRedelegationsResponse answers StakingRedelegationsQueryPath.
type QueryRedelegationsResponse struct {
	RedelegationResponses []RedelegationResponse `json:"redelegation_responses"`
}

// QueryDelegationRewardsResponse answers DistributionRewardsQueryPath:
// the rewards a withdrawal would pay now (it pays the integer part), and,
// when the delegator is the validator's operator, its accrued commission.
type QueryDelegationRewardsResponse struct {
	Rewards    []DecCoin `json:"rewards"`
	Commission []DecCoin `json:"commission,omitempty"`
}
