package tx_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/datamesh/mesh-node/core/tx"
	"github.com/datamesh/mesh-node/core/tx/txtest"
)

// stakingMsgs returns one valid message of each staking type, signed by
// alice's address, with another validator bob.
func stakingMsgs(t *testing.T) map[string]tx.Msg {
	_, alice := txtest.Key(t, "alice")
	_, bob := txtest.Key(t, "bob")
	empty, rate := "", uint64(5e16)
	return map[string]tx.Msg{
		"create-validator": &tx.MsgCreateValidator{Operator: alice, PubKey: bytes.Repeat([]byte{7}, 32), SelfBond: 1e6,
			Rate: 1e17, MaxRate: 2e17, MaxChangeRate: 1e16, Moniker: "alice"},
		"edit-validator":         &tx.MsgEditValidator{Operator: alice, Moniker: &empty, Rate: &rate},
		"edit-validator-moniker": &tx.MsgEditValidator{Operator: alice, Moniker: new(string)},
		"delegate":               &tx.MsgDelegate{Delegator: alice, Validator: bob, Amount: 5},
		"undelegate":             &tx.MsgUndelegate{Delegator: alice, Validator: bob, Amount: 5},
		"redelegate":             &tx.MsgBeginRedelegate{Delegator: alice, Src: bob, Dst: alice, Amount: 5},
		"withdraw-rewards":       &tx.MsgWithdrawRewards{Delegator: alice, Validator: bob},
		"withdraw-commission":    &tx.MsgWithdrawRewards{Delegator: alice, Validator: alice, Commission: true},
		"unjail":                 &tx.MsgUnjail{Operator: alice},
		"cancel-unbonding":       &tx.MsgCancelUnbondingDelegation{Delegator: alice, Validator: bob, Amount: 5, CreationHeight: 9},
	}
}

func TestStakingMsgsRoundTrip(t *testing.T) {
	for name, m := range stakingMsgs(t) {
		if !tx.IsStakingMsg(m) {
			t.Errorf("%s: not a staking message", name)
		}
		_, raw := signedBody(t, m)
		got, err := tx.UnmarshalTx(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got.Body.Msg, m) {
			t.Errorf("%s: decoded %+v, want %+v", name, got.Body.Msg, m)
		}
		if err := got.ValidateBasic(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := got.VerifySignature(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if tx.IsStakingMsg(&tx.MsgSend{}) || tx.IsStakingMsg(&tx.MsgUpdateValidator{}) {
		t.Error("send or update validator counted as staking messages")
	}
}

func TestStakingMsgsSignerAndValidateBasic(t *testing.T) {
	_, alice := txtest.Key(t, "alice")
	_, bob := txtest.Key(t, "bob")
	// Signed by alice in the name of bob.
	for _, m := range []tx.Msg{&tx.MsgDelegate{Delegator: bob, Validator: alice, Amount: 1}, &tx.MsgUnjail{Operator: bob}} {
		body, _ := signedBody(t, m)
		key, _ := txtest.Key(t, "alice")
		raw, err := tx.SignTx(body, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tx.UnmarshalTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.ValidateBasic(); !errors.Is(err, tx.ErrInvalidMsg) {
			t.Errorf("%T signed by another account: %v", m, err)
		}
	}
	bad := []tx.Msg{
		&tx.MsgCreateValidator{Operator: alice, PubKey: make([]byte, 31), SelfBond: 1},
		&tx.MsgCreateValidator{Operator: alice, PubKey: make([]byte, 32)},
		&tx.MsgCreateValidator{Operator: alice, PubKey: make([]byte, 32), SelfBond: 1, Rate: 2, MaxRate: 1},
		&tx.MsgCreateValidator{Operator: alice, PubKey: make([]byte, 32), SelfBond: 1, MaxRate: tx.RateOne + 1},
		&tx.MsgCreateValidator{Operator: alice, PubKey: make([]byte, 32), SelfBond: 1, MaxRate: 1, MaxChangeRate: 2},
		&tx.MsgCreateValidator{Operator: alice, PubKey: make([]byte, 32), SelfBond: 1, Moniker: string(make([]byte, 71))},
		&tx.MsgEditValidator{Operator: alice},
		&tx.MsgDelegate{Delegator: alice, Validator: bob},
		&tx.MsgUndelegate{Delegator: alice, Validator: bob},
		&tx.MsgBeginRedelegate{Delegator: alice, Src: bob, Dst: bob, Amount: 1},
		&tx.MsgWithdrawRewards{Delegator: alice, Validator: bob, Commission: true},
		&tx.MsgCancelUnbondingDelegation{Delegator: alice, Validator: bob, Amount: 1},
	}
	for i, m := range bad {
		if err := m.ValidateBasic(); !errors.Is(err, tx.ErrInvalidMsg) {
			t.Errorf("bad message %d (%+v): %v", i, m, err)
		}
	}
}
