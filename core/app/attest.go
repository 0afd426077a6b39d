package app

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/core/tx"
)

// Blobstream's state: the validators' EVM addresses, the attestations by
// nonce (pending and attested) and the data roots of the heights that no
// data commitment covers yet. Attestations are handled strictly in nonce
// order: nonces 1..Attested are attested, Attested+1..Next-1 pending.
type bsState struct {
	evm   map[string]blobstream.Address // ed25519 key -> EVM address
	meta  bsMeta
	roots map[uint64][32]byte
	atts  map[uint64]*tx.Attestation // records are never modified: replaced
}

// bsMeta is the attestation sequence's bookkeeping.
type bsMeta struct {
	Next       uint64 `json:"next_nonce"`        // the nonce the next attestation gets
	Attested   uint64 `json:"attested_nonce"`    // the latest attested nonce
	LastValset uint64 `json:"last_valset_nonce"` // the latest valset made, 0 before nonce 1
}

func newBSState() bsState {
	return bsState{evm: map[string]blobstream.Address{}, meta: bsMeta{Next: 1}, roots: map[uint64][32]byte{}, atts: map[uint64]*tx.Attestation{}}
}

func (b bsState) clone() bsState {
	return bsState{evm: maps.Clone(b.evm), meta: b.meta, roots: maps.Clone(b.roots), atts: maps.Clone(b.atts)}
}

// Keys of Blobstream's part of the hashed state.
const (
	keyEVMPre     = "e/" // + ed25519 key: 20-byte EVM address
	keyBSMeta     = "bm" // bsMeta, JSON
	keyBSRootPre  = "br/"
	keyBSNoncePre = "bn/"
)

func evmKey(pk []byte) string  { return keyEVMPre + string(pk) }
func rootKey(h uint64) string  { return keyBSRootPre + string(binary.BigEndian.AppendUint64(nil, h)) }
func nonceKey(n uint64) string { return keyBSNoncePre + string(binary.BigEndian.AppendUint64(nil, n)) }

// bsValue returns the stored value of one of Blobstream's keys in s, ok
// false if s has none (the key is then deleted).
func (s *State) bsValue(key string) (v []byte, ok bool, err error) {
	switch {
	case key == keyBSMeta:
		if !s.attesting() {
			return nil, false, nil
		}
		v, err = json.Marshal(s.bs.meta)
		return v, err == nil, err
	case len(key) == len(keyEVMPre)+32 && key[:len(keyEVMPre)] == keyEVMPre:
		a, ok := s.bs.evm[key[len(keyEVMPre):]]
		return a[:], ok, nil
	case len(key) == len(keyBSRootPre)+8 && key[:len(keyBSRootPre)] == keyBSRootPre:
		r, ok := s.bs.roots[binary.BigEndian.Uint64([]byte(key[len(keyBSRootPre):]))]
		return r[:], ok, nil
	case len(key) == len(keyBSNoncePre)+8 && key[:len(keyBSNoncePre)] == keyBSNoncePre:
		a, ok := s.bs.atts[binary.BigEndian.Uint64([]byte(key[len(keyBSNoncePre):]))]
		if !ok {
			return nil, false, nil
		}
		v, err = json.Marshal(a)
		return v, err == nil, err
	}
	return nil, false, fmt.Errorf("app: not a blobstream key %x", key)
}

// bsKeys returns every key of Blobstream's part of s.
func (s *State) bsKeys() []string {
	var keys []string
	if s.attesting() {
		keys = append(keys, keyBSMeta)
	}
	for pk := range s.bs.evm {
		keys = append(keys, evmKey([]byte(pk)))
	}
	for h := range s.bs.roots {
		keys = append(keys, rootKey(h))
	}
	for n := range s.bs.atts {
		keys = append(keys, nonceKey(n))
	}
	return keys
}

// loadBS sets one of Blobstream's entries read from the store; ok is false
// for a key that is not one.
func (s *State) loadBS(k string, val []byte) (ok bool, err error) {
	switch {
	case k == keyBSMeta:
		return true, json.Unmarshal(val, &s.bs.meta)
	case len(k) == len(keyEVMPre)+32 && k[:len(keyEVMPre)] == keyEVMPre:
		if len(val) != 20 {
			return true, fmt.Errorf("EVM address of %d bytes", len(val))
		}
		s.bs.evm[k[len(keyEVMPre):]] = blobstream.Address(val)
	case len(k) == len(keyBSRootPre)+8 && k[:len(keyBSRootPre)] == keyBSRootPre:
		if len(val) != 32 {
			return true, fmt.Errorf("data root of %d bytes", len(val))
		}
		s.bs.roots[binary.BigEndian.Uint64([]byte(k[len(keyBSRootPre):]))] = [32]byte(val)
	case len(k) == len(keyBSNoncePre)+8 && k[:len(keyBSNoncePre)] == keyBSNoncePre:
		var a tx.Attestation
		if err := json.Unmarshal(val, &a); err != nil {
			return true, err
		}
		s.bs.atts[binary.BigEndian.Uint64([]byte(k[len(keyBSNoncePre):]))] = &a
	default:
		return false, nil
	}
	return true, nil
}

// attesting reports whether the chain makes attestations
// (data_commitment_window is set).
func (s *State) attesting() bool { return s.Config.Params.DataCommitmentWindow > 0 }

// EVMAddress returns the EVM address registered for the validator with
// ed25519 key pk.
func (s *State) EVMAddress(pk []byte) (blobstream.Address, bool) {
	a, ok := s.bs.evm[string(pk)]
	return a, ok
}

// Attestation returns the attestation with nonce n, pending or attested.
// The caller must not modify it.
func (s *State) Attestation(n uint64) (*tx.Attestation, bool) {
	a, ok := s.bs.atts[n]
	return a, ok
}

// Nonces returns the latest nonce made due and the latest attested one.
func (s *State) Nonces() tx.BlobstreamNonces {
	return tx.BlobstreamNonces{Latest: s.bs.meta.Next - 1, LatestAttested: s.bs.meta.Attested}
}

// PendingAttestation returns the oldest pending attestation and the valset
// that signs it, or nil: the one the validators sign next.
func (s *State) PendingAttestation() (att, signers *tx.Attestation) {
	att, ok := s.bs.atts[s.bs.meta.Attested+1]
	if !ok {
		return nil, nil
	}
	return att, s.bs.atts[att.SignerNonce]
}

// DataCommitmentAt returns the data commitment whose range covers height.
func (s *State) DataCommitmentAt(height uint64) (*tx.Attestation, bool) {
	for _, a := range s.bs.atts {
		if a.Kind == tx.AttestationDataCommitment && a.BeginBlock <= height && height < a.EndBlock {
			return a, true
		}
	}
	return nil, false
}

// ValsetAt returns the valset in force at nonce n: the one with the largest
// nonce ≤ n.
func (s *State) ValsetAt(n uint64) (*tx.Attestation, bool) {
	for v := s.bs.meta.LastValset; v > 0; {
		a := s.bs.atts[v]
		if a == nil {
			return nil, false
		}
		if a.Nonce <= n {
			return a, true
		}
		v = a.SignerNonce
	}
	return nil, false
}

// registeredSet returns the validators with a registered EVM address and
// their powers, in the contract's order: power descending, then address.
func (s *State) registeredSet() []tx.ValsetMember {
	var out []tx.ValsetMember
	for pk, p := range s.validators {
		if a, ok := s.bs.evm[pk]; ok {
			out = append(out, tx.ValsetMember{PubKey: []byte(pk), EVMAddress: a, Power: uint64(p)})
		}
	}
	slices.SortFunc(out, func(x, y tx.ValsetMember) int {
		if c := cmp.Compare(y.Power, x.Power); c != 0 {
			return c
		}
		if c := bytes.Compare(x.EVMAddress[:], y.EVMAddress[:]); c != 0 {
			return c
		}
		return bytes.Compare(x.PubKey, y.PubKey)
	})
	return out
}

func sameSet(x, y []tx.ValsetMember) bool {
	return slices.EqualFunc(x, y, func(a, b tx.ValsetMember) bool {
		return a.EVMAddress == b.EVMAddress && a.Power == b.Power && bytes.Equal(a.PubKey, b.PubKey)
	})
}

func totalPower(vals []tx.ValsetMember) uint64 {
	var t uint64
	for _, v := range vals {
		t += v.Power // ≤ tx.MaxValidatorPower in total
	}
	return t
}

// attestationChanges collects the keys of Blobstream's state a block
// changed, for Store.Save.
type attestationChanges map[string]bool

// addValset makes the registered set, if it is not empty and differs from
// the last valset, the next attestation; the first is attested at once
// (a contract's constructor trusts it).
func (s *State) addValset(height int64, dirty attestationChanges) {
	set := s.registeredSet()
	if len(set) == 0 {
		return
	}
	last := s.bs.atts[s.bs.meta.LastValset]
	if last != nil && sameSet(last.Validators, set) {
		return
	}
	a := &tx.Attestation{Nonce: s.bs.meta.Next, Kind: tx.AttestationValset, Validators: set,
		PowerThreshold: blobstream.PowerThreshold(totalPower(set)), SignerNonce: s.bs.meta.LastValset, CreatedHeight: height}
	if last == nil {
		a.SignerNonce = 0
		s.bs.meta.Attested = a.Nonce
	}
	s.bs.atts[a.Nonce] = a
	s.bs.meta.LastValset = a.Nonce
	s.bs.meta.Next++
	dirty[nonceKey(a.Nonce)] = true
	dirty[keyBSMeta] = true
}

// endBlock is Blobstream's part of a block at height with data root
// dataRoot (nil if the block had none): it records the included
// attestation att (checked by ProcessTxs), the data root, a valset
// attestation if the registered set changed, and at the end of a window a
// data commitment over it. It changes s, the block's new state.
func (s *State) endBlock(height int64, dataRoot []byte, att *AttestationTx, dirty attestationChanges) error {
	if att != nil {
		old, ok := s.bs.atts[att.Nonce]
		if !ok || att.Nonce != s.bs.meta.Attested+1 {
			return fmt.Errorf("app: attestation transaction for nonce %d, the pending one is %d", att.Nonce, s.bs.meta.Attested+1)
		}
		rec := *old
		rec.Signatures = slices.Clone(att.Signatures)
		rec.IncludedHeight = height
		s.bs.atts[att.Nonce] = &rec
		s.bs.meta.Attested = att.Nonce
		dirty[nonceKey(att.Nonce)] = true
		dirty[keyBSMeta] = true
	}
	w := s.Config.Params.DataCommitmentWindow
	if w == 0 || height <= 0 {
		return nil
	}
	h := uint64(height)
	if len(dataRoot) == 32 {
		s.bs.roots[h] = [32]byte(dataRoot)
		dirty[rootKey(h)] = true
	}
	s.addValset(height, dirty)
	if h%w != 0 {
		return nil
	}
	begin, end := h-w+1, h+1
	roots := make([][32]byte, 0, w)
	for x := begin; x < end; x++ {
		if r, ok := s.bs.roots[x]; ok {
			roots = append(roots, r)
		}
		delete(s.bs.roots, x)
		dirty[rootKey(x)] = true
	}
	if uint64(len(roots)) != w || s.bs.meta.LastValset == 0 {
		return nil // a window before any registration, or before the chain's first height
	}
	root, err := blobstream.TupleRoot(begin, roots)
	if err != nil {
		return fmt.Errorf("app: tuple root of [%d, %d): %w", begin, end, err)
	}
	a := &tx.Attestation{Nonce: s.bs.meta.Next, Kind: tx.AttestationDataCommitment, BeginBlock: begin, EndBlock: end,
		TupleRoot: root, SignerNonce: s.bs.meta.LastValset, CreatedHeight: height}
	s.bs.atts[a.Nonce] = a
	s.bs.meta.Next++
	dirty[nonceKey(a.Nonce)] = true
	dirty[keyBSMeta] = true
	return nil
}
