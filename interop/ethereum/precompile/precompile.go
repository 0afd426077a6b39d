// Package precompile runs go-ethereum's point-evaluation precompile
// (EIP-4844, address 0x0a) on an input, as a mainnet node running Osaka
// rules executes it for a call: the contract is looked up among the
// precompiles active under those rules and run through
// core/vm.RunPrecompiledContract with a budget of exactly the precompile's
// gas. It does not implement the precompile; the verification is
// go-ethereum's (crypto/kzg4844, on whichever backend kzg4844.UseCKZG
// selected: go-eth-kzg by default, c-kzg-4844 when built with -tags ckzg
// and switched on).
package precompile

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
)

const (
	// InputSize is the size of the precompile's input: versioned hash (32
	// bytes), z (32), y (32), commitment (48) and proof (48).
	InputSize = 192
	// Gas is what a call to the precompile costs
	// (POINT_EVALUATION_PRECOMPILE_GAS of EIP-4844). Run gives it exactly
	// this much; a precompile asking for more fails with vm.ErrOutOfGas.
	Gas = 50_000
)

// Address is the precompile's address, 0x0a.
var Address = common.BytesToAddress([]byte{0x0a})

// Run executes the point-evaluation precompile on input and returns its
// output, which is go-ethereum's (the caller owns it), or its error: a
// refused input (wrong length, versioned hash not the commitment's, proof
// that does not verify, a field element or point that does not decode)
// comes back as go-ethereum's error, wrapped with the prefix "precompile: ".
// Nothing here panics on input.
func Run(input []byte) ([]byte, error) {
	cfg := params.MainnetChainConfig
	if cfg.OsakaTime == nil || cfg.LondonBlock == nil {
		return nil, errors.New("precompile: go-ethereum's mainnet config schedules no Osaka")
	}
	rules := cfg.Rules(cfg.LondonBlock, true, *cfg.OsakaTime)
	if !rules.IsOsaka || rules.IsAmsterdam {
		return nil, errors.New("precompile: mainnet rules at Osaka's time are not Osaka's")
	}
	p, ok := vm.ActivePrecompiledContracts(rules)[Address]
	if !ok {
		return nil, fmt.Errorf("precompile: no precompile at %v under Osaka rules", Address)
	}
	// No state database, tracer or result cache: the state is touched only
	// under Amsterdam rules, excluded above.
	out, _, err := vm.RunPrecompiledContract(nil, p, Address, input, vm.NewGasBudget(Gas, 0), nil, rules, nil)
	if err != nil {
		return nil, fmt.Errorf("precompile: %s: %w", p.Name(), err)
	}
	return out, nil
}
