package validator

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/datamesh/mesh-node/blobstream"
	"github.com/datamesh/mesh-node/internal/atomicfile"
)

// BlobstreamKeyFile is the validator's blobstream key, relative to the
// home: the secp256k1 key whose EVM address signs Blobstream attestations.
const BlobstreamKeyFile = "config/blobstream_key.json"

// maxKeyFileSize bounds the key file read.
const maxKeyFileSize = 4 << 10

// blobstreamKeyJSON is the key file: the private key in hex and, for
// reading, its EVM address.
type blobstreamKeyJSON struct {
	EVMAddress blobstream.Address `json:"evm_address"`
	PrivKey    string             `json:"priv_key"`
}

// GenerateBlobstreamKey writes a new blobstream key into home
// (BlobstreamKeyFile, 0600, written atomically) and returns it. It refuses
// to replace an existing file.
func GenerateBlobstreamKey(home string) (*secp256k1.PrivateKey, error) {
	key, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, fmt.Errorf("validator: generate blobstream key: %w", err)
	}
	data, err := json.MarshalIndent(blobstreamKeyJSON{EVMAddress: blobstream.AddressOf(key.PubKey()), PrivKey: hex.EncodeToString(key.Serialize())}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("validator: encode blobstream key: %w", err)
	}
	path := filepath.Join(home, BlobstreamKeyFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("validator: create key directory: %w", err)
	}
	created, err := atomicfile.WriteNew(path, append(data, '\n'), 0o600)
	if err != nil {
		return nil, fmt.Errorf("validator: write blobstream key: %w", err)
	}
	if !created {
		return nil, fmt.Errorf("validator: %s already exists", path)
	}
	return key, nil
}

// LoadBlobstreamKey reads home's blobstream key. A home without one (made
// before Blobstream existed) gives an error wrapping fs.ErrNotExist.
func LoadBlobstreamKey(home string) (*secp256k1.PrivateKey, error) {
	return LoadBlobstreamKeyFile(filepath.Join(home, BlobstreamKeyFile))
}

// LoadBlobstreamKeyFile reads a blobstream key file at path, in the format
// of a home's BlobstreamKeyFile, checking that its evm_address is the
// key's. A missing file gives an error wrapping fs.ErrNotExist.
func LoadBlobstreamKeyFile(path string) (*secp256k1.PrivateKey, error) {
	data, err := readLimited(path, maxKeyFileSize, "blobstream key")
	if err != nil {
		return nil, err
	}
	var j blobstreamKeyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("validator: decode blobstream key %s: %w", path, err)
	}
	raw, err := hex.DecodeString(j.PrivKey)
	if err != nil || len(raw) != secp256k1.PrivKeyBytesLen {
		return nil, fmt.Errorf("validator: blobstream key %s: priv_key is not 32 bytes of hex", path)
	}
	key := secp256k1.PrivKeyFromBytes(raw)
	if a := blobstream.AddressOf(key.PubKey()); a != j.EVMAddress {
		return nil, fmt.Errorf("validator: blobstream key %s: the key's address is %s, the file says %s", path, a, j.EVMAddress)
	}
	return key, nil
}

// loadOptionalBlobstreamKey is LoadBlobstreamKey, nil for a home without
// a key file.
func loadOptionalBlobstreamKey(home string) (*secp256k1.PrivateKey, error) {
	key, err := LoadBlobstreamKey(home)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return key, err
}
