package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// StateService is what the state module serves: package state's client of
// the core node.
type StateService interface {
	// AccountAddress returns the node's default account.
	AccountAddress(ctx context.Context) (tx.Address, error)
	// Balance returns the default account's balance.
	Balance(ctx context.Context) (*state.Coin, error)
	// BalanceForAddress returns addr's balance.
	BalanceForAddress(ctx context.Context, addr tx.Address) (*state.Coin, error)
	// Transfer sends amount to to and returns the included transaction.
	Transfer(ctx context.Context, to tx.Address, amount state.Int, cfg *state.TxConfig) (*state.TxResponse, error)
	// SubmitPayForBlob pays for blobs and returns the included transaction.
	SubmitPayForBlob(ctx context.Context, blobs []*share.Blob, cfg *state.TxConfig) (*state.TxResponse, error)
	// Params returns the chain's parameters (its genesis's).
	Params(ctx context.Context) (tx.Params, error)
}

// StakingService is what the state module's staking methods use: package
// state's client of a proof-of-stake chain. A StateService that does not
// implement it (a node without core.rpc) answers them with
// ErrNoStaking.
type StakingService interface {
	Delegate(ctx context.Context, val tx.Address, amount state.Int, cfg *state.TxConfig) (*state.TxResponse, error)
	Undelegate(ctx context.Context, val tx.Address, amount state.Int, cfg *state.TxConfig) (*state.TxResponse, error)
	BeginRedelegate(ctx context.Context, src, dst tx.Address, amount state.Int, cfg *state.TxConfig) (*state.TxResponse, error)
	CancelUnbondingDelegation(ctx context.Context, val tx.Address, amount, height state.Int, cfg *state.TxConfig) (*state.TxResponse, error)
	WithdrawDelegatorReward(ctx context.Context, val tx.Address, cfg *state.TxConfig) (*state.TxResponse, error)
	QueryDelegationRewards(ctx context.Context, val tx.Address) (*tx.QueryDelegationRewardsResponse, error)
	QueryDelegation(ctx context.Context, val tx.Address) (*tx.QueryDelegationResponse, error)
	QueryUnbonding(ctx context.Context, val tx.Address) (*tx.QueryUnbondingDelegationResponse, error)
	QueryRedelegations(ctx context.Context, src, dst tx.Address) (*tx.QueryRedelegationsResponse, error)
}

// ErrNoStaking answers the staking methods of a state module whose
// service has none.
var ErrNoStaking = errors.New("api: state: this node's state service has no staking (set core.rpc)")

// StateModule is the "state" RPC module: celestia-node's state methods
// with their permissions (queries read, transactions write). Addresses are
// bech32 strings in JSON, amounts decimal strings. Once the node halts on
// a bad-encoding proof (ModuleOptions.Halt), every method but
// AccountAddress (the node's own key, which needs no chain) is refused
// with the halt's error: transactions, and the balances of a chain whose
// data is proven unavailable, as celestia-node, which stops its whole
// state service at a bad-encoding proof.
type StateModule struct {
	svc  StateService
	halt Halt
}

// stateMethods is the state module's table (see rpcTable).
var stateMethods = rpcTable{namespace: "state", methods: map[string]rpcMethod{
	"AccountAddress":    {perm: PermRead},
	"Balance":           {perm: PermRead},
	"BalanceForAddress": {perm: PermRead},
	"Transfer":          {perm: PermWrite},
	"SubmitPayForBlob":  {perm: PermWrite},
	"Params":            {perm: PermRead},

	"Delegate":                  {perm: PermWrite},
	"Undelegate":                {perm: PermWrite},
	"BeginRedelegate":           {perm: PermWrite},
	"CancelUnbondingDelegation": {perm: PermWrite},
	"WithdrawDelegatorReward":   {perm: PermWrite},
	"QueryDelegationRewards":    {perm: PermRead},
	"QueryDelegation":           {perm: PermRead},
	"QueryUnbonding":            {perm: PermRead},
	"QueryRedelegations":        {perm: PermRead},
}}

func (*StateModule) rpcTable() *rpcTable { return &stateMethods }

// NewStateModule returns the state module over svc, halting with the Halt
// of opts (at most one; its Limiter is unused: state has no heavy call).
func NewStateModule(svc StateService, opts ModuleOptions) *StateModule {
	return &StateModule{svc: svc, halt: checkHalt(opts.Halt)}
}

// AccountAddress (state.AccountAddress, read) returns the node's account.
func (m *StateModule) AccountAddress(ctx context.Context) (tx.Address, error) {
	if err := requirePerm(ctx, m); err != nil {
		return tx.Address{}, err
	}
	return m.svc.AccountAddress(ctx)
}

// Balance (state.Balance, read) returns the node account's balance.
func (m *StateModule) Balance(ctx context.Context) (*state.Coin, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if err := haltAny(m.halt); err != nil {
		return nil, err
	}
	return m.svc.Balance(ctx)
}

// BalanceForAddress (state.BalanceForAddress, read) returns addr's
// balance.
func (m *StateModule) BalanceForAddress(ctx context.Context, addr AccountRef) (*state.Coin, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if err := haltAny(m.halt); err != nil {
		return nil, err
	}
	return m.svc.BalanceForAddress(ctx, tx.Address(addr))
}

// Transfer (state.Transfer, write) sends amount to to from the node's
// account with config (null: the defaults).
func (m *StateModule) Transfer(ctx context.Context, to AccountRef, amount state.Int, config *state.TxConfig) (*state.TxResponse, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if err := haltAny(m.halt); err != nil {
		return nil, err
	}
	return m.svc.Transfer(ctx, tx.Address(to), amount, config)
}

// SubmitPayForBlob (state.SubmitPayForBlob, write) pays for blobs in one
// transaction with config. Each blob is blob.Submit's JSON or go-square's
// (PayForBlobBlob).
func (m *StateModule) SubmitPayForBlob(ctx context.Context, blobs []*PayForBlobBlob, config *state.TxConfig) (*state.TxResponse, error) {
	if err := requirePerm(ctx, m); err != nil {
		return nil, err
	}
	if err := haltAny(m.halt); err != nil {
		return nil, err
	}
	if len(blobs) == 0 {
		return nil, fmt.Errorf("%w: no blobs to submit", blob.ErrInvalidBlob)
	}
	sbs := make([]*share.Blob, len(blobs))
	for i, b := range blobs {
		if b == nil || b.Blob == nil {
			return nil, fmt.Errorf("%w: blob %d is null", blob.ErrInvalidBlob, i)
		}
		sbs[i] = b.Blob
	}
	return m.svc.SubmitPayForBlob(ctx, sbs, config)
}

// Params (state.Params, read; mesh-node only) returns the chain's
// parameters, fixed at genesis: max_blob_size bounds a blob's data,
// min_gas_price and the gas constants price a transaction. It is served
// after a halt too: the genesis does not depend on the chain's data.
func (m *StateModule) Params(ctx context.Context) (tx.Params, error) {
	if err := requirePerm(ctx, m); err != nil {
		return tx.Params{}, err
	}
	return m.svc.Params(ctx)
}

// PayForBlobBlob is a blob state.SubmitPayForBlob takes, in either of two
// JSON shapes: celestia-node's blob, as blob.Submit takes it
// ({"namespace": 29 bytes, "data", "share_version", "signer", ...}), or
// go-square's, which celestia-node v0.32's client sends for this method:
// its protobuf's JSON, {"namespace_id": 28 bytes, "namespace_version",
// "data", "share_version", "signer"}, every key left out when zero.
type PayForBlobBlob struct {
	*share.Blob
}

// squareBlobJSON is go-square's blob JSON.
type squareBlobJSON struct {
	NamespaceID      []byte `json:"namespace_id"`
	NamespaceVersion uint32 `json:"namespace_version"`
	Data             []byte `json:"data"`
	ShareVersion     uint32 `json:"share_version"`
	Signer           []byte `json:"signer"`
}

// UnmarshalJSON decodes either shape: go-square's when the object has a
// "namespace_id" key, else celestia-node's.
func (b *PayForBlobBlob) UnmarshalJSON(data []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return fmt.Errorf("%w: %w", blob.ErrInvalidBlob, err)
	}
	if _, ok := keys["namespace_id"]; !ok {
		var nb blob.Blob
		if err := json.Unmarshal(data, &nb); err != nil {
			return err
		}
		sb, err := nb.ShareBlob()
		if err != nil {
			return err
		}
		b.Blob = sb
		return nil
	}
	var j squareBlobJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("%w: %w", blob.ErrInvalidBlob, err)
	}
	if j.NamespaceVersion > 255 || j.ShareVersion > 255 {
		return fmt.Errorf("%w: namespace version %d, share version %d: each must fit a byte", blob.ErrInvalidBlob, j.NamespaceVersion, j.ShareVersion)
	}
	ns, err := share.NamespaceFromBytes(append([]byte{byte(j.NamespaceVersion)}, j.NamespaceID...))
	if err != nil {
		return fmt.Errorf("%w: namespace: %w", blob.ErrInvalidBlob, err)
	}
	sb, err := share.NewBlob(ns, j.Data, uint8(j.ShareVersion), j.Signer)
	if err != nil {
		return fmt.Errorf("%w: %w", blob.ErrInvalidBlob, err)
	}
	b.Blob = sb
	return nil
}

// celestiaPrefix is the bech32 prefix of Celestia's accounts.
const celestiaPrefix = "celestia"

// AccountRef is an account a request names: bech32 with DataMesh's prefix
// "mesh", or with Celestia's "celestia" for the same 20 bytes (one
// secp256k1 key controls both). celestia-node's Go client can write no
// other: it encodes addresses with the Cosmos SDK's process-wide prefix,
// which celestia-app seals to "celestia". Answers always name accounts
// mesh1….
type AccountRef tx.Address

// UnmarshalText decodes either form; any other prefix is an error naming it.
func (r *AccountRef) UnmarshalText(b []byte) error {
	hrp, data, err := tx.DecodeBech32(string(b))
	if err != nil {
		return fmt.Errorf("api: address %q: %w", b, err)
	}
	if hrp != tx.AddressPrefix && hrp != celestiaPrefix {
		return fmt.Errorf("api: address %q: prefix %q, want %q (or %q)", b, hrp, tx.AddressPrefix, celestiaPrefix)
	}
	a, err := tx.AddressFromBytes(data)
	if err != nil {
		return fmt.Errorf("api: address %q: %w", b, err)
	}
	*r = AccountRef(a)
	return nil
}

// MarshalText writes the mesh1… form.
func (r AccountRef) MarshalText() ([]byte, error) { return tx.Address(r).MarshalText() }
