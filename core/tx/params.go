package tx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"

	"github.com/datamesh/mesh-node/share"
)

// ErrInvalidParams is wrapped by every Params validation error.
var ErrInvalidParams = errors.New("tx: invalid params")

// Params are the chain's consensus parameters of the application, fixed at
// genesis (the "params" object of its app_state). A client needs them to
// compute a transaction's gas (GasUsed), its minimum fee and the largest
// blob the chain accepts.
type Params struct {
	// MaxSquareSize is the largest original data square width, a power of
	// two up to share.SquareSizeUpperBound.
	MaxSquareSize int `json:"max_square_size"`
	// FixedGas is the gas every transaction uses.
	FixedGas uint64 `json:"fixed_gas"`
	// GasPerBlobByte is the gas a PayForBlobs uses per byte of blob data.
	GasPerBlobByte uint64 `json:"gas_per_blob_byte"`
	// MinGasPrice is the lowest accepted gas price.
	MinGasPrice uint64 `json:"min_gas_price"`
	// MaxBlobSize bounds each blob's data, in bytes.
	MaxBlobSize int `json:"max_blob_size"`
	// GasPerKZGChunk is the gas a PayForBlobs uses per KZG commitment it
	// carries (each one costs validators a blob proof verification). 0
	// means the chain accepts no KZG commitments; it is omitted from the
	// JSON then, so a genesis written before KZG existed keeps its bytes
	// and its app hash.
	GasPerKZGChunk uint64 `json:"gas_per_kzg_chunk,omitempty"`
	// DataCommitmentWindow is the number of blocks each Blobstream data
	// commitment covers: the validators attest the tuple root of heights
	// [k·W+1, (k+1)·W+1) once block (k+1)·W is committed. 0 means the
	// chain makes no attestations; it is omitted from the JSON then, so a
	// genesis written before Blobstream existed keeps its bytes and app
	// hash.
	DataCommitmentWindow uint64 `json:"data_commitment_window,omitempty"`
}

// DefaultDataCommitmentWindow is the devnet's data commitment window, as
// Celestia's: 400 blocks.
const DefaultDataCommitmentWindow = 400

// MaxDataCommitmentWindow bounds DataCommitmentWindow: a data commitment's
// range may span at most blobstream.MaxRange heights.
const MaxDataCommitmentWindow = 10_000

// DefaultGasPerKZGChunk is the devnet's gas per KZG commitment. Verifying a
// chunk's blob proof in a batch costs about 1 ms of one core, some 15 times
// a transaction signature (which FixedGas covers), while the chunk's
// 130,044 bytes already cost about 1.04 million gas at 8 gas a byte:
// 200,000 gas prices the verification above the signature's 65,000 and
// adds a fifth to the price of a full chunk.
const DefaultGasPerKZGChunk = 200_000

// AcceptsKZG reports whether the chain accepts KZG commitments in
// PayForBlobs (GasPerKZGChunk is set).
func (p Params) AcceptsKZG() bool { return p.GasPerKZGChunk > 0 }

// DefaultParams returns the devnet parameters: squares up to 128 wide, blobs
// up to 2 MiB.
func DefaultParams() Params {
	return Params{
		MaxSquareSize:  share.DefaultMaxSquareSize,
		FixedGas:       65_000,
		GasPerBlobByte: 8,
		MinGasPrice:    1,
		MaxBlobSize:    2 << 20,
		GasPerKZGChunk: DefaultGasPerKZGChunk,

		DataCommitmentWindow: DefaultDataCommitmentWindow,
	}
}

// Validate checks the parameters' ranges. Its errors wrap ErrInvalidParams.
func (p Params) Validate() error {
	if !share.IsPowerOfTwo(p.MaxSquareSize) || p.MaxSquareSize > share.SquareSizeUpperBound {
		return fmt.Errorf("%w: max_square_size %d is not a power of two up to %d", ErrInvalidParams, p.MaxSquareSize, share.SquareSizeUpperBound)
	}
	if p.MaxBlobSize <= 0 || p.MaxBlobSize > share.MaxBlobSize {
		return fmt.Errorf("%w: max_blob_size %d outside 1..%d", ErrInvalidParams, p.MaxBlobSize, share.MaxBlobSize)
	}
	if p.FixedGas == 0 {
		return fmt.Errorf("%w: fixed_gas is 0", ErrInvalidParams)
	}
	if p.DataCommitmentWindow > MaxDataCommitmentWindow {
		return fmt.Errorf("%w: data_commitment_window %d over %d", ErrInvalidParams, p.DataCommitmentWindow, MaxDataCommitmentWindow)
	}
	return nil
}

// GasUsed returns the gas a transaction uses: FixedGas, plus, for a
// MsgPayForBlobs, GasPerBlobByte per byte of blob data and GasPerKZGChunk
// per KZG commitment. ok is false on overflow.
func GasUsed(p Params, m Msg) (gas uint64, ok bool) {
	gas = p.FixedGas
	pfb, isPFB := m.(*MsgPayForBlobs)
	if !isPFB {
		return gas, true
	}
	for _, size := range pfb.BlobSizes {
		hi, lo := bits.Mul64(uint64(size), p.GasPerBlobByte)
		var carry uint64
		gas, carry = bits.Add64(gas, lo, 0)
		if hi != 0 || carry != 0 {
			return 0, false
		}
	}
	hi, lo := bits.Mul64(uint64(pfb.KZGChunks()), p.GasPerKZGChunk)
	var carry uint64
	gas, carry = bits.Add64(gas, lo, 0)
	if hi != 0 || carry != 0 {
		return 0, false
	}
	return gas, true
}

// ParseGenesisParams reads what a client needs from the chain's genesis
// app_state (the application's genesis JSON, as CometBFT's /genesis serves
// it): the chain ID, at most MaxChainIDSize bytes, and the params, decoded
// strictly (unknown fields are errors) and validated. The rest of the
// genesis (authority, validators, accounts) is the application's and is not
// examined here.
func ParseGenesisParams(appState []byte) (chainID string, p Params, err error) {
	var g struct {
		ChainID string          `json:"chain_id"`
		Params  json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(appState, &g); err != nil {
		return "", Params{}, fmt.Errorf("tx: genesis: %w", err)
	}
	if g.ChainID == "" || len(g.ChainID) > MaxChainIDSize {
		return "", Params{}, fmt.Errorf("tx: genesis: chain_id of %d bytes, want 1..%d", len(g.ChainID), MaxChainIDSize)
	}
	if len(g.Params) == 0 {
		return "", Params{}, errors.New("tx: genesis: no params")
	}
	dec := json.NewDecoder(bytes.NewReader(g.Params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return "", Params{}, fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	if err := p.Validate(); err != nil {
		return "", Params{}, err
	}
	return g.ChainID, p, nil
}
