package wasm

import (
	"maps"
	"slices"
)

// Storage is a contract's key-value state. The executor hands each call
// the storage of the called contract only (see Prefixed); keys and values
// are opaque bytes within MaxKeySize and MaxValueSize. Get returns a value
// the caller may keep (the implementation must not modify it afterwards).
type Storage interface {
	Get(key []byte) (value []byte, ok bool, err error)
	Set(key, value []byte) error
	Delete(key []byte) error
}

// MemStorage is an in-memory Storage. Its zero value is ready to use; it is
// not safe for concurrent use.
type MemStorage struct {
	m map[string][]byte
}

// Get implements Storage.
func (s *MemStorage) Get(key []byte) ([]byte, bool, error) {
	v, ok := s.m[string(key)]
	return v, ok, nil
}

// Set implements Storage; it keeps a copy of value.
func (s *MemStorage) Set(key, value []byte) error {
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[string(key)] = slices.Clone(value)
	return nil
}

// Delete implements Storage.
func (s *MemStorage) Delete(key []byte) error {
	delete(s.m, string(key))
	return nil
}

// Len returns the number of entries.
func (s *MemStorage) Len() int { return len(s.m) }

// Prefixed returns the Storage of one contract inside a shared one: every
// key is prefixed with prefix (for example the contract's address followed
// by a separator that cannot occur in it).
func Prefixed(s Storage, prefix []byte) Storage {
	return prefixed{s: s, p: slices.Clone(prefix)}
}

type prefixed struct {
	s Storage
	p []byte
}

func (s prefixed) key(k []byte) []byte                { return append(slices.Clip(s.p), k...) }
func (s prefixed) Get(k []byte) ([]byte, bool, error) { return s.s.Get(s.key(k)) }
func (s prefixed) Set(k, v []byte) error              { return s.s.Set(s.key(k), v) }
func (s prefixed) Delete(k []byte) error              { return s.s.Delete(s.key(k)) }

// overlay buffers a call's writes so that a failed call leaves the
// underlying storage untouched; commit applies them in key order.
type overlay struct {
	base   Storage
	writes map[string][]byte // nil value: deleted
}

func (o *overlay) get(k []byte) ([]byte, bool, error) {
	if v, ok := o.writes[string(k)]; ok {
		return v, v != nil, nil
	}
	return o.base.Get(k)
}

func (o *overlay) set(k, v []byte) {
	if v == nil {
		v = []byte{}
	}
	o.writes[string(k)] = v
}

func (o *overlay) del(k []byte) { o.writes[string(k)] = nil }

func (o *overlay) commit() error {
	for _, k := range slices.Sorted(maps.Keys(o.writes)) {
		var err error
		if v := o.writes[k]; v == nil {
			err = o.base.Delete([]byte(k))
		} else {
			err = o.base.Set([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
