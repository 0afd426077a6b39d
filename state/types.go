package state

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/datamesh/mesh-node/core/tx"
)

// Denom is the chain's token denomination in balances (core/tx's).
const Denom = tx.Denom

// TxConfig is a transaction's options: celestia-node's state.TxConfig JSON
// shape (blob.Submit's options, state.Transfer's config). Zero values mean
// the defaults: the gas the transaction needs and the chain's minimum gas
// price. Gas prices are in Denom per gas unit; the chain takes whole units,
// so a fractional price is rounded up.
type TxConfig struct {
	// GasPrice is used when IsGasPriceSet is true.
	GasPrice      float64 `json:"gas_price,omitempty"`
	IsGasPriceSet bool    `json:"is_gas_price_set,omitempty"`
	// MaxGasPrice, when positive, refuses a transaction whose gas price
	// would exceed it.
	MaxGasPrice float64 `json:"max_gas_price,omitempty"`
	// Gas is the gas limit; 0 means the gas the transaction uses.
	Gas        uint64 `json:"gas,omitempty"`
	TxPriority int    `json:"tx_priority,omitempty"`
	// KeyName selects a key of the node's keyring other than its default.
	KeyName string `json:"key_name,omitempty"`
	// SignerAddress selects the key by its address.
	SignerAddress string `json:"signer_address,omitempty"`
	// FeeGranterAddress is not supported: the chain has no fee grants, and
	// a non-empty value is refused.
	FeeGranterAddress string `json:"fee_granter_address,omitempty"`
	// KZG (DataMesh's, not celestia-node's: its clients never send it)
	// makes a PayForBlobs carry the EIP-4844 KZG commitments and blob
	// proofs of its blobs (see Client.SubmitPayForBlob). It is refused on
	// a transfer.
	KZG bool `json:"kzg,omitempty"`
}

// TxResponse is the outcome of an included transaction: the fields of the
// Cosmos SDK TxResponse that celestia-node returns and clients read.
type TxResponse struct {
	Height    int64  `json:"height"`
	TxHash    string `json:"txhash"`
	Codespace string `json:"codespace"`
	Code      uint32 `json:"code"`
	Data      string `json:"data"`
	RawLog    string `json:"raw_log"`
	Logs      []any  `json:"logs"`
	Info      string `json:"info"`
	GasWanted int64  `json:"gas_wanted"`
	GasUsed   int64  `json:"gas_used"`
	Events    []any  `json:"events"`
	// KZG is what a PayForBlobs submitted with TxConfig.KZG carries, as
	// it was signed: one entry per blob, the commitment and blob proof of
	// each of its chunks (kzg.VersionedHash of a commitment is its
	// EIP-4844 versioned hash). It is nil otherwise, and not part of the
	// JSON, which keeps celestia-node's shape.
	KZG []tx.BlobKZG `json:"-"`
}

// Coin is an amount of Denom: the Cosmos SDK coin's JSON shape, the amount
// as a decimal string.
type Coin struct {
	Denom  string `json:"denom"`
	Amount Int    `json:"amount"`
}

// Int is an amount: JSON as a decimal string (the Cosmos SDK's math.Int),
// decoded from a string or a number.
type Int uint64

// MarshalJSON writes i as a decimal string.
func (i Int) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatUint(uint64(i), 10))
}

// UnmarshalJSON reads a decimal string or a JSON number.
func (i *Int) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("state: amount %s: want a non-negative integer", b)
	}
	*i = Int(v)
	return nil
}
