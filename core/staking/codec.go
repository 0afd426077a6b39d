package staking

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/datamesh/mesh-node/core/tx"
)

// KV is one entry of the state's serialization.
type KV struct {
	Key   []byte
	Value []byte
}

// Key prefixes of Entries: one byte, then the entity's addresses.
const (
	prefixParams     byte = 0x01 // → params
	prefixMeta       byte = 0x02 // → height, time, pools, remainder
	prefixValidator  byte = 0x10 // operator → validator and its F1 record
	prefixDelegation byte = 0x11 // delegator, validator → shares and F1 start
	prefixUnbonding  byte = 0x12 // delegator, validator → entries
	prefixRedel      byte = 0x13 // delegator, src, dst → entries
	prefixSigning    byte = 0x14 // consensus address → signing info
	prefixPower      byte = 0x15 // operator → power CometBFT last got
	prefixHist       byte = 0x16 // operator, period (8 bytes) → F1 cumulative ratio, references
)

// Limits of Load.
const (
	// MaxValueSize bounds one entry's value.
	MaxValueSize = 1 << 24
	maxListLen   = 1 << 20
)

// ErrCorrupt is wrapped by Load for entries it cannot decode.
var ErrCorrupt = errors.New("staking: corrupt state entry")

// Entries returns the whole state as key-value entries sorted by key, for
// the application to hash and persist. Equal states give equal entries.
// The entries are the caller's.
func (s *State) Entries() []KV {
	out := []KV{s.paramsEntry(), s.metaEntry()}
	for op := range s.validators {
		out = append(out, s.validatorEntry(op))
	}
	for op, d := range s.dist {
		for p := range d.hist {
			out = append(out, s.histEntry(op, p))
		}
	}
	for k := range s.delegations.Keys() {
		out = append(out, s.delegationEntry(k))
	}
	for k := range s.unbondings.Keys() {
		out = append(out, s.unbondingEntry(k))
	}
	for k := range s.redels.Keys() {
		out = append(out, s.redelEntry(k))
	}
	for ca := range s.signing {
		out = append(out, s.signingEntry(ca))
	}
	for op := range s.lastPower {
		out = append(out, s.powerEntry(op))
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out
}

// The entry of one record: its key and, if s has the record, its value
// (nil Value otherwise).

func (s *State) paramsEntry() KV {
	var e encoder
	e.params(s.params)
	return KV{Key: []byte{prefixParams}, Value: e.b}
}

func (s *State) metaEntry() KV {
	var e encoder
	e.i64(s.height)
	e.i64(s.time)
	for _, x := range []uint64{s.pools.Bonded, s.pools.NotBonded, s.pools.Rewards, s.pools.Burned, s.pools.Minted} {
		e.u64(x)
	}
	e.dec(s.remainder)
	return KV{Key: []byte{prefixMeta}, Value: e.b}
}

func (s *State) validatorEntry(op tx.Address) KV {
	kv := KV{Key: key(prefixValidator, op[:])}
	if v := s.validators[op]; v != nil {
		var e encoder
		e.validator(v, s.dist[op])
		kv.Value = e.b
	}
	return kv
}

func (s *State) histEntry(op tx.Address, period uint64) KV {
	kv := KV{Key: binary.BigEndian.AppendUint64(key(prefixHist, op[:]), period)}
	if d := s.dist[op]; d != nil {
		if h, ok := d.hist[period]; ok {
			var e encoder
			e.dec(h.ratio)
			e.u64(uint64(h.refs))
			kv.Value = e.b
		}
	}
	return kv
}

func (s *State) delegationEntry(k pairKey) KV {
	kv := KV{Key: key(prefixDelegation, k.del[:], k.val[:])}
	if d := s.delegations.At(k); d != nil {
		var e encoder
		e.dec(d.Shares)
		e.u64(d.start.period)
		e.dec(d.start.stake)
		e.i64(d.start.height)
		kv.Value = e.b
	}
	return kv
}

func (s *State) unbondingEntry(k pairKey) KV {
	kv := KV{Key: key(prefixUnbonding, k.del[:], k.val[:])}
	if ub := s.unbondings.At(k); ub != nil {
		var e encoder
		e.u64(uint64(len(ub.Entries)))
		for _, x := range ub.Entries {
			e.i64(x.CreationHeight)
			e.i64(x.CompletionTime)
			e.u64(x.InitialBalance)
			e.u64(x.Balance)
		}
		kv.Value = e.b
	}
	return kv
}

func (s *State) redelEntry(k tripleKey) KV {
	kv := KV{Key: key(prefixRedel, k.del[:], k.src[:], k.dst[:])}
	if rd := s.redels.At(k); rd != nil {
		var e encoder
		e.u64(uint64(len(rd.Entries)))
		for _, x := range rd.Entries {
			e.i64(x.CreationHeight)
			e.i64(x.CompletionTime)
			e.u64(x.InitialBalance)
			e.dec(x.SharesDst)
		}
		kv.Value = e.b
	}
	return kv
}

func (s *State) signingEntry(ca ConsAddress) KV {
	kv := KV{Key: key(prefixSigning, ca[:])}
	if si := s.signing[ca]; si != nil {
		var e encoder
		e.i64(si.StartHeight)
		e.i64(si.IndexOffset)
		e.i64(si.MissedBlocks)
		e.i64(si.JailedUntil)
		e.bool(si.Tombstoned)
		e.bytes(si.missed)
		kv.Value = e.b
	}
	return kv
}

func (s *State) powerEntry(op tx.Address) KV {
	kv := KV{Key: key(prefixPower, op[:])}
	if pw, ok := s.lastPower[op]; ok {
		var e encoder
		e.i64(pw)
		kv.Value = e.b
	}
	return kv
}

func key(prefix byte, parts ...[]byte) []byte {
	k := []byte{prefix}
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// Load rebuilds a state from entries in any order, as Entries made them.
// It never panics: malformed, duplicate, oversized or inconsistent entries
// (ones that break the bookkeeping Invariants checks without the bank) make
// it fail with ErrCorrupt or ErrInvariant.
func Load(entries []KV) (*State, error) {
	s := newEmpty()
	seen := map[string]bool{}
	var haveParams, haveMeta bool
	hist := map[tx.Address]map[uint64]histRatio{}
	for _, kv := range entries {
		if len(kv.Value) > MaxValueSize {
			return nil, fmt.Errorf("%w: value of %d bytes", ErrCorrupt, len(kv.Value))
		}
		if seen[string(kv.Key)] {
			return nil, fmt.Errorf("%w: duplicate key %x", ErrCorrupt, kv.Key)
		}
		seen[string(kv.Key)] = true
		if err := s.loadEntry(kv, hist, &haveParams, &haveMeta); err != nil {
			return nil, err
		}
	}
	if !haveParams || !haveMeta {
		return nil, fmt.Errorf("%w: params or meta missing", ErrCorrupt)
	}
	if err := s.params.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	for ca, si := range s.signing {
		if len(si.missed) != bitmapLen(s.params.SignedBlocksWindow) || si.IndexOffset < 0 || si.MissedBlocks < 0 {
			return nil, fmt.Errorf("%w: signing info %X malformed", ErrCorrupt, ca[:])
		}
	}
	for op, h := range hist {
		d := s.dist[op]
		if d == nil {
			return nil, fmt.Errorf("%w: F1 history of %s, no such validator", ErrCorrupt, op)
		}
		d.hist = h
	}
	for op, d := range s.dist {
		// The period before the current one is always referenced (by the
		// validator itself).
		if !hasPeriod(d, d.period-1) {
			return nil, fmt.Errorf("%w: validator %s has no period %d", ErrCorrupt, op, d.period-1)
		}
	}
	for op, v := range s.validators {
		ca := v.ConsAddress()
		if _, dup := s.byCons[ca]; dup {
			return nil, fmt.Errorf("%w: consensus key %X used twice", ErrCorrupt, ca[:])
		}
		if s.signing[ca] == nil {
			return nil, fmt.Errorf("%w: validator %s has no signing info", ErrCorrupt, op)
		}
		s.byCons[ca] = op
	}
	for k, d := range s.delegations.All() {
		dd := s.dist[k.val]
		if dd == nil || !hasPeriod(dd, d.start.period) {
			return nil, fmt.Errorf("%w: delegation of %s to %s has no starting period", ErrCorrupt, k.del, k.val)
		}
	}
	for k, ub := range s.unbondings.All() {
		for _, e := range ub.Entries {
			s.enqueue(queueItem{time: e.CompletionTime, del: k.del, src: k.val})
		}
	}
	for k, rd := range s.redels.All() {
		s.receivers[pairKey{k.del, k.dst}]++
		for _, e := range rd.Entries {
			s.enqueue(queueItem{time: e.CompletionTime, redel: true, del: k.del, src: k.src, dst: k.dst})
		}
	}
	if err := s.checkInternal(); err != nil {
		return nil, err
	}
	return s, nil
}

func hasPeriod(d *valDist, p uint64) bool {
	_, ok := d.hist[p]
	return ok
}

func addr(b []byte) tx.Address {
	var a tx.Address
	copy(a[:], b)
	return a
}

// loadEntry sets one entry; F1 histories go to hist, by operator.
func (s *State) loadEntry(kv KV, hist map[tx.Address]map[uint64]histRatio, haveParams, haveMeta *bool) error {
	k, d := kv.Key, &decoder{b: kv.Value}
	if len(k) == 0 {
		return fmt.Errorf("%w: empty key", ErrCorrupt)
	}
	const a = tx.AddressSize
	body := k[1:]
	bad := func() error { return fmt.Errorf("%w: key %x", ErrCorrupt, k) }
	switch k[0] {
	case prefixParams:
		if len(body) != 0 {
			return bad()
		}
		s.params = d.params()
		*haveParams = true
	case prefixMeta:
		if len(body) != 0 {
			return bad()
		}
		s.height, s.time = d.i64(), d.i64()
		s.pools = Pools{Bonded: d.u64(), NotBonded: d.u64(), Rewards: d.u64(), Burned: d.u64(), Minted: d.u64()}
		s.remainder = d.dec()
		*haveMeta = true
	case prefixValidator:
		if len(body) != a {
			return bad()
		}
		v, dist := d.validator()
		if d.err == nil && v.Operator != addr(body) {
			return bad()
		}
		s.validators[addr(body)], s.dist[addr(body)] = v, dist
	case prefixDelegation:
		if len(body) != 2*a {
			return bad()
		}
		del, val := addr(body[:a]), addr(body[a:])
		x := &delegation{Delegation: Delegation{Delegator: del, Validator: val, Shares: d.dec()}}
		x.start = startInfo{period: d.u64(), stake: d.dec(), height: d.i64()}
		s.delegations.Set(pairKey{del, val}, x)
	case prefixUnbonding:
		if len(body) != 2*a {
			return bad()
		}
		del, val := addr(body[:a]), addr(body[a:])
		ub := &UnbondingDelegation{Delegator: del, Validator: val}
		n := d.count(32)
		for i := 0; i < n && d.err == nil; i++ {
			ub.Entries = append(ub.Entries, UnbondingEntry{CreationHeight: d.i64(), CompletionTime: d.i64(), InitialBalance: d.u64(), Balance: d.u64()})
		}
		if n == 0 {
			return bad()
		}
		s.unbondings.Set(pairKey{del, val}, ub)
	case prefixRedel:
		if len(body) != 3*a {
			return bad()
		}
		del, src, dst := addr(body[:a]), addr(body[a:2*a]), addr(body[2*a:])
		rd := &Redelegation{Delegator: del, Src: src, Dst: dst}
		n := d.count(28)
		for i := 0; i < n && d.err == nil; i++ {
			rd.Entries = append(rd.Entries, RedelegationEntry{CreationHeight: d.i64(), CompletionTime: d.i64(), InitialBalance: d.u64(), SharesDst: d.dec()})
		}
		if n == 0 {
			return bad()
		}
		s.redels.Set(tripleKey{del, src, dst}, rd)
	case prefixSigning:
		if len(body) != 20 {
			return bad()
		}
		var ca ConsAddress
		copy(ca[:], body)
		si := &signing{SigningInfo: SigningInfo{Address: ca, StartHeight: d.i64(), IndexOffset: d.i64(), MissedBlocks: d.i64(), JailedUntil: d.i64(), Tombstoned: d.bool()}}
		si.missed = d.bytes()
		s.signing[ca] = si
	case prefixPower:
		if len(body) != a {
			return bad()
		}
		s.lastPower[addr(body)] = d.i64()
	case prefixHist:
		if len(body) != a+8 {
			return bad()
		}
		op, p := addr(body[:a]), binary.BigEndian.Uint64(body[a:])
		if hist[op] == nil {
			hist[op] = map[uint64]histRatio{}
		}
		hist[op][p] = histRatio{ratio: d.dec(), refs: d.u32()}
	default:
		return bad()
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return fmt.Errorf("%w: key %x: %v", ErrCorrupt, k, d.err)
	}
	return nil
}

type encoder struct{ b []byte }

func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) i64(v int64)  { e.u64(uint64(v)) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *encoder) bytes(b []byte) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(b)))
	e.b = append(e.b, b...)
}

// dec writes a non-negative Dec as its magnitude's bytes; negatives
// never occur in a consistent state and are written as 0.
func (e *encoder) dec(d Dec) {
	if d.IsNegative() {
		d = Dec{}
	}
	e.bytes(d.bi().Bytes())
}

func (e *encoder) params(p Params) {
	e.i64(p.UnbondingTime)
	e.u64(uint64(p.MaxValidators))
	e.u64(uint64(p.MaxEntries))
	e.u64(p.MinSelfBond)
	e.u64(p.PowerReduction)
	e.i64(p.SignedBlocksWindow)
	e.dec(p.MinSignedPerWindow)
	e.i64(p.DowntimeJailDuration)
	e.dec(p.SlashFractionDoubleSign)
	e.dec(p.SlashFractionDowntime)
	e.u64(p.InflationPerBlock)
}

func (e *encoder) validator(v *Validator, d *valDist) {
	e.b = append(e.b, v.Operator[:]...)
	e.bytes(v.ConsPubKey)
	e.bytes([]byte(v.Moniker))
	e.b = append(e.b, byte(v.Status))
	e.bool(v.Jailed)
	e.u64(v.Tokens)
	e.dec(v.Shares)
	e.dec(v.Commission.Rate)
	e.dec(v.Commission.MaxRate)
	e.dec(v.Commission.MaxChangeRate)
	e.i64(v.Commission.UpdateTime)
	e.i64(v.UnbondingHeight)
	e.i64(v.UnbondingTime)
	e.u64(d.period)
	e.dec(d.current)
	e.dec(d.commission)
	e.dec(d.outstanding)
	e.u64(uint64(len(d.slashes)))
	for _, ev := range d.slashes {
		e.u64(ev.period)
		e.i64(ev.height)
		e.dec(ev.fraction)
	}
}

// decoder reads what encoder wrote; after the first error every read
// returns zero values and err keeps that error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = errors.New("truncated")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (d *decoder) i64() int64 { return int64(d.u64()) }

func (d *decoder) u32() uint32 {
	v := d.u64()
	if v > 1<<32-1 && d.err == nil {
		d.err = errors.New("value above 32 bits")
	}
	return uint32(v)
}

func (d *decoder) bool() bool {
	b := d.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.err = errors.New("bad bool")
	}
	return b[0] == 1
}

func (d *decoder) bytes() []byte {
	h := d.take(4)
	if h == nil {
		return nil
	}
	return append([]byte(nil), d.take(int(binary.BigEndian.Uint32(h)))...)
}

func (d *decoder) dec() Dec {
	b := d.bytes()
	if d.err != nil {
		return Dec{}
	}
	if len(b) > maxDecBytes || (len(b) > 0 && b[0] == 0) {
		d.err = errors.New("bad decimal")
		return Dec{}
	}
	return decOf(new(big.Int).SetBytes(b))
}

// count reads a list length, refusing one that cannot fit in what is left
// given each element's minimum size.
func (d *decoder) count(minSize int) int {
	n := d.u64()
	if d.err == nil && (n > maxListLen || n*uint64(minSize) > uint64(len(d.b))) {
		d.err = errors.New("bad list length")
		return 0
	}
	return int(n)
}

func (d *decoder) params() Params {
	return Params{
		UnbondingTime:           d.i64(),
		MaxValidators:           d.u32(),
		MaxEntries:              d.u32(),
		MinSelfBond:             d.u64(),
		PowerReduction:          d.u64(),
		SignedBlocksWindow:      d.i64(),
		MinSignedPerWindow:      d.dec(),
		DowntimeJailDuration:    d.i64(),
		SlashFractionDoubleSign: d.dec(),
		SlashFractionDowntime:   d.dec(),
		InflationPerBlock:       d.u64(),
	}
}

func (d *decoder) validator() (*Validator, *valDist) {
	v := &Validator{}
	copy(v.Operator[:], d.take(tx.AddressSize))
	v.ConsPubKey = d.bytes()
	v.Moniker = string(d.bytes())
	if st := d.take(1); st != nil {
		v.Status = Status(st[0])
	}
	v.Jailed = d.bool()
	v.Tokens = d.u64()
	v.Shares = d.dec()
	v.Commission = Commission{Rate: d.dec(), MaxRate: d.dec(), MaxChangeRate: d.dec(), UpdateTime: d.i64()}
	v.UnbondingHeight = d.i64()
	v.UnbondingTime = d.i64()
	dist := &valDist{period: d.u64(), current: d.dec(), commission: d.dec(), outstanding: d.dec(), hist: map[uint64]histRatio{}}
	n := d.count(20)
	for i := 0; i < n && d.err == nil; i++ {
		dist.slashes = append(dist.slashes, slashEvent{period: d.u64(), height: d.i64(), fraction: d.dec()})
	}
	one := NewDec(1)
	for _, ev := range dist.slashes {
		if ev.fraction.Cmp(one) > 0 && d.err == nil {
			d.err = errors.New("slash fraction above 1")
		}
	}
	c := v.Commission
	if d.err == nil && (c.MaxRate.Cmp(one) > 0 || c.Rate.Cmp(c.MaxRate) > 0 || c.MaxChangeRate.Cmp(c.MaxRate) > 0) {
		d.err = errors.New("bad commission")
	}
	if d.err == nil && (len(v.ConsPubKey) != ConsPubKeySize || len(v.Moniker) > MaxMonikerLen || v.Status > Bonded || dist.period == 0) {
		d.err = errors.New("bad validator")
	}
	return v, dist
}
