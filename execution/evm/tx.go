package evm

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// ErrInvalidTx is wrapped by every error about a transaction's bytes
// alone: not a transaction, a type other than legacy or dynamic-fee, too
// large, not EIP-155 protected, another chain ID, a bad signature, too
// little gas for its data, more gas than a block holds.
var ErrInvalidTx = errors.New("evm: invalid transaction")

// Errors about a transaction against the state, as SubmitTx and
// FilterTxs check it. Each also wraps go-ethereum's error of the same
// meaning (core.ErrNonceTooLow, ...), so either can be tested with
// errors.Is.
var (
	ErrNonceTooLow       = fmt.Errorf("evm: %w", core.ErrNonceTooLow)
	ErrNonceTooHigh      = fmt.Errorf("evm: %w", core.ErrNonceTooHigh)
	ErrInsufficientFunds = fmt.Errorf("evm: %w", core.ErrInsufficientFunds)
	ErrFeeCapTooLow      = fmt.Errorf("evm: %w", core.ErrFeeCapTooLow)
)

// DecodeTx decodes a transaction in its binary form (the RLP of a legacy
// transaction, or the type byte and RLP of a typed one, as
// eth_sendRawTransaction takes it) and checks what needs no state: size
// (MaxTxSize), type (legacy with EIP-155 replay protection, or EIP-1559
// dynamic fee), chain ID, signature, the intrinsic gas of its data and a
// gas limit within the block's. It returns the transaction and its
// sender. Errors wrap ErrInvalidTx (and go-ethereum's error where there
// is one, e.g. core.ErrIntrinsicGas, types.ErrInvalidChainId).
func (e *Executor) DecodeTx(b []byte) (*types.Transaction, common.Address, error) {
	return e.decodeTx(b)
}

func (e *Executor) decodeTx(b []byte) (*types.Transaction, common.Address, error) {
	var from common.Address
	if len(b) == 0 || len(b) > MaxTxSize {
		return nil, from, fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidTx, len(b), MaxTxSize)
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(b); err != nil {
		return nil, from, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	switch tx.Type() {
	case types.LegacyTxType:
		if !tx.Protected() {
			return nil, from, fmt.Errorf("%w: legacy transaction without EIP-155 replay protection", ErrInvalidTx)
		}
	case types.DynamicFeeTxType:
	default:
		return nil, from, fmt.Errorf("%w: type %d, only legacy (0) and dynamic fee (2) are accepted: %w", ErrInvalidTx, tx.Type(), types.ErrTxTypeNotSupported)
	}
	if tx.ChainId().Cmp(e.config.ChainID) != 0 {
		return nil, from, fmt.Errorf("%w: chain ID %s, this chain is %s: %w", ErrInvalidTx, tx.ChainId(), e.config.ChainID, types.ErrInvalidChainId)
	}
	from, err := types.Sender(e.signer, tx)
	if err != nil {
		return nil, from, fmt.Errorf("%w: signature: %w", ErrInvalidTx, err)
	}
	if tx.Gas() > e.gen.GasLimit {
		return nil, from, fmt.Errorf("%w: gas limit %d above the block's %d: %w", ErrInvalidTx, tx.Gas(), e.gen.GasLimit, core.ErrGasLimitReached)
	}
	if tx.GasFeeCap().BitLen() > 256 || tx.GasTipCap().BitLen() > 256 || tx.Value().BitLen() > 256 {
		return nil, from, fmt.Errorf("%w: fee or value over 256 bits", ErrInvalidTx)
	}
	if tx.GasFeeCap().Cmp(tx.GasTipCap()) < 0 {
		return nil, from, fmt.Errorf("%w: %w", ErrInvalidTx, core.ErrTipAboveFeeCap)
	}
	rules := e.config.Rules(common.Big0, true, 0)
	val, _ := uint256.FromBig(tx.Value())
	gas, err := core.IntrinsicGas(tx.Data(), tx.AccessList(), nil, from, tx.To(), val, rules)
	if err != nil {
		return nil, from, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	if tx.Gas() < gas {
		return nil, from, fmt.Errorf("%w: gas limit %d below the intrinsic gas %d: %w", ErrInvalidTx, tx.Gas(), gas, core.ErrIntrinsicGas)
	}
	if tx.To() == nil && len(tx.Data()) > params.MaxInitCodeSize {
		return nil, from, fmt.Errorf("%w: %d bytes of init code, at most %d", ErrInvalidTx, len(tx.Data()), params.MaxInitCodeSize)
	}
	return tx, from, nil
}

// cost is the most a transaction can take from its sender: gas limit
// times fee cap, plus value.
func cost(tx *types.Transaction) *big.Int {
	c := new(big.Int).Mul(new(big.Int).SetUint64(tx.Gas()), tx.GasFeeCap())
	return c.Add(c, tx.Value())
}

// checkState checks tx from sender against the account's nonce and
// balance as given (the state, or the state with earlier transactions of
// a batch counted) and the base fee.
func (e *Executor) checkState(tx *types.Transaction, from common.Address, nonce uint64, balance *big.Int) error {
	switch {
	case tx.Nonce() < nonce:
		return fmt.Errorf("%w: address %s, tx %d, next %d", ErrNonceTooLow, from, tx.Nonce(), nonce)
	case tx.Nonce() > nonce:
		return fmt.Errorf("%w: address %s, tx %d, next %d", ErrNonceTooHigh, from, tx.Nonce(), nonce)
	}
	if tx.GasFeeCap().Cmp(e.gen.BaseFee.ToInt()) < 0 {
		return fmt.Errorf("%w: address %s, max fee per gas %s, base fee %s", ErrFeeCapTooLow, from, tx.GasFeeCap(), e.gen.BaseFee.ToInt())
	}
	if c := cost(tx); balance.Cmp(c) < 0 {
		return fmt.Errorf("%w: address %s has %s wei, the transaction may cost %s", ErrInsufficientFunds, from, balance, c)
	}
	return nil
}
