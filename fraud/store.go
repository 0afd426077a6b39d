package fraud

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"

	"github.com/datamesh/mesh-node/eds"
)

// The valid proofs a node holds are kept in its Badger database, one entry
// per proof under
//
//	fraud/befp/<height u64><axis u8><index u16>   (big-endian)
//
// whose value is the proof's encoding as it was validated. Keys sort by
// height, so a load meets the lowest first.
const prefixBEFP = "fraud/befp/"

const befpKeySize = len(prefixBEFP) + 8 + 1 + 2

func befpKey(p *eds.BadEncodingProof) []byte {
	k := binary.BigEndian.AppendUint64([]byte(prefixBEFP), p.Height)
	k = append(k, byte(p.Axis))
	return binary.BigEndian.AppendUint16(k, uint16(p.Index))
}

// stored is a valid proof and its encoding.
type stored struct {
	proof *eds.BadEncodingProof
	data  []byte
}

// saveProof writes a proof's entry; nil db keeps nothing.
func saveProof(db *badger.DB, s stored) error {
	if db == nil {
		return nil
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(befpKey(s.proof), s.data) }); err != nil {
		return fmt.Errorf("fraud: storing the proof of height %d: %w", s.proof.Height, err)
	}
	return nil
}

// loadProofs reads the first max entries, lowest height first, and returns
// their proofs. An entry whose value does not decode, or decodes to a proof
// its key does not name, is logged and skipped: the node keeps what it can
// read. Errors are the database's.
func loadProofs(db *badger.DB, max int, log *slog.Logger) ([]stored, error) {
	if db == nil {
		return nil, nil
	}
	var out []stored
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixBEFP)})
		defer it.Close()
		read := 0
		for it.Rewind(); it.Valid() && read < max; it.Next() {
			read++
			item := it.Item()
			key := item.KeyCopy(nil)
			data, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			p, err := eds.UnmarshalBadEncodingProof(data)
			if err == nil && (len(key) != befpKeySize || string(befpKey(p)) != string(key)) {
				err = errors.New("the key names another proof")
			}
			if err != nil {
				log.Error("fraud: skipping a stored proof that does not decode", "key", fmt.Sprintf("%X", key), "err", err)
				continue
			}
			out = append(out, stored{proof: p, data: data})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fraud: loading the stored proofs: %w", err)
	}
	return out, nil
}
