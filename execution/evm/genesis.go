package evm

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

// Defaults of a development genesis.
const (
	// DefaultGasLimit is the gas a block may use: 30 million, Ethereum
	// mainnet's target in 2024.
	DefaultGasLimit = 30_000_000
	// DefaultBaseFee is the fixed base fee per gas, 1 gwei.
	DefaultBaseFee = params.GWei
	// MinGasLimit and MaxGasLimit bound a genesis' block gas limit.
	MinGasLimit = 1_000_000
	MaxGasLimit = 1_000_000_000
	// MaxAllocAccounts bounds a genesis' alloc.
	MaxAllocAccounts = 10_000
	// MaxTxSize is the most bytes of one transaction, as go-ethereum's
	// transaction pool allows (128 KiB).
	MaxTxSize = 128 << 10
)

// DevBalance is what a development genesis gives the development
// account: 1,000,000 ether.
var DevBalance = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))

// Genesis is what an EVM chain starts from beyond InitChain's parameters:
// its numeric chain ID (EIP-155), the block gas limit, the fixed base fee,
// the fee recipient (the coinbase of every block) and the accounts that
// exist at genesis. Its JSON form is what a node writes to genesis.json.
type Genesis struct {
	ChainID      uint64                     `json:"chain_id"`
	GasLimit     uint64                     `json:"gas_limit"`
	BaseFee      *hexutil.Big               `json:"base_fee"`
	FeeRecipient common.Address             `json:"fee_recipient"`
	Alloc        map[common.Address]Account `json:"alloc"`
}

// Account is an account at genesis.
type Account struct {
	Balance *hexutil.Big                `json:"balance"`
	Nonce   uint64                      `json:"nonce,omitempty"`
	Code    hexutil.Bytes               `json:"code,omitempty"`
	Storage map[common.Hash]common.Hash `json:"storage,omitempty"`
}

// DevGenesis returns a genesis for chainID with the defaults and one
// development account funded with DevBalance, whose key it generates and
// returns (the caller writes it to dev.key). The development account is
// also the fee recipient.
func DevGenesis(chainID uint64) (Genesis, *ecdsa.PrivateKey, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return Genesis{}, nil, fmt.Errorf("evm: development key: %w", err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	g := Genesis{
		ChainID:      chainID,
		GasLimit:     DefaultGasLimit,
		BaseFee:      (*hexutil.Big)(big.NewInt(DefaultBaseFee)),
		FeeRecipient: addr,
		Alloc:        map[common.Address]Account{addr: {Balance: (*hexutil.Big)(new(big.Int).Set(DevBalance))}},
	}
	return g, key, g.Validate()
}

// KeyHex returns key as dev.key holds it: the 32-byte secp256k1 private
// key in hex, without 0x (what go-ethereum's crypto.HexToECDSA reads).
func KeyHex(key *ecdsa.PrivateKey) string { return hex.EncodeToString(crypto.FromECDSA(key)) }

// Validate checks the genesis' bounds: a positive chain ID, a gas limit
// within [MinGasLimit, MaxGasLimit], a positive base fee, at most
// MaxAllocAccounts accounts with non-negative balances below 2^256 and
// code of at most params.MaxCodeSize bytes.
func (g Genesis) Validate() error {
	if g.ChainID == 0 {
		return errors.New("evm: genesis: chain ID 0")
	}
	if g.GasLimit < MinGasLimit || g.GasLimit > MaxGasLimit {
		return fmt.Errorf("evm: genesis: gas limit %d, want %d to %d", g.GasLimit, MinGasLimit, MaxGasLimit)
	}
	if g.BaseFee == nil || g.BaseFee.ToInt().Sign() <= 0 || g.BaseFee.ToInt().BitLen() > 64 {
		return errors.New("evm: genesis: base fee must be positive and fit 64 bits")
	}
	if len(g.Alloc) > MaxAllocAccounts {
		return fmt.Errorf("evm: genesis: %d accounts, at most %d", len(g.Alloc), MaxAllocAccounts)
	}
	for addr, a := range g.Alloc {
		if a.Balance == nil || a.Balance.ToInt().Sign() < 0 || a.Balance.ToInt().BitLen() > 256 {
			return fmt.Errorf("evm: genesis: account %s: balance missing, negative or over 256 bits", addr)
		}
		if len(a.Code) > params.MaxCodeSize {
			return fmt.Errorf("evm: genesis: account %s: %d bytes of code, at most %d", addr, len(a.Code), params.MaxCodeSize)
		}
	}
	return nil
}

// hash is a digest of the genesis' content, to tell two apart.
func (g Genesis) hash() []byte {
	b, _ := json.Marshal(g) // maps marshal with sorted keys
	s := sha256.Sum256(b)
	return s[:]
}

func (g Genesis) sortedAlloc() []common.Address {
	addrs := make([]common.Address, 0, len(g.Alloc))
	for a := range g.Alloc {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b common.Address) int { return a.Cmp(b) })
	return addrs
}

// ChainConfig is the chain's fork configuration: every fork through
// Cancun active from genesis (block 0, time 0), proof of stake rules
// (difficulty 0, PREVRANDAO from the header's mix digest, which is zero),
// Prague and later not active.
func (g Genesis) ChainConfig() *params.ChainConfig {
	zero := uint64(0)
	return &params.ChainConfig{
		ChainID:                 new(big.Int).SetUint64(g.ChainID),
		HomesteadBlock:          big.NewInt(0),
		EIP150Block:             big.NewInt(0),
		EIP155Block:             big.NewInt(0),
		EIP158Block:             big.NewInt(0),
		ByzantiumBlock:          big.NewInt(0),
		ConstantinopleBlock:     big.NewInt(0),
		PetersburgBlock:         big.NewInt(0),
		IstanbulBlock:           big.NewInt(0),
		MuirGlacierBlock:        big.NewInt(0),
		BerlinBlock:             big.NewInt(0),
		LondonBlock:             big.NewInt(0),
		ArrowGlacierBlock:       big.NewInt(0),
		GrayGlacierBlock:        big.NewInt(0),
		MergeNetsplitBlock:      big.NewInt(0),
		ShanghaiTime:            &zero,
		CancunTime:              &zero,
		TerminalTotalDifficulty: big.NewInt(0),
		BlobScheduleConfig:      &params.BlobScheduleConfig{Cancun: params.DefaultCancunBlobConfig},
	}
}
