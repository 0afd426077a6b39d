package validator

import (
	"errors"
	"fmt"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"
)

// maxValidatorKeySize bounds the validator key file read.
const maxValidatorKeySize = 16 << 10

// LoadValidatorKey reads a CometBFT validator key file at path (a home's
// config/priv_validator_key.json), refusing a file over 16 KiB or one
// without a key.
func LoadValidatorKey(path string) (*privval.FilePVKey, error) {
	data, err := readLimited(path, maxValidatorKeySize, "validator key")
	if err != nil {
		return nil, err
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("validator: decode validator key %s: %w", path, err)
	}
	if k.PrivKey == nil || k.PubKey == nil {
		return nil, errors.New("validator: validator key " + path + ": no key")
	}
	return &k, nil
}
