package tx

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The staking and distribution messages of a proof-of-stake chain (genesis
// "consensus": "pos"). A proof-of-authority chain refuses them, as a
// proof-of-stake chain refuses MsgUpdateValidator. Each names the account
// that must sign it (the operator or the delegator); Tx.ValidateBasic
// checks that it is the transaction's signer.

// RateOne is a commission rate of 1 (100%): rates are integers in units of
// 10^-18, the 18 decimals of Cosmos SDK's Dec.
const RateOne uint64 = 1_000_000_000_000_000_000

// MaxMonikerSize bounds a validator's moniker (as core/staking does).
const MaxMonikerSize = 70

// MsgCreateValidator makes Operator a validator with the ed25519 consensus
// key PubKey, delegating SelfBond from its balance. Rates are in units of
// 10^-18 (RateOne is 100%): Rate ≤ MaxRate ≤ RateOne, MaxChangeRate ≤
// MaxRate.
type MsgCreateValidator struct {
	Operator      Address
	PubKey        []byte
	SelfBond      uint64
	Rate          uint64
	MaxRate       uint64
	MaxChangeRate uint64
	Moniker       string
}

// MsgEditValidator changes Operator's validator: its moniker when Moniker
// is not nil, its commission rate when Rate is not nil.
type MsgEditValidator struct {
	Operator Address
	Moniker  *string
	Rate     *uint64
}

// MsgDelegate delegates Amount from Delegator to the validator operated by
// Validator.
type MsgDelegate struct {
	Delegator Address
	Validator Address
	Amount    uint64
}

// MsgUndelegate starts the unbonding of Amount of Delegator's stake with
// Validator; the tokens return after the chain's unbonding time.
type MsgUndelegate struct {
	Delegator Address
	Validator Address
	Amount    uint64
}

// MsgBeginRedelegate moves Amount of Delegator's stake from validator Src
// to validator Dst at once.
type MsgBeginRedelegate struct {
	Delegator Address
	Src       Address
	Dst       Address
	Amount    uint64
}

// MsgWithdrawRewards pays Delegator its rewards from Validator and, with
// Commission set (Delegator must then be Validator's operator), the
// validator's accrued commission too.
type MsgWithdrawRewards struct {
	Delegator  Address
	Validator  Address
	Commission bool
}

// MsgUnjail returns Operator's validator, jailed for downtime, to the
// candidates of the active set once its jail time has passed.
type MsgUnjail struct {
	Operator Address
}

// MsgCancelUnbondingDelegation delegates Amount of the unbonding entry
// Delegator made from Validator at CreationHeight back to it.
type MsgCancelUnbondingDelegation struct {
	Delegator      Address
	Validator      Address
	Amount         uint64
	CreationHeight int64
}

func (*MsgCreateValidator) isMsg()           {}
func (*MsgEditValidator) isMsg()             {}
func (*MsgDelegate) isMsg()                  {}
func (*MsgUndelegate) isMsg()                {}
func (*MsgBeginRedelegate) isMsg()           {}
func (*MsgWithdrawRewards) isMsg()           {}
func (*MsgUnjail) isMsg()                    {}
func (*MsgCancelUnbondingDelegation) isMsg() {}

// IsStakingMsg reports whether m is one of the staking and distribution
// messages, which only a proof-of-stake chain accepts.
func IsStakingMsg(m Msg) bool {
	switch m.(type) {
	case *MsgCreateValidator, *MsgEditValidator, *MsgDelegate, *MsgUndelegate, *MsgBeginRedelegate,
		*MsgWithdrawRewards, *MsgUnjail, *MsgCancelUnbondingDelegation:
		return true
	}
	return false
}

// stakingSigner returns the account that must sign a staking message.
func stakingSigner(m Msg) (Address, bool) {
	switch m := m.(type) {
	case *MsgCreateValidator:
		return m.Operator, true
	case *MsgEditValidator:
		return m.Operator, true
	case *MsgDelegate:
		return m.Delegator, true
	case *MsgUndelegate:
		return m.Delegator, true
	case *MsgBeginRedelegate:
		return m.Delegator, true
	case *MsgWithdrawRewards:
		return m.Delegator, true
	case *MsgUnjail:
		return m.Operator, true
	case *MsgCancelUnbondingDelegation:
		return m.Delegator, true
	}
	return Address{}, false
}

func checkMoniker(name, moniker string) error {
	if len(moniker) > MaxMonikerSize {
		return fmt.Errorf("%w: %s: moniker of %d bytes, at most %d", ErrInvalidMsg, name, len(moniker), MaxMonikerSize)
	}
	return nil
}

// ValidateBasic implements Msg: a 32-byte key, a non-zero self-bond and
// consistent rates.
func (m *MsgCreateValidator) ValidateBasic() error {
	switch {
	case len(m.PubKey) != ed25519.PublicKeySize:
		return fmt.Errorf("%w: create validator: public key is %d bytes, want %d (ed25519)", ErrInvalidMsg, len(m.PubKey), ed25519.PublicKeySize)
	case m.SelfBond == 0:
		return fmt.Errorf("%w: create validator: zero self-bond", ErrInvalidMsg)
	case m.MaxRate > RateOne || m.Rate > m.MaxRate || m.MaxChangeRate > m.MaxRate:
		return fmt.Errorf("%w: create validator: want rate %d ≤ max rate %d ≤ %d and max change %d ≤ max rate", ErrInvalidMsg, m.Rate, m.MaxRate, RateOne, m.MaxChangeRate)
	}
	return checkMoniker("create validator", m.Moniker)
}

// ValidateBasic implements Msg: something to change, a rate ≤ RateOne.
func (m *MsgEditValidator) ValidateBasic() error {
	switch {
	case m.Moniker == nil && m.Rate == nil:
		return fmt.Errorf("%w: edit validator: nothing to change", ErrInvalidMsg)
	case m.Rate != nil && *m.Rate > RateOne:
		return fmt.Errorf("%w: edit validator: rate %d over %d", ErrInvalidMsg, *m.Rate, RateOne)
	case m.Moniker != nil:
		return checkMoniker("edit validator", *m.Moniker)
	}
	return nil
}

// ValidateBasic implements Msg: a non-zero amount.
func (m *MsgDelegate) ValidateBasic() error {
	if m.Amount == 0 {
		return fmt.Errorf("%w: delegate: zero amount", ErrInvalidMsg)
	}
	return nil
}

// ValidateBasic implements Msg: a non-zero amount.
func (m *MsgUndelegate) ValidateBasic() error {
	if m.Amount == 0 {
		return fmt.Errorf("%w: undelegate: zero amount", ErrInvalidMsg)
	}
	return nil
}

// ValidateBasic implements Msg: a non-zero amount between two validators.
func (m *MsgBeginRedelegate) ValidateBasic() error {
	switch {
	case m.Amount == 0:
		return fmt.Errorf("%w: redelegate: zero amount", ErrInvalidMsg)
	case m.Src == m.Dst:
		return fmt.Errorf("%w: redelegate: source and destination are both %s", ErrInvalidMsg, m.Src)
	}
	return nil
}

// ValidateBasic implements Msg: commission only for the operator.
func (m *MsgWithdrawRewards) ValidateBasic() error {
	if m.Commission && m.Delegator != m.Validator {
		return fmt.Errorf("%w: withdraw rewards: only the operator %s withdraws its commission", ErrInvalidMsg, m.Validator)
	}
	return nil
}

// ValidateBasic implements Msg; there is nothing to check.
func (m *MsgUnjail) ValidateBasic() error { return nil }

// ValidateBasic implements Msg: a non-zero amount and a positive height.
func (m *MsgCancelUnbondingDelegation) ValidateBasic() error {
	switch {
	case m.Amount == 0:
		return fmt.Errorf("%w: cancel unbonding: zero amount", ErrInvalidMsg)
	case m.CreationHeight <= 0:
		return fmt.Errorf("%w: cancel unbonding: creation height %d", ErrInvalidMsg, m.CreationHeight)
	}
	return nil
}

// Body field numbers of the staking messages, and their own fields.
const (
	bodyCreateValidatorField = 8
	bodyEditValidatorField   = 9
	bodyDelegateField        = 10
	bodyUndelegateField      = 11
	bodyRedelegateField      = 12
	bodyWithdrawRewardsField = 13
	bodyUnjailField          = 14
	bodyCancelUnbondingField = 15

	// MsgCreateValidator
	cvOperatorField      = 1
	cvPubKeyField        = 2
	cvSelfBondField      = 3
	cvRateField          = 4
	cvMaxRateField       = 5
	cvMaxChangeRateField = 6
	cvMonikerField       = 7
	// MsgEditValidator (a set field is present even when empty or 0)
	evOperatorField = 1
	evMonikerField  = 2
	evRateField     = 3
	// MsgDelegate, MsgUndelegate, MsgWithdrawRewards,
	// MsgCancelUnbondingDelegation: delegator, validator, then the rest
	delDelegatorField = 1
	delValidatorField = 2
	delAmountField    = 3 // MsgWithdrawRewards: 3 is Commission (1)
	delHeightField    = 4
	// MsgBeginRedelegate
	rdDelegatorField = 1
	rdSrcField       = 2
	rdDstField       = 3
	rdAmountField    = 4
	// MsgUnjail
	ujOperatorField = 1
)

func boolVarint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// marshalStaking encodes a staking message as its body field; ok is false
// for other messages.
func marshalStaking(out []byte, m Msg) ([]byte, bool) {
	var msg []byte
	var num protowire.Number
	switch m := m.(type) {
	case *MsgCreateValidator:
		num = bodyCreateValidatorField
		msg = appendBytes(msg, cvOperatorField, m.Operator[:])
		msg = appendBytes(msg, cvPubKeyField, m.PubKey)
		msg = appendVarint(msg, cvSelfBondField, m.SelfBond)
		msg = appendVarint(msg, cvRateField, m.Rate)
		msg = appendVarint(msg, cvMaxRateField, m.MaxRate)
		msg = appendVarint(msg, cvMaxChangeRateField, m.MaxChangeRate)
		msg = appendBytes(msg, cvMonikerField, []byte(m.Moniker))
	case *MsgEditValidator:
		num = bodyEditValidatorField
		msg = appendBytes(msg, evOperatorField, m.Operator[:])
		if m.Moniker != nil {
			msg = appendMessage(msg, evMonikerField, []byte(*m.Moniker))
		}
		if m.Rate != nil {
			msg = protowire.AppendTag(msg, evRateField, protowire.VarintType)
			msg = protowire.AppendVarint(msg, *m.Rate)
		}
	case *MsgDelegate:
		num = bodyDelegateField
		msg = appendPair(msg, m.Delegator, m.Validator)
		msg = appendVarint(msg, delAmountField, m.Amount)
	case *MsgUndelegate:
		num = bodyUndelegateField
		msg = appendPair(msg, m.Delegator, m.Validator)
		msg = appendVarint(msg, delAmountField, m.Amount)
	case *MsgWithdrawRewards:
		num = bodyWithdrawRewardsField
		msg = appendPair(msg, m.Delegator, m.Validator)
		msg = appendVarint(msg, delAmountField, boolVarint(m.Commission))
	case *MsgCancelUnbondingDelegation:
		num = bodyCancelUnbondingField
		msg = appendPair(msg, m.Delegator, m.Validator)
		msg = appendVarint(msg, delAmountField, m.Amount)
		msg = appendVarint(msg, delHeightField, uint64(m.CreationHeight))
	case *MsgBeginRedelegate:
		num = bodyRedelegateField
		msg = appendBytes(msg, rdDelegatorField, m.Delegator[:])
		msg = appendBytes(msg, rdSrcField, m.Src[:])
		msg = appendBytes(msg, rdDstField, m.Dst[:])
		msg = appendVarint(msg, rdAmountField, m.Amount)
	case *MsgUnjail:
		num = bodyUnjailField
		msg = appendBytes(msg, ujOperatorField, m.Operator[:])
	default:
		return out, false
	}
	return appendMessage(out, num, msg), true
}

func appendPair(out []byte, del, val Address) []byte {
	out = appendBytes(out, delDelegatorField, del[:])
	return appendBytes(out, delValidatorField, val[:])
}

// varintField returns f's value, which must be a varint.
func varintField(f field) (uint64, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	return f.x, nil
}

// unmarshalStaking decodes the staking message of body field num.
// Non-canonical encodings decode here and are refused by UnmarshalTx's
// re-encoding check.
func unmarshalStaking(num protowire.Number, b []byte) (Msg, error) {
	switch num {
	case bodyCreateValidatorField:
		m := &MsgCreateValidator{}
		return m, walkFields(b, func(f field) error {
			var err error
			switch f.num {
			case cvOperatorField:
				m.Operator, err = wantAddress(f, "create validator operator")
			case cvPubKeyField:
				if err = f.want(protowire.BytesType); err == nil {
					m.PubKey = bytes.Clone(f.v)
				}
			case cvSelfBondField:
				m.SelfBond, err = varintField(f)
			case cvRateField:
				m.Rate, err = varintField(f)
			case cvMaxRateField:
				m.MaxRate, err = varintField(f)
			case cvMaxChangeRateField:
				m.MaxChangeRate, err = varintField(f)
			case cvMonikerField:
				if err = f.want(protowire.BytesType); err == nil {
					m.Moniker = string(f.v)
				}
			default:
				return unknownField("create validator", f)
			}
			return err
		})
	case bodyEditValidatorField:
		m := &MsgEditValidator{}
		return m, walkFields(b, func(f field) error {
			var err error
			switch f.num {
			case evOperatorField:
				m.Operator, err = wantAddress(f, "edit validator operator")
			case evMonikerField:
				if err = f.want(protowire.BytesType); err == nil {
					s := string(f.v)
					m.Moniker = &s
				}
			case evRateField:
				var r uint64
				if r, err = varintField(f); err == nil {
					m.Rate = &r
				}
			default:
				return unknownField("edit validator", f)
			}
			return err
		})
	case bodyRedelegateField:
		m := &MsgBeginRedelegate{}
		return m, walkFields(b, func(f field) error {
			var err error
			switch f.num {
			case rdDelegatorField:
				m.Delegator, err = wantAddress(f, "redelegate delegator")
			case rdSrcField:
				m.Src, err = wantAddress(f, "redelegate source")
			case rdDstField:
				m.Dst, err = wantAddress(f, "redelegate destination")
			case rdAmountField:
				m.Amount, err = varintField(f)
			default:
				return unknownField("redelegate", f)
			}
			return err
		})
	case bodyUnjailField:
		m := &MsgUnjail{}
		return m, walkFields(b, func(f field) error {
			if f.num != ujOperatorField {
				return unknownField("unjail", f)
			}
			var err error
			m.Operator, err = wantAddress(f, "unjail operator")
			return err
		})
	}
	// The delegator-validator messages.
	var del, val Address
	var x3, x4 uint64
	err := walkFields(b, func(f field) error {
		var err error
		switch {
		case f.num == delDelegatorField:
			del, err = wantAddress(f, "delegator")
		case f.num == delValidatorField:
			val, err = wantAddress(f, "validator")
		case f.num == delAmountField:
			x3, err = varintField(f)
		case f.num == delHeightField && num == bodyCancelUnbondingField:
			x4, err = varintField(f)
		default:
			return unknownField("staking message", f)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch num {
	case bodyDelegateField:
		return &MsgDelegate{Delegator: del, Validator: val, Amount: x3}, nil
	case bodyUndelegateField:
		return &MsgUndelegate{Delegator: del, Validator: val, Amount: x3}, nil
	case bodyWithdrawRewardsField:
		if x3 > 1 {
			return nil, fmt.Errorf("%w: withdraw rewards: commission flag %d", ErrMalformedTx, x3)
		}
		return &MsgWithdrawRewards{Delegator: del, Validator: val, Commission: x3 == 1}, nil
	default: // bodyCancelUnbondingField
		if x4 > 1<<62 {
			return nil, fmt.Errorf("%w: cancel unbonding: creation height %d", ErrMalformedTx, x4)
		}
		return &MsgCancelUnbondingDelegation{Delegator: del, Validator: val, Amount: x3, CreationHeight: int64(x4)}, nil
	}
}
