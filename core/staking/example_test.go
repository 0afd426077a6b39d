package staking_test

import (
	"fmt"

	"github.com/datamesh/mesh-node/core/staking"
	"github.com/datamesh/mesh-node/core/tx"
)

// Example drives the state machine as the chain application does: a
// genesis validator, a delegation, a block whose fees are shared, and an
// undelegation released at the end of the unbonding period.
func Example() {
	p := staking.DefaultParams()
	p.PowerReduction = 1
	p.UnbondingTime = 60
	s, err := staking.New(p, 1000)
	if err != nil {
		panic(err)
	}
	bank := staking.NewMemBank()
	op, alice := tx.Address{1}, tx.Address{2}
	bank.Add(op, 1000)
	bank.Add(alice, 1000)
	key := make([]byte, staking.ConsPubKeySize)
	err = s.CreateValidator(bank, staking.CreateValidatorMsg{Operator: op, ConsPubKey: key, SelfBond: 1000,
		Rate: staking.MustParseDec("0.1"), MaxRate: staking.MustParseDec("0.2"), MaxChangeRate: staking.MustParseDec("0.01")})
	if err != nil {
		panic(err)
	}
	fmt.Println("genesis set:", s.EndBlock(bank)[0].Power)

	if err := s.Delegate(bank, alice, op, 1000); err != nil {
		panic(err)
	}
	votes := []staking.Vote{{Address: staking.ConsAddressOf(key), Power: 1000, Signed: true}}
	if err := s.BeginBlock(bank, staking.BeginBlockInput{Height: 1, Time: 1005, Fees: 200, Votes: votes}); err != nil {
		panic(err)
	}
	fmt.Println("block 1 update:", s.EndBlock(bank)[0].Power)
	r, _ := s.Rewards(alice, op)
	fmt.Println("alice's rewards:", r.TruncateInt()) // (200 - 10% commission) / 2

	done, err := s.Undelegate(bank, alice, op, 1000)
	if err != nil {
		panic(err)
	}
	fmt.Println("liquid:", bank.Balance(alice), "released at", done)
	if err := s.BeginBlock(bank, staking.BeginBlockInput{Height: 2, Time: done, Votes: votes}); err != nil {
		panic(err)
	}
	s.EndBlock(bank)
	fmt.Println("liquid:", bank.Balance(alice))
	// Output:
	// genesis set: 1000
	// block 1 update: 2000
	// alice's rewards: 90
	// liquid: 90 released at 1065
	// liquid: 1090
}
