package das

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
)

// Result is what sampling one height found.
type Result struct {
	Height uint64 `json:"height"`
	// Available is true when every sample verified.
	Available bool `json:"available"`
	// Samples is the number of distinct cells that verified (all those
	// asked for when Available).
	Samples int `json:"samples"`
	// SquareSize is the width k of the original square.
	SquareSize int `json:"square_size"`
	// Confidence is Confidence(SquareSize, Samples) when Available (1 for
	// a Full result), 0 otherwise.
	Confidence float64 `json:"confidence"`
	// Full is true when a full DASer (NewFull) holds the whole square,
	// verified against the header's DAH; Samples is then 0.
	Full bool `json:"full,omitempty"`
	// BadEncoding, when not 0, is the height of a block proven badly
	// encoded (DASer.BadEncoding) at or below Height: the chain is not
	// available from there on, and Available is false whatever was found
	// before the proof.
	BadEncoding uint64 `json:"bad_encoding,omitempty"`
	// Time is the header's time; SampledAt when the result was recorded.
	Time      time.Time `json:"time"`
	SampledAt time.Time `json:"sampled_at"`
}

const (
	keyCheckpoint = "das/checkpoint"
	prefixResult  = "das/result/"
	prefixFailed  = "das/failed/"
	prefixBEFP    = "das/befp/"
	resultSize    = 1 + 4 + 4 + 8 + 8
)

func resultKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixResult), h)
}

func failedKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixFailed), h)
}

func befpKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixBEFP), h)
}

// Flags of a stored result's first byte.
const (
	flagAvailable = 1 << iota
	flagFull
)

func (r Result) marshal() []byte {
	b := make([]byte, 0, resultSize)
	var f byte
	if r.Available {
		f |= flagAvailable
	}
	if r.Full {
		f |= flagFull
	}
	b = append(b, f)
	b = binary.BigEndian.AppendUint32(b, uint32(r.Samples))
	b = binary.BigEndian.AppendUint32(b, uint32(r.SquareSize))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	return binary.BigEndian.AppendUint64(b, uint64(r.SampledAt.UnixNano()))
}

func unmarshalResult(h uint64, b []byte) (Result, error) {
	if len(b) != resultSize || b[0]&^(flagAvailable|flagFull) != 0 {
		return Result{}, fmt.Errorf("das: corrupt result of height %d", h)
	}
	r := Result{
		Height:     h,
		Available:  b[0]&flagAvailable != 0,
		Full:       b[0]&flagFull != 0,
		Samples:    int(binary.BigEndian.Uint32(b[1:])),
		SquareSize: int(binary.BigEndian.Uint32(b[5:])),
		Time:       time.Unix(0, int64(binary.BigEndian.Uint64(b[9:]))).UTC(),
		SampledAt:  time.Unix(0, int64(binary.BigEndian.Uint64(b[17:]))).UTC(),
	}
	switch {
	case r.Available && r.Full:
		r.Confidence = 1
	case r.Available:
		r.Confidence = Confidence(r.SquareSize, r.Samples)
	}
	return r, nil
}

// store keeps the checkpoint and the per-height results, in Badger when
// db is set and in memory otherwise. Its methods are safe for concurrent
// use.
type store struct {
	db *badger.DB

	mu      sync.Mutex
	results map[uint64]Result // without db
}

func newStore(db *badger.DB) *store { return &store{db: db, results: map[uint64]Result{}} }

// loadCheckpoint returns the stored checkpoint, or false if there is none.
func (s *store) loadCheckpoint() (Checkpoint, bool, error) {
	var cp Checkpoint
	if s.db == nil {
		return cp, false, nil
	}
	found := false
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keyCheckpoint))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &cp) }); err != nil {
			return err
		}
		iter := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixFailed), PrefetchValues: true, PrefetchSize: 100})
		defer iter.Close()
		for iter.Rewind(); iter.Valid(); iter.Next() {
			item := iter.Item()
			if len(item.Key()) != len(prefixFailed)+8 {
				return fmt.Errorf("das: corrupt failed-height key %x", item.Key())
			}
			h := binary.BigEndian.Uint64(item.Key()[len(prefixFailed):])
			err := item.Value(func(v []byte) error {
				if len(v) != 4 {
					return fmt.Errorf("das: corrupt attempts of failed height %d", h)
				}
				if cp.Failed == nil {
					cp.Failed = map[uint64]int{}
				}
				cp.Failed[h] = int(binary.BigEndian.Uint32(v))
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return cp, false, fmt.Errorf("das: reading the checkpoint: %w", err)
	}
	return cp, found, nil
}

// save writes results, changes to failed heights (attempts, 0 for a
// height no longer failed) and the checkpoint in one transaction: a crash
// leaves all or nothing. The failed heights are keys of their own, not
// part of cp's encoding, so a long run of unavailable heights does not make
// every checkpoint larger.
func (s *store) save(cp Checkpoint, failed map[uint64]int, results ...Result) error {
	if s.db == nil {
		s.mu.Lock()
		for _, r := range results {
			s.results[r.Height] = r
		}
		s.mu.Unlock()
		return nil
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("das: encoding the checkpoint: %w", err)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		for _, r := range results {
			if err := txn.Set(resultKey(r.Height), r.marshal()); err != nil {
				return err
			}
		}
		for h, n := range failed {
			var err error
			if n == 0 {
				err = txn.Delete(failedKey(h))
			} else {
				err = txn.Set(failedKey(h), binary.BigEndian.AppendUint32(nil, uint32(n)))
			}
			if err != nil {
				return err
			}
		}
		return txn.Set([]byte(keyCheckpoint), b)
	})
	if err != nil {
		return fmt.Errorf("das: writing the checkpoint: %w", err)
	}
	return nil
}

// saveBadEncoding persists p under das/befp/<height>.
func (s *store) saveBadEncoding(p *eds.BadEncodingProof) error {
	if s.db == nil {
		return nil
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return fmt.Errorf("das: encoding the bad-encoding proof of height %d: %w", p.Height, err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(befpKey(p.Height), b) }); err != nil {
		return fmt.Errorf("das: writing the bad-encoding proof of height %d: %w", p.Height, err)
	}
	return nil
}

// loadBadEncoding returns the stored bad-encoding proof of the lowest
// height, or nil if there is none.
func (s *store) loadBadEncoding() (*eds.BadEncodingProof, error) {
	if s.db == nil {
		return nil, nil
	}
	var p *eds.BadEncodingProof
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixBEFP)})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return nil
		}
		return it.Item().Value(func(v []byte) (err error) {
			p, err = eds.UnmarshalBadEncodingProof(v)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("das: reading the bad-encoding proof: %w", err)
	}
	return p, nil
}

// invalidate deletes the result of height and marks it failed once (kept
// if it already is), in one transaction, so that a restart checks it
// again.
func (s *store) invalidate(h uint64) error {
	if s.db == nil {
		s.mu.Lock()
		delete(s.results, h)
		s.mu.Unlock()
		return nil
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(resultKey(h)); err != nil {
			return err
		}
		_, err := txn.Get(failedKey(h))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(failedKey(h), binary.BigEndian.AppendUint32(nil, 1))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("das: invalidating the result of height %d: %w", h, err)
	}
	return nil
}

// result returns the result of height, or ErrNotSampled.
func (s *store) result(h uint64) (Result, error) {
	if s.db == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		r, ok := s.results[h]
		if !ok {
			return r, fmt.Errorf("%w: height %d", ErrNotSampled, h)
		}
		return r, nil
	}
	var r Result
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(resultKey(h))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			r, err = unmarshalResult(h, v)
			return err
		})
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return r, fmt.Errorf("%w: height %d", ErrNotSampled, h)
	case err != nil:
		return r, fmt.Errorf("das: reading the result of height %d: %w", h, err)
	}
	return r, nil
}

// prune deletes the results of headers older than cutoff, in increasing
// height order, stopping at the first within it (header times increase
// with height). It returns how many it deleted.
func (s *store) prune(cutoff time.Time) (int, error) {
	if s.db == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := 0
		for h, r := range s.results {
			if r.Time.Before(cutoff) {
				delete(s.results, h)
				n++
			}
		}
		return n, nil
	}
	var old [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixResult), PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			h := binary.BigEndian.Uint64(item.Key()[len(prefixResult):])
			var r Result
			if err := item.Value(func(v []byte) (err error) { r, err = unmarshalResult(h, v); return err }); err != nil {
				return err
			}
			if !r.Time.Before(cutoff) {
				break
			}
			old = append(old, item.KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("das: pruning results: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range old {
		if err := wb.Delete(k); err != nil {
			return 0, fmt.Errorf("das: pruning results: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("das: pruning results: %w", err)
	}
	return len(old), nil
}
