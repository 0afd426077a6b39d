package api

import (
	"context"
	"fmt"

	"github.com/datamesh/mesh-node/blob"
	"github.com/datamesh/mesh-node/core/app"
	"github.com/datamesh/mesh-node/share"
	"github.com/datamesh/mesh-node/state"
)

// StateService is what the state module serves: package state's client of
// the core node.
type StateService interface {
	// AccountAddress returns the node's default account.
	AccountAddress(ctx context.Context) (app.Address, error)
	// Balance returns the default account's balance.
	Balance(ctx context.Context) (*state.Coin, error)
	// BalanceForAddress returns addr's balance.
	BalanceForAddress(ctx context.Context, addr app.Address) (*state.Coin, error)
	// Transfer sends amount to to and returns the included transaction.
	Transfer(ctx context.Context, to app.Address, amount state.Int, cfg *state.TxConfig) (*state.TxResponse, error)
	// SubmitPayForBlob pays for blobs and returns the included transaction.
	SubmitPayForBlob(ctx context.Context, blobs []*share.Blob, cfg *state.TxConfig) (*state.TxResponse, error)
}

// StateModule is the "state" RPC module: celestia-node's state methods
// with their permissions (queries read, transactions write). Addresses are
// bech32 strings in JSON, amounts decimal strings.
type StateModule struct {
	svc StateService
}

// NewStateModule returns the state module over svc.
func NewStateModule(svc StateService) *StateModule { return &StateModule{svc: svc} }

// AccountAddress (state.AccountAddress, read) returns the node's account.
func (m *StateModule) AccountAddress(ctx context.Context) (app.Address, error) {
	if err := requirePerm(ctx, "AccountAddress", PermRead); err != nil {
		return app.Address{}, err
	}
	return m.svc.AccountAddress(ctx)
}

// Balance (state.Balance, read) returns the node account's balance.
func (m *StateModule) Balance(ctx context.Context) (*state.Coin, error) {
	if err := requirePerm(ctx, "Balance", PermRead); err != nil {
		return nil, err
	}
	return m.svc.Balance(ctx)
}

// BalanceForAddress (state.BalanceForAddress, read) returns addr's
// balance.
func (m *StateModule) BalanceForAddress(ctx context.Context, addr app.Address) (*state.Coin, error) {
	if err := requirePerm(ctx, "BalanceForAddress", PermRead); err != nil {
		return nil, err
	}
	return m.svc.BalanceForAddress(ctx, addr)
}

// Transfer (state.Transfer, write) sends amount to to from the node's
// account with config (null: the defaults).
func (m *StateModule) Transfer(ctx context.Context, to app.Address, amount state.Int, config *state.TxConfig) (*state.TxResponse, error) {
	if err := requirePerm(ctx, "Transfer", PermWrite); err != nil {
		return nil, err
	}
	return m.svc.Transfer(ctx, to, amount, config)
}

// SubmitPayForBlob (state.SubmitPayForBlob, write) pays for blobs (blob
// JSON, as blob.Submit takes) in one transaction with config.
func (m *StateModule) SubmitPayForBlob(ctx context.Context, blobs []*blob.Blob, config *state.TxConfig) (*state.TxResponse, error) {
	if err := requirePerm(ctx, "SubmitPayForBlob", PermWrite); err != nil {
		return nil, err
	}
	if len(blobs) == 0 {
		return nil, fmt.Errorf("%w: no blobs to submit", blob.ErrInvalidBlob)
	}
	sbs := make([]*share.Blob, len(blobs))
	for i, b := range blobs {
		if b == nil {
			return nil, fmt.Errorf("%w: blob %d is null", blob.ErrInvalidBlob, i)
		}
		sb, err := b.ShareBlob()
		if err != nil {
			return nil, fmt.Errorf("blob %d: %w", i, err)
		}
		sbs[i] = sb
	}
	return m.svc.SubmitPayForBlob(ctx, sbs, config)
}
